"""Health checks run on the instance over SSM, and the parsers of their output."""
