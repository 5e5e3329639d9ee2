"""The exact k-nearest-neighbour engine that k-NN, the graph classifiers and UMAP's neighbours all use."""
