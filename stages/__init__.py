"""The study's DVC stages, one module each, run as ``python -m stages.<name>`` (``--help`` for each).

A stage parses its paths and params and calls the library in ``aestudy``; nothing else. ``cli.py`` (the
command line and the DVC layout's paths) and ``params.py`` (params.yaml read and validated into typed
configs) are the boundary that every stage shares.
"""
