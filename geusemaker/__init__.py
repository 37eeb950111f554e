"""GeuseMaker: a self-hosted GPU AI stack on AWS EC2 in one command."""

__version__ = "0.1.0"
