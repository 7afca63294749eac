"""BIDS side: pybids input discovery, derivative naming, dataset_description."""
