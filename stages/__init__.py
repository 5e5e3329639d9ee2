"""Autoencoder codes versus raw pixels for classic classifiers: the study's stages and library.

Each ``stages/<name>.py`` with a ``main`` is one DVC stage, run as ``python -m stages.<name>``. The other
modules are the library those stages share; it takes typed arguments and never reads ``params.yaml``.
"""
