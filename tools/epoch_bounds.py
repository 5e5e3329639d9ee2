"""What an epoch of an autoencoder can cost at best on this machine: the lower bounds ``make bench`` sets each
measured epoch beside.

A dense reconstruction net's epoch is bounded by its bare matmuls (forward, backward and weight gradients of every
batch, timed as float32 GEMMs of the same shapes); any other family's by the sum of each layer's own forward and
backward time (the convolutions, the noise, the sampling), timed one layer at a time. Either bound leaves out the
loop's own work (the optimiser, the shuffles, the validation pass's bookkeeping).
"""

from __future__ import annotations

import functools
from collections import Counter

import torch
from torch import nn

from aestudy.core.runtime import stopwatch
from aestudy.models.objectives import EVAL_BATCH


def gemm_seconds(m: int, k: int, n: int, device: torch.device | None = None, repeats: int = 5) -> float:
    """Best time of one float32 (m x k) @ (k x n) matmul, timed over enough calls to be read, after a warm-up."""
    device = device or torch.device("cpu")
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    out = torch.empty(m, n, device=device)
    calls = max(1, int(2e8 // (2 * m * k * n)))  # about 0.2 GFLOP per timing
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        with stopwatch(device) as watch:
            for _ in range(calls):
                torch.mm(a, b, out=out)
        best = min(best, watch.seconds / calls)
    return best


def epoch_batches(n_fit: int, n_val: int, batch_size: int) -> tuple[Counter, Counter]:
    """Batch size -> count, for one epoch's training batches and for its validation pass's."""
    batches = Counter({batch_size: n_fit // batch_size})
    if n_fit % batch_size:
        batches[n_fit % batch_size] += 1
    return batches, Counter([min(EVAL_BATCH, n_val - s) for s in range(0, n_val, EVAL_BATCH)])


def epoch_gemm_bound(model: nn.Module, n_fit: int, n_val: int, batch_size: int) -> tuple[float, float]:
    """Seconds and flops of one epoch's matmuls, each at the rate measured for its own shape.

    Per layer (in -> out) and training batch b: forward (b x in)(in x out), weight gradient (out x b)(b x in)
    and, past the first layer, input gradient (b x out)(out x in). Then the validation pass's forwards.
    """
    batches, val_batches = epoch_batches(n_fit, n_val, batch_size)
    timed = functools.cache(gemm_seconds)  # a shape that recurs is timed once
    seconds = flops = 0.0
    for position, layer in enumerate(m for m in model.modules() if isinstance(m, nn.Linear)):
        n_in, n_out = layer.in_features, layer.out_features
        shapes = [((b, n_in, n_out), count) for b, count in batches.items()]
        shapes += [((n_out, b, n_in), count) for b, count in batches.items()]
        if position > 0:
            shapes += [((b, n_out, n_in), count) for b, count in batches.items()]
        shapes += [((b, n_in, n_out), count) for b, count in val_batches.items()]
        for (m, k, n), count in shapes:
            seconds += count * timed(m, k, n)
            flops += count * 2 * m * k * n
    return seconds, flops


WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def layer_flops(layer: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    """One forward's multiply-adds x 2: per output element, its fan-in (a transposed convolution: per input)."""
    if isinstance(layer, nn.Linear):
        return 2 * out.numel() * layer.in_features
    kernel = layer.kernel_size[0] * layer.kernel_size[1]
    if isinstance(layer, nn.Conv2d):
        return 2 * out.numel() * layer.in_channels * kernel
    return 2 * x.numel() * layer.out_channels * kernel


def layer_seconds(layer: nn.Module, shape: tuple[int, ...], backward: bool, input_grad: bool,
                  repeats: int = 5) -> float:
    """Best time of one call of ``layer`` alone on float32 input of ``shape``: its forward, and with
    ``backward`` its weight gradients and (``input_grad``) its input gradient."""
    x = torch.randn(shape, requires_grad=input_grad)
    with torch.set_grad_enabled(backward):
        out = layer(x)
    grad = torch.randn_like(out)
    calls = max(1, int(2e8 // max(layer_flops(layer, x, out), 1)))

    def once() -> None:
        with torch.set_grad_enabled(backward):
            y = layer(x)
            if backward:
                y.backward(grad)

    once()
    best = float("inf")
    for _ in range(repeats):
        with stopwatch() as watch:
            for _ in range(calls):
                once()
        best = min(best, watch.seconds / calls)
    return best


def layer_inputs(model: nn.Module, layers: list[nn.Module], batch: int, n_pixels: int
                 ) -> dict[nn.Module, tuple[tuple[int, ...], int]]:
    """Each layer's input shape and forward flops in one forward of ``batch`` rows through ``model``."""
    found: dict[nn.Module, tuple[tuple[int, ...], int]] = {}

    def record(layer: nn.Module, args: tuple, out: torch.Tensor) -> None:
        found[layer] = (tuple(args[0].shape), layer_flops(layer, args[0], out))

    hooks = [layer.register_forward_hook(record) for layer in layers]
    with torch.no_grad():
        model(torch.rand(batch, n_pixels))
    for hook in hooks:
        hook.remove()
    return found


def epoch_layer_bound(model: nn.Module, n_pixels: int, n_fit: int, n_val: int, batch_size: int
                      ) -> tuple[float, float]:
    """Seconds and flops of one epoch's weighted layers, each timed alone at its own input shape: forward and
    backward per training batch (no input gradient for the first), forward per validation batch."""
    batches, val_batches = epoch_batches(n_fit, n_val, batch_size)
    layers = [m for m in model.modules() if isinstance(m, WEIGHTED)]
    seconds = flops = 0.0
    for counts, backward in ((batches, True), (val_batches, False)):
        for b, count in counts.items():
            shapes = layer_inputs(model, layers, b, n_pixels)
            for position, layer in enumerate(layers):
                shape, forward_flops = shapes[layer]
                seconds += count * layer_seconds(layer, shape, backward, backward and position > 0)
                flops += count * forward_flops * ((3 if position > 0 else 2) if backward else 1)
    return seconds, flops
