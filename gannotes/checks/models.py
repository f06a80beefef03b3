"""Checks for the model-building exercises: the DCGAN generator block and init (04), conditioned inputs (05)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .core import ErrorHint, assert_close, call_learner, exercise_check, fail, seeded, tensor_output

# ----------------------------------------------------------------------------------------------
# 04: the generator block

_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.GELU, nn.SiLU, nn.PReLU, nn.SELU)
_BLOCK_HINT = (
    "nn.Sequential(nn.ConvTranspose2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=False), "
    "nn.BatchNorm2d(out_channels), nn.ReLU())."
)


def _leaves(module: nn.Module) -> list[nn.Module]:
    """The layers that compute, in registration order (containers left out)."""
    return [m for m in module.modules() if not list(m.children())]


def _names(layers: list[nn.Module]) -> str:
    return " -> ".join(type(m).__name__ for m in layers) or "no layers"


def _block_structure(block: nn.Module, out_channels: int) -> nn.ConvTranspose2d:
    """Fail on the wrong kind of layer; return the transposed convolution."""
    layers = _leaves(block)
    convs = [m for m in layers if isinstance(m, nn.ConvTranspose2d)]
    if not convs:
        if any(isinstance(m, nn.Conv2d) for m in layers):
            fail(
                f"your block ({_names(layers)}) uses nn.Conv2d, which keeps or shrinks the size: the generator "
                "upsamples with a transposed convolution.",
                _BLOCK_HINT,
            )
        fail(f"your block ({_names(layers)}) has no nn.ConvTranspose2d.", _BLOCK_HINT)
    norms = [m for m in layers if isinstance(m, nn.BatchNorm2d)]
    if norms and norms[0].num_features != out_channels:
        fail(
            f"the batch norm has {norms[0].num_features} features, but it follows a layer with "
            f"{out_channels} output channels.",
            "nn.BatchNorm2d(out_channels).",
        )
    return convs[0]


def _block_shape(block: nn.Module, conv: nn.ConvTranspose2d, in_channels: int, out_channels: int, size: int) -> None:
    x = torch.randn(2, in_channels, size, size)
    block.train()
    y = tensor_output(
        call_learner(block, x, context=f"running your block on an input of shape {tuple(x.shape)}"),
        "your block's output",
    )
    want = (2, out_channels, 2 * size, 2 * size)
    if tuple(y.shape) == want:
        return
    k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
    settings = f"kernel_size={k}, stride={s}, padding={p}"
    if y.dim() == 4 and (y.shape[-1] == size or s == 1):
        fail(
            f"the output is {y.shape[-2]}x{y.shape[-1]} for a {size}x{size} input: with stride {s} the block does "
            "not double the size.",
            "stride=2 doubles the size: kernel_size=4, stride=2, padding=1 gives (H - 1) * 2 - 2 + 4 = 2H.",
        )
    if y.dim() == 4 and y.shape[1] != out_channels:
        fail(f"your block outputs {y.shape[1]} channels, expected out_channels={out_channels}.", _BLOCK_HINT)
    if y.dim() == 4:
        off = y.shape[-1] - 2 * size
        fail(
            f"the output is {y.shape[-2]}x{y.shape[-1]} for a {size}x{size} input, not {2 * size}x{2 * size} "
            f"({off:+d} pixels): a transposed convolution with {settings} gives (H - 1) * {s} - {2 * p} + {k}.",
            "kernel_size=4, stride=2, padding=1 gives exactly (H - 1) * 2 - 2 + 4 = 2H.",
        )
    fail(f"your block's output has shape {tuple(y.shape)}, expected {want}.", _BLOCK_HINT)


@exercise_check("generator_block")
def check_generator_block(fn: Callable[[int, int], nn.Module]) -> str:
    """Check ``fn(in_channels, out_channels) -> nn.Module`` mapping ``(B, in, H, W) -> (B, out, 2H, 2W)``.

    Required: ``ConvTranspose2d(kernel_size=4, stride=2, padding=1)``, ``BatchNorm2d``, ``ReLU``, in
    that order and nothing else. ``bias=True`` on the convolution passes with a note: batch norm
    subtracts each channel's mean right after, which cancels the bias, so it is wasted parameters,
    not a wrong result.
    """
    block = None
    for in_channels, out_channels, size in [(8, 4, 7), (4, 2, 14), (3, 5, 5)]:
        block = call_learner(
            fn, in_channels, out_channels, context=f"called with in_channels={in_channels}, out_channels={out_channels}"
        )
        if not isinstance(block, nn.Module):
            fail(f"your function returned {type(block).__name__}, not an nn.Module.", "return " + _BLOCK_HINT)
        conv = _block_structure(block, out_channels)
        _block_shape(block, conv, in_channels, out_channels, size)

    layers = _leaves(block)
    types = [type(m) for m in layers]
    if nn.BatchNorm2d not in types:
        fail(
            f"no batch norm: your block is {_names(layers)}. DCGAN normalises after every generator convolution but "
            "the last, which keeps the activations' scale steady through the network.",
            "add nn.BatchNorm2d(out_channels) after the transposed convolution.",
        )
    activations = [m for m in layers if isinstance(m, _ACTIVATIONS)]
    if not activations:
        fail(f"no activation: your block is {_names(layers)}.", "end with nn.ReLU().")
    if isinstance(activations[-1], nn.LeakyReLU):
        fail(
            "LeakyReLU in place of ReLU: DCGAN's generator uses ReLU (LeakyReLU is the discriminator's).",
            "end the block with nn.ReLU().",
        )
    if isinstance(activations[-1], nn.Tanh):
        fail(
            "Tanh in place of ReLU: tanh belongs only at the generator's output, to map images into [-1, 1].",
            "end the block with nn.ReLU().",
        )
    if type(activations[-1]) is not nn.ReLU:
        fail(f"{type(activations[-1]).__name__} in place of ReLU.", "end the block with nn.ReLU().")
    if types != [nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU]:
        fail(
            f"your block is {_names(layers)}: expected ConvTranspose2d -> BatchNorm2d -> ReLU, in that order.",
            _BLOCK_HINT,
        )
    conv = layers[0]
    k, s, p = conv.kernel_size, conv.stride, conv.padding
    if (k, s, p) != ((4, 4), (2, 2), (1, 1)):
        fail(
            f"the transposed convolution has kernel_size={k}, stride={s}, padding={p} "
            f"(output_padding={conv.output_padding}): the size is right, but DCGAN's block uses 4, 2, 1.",
            "kernel_size=4, stride=2, padding=1: the kernel size is a multiple of the stride, which avoids "
            "checkerboard artefacts.",
        )
    note = ""
    if conv.bias is not None:
        note = (
            " (note: bias=True is wasted — batch norm subtracts each channel's mean right after, cancelling the "
            "bias; use bias=False)"
        )
    return f"doubles the size on three inputs with ConvTranspose2d(k=4, s=2, p=1) -> BatchNorm2d -> ReLU{note}."


# ----------------------------------------------------------------------------------------------
# 04: DCGAN's initialisation

_SENTINEL = 5.0  # every parameter starts here, so a layer the learner's function skipped is obvious
_INIT_HINT = (
    "if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)): nn.init.normal_(module.weight, 0.0, 0.02) and "
    "zero the bias if there is one; if isinstance(module, nn.BatchNorm2d): nn.init.normal_(module.weight, 1.0, "
    "0.02) and nn.init.zeros_(module.bias)."
)
INIT_ERRORS = (
    ErrorHint(
        "has no attribute 'weight'",
        "your function touched .weight on a module that has none: model.apply(fn) calls fn on every module, "
        "including containers (nn.Sequential) and activations.",
        "check the module's type first: " + _INIT_HINT,
    ),
    ErrorHint(
        "'NoneType' object has no attribute",
        "your function used a bias that does not exist (a layer built with bias=False has module.bias None).",
        "guard with: if module.bias is not None: nn.init.zeros_(module.bias).",
    ),
)


def _init_model() -> nn.Sequential:
    """Layers of every kind DCGAN initialises, big enough that a std is measured to within ~1%."""
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(64, 128, 4, bias=True), nn.LeakyReLU(0.2)),
        nn.Sequential(nn.ConvTranspose2d(128, 64, 4, bias=True), nn.BatchNorm2d(1024), nn.ReLU()),
        nn.Flatten(),
        nn.Linear(256, 64),
        nn.Tanh(),
    )


def _std_hint(std: float) -> str:
    if abs(std - 1.0) < 0.05:
        return (
            "the signature is nn.init.normal_(tensor, mean, std): normal_(w, 0.02) sets the mean to 0.02 and leaves "
            "std=1; write nn.init.normal_(module.weight, 0.0, 0.02)."
        )
    if abs(std - 0.2) < 0.01:
        return "0.2 is ten times too large: DCGAN uses std 0.02."
    return _INIT_HINT


def _check_normal(weight: torch.Tensor, what: str, mean: float, std: float) -> None:
    w = weight.detach().flatten()
    got_mean, got_std = w.mean().item(), w.std().item()
    tol_mean = max(4 * std / w.numel() ** 0.5, 1e-3)
    if abs(got_std - std) > 0.1 * std:
        fail(f"{what} have std {got_std:.3g}, expected {std} (and mean {mean}).", _std_hint(got_std))
    if abs(got_mean - mean) > tol_mean:
        fail(f"{what} have mean {got_mean:.3g}, expected {mean}.", _INIT_HINT)
    inside = ((w - got_mean).abs() < got_std).float().mean().item()
    # A uniform distribution has 57.7% of its values within one std, a normal one 68.3%: told apart
    # reliably only on a big layer (the conv layers here), not on a batch norm's few hundred values.
    if w.numel() >= 10_000 and abs(inside - 0.683) > 0.02:
        fail(
            f"{what} have the right mean and std but are not normally distributed ({inside:.0%} within one std, "
            "68% for a normal distribution).",
            "use nn.init.normal_, not nn.init.uniform_.",
        )


def _check_zero_bias(layer: nn.Module, what: str) -> None:
    bias = layer.bias.detach()
    if bias.abs().max().item() == 0:
        return
    if (bias == _SENTINEL).all():
        fail(f"{what} biases were left as they were: DCGAN starts biases at 0.", "nn.init.zeros_(module.bias).")
    fail(f"{what} biases are not 0 (max |bias| = {bias.abs().max().item():.3g}).", "nn.init.zeros_(module.bias).")


@exercise_check("weights_init")
def check_weights_init(fn: Callable[[nn.Module], None]) -> str:
    """Check ``fn(module)``, used as ``model.apply(fn)``, against DCGAN's initialisation.

    Required: ``Conv2d`` and ``ConvTranspose2d`` weights ~ N(0, 0.02) with zero biases; batch-norm
    weights ~ N(1, 0.02) with zero biases; other modules left alone without errors. ``Linear``
    layers (the package's version also sets them to N(0, 0.02)) are checked if touched and noted
    if not.
    """
    if not callable(fn):
        fail(f"expected a function, got {type(fn).__name__}.", "pass the function itself: check_weights_init(f).")
    with seeded(900):
        model = _init_model()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(_SENTINEL)
    call_learner(
        model.apply,
        fn,
        context="applied with model.apply(fn) to a model with Conv2d, ConvTranspose2d, "
        "BatchNorm2d, Linear and activation layers",
        hints=INIT_ERRORS,
    )

    conv, conv_t, bn, linear = model[0][0], model[1][0], model[1][1], model[3]
    for layer, name in [(conv, "Conv2d"), (conv_t, "ConvTranspose2d")]:
        if (layer.weight == _SENTINEL).all():
            fail(
                f"{name} weights were not initialised: your function skips nn.{name}.",
                "test isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)): ConvTranspose2d is not a subclass of "
                "Conv2d.",
            )
        _check_normal(layer.weight, f"{name} weights", 0.0, 0.02)
        _check_zero_bias(layer, name)
    if (bn.weight == _SENTINEL).all():
        fail("BatchNorm2d weights were not initialised: your function skips nn.BatchNorm2d.", _INIT_HINT)
    bn_weight = bn.weight.detach()
    if bn_weight.mean().abs().item() < 0.5:
        fail(
            f"batch-norm weights are around 0 (mean {bn_weight.mean().item():.3g}): they scale each normalised "
            "channel, so around 0 the layer outputs almost nothing.",
            "batch-norm weights start around 1: nn.init.normal_(module.weight, 1.0, 0.02).",
        )
    if bn_weight.std().item() == 0:
        fail(
            f"batch-norm weights are all exactly {bn_weight[0].item():.3g}: DCGAN draws them from N(1, 0.02).",
            "nn.init.normal_(module.weight, 1.0, 0.02).",
        )
    _check_normal(bn_weight, "batch-norm weights", 1.0, 0.02)
    _check_zero_bias(bn, "batch-norm")
    note = ""
    if (linear.weight == _SENTINEL).all():
        note = " (note: Linear layers were left alone; the package's version also draws them from N(0, 0.02))"
    else:
        _check_normal(linear.weight, "Linear weights", 0.0, 0.02)
        _check_zero_bias(linear, "Linear")
    return f"conv and transposed-conv weights ~ N(0, 0.02), batch-norm weights ~ N(1, 0.02), biases 0{note}."


# ----------------------------------------------------------------------------------------------
# 05: the conditional generator's input

CONDITION_ERRORS = (
    ErrorHint(
        "sizes of tensors must match except in dimension",
        "torch.cat along the wrong dimension: z and the one-hot labels have the same batch size but different "
        "widths, so they are joined along the features, dim=1.",
        "torch.cat([z, one_hot], dim=1).",
    ),
    ErrorHint(
        "tensors must have same number of dimensions",
        "z is (B, z_dim) but the labels you concatenate are (B,): a raw label column is not one-hot.",
        "F.one_hot(labels, num_classes) gives (B, num_classes); then torch.cat([z, one_hot.float()], dim=1).",
    ),
)


@exercise_check("conditioned_inputs")
def check_conditioned_inputs(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> str:
    """Check ``fn(z (B, z_dim), labels (B,), num_classes) -> (B, z_dim + num_classes)`` = ``[z, one_hot(labels)]``."""
    cases = [
        (torch.randn(6, 8, generator=torch.Generator().manual_seed(1000)), torch.tensor([3, 0, 6, 2, 6, 1]), 10),
        (torch.randn(4, 5, generator=torch.Generator().manual_seed(1001)), torch.tensor([2, 0, 1, 2]), 3),
    ]
    for z, labels, num_classes in cases:
        batch, z_dim = z.shape
        context = f"called with z {tuple(z.shape)}, labels {tuple(labels.shape)} and num_classes={num_classes}"
        out = tensor_output(
            call_learner(fn, z.clone(), labels.clone(), num_classes, context=context, hints=CONDITION_ERRORS),
            "your function's output",
        )
        one_hot = F.one_hot(labels, num_classes).to(z.dtype)
        want = (batch, z_dim + num_classes)
        if tuple(out.shape) != want:
            width = out.shape[1] if out.dim() == 2 and out.shape[0] == batch else None
            expected_dims = f"expected (B, z_dim + num_classes) = {want}"
            if width == z_dim + 1:
                fail(
                    f"your output is {tuple(out.shape)}, {expected_dims}: the labels were added as one raw integer "
                    "column, not one-hot.",
                    "F.one_hot(labels, num_classes) turns label c into a vector with a single 1 at position c.",
                )
            if width == z_dim + int(labels.max()) + 1:
                fail(
                    f"your output is {tuple(out.shape)}, {expected_dims}: F.one_hot(labels) without num_classes "
                    "takes its width from the largest label in the batch.",
                    "pass num_classes: F.one_hot(labels, num_classes).",
                )
            if width == num_classes:
                fail(
                    f"your output is {tuple(out.shape)}, {expected_dims}: z is missing.",
                    "torch.cat([z, one_hot], dim=1).",
                )
            if width == z_dim:
                fail(
                    f"your output is {tuple(out.shape)}, {expected_dims}: the labels are missing.",
                    "torch.cat([z, one_hot], dim=1).",
                )
            fail(f"wrong shape: your output is {tuple(out.shape)}, {expected_dims}.", "torch.cat([z, one_hot], dim=1).")
        if torch.equal(out.detach(), torch.cat([one_hot, z], dim=1)):
            fail(
                "wrong order: the one-hot labels come first, then z.",
                "the course's convention is z first: torch.cat([z, one_hot], dim=1) (a trained model expects "
                "its inputs in one fixed order).",
            )
        assert_close(out[:, :z_dim], z, "the first z_dim columns", rtol=0, atol=0, hint="they must be z, unchanged.")
        assert_close(
            out[:, z_dim:],
            one_hot,
            "the one-hot part",
            rtol=0,
            atol=0,
            hint="row i has a single 1.0 at column z_dim + labels[i]: F.one_hot(labels, num_classes).float().",
        )
    return "concatenates z with the one-hot labels, (B, z_dim + num_classes), z first, on two batch shapes."
