#!/usr/bin/env python3
"""Regenerate docs/configuration.md from the configuration models."""

from pathlib import Path

from geusemaker.config_reference import render_reference

TARGET = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"

if __name__ == "__main__":
    TARGET.write_text(render_reference(), encoding="utf-8")
    print(f"wrote {TARGET}")
