"""The `geusemaker` command line: thin typer commands that parse, call one service object and render."""
