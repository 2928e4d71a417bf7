"""conv_count: how many searchable layers (cell edges in NATS-Bench) choose a candidate that
contains a convolution, read off the space's supernet candidates. No data. This is what the
BN-NAS indicator reduces to when every conv op's |gamma| is still ~1 (see CALIBRATION.md).
Sign: higher = better (more conv ops ranked higher)."""

from harness.method import Method
from harness.scoring.zero_cost import conv_count_scorer

METHOD = Method(
    name="conv_count",
    summary="no supernet; score = number of layers whose chosen op has a conv (sign: higher = better)",
    scorer=conv_count_scorer,
    sampler=None,
    kind="trivial",
)
