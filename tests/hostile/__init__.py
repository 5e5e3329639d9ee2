"""Hostile input: what a hostile user or file can do to the study, refused with one line (docs/hostile-input.md)."""
