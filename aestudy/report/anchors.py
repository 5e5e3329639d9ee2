"""Published numbers the few-label results sit beside, each with what differs from the study's setting.

Test accuracy in percent at 4 labels per class unless said; from the papers' tables, as issue 28 of this project
quotes them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Anchor:
    """A published result the report sets beside the study's: its label, accuracy per dataset, conditions."""

    label: str  # as a figure's legend and the report's tables name it
    accuracy: dict[str, float]  # dataset -> percent
    note: str  # how the anchor's setting differs from the study's


# The Parametric UMAP paper's (Sainburg, McInnes and Gentner, 2021) semi-supervised table: a CNN trained on the
# labelled images alone, by labels per class.
CNN_ON_LABELS: dict[str, dict[int, float]] = {
    "mnist": {4: 81.43, 16: 95.48, 64: 97.87, 256: 98.96, 1024: 99.41},
    "fashion-mnist": {4: 60.68, 16: 74.39, 64: 83.51, 256: 88.90, 1024: 92.05},
}
# At 4 labels per class, the best semi-supervised results that issue quotes.
FEW_LABEL_ANCHORS = (
    Anchor("Parametric UMAP (CNN + UMAP loss)", {"mnist": 97.85, "fashion-mnist": 74.70},
           "a CNN trained with the labels and a UMAP loss on every image; early-stopped on 10000 labelled "
           "validation images; Fashion-MNIST with augmentation"),
    Anchor("Poisson-MBO on VAE codes", {"mnist": 97.2, "fashion-mnist": 72.1},
           "transductive: the test images are in the graph, which the study's classifiers never see"),
    Anchor("N2D (AE + UMAP + GMM, no label)", {"mnist": 97.9, "fashion-mnist": 67.2},
           "clustering accuracy with no label at all: each cluster matched to the class it best fits"),
)
