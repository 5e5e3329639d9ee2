"""The ground floor every other part stands on: errors, atomic I/O, names, threads and runtime, input checks, and
the one training loop."""
