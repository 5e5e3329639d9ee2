"""The study's side of the boundary between params.yaml and the library: what the DVC stages share.

``aestudy`` never reads params.yaml nor names a params entry; this package does both, and the stage scripts in
``stages/`` (one a kind of work) and the tools in ``tools/`` read the configuration and the layout through it:

- ``params_yaml``: params.yaml's structure, each setting read and checked (the study's own sections);
- ``conf``: the catalogues of ``conf/`` (datasets, autoencoder variants); ``design``: what the study compares
  (feature sets, classifiers, pairs, the headline); ``catalogue``: an entry's ``_target_`` built and checked;
- ``layout``: every path a stage writes or reads; ``seconds``: what stages spent, joined back for the two that
  sum it; ``digests``: the code each kind of stage runs; ``cli``: a stage's command line and one-line errors;
  ``live``: dvclive's logs.

It imports ``aestudy`` and nothing of ``stages`` or ``tools`` (tests/test_house.py holds it).
"""

import time

# When this process began its work: ``stages/__init__.py`` imports this package first, before numpy or torch, so
# that a stage's wall seconds (``study.cli.wall_seconds``) count its imports too.
STARTED = time.perf_counter()
