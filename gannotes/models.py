"""Generators and discriminators for every GAN in the course, built from a few shared pieces.

Conventions, for every model here:

- A generator maps noise ``z`` of shape ``(B, z_dim)`` (and, if conditional, integer labels of
  shape ``(B,)``) to samples: images ``(B, 1, 28, 28)`` in ``[-1, 1]`` (``tanh`` output), or
  points ``(B, 2)`` for the 2-D toys.
- A discriminator maps samples (and labels, if conditional) to **logits** of shape ``(B,)``: real
  numbers, not probabilities. ``D(x) = sigmoid(logit)``; the losses take logits because that is
  numerically stable. A WGAN critic is the same network read as a score.
- ``num_classes=0`` means unconditional; ``num_classes=K`` adds a label embedding.

The family:

=====================  ============================================================
``MLPGenerator``        the first GAN (Goodfellow et al., 2014), and the 2-D toys
``MLPDiscriminator``
``DCGANGenerator``      Radford et al., 2016, sized for 28x28
``DCGANDiscriminator``  ``norm="batch"`` (DCGAN, WGAN), ``"layer"`` or ``"none"`` (WGAN-GP critic)
``ACGANDiscriminator``  a DCGAN discriminator with a second, class-predicting head (Odena et al., 2017)
=====================  ============================================================
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .data import IMAGE_SHAPE


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def dcgan_weights_init(module: nn.Module) -> None:
    """DCGAN's initialisation: conv weights ~ N(0, 0.02); batch-norm scales ~ N(1, 0.02), shifts 0.

    Use as ``model.apply(dcgan_weights_init)``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def generator_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Double the spatial size: ``(B, in, H, W) -> (B, out, 2H, 2W)``.

    A stride-2 transposed convolution (no bias: batch norm's shift replaces it), batch norm, ReLU.
    """
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def discriminator_block(
    in_channels: int, out_channels: int, norm: str = "batch", downsample: bool = True
) -> nn.Sequential:
    """Halve the spatial size: ``(B, in, H, W) -> (B, out, H/2, W/2)``.

    A stride-2 convolution (instead of pooling), an optional normalisation, LeakyReLU(0.2).
    ``norm`` is ``"batch"``, ``"layer"`` (over channels and pixels, the WGAN-GP choice: batch norm
    would make one sample's score depend on the others, which the gradient penalty forbids) or
    ``"none"``. ``downsample=False`` keeps the size: a 3x3 convolution with stride 1.
    """
    conv_shape = {"kernel_size": 4, "stride": 2} if downsample else {"kernel_size": 3, "stride": 1}
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, padding=1, bias=norm == "none", **conv_shape)]
    if norm == "batch":
        layers.append(nn.BatchNorm2d(out_channels))
    elif norm == "layer":
        layers.append(nn.GroupNorm(1, out_channels))  # one group = layer norm over (C, H, W)
    elif norm != "none":
        raise ValueError(f"norm must be 'batch', 'layer' or 'none', not {norm!r}")
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class _Conditioning(nn.Module):
    """Shared label handling: checks the labels and embeds them when the model is conditional."""

    def __init__(self, num_classes: int, embed_dim: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None

    def embed_labels(self, labels: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        if self.embed is None:
            if labels is not None:
                raise ValueError(
                    f"{type(self).__name__} is unconditional (num_classes=0) but was given labels; "
                    "build it with num_classes=K to condition on them."
                )
            return None
        if labels is None:
            raise ValueError(f"{type(self).__name__} is conditional: pass labels of shape ({batch},).")
        if labels.shape != (batch,) or labels.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"labels must be integers of shape ({batch},), got {tuple(labels.shape)} {labels.dtype}.")
        return self.embed(labels)


def _check_input(name: str, x: torch.Tensor, shape: tuple[int, ...]) -> None:
    if x.dim() != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise ValueError(f"{name} expects input of shape (B, {', '.join(map(str, shape))}), got {tuple(x.shape)}.")


class MLPGenerator(_Conditioning):
    """Fully connected generator: ``z (B, z_dim) [, labels (B,)] -> (B, *out_shape)``.

    Output in ``[-1, 1]`` when ``tanh=True`` (images), unbounded otherwise (2-D points).
    """

    def __init__(
        self,
        z_dim: int = 64,
        out_shape: tuple[int, ...] = IMAGE_SHAPE,
        hidden: int = 256,
        num_classes: int = 0,
        tanh: bool = True,
        depth: int = 2,
    ) -> None:
        super().__init__(num_classes, embed_dim=num_classes)
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        layers: list[nn.Module] = []
        width_in = z_dim + num_classes
        for i in range(depth):
            width = hidden * 2**i
            layers += [nn.Linear(width_in, width), nn.LeakyReLU(0.2, inplace=True)]
            width_in = width
        layers.append(nn.Linear(width_in, math.prod(self.out_shape)))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _check_input(type(self).__name__, z, (self.z_dim,))
        embedded = self.embed_labels(labels, z.shape[0])
        h = z if embedded is None else torch.cat([z, embedded], dim=1)
        return self.net(h).view(-1, *self.out_shape)


class MLPDiscriminator(_Conditioning):
    """Fully connected discriminator: ``x (B, *in_shape) [, labels (B,)] -> logits (B,)``."""

    def __init__(
        self, in_shape: tuple[int, ...] = IMAGE_SHAPE, hidden: int = 256, num_classes: int = 0, depth: int = 2
    ) -> None:
        super().__init__(num_classes, embed_dim=num_classes)
        self.in_shape = tuple(in_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = math.prod(self.in_shape) + num_classes
        for i in reversed(range(depth)):
            width = hidden * 2**i
            layers += [nn.Linear(width_in, width), nn.LeakyReLU(0.2, inplace=True)]
            width_in = width
        layers.append(nn.Linear(width_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _check_input(type(self).__name__, x, self.in_shape)
        embedded = self.embed_labels(labels, x.shape[0])
        h = x.flatten(1) if embedded is None else torch.cat([x.flatten(1), embedded], dim=1)
        return self.net(h).squeeze(1)


class DCGANGenerator(_Conditioning):
    """Convolutional generator for 28x28: ``z (B, z_dim) [, labels (B,)] -> images (B, 1, 28, 28)`` in ``[-1, 1]``.

    ``z`` is projected to ``(4w, 7, 7)``, then two generator blocks upsample 7 -> 14 -> 28 with
    ``2w`` then ``w`` channels, and a 3x3 convolution with ``tanh`` makes the image.
    """

    def __init__(self, z_dim: int = 64, width: int = 32, num_classes: int = 0) -> None:
        super().__init__(num_classes, embed_dim=num_classes)
        self.z_dim = z_dim
        self.project = nn.Sequential(
            nn.ConvTranspose2d(z_dim + num_classes, 4 * width, kernel_size=7, bias=False),  # 1x1 -> 7x7
            nn.BatchNorm2d(4 * width),
            nn.ReLU(inplace=True),
        )
        self.blocks = nn.Sequential(generator_block(4 * width, 2 * width), generator_block(2 * width, width))
        self.to_image = nn.Sequential(nn.Conv2d(width, 1, kernel_size=3, padding=1), nn.Tanh())
        self.apply(dcgan_weights_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _check_input(type(self).__name__, z, (self.z_dim,))
        embedded = self.embed_labels(labels, z.shape[0])
        h = z if embedded is None else torch.cat([z, embedded], dim=1)
        return self.to_image(self.blocks(self.project(h[:, :, None, None])))


class DCGANDiscriminator(_Conditioning):
    """Convolutional discriminator for 28x28: ``images (B, 1, 28, 28) [, labels (B,)] -> logits (B,)``.

    Two discriminator blocks downsample 28 -> 14 -> 7 with ``w`` then ``2w`` channels (the first
    without normalisation, as in DCGAN), then one linear layer gives the logit. ``depth=3`` adds a
    third block at 7x7 (3x3, stride 1, ``4w`` channels): a deeper D that sees whole strokes, which
    gives sharper digits for about the cost of doubling ``w`` (see benchmarks/README.md). A
    conditional discriminator sees its label as an extra 28x28 input channel (a learned map per class).
    """

    def __init__(self, width: int = 32, num_classes: int = 0, norm: str = "batch", depth: int = 2) -> None:
        super().__init__(num_classes, embed_dim=28 * 28)
        if depth not in (2, 3):
            raise ValueError(f"depth must be 2 or 3 convolutional blocks, not {depth!r}.")
        blocks = [
            discriminator_block(1 + (num_classes > 0), width, norm="none"),
            discriminator_block(width, 2 * width, norm=norm),
        ]
        if depth == 3:
            blocks.append(discriminator_block(2 * width, 4 * width, norm=norm, downsample=False))
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.feature_dim = blocks[-1][0].out_channels * 7 * 7
        self.head = nn.Linear(self.feature_dim, 1)
        self.apply(dcgan_weights_init)

    def trunk(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Features before the head: ``(B, feature_dim)``, ``feature_dim = 2w * 7 * 7`` (``4w * 7 * 7`` at depth 3)."""
        _check_input(type(self).__name__, images, IMAGE_SHAPE)
        embedded = self.embed_labels(labels, images.shape[0])
        if embedded is not None:
            images = torch.cat([images, embedded.view(-1, 1, 28, 28).to(images.dtype)], dim=1)
        return self.features(images)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.trunk(images, labels)).squeeze(1)


class ACGANDiscriminator(DCGANDiscriminator):
    """ACGAN: ``images (B, 1, 28, 28) -> (logits (B,), class_logits (B, num_classes))``.

    It does not see the label; it predicts it, from the same features as the real/fake logit.
    """

    def __init__(self, width: int = 32, num_classes: int = 10, norm: str = "batch", depth: int = 2) -> None:
        super().__init__(width, num_classes=0, norm=norm, depth=depth)
        self.num_aux_classes = num_classes
        self.class_head = nn.Linear(self.feature_dim, num_classes)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(images)
        return self.head(h).squeeze(1), self.class_head(h)


@torch.no_grad()
def sample(
    G: nn.Module,
    n: int = 64,
    *,
    z: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    seed: int | None = None,
    batch_size: int = 1000,
) -> torch.Tensor:
    """The one way to draw from a generator: ``(n, ...)`` samples, float32 on the CPU.

    ``z`` defaults to ``N(0, I)`` noise ``(n, G.z_dim)``, drawn on the CPU (from ``seed`` when given, so
    the same seed gives the same samples on every device). A conditional generator (``G.num_classes >
    0``) is asked for ``labels``, by default every class in turn, ``0, 1, ..., K-1, 0, 1, ...``. G runs in
    eval mode (batch norm uses its running statistics) in batches of ``batch_size``; its mode is
    restored after.
    """
    if z is None:
        if n < 1:
            raise ValueError(f"Ask for at least 1 sample, not {n}.")
        z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed) if seed is not None else None)
    num_classes = getattr(G, "num_classes", 0)
    if num_classes and labels is None:
        labels = torch.arange(len(z)) % num_classes
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    try:
        parts = []
        for start in range(0, len(z), batch_size):
            args = [z[start : start + batch_size].to(device)]
            if labels is not None:
                args.append(labels[start : start + batch_size].to(device))
            parts.append(G(*args).float().cpu())
    finally:
        G.train(was_training)
    return torch.cat(parts)


