"""The networks the study trains without labels: autoencoders of every family, in the one training loop.

``AutoencoderFeatures`` is the scikit-learn transformer (``fit`` trains, ``transform`` encodes); a variant of
the grid is an entry of ``conf/autoencoders/`` naming it by ``_target_``.
"""

from aestudy.core.lazy import lazy_exports

_MODULES = {"AutoencoderFeatures": "autoencoder"}

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
