"""`python -m geusemaker` entry point."""

from geusemaker.cli.app import main

if __name__ == "__main__":
    main()