# --------------------------------------------------------------------------------------------
# Pieces against mode collapse (notebook 08)


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al., 2018, Sec. 3): give D one feature about the whole batch.

    ``x (B, F)`` or ``(B, C, H, W)`` -> the same with one more feature (or channel): the standard
    deviation of each feature over the batch, averaged into one number and repeated for every sample.
    A collapsed generator's batch has a small spread, a real batch a larger one, so D can tell them
    apart by variety and G is pushed to vary. Use it near the end of D, before the last layer.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] < 2:
            raise ValueError("MinibatchStdDev needs a batch of at least 2 samples to measure their spread.")
        spread = x.std(dim=0, unbiased=False).mean()  # one number for the batch
        return torch.cat([x, spread.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


class PackedDiscriminator(nn.Module):
    """PacGAN (Lin et al., 2018): D judges ``packing`` samples at once, all real or all generated.

    ``x (B, *shape) -> logits (B / packing,)``: consecutive groups of ``packing`` samples are
    concatenated along the features and scored together by ``discriminator``, which must accept
    inputs of shape ``(B / packing, packing * prod(shape))`` (e.g. ``MLPDiscriminator((packing * 2,))``
    for 2-D points). A generator that repeats itself shows in a pack, where a single sample looks
    fine. ``B`` must be a multiple of ``packing``: train with a batch ``packing`` times larger to keep
    the number of D verdicts per step.
    """

    def __init__(self, discriminator: nn.Module, packing: int) -> None:
        super().__init__()
        if packing < 1:
            raise ValueError(f"packing must be at least 1, got {packing}.")
        self.discriminator, self.packing = discriminator, packing

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] % self.packing:
            raise ValueError(f"A batch of {x.shape[0]} samples cannot be cut into packs of {self.packing}.")
        return self.discriminator(x.reshape(x.shape[0] // self.packing, -1))
