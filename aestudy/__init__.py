"""Autoencoder codes versus raw pixels for classic classifiers: the study's library.

The DVC stages in ``stages/`` parse paths and params and call this package; nothing here reads
``params.yaml``. Feature extractors (``features``, ``autoencoder.AutoencoderFeatures``) and classifiers
(``knn``, ``ncc``, ``mlp``) are scikit-learn estimators (they pass ``check_estimator``); ``catalogue`` builds
the ones a study declares by import path. ``python -m aestudy.bench`` and ``python -m aestudy.sweep`` are the two command-line tools that are
not pipeline stages.
"""
