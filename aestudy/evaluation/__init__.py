"""Intervals and paired tests: how far an accuracy, or the gap between two, could move by chance."""
