"""Autoencoder codes versus raw pixels and PCA for classic and graph classifiers: the study's library.

The DVC stages in ``stages/`` read the configuration through ``study/`` and call this package; nothing here
reads ``params.yaml`` or builds an entry of it. It is built in floors, each importing only the floors below it:

- ``core``: errors, atomic I/O, names, threads, input checks, the training loop;
- ``data``: the datasets' specs and sources, the prepared arrays, the labelled samples;
  ``neighbors``: the exact k-NN engine; ``evaluation``: intervals and paired tests;
- ``models`` (the autoencoders), ``features`` (raw pixels, PCA, UMAP), ``classifiers`` (k-NN, the centroid,
  the linear probe, the MLP, the graph classifiers) and ``report`` (figures and text).

Every feature set and classifier is a scikit-learn estimator that passes ``check_estimator``. The tools that are
not pipeline stages (``make bench``, ``make sweep``) live in ``tools/``.
"""
