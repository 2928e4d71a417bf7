"""Count FLOPs and parameters of a real network under the NATS-Bench convention.

NATS-Bench (xautodl's get_model_infos) counts, for a batch of one image:
    Conv2d  multiply-adds, bias NOT counted;
    Linear  multiply-adds PLUS one add per output element for the bias;
    BN, ReLU, pooling: nothing.
Params are all parameters. Both are reported in millions.

torch.utils.flop_counter.FlopCounterMode counts 2 FLOPs per multiply-add of convolutions and
matrix products and ignores biases, so: MACs = its total / 2, and the Linear bias adds are
counted separately with forward hooks. Every other op the counter knows (bmm, attention, ...)
also enters as multiply-adds, which keeps this usable for spaces beyond NATS-Bench.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.data.shapes import InputShape


def count_cost(model: nn.Module, input_shape: InputShape, forward_args: tuple = ()) -> tuple[float, float]:
    """(flops_M, params_M) of one forward of `model(x, *forward_args)` on a single image.

    The model runs in eval mode (BN on running statistics works for any resolution, even at
    batch size 1), without gradients, on one intra-op thread; every module's training flag and
    the thread count are restored afterwards. The first call in a process takes a second or two
    longer: FlopCounterMode imports torch._dynamo.
    """
    from torch.utils.flop_counter import FlopCounterMode  # here: its import costs every process ~0.5 s

    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None else torch.float32
    x = torch.zeros(1, input_shape.channels, input_shape.resolution, input_shape.resolution,
                    device=device, dtype=dtype)
    bias_adds = 0

    def count_linear_bias(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal bias_adds
        bias_adds += output.numel()

    hooks = [m.register_forward_hook(count_linear_bias)
             for m in model.modules() if isinstance(m, nn.Linear) and m.bias is not None]
    modes = [(m, m.training) for m in model.modules()]
    threads = torch.get_num_threads()
    model.eval()
    # A batch of one is bound by per-op dispatch; intra-op threads only add synchronisation
    # and thrash on a busy machine (10x slower measured on 2 shared cores).
    torch.set_num_threads(1)
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(x, *forward_args)
    finally:
        torch.set_num_threads(threads)
        for module, training in modes:
            module.train(training)
        for hook in hooks:
            hook.remove()
    macs = counter.get_total_flops() / 2
    params = sum(p.numel() for p in model.parameters())
    return (macs + bias_adds) / 1e6, params / 1e6
