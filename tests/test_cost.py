"""count_cost: the NATS-Bench counting convention on small networks whose costs are known by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from harness.spaces.cost import count_cost
from harness.data.shapes import InputShape

SHAPE = InputShape(channels=3, resolution=32, classes=10)


def test_conv_counts_macs_without_bias_and_linear_counts_its_bias() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=True),  # 32*32*8*3*9 MACs; its bias is not counted
        nn.BatchNorm2d(8),                         # not counted
        nn.ReLU(),
        nn.AvgPool2d(2),                           # not counted
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),                          # 80 MACs + 10 bias adds
    )
    flops, params = count_cost(model, SHAPE)
    assert flops == pytest.approx((32 * 32 * 8 * 3 * 9 + 80 + 10) / 1e6, abs=1e-12)
    expected_params = (8 * 3 * 9 + 8) + (2 * 8) + (8 * 10 + 10)
    assert params == pytest.approx(expected_params / 1e6, abs=1e-12)


def test_strided_grouped_conv_and_bias_free_linear() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, stride=2, padding=1, bias=False),   # 16*16*6*3*9
        nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False),   # depthwise: 16*16*6*9
        nn.Flatten(),
        nn.Linear(6 * 16 * 16, 4, bias=False),                 # no bias adds
    )
    flops, _ = count_cost(model, SHAPE)
    expected = 16 * 16 * 6 * 3 * 9 + 16 * 16 * 6 * 9 + 6 * 16 * 16 * 4
    assert flops == pytest.approx(expected / 1e6, abs=1e-12)


class TwoPaths(nn.Module):
    """forward(x, use_big) takes one of two convs: counts must follow the path actually run."""

    def __init__(self) -> None:
        super().__init__()
        self.small = nn.Conv2d(1, 1, 1, bias=False)
        self.big = nn.Conv2d(1, 4, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor, use_big: bool) -> torch.Tensor:
        return self.big(x) if use_big else self.small(x)


def test_forward_args_select_the_counted_path_and_params_count_everything() -> None:
    shape = InputShape(channels=1, resolution=8, classes=2)
    model = TwoPaths()
    small_flops, params = count_cost(model, shape, forward_args=(False,))
    big_flops, _ = count_cost(model, shape, forward_args=(True,))
    assert small_flops == pytest.approx(64 / 1e6, abs=1e-12)
    assert big_flops == pytest.approx(64 * 4 * 9 / 1e6, abs=1e-12)
    assert params == pytest.approx((1 + 36) / 1e6, abs=1e-12)


def test_training_mode_and_thread_count_are_restored() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    threads = torch.get_num_threads()
    count_cost(model, SHAPE)
    assert model.training and model[1].training
    assert torch.get_num_threads() == threads
    model.eval()
    count_cost(model, SHAPE)
    assert not model.training


def test_parameter_free_model() -> None:
    assert count_cost(nn.AvgPool2d(2), SHAPE) == (0.0, 0.0)
