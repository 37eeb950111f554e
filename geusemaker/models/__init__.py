"""Plain data models (pydantic and dataclasses) with no I/O and no imports of our other packages."""
