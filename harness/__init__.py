"""BN-NAS reproduction harness: search spaces, supernet training, scoring, ground truth, reports."""

__version__ = "0.1.0"
