"""Autoencoder codes versus raw pixels for classic classifiers: the study's library.

The DVC stages in ``stages/`` parse paths and params and call this package; nothing here reads
``params.yaml``. Feature extractors (``features``, ``autoencoder.AutoencoderFeatures``) have
scikit-learn's ``fit``/``transform`` shape and classifiers (``knn``, ``ncc``, ``mlp``) its ``fit``/``predict``
shape. ``python -m aestudy.bench`` and ``python -m aestudy.sweep`` are the two command-line tools that are
not pipeline stages.
"""
