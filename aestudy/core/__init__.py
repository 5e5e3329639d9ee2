"""The ground floor every other part stands on: errors, atomic I/O, names, threads and runtime, the catalogue of
estimators named by ``_target_``, input checks, and the one training loop."""
