"""Generators and discriminators for every GAN in the course, and :func:`sample`, the one way to draw from G.

Discriminators return **logits** ``(B,)``, not probabilities (see :mod:`gannotes.losses`); a WGAN critic is the
same network read as a score. ``num_classes=K > 0`` makes a model conditional on integer labels ``(B,)``.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn

from .data import IMAGE_SHAPE


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def dcgan_weights_init(module: nn.Module) -> None:
    """DCGAN's initialisation, for ``model.apply``: weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), shifts 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def generator_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """``(B, in, H, W) -> (B, out, 2H, 2W)``: a stride-2 transposed convolution, batch norm, ReLU.

    The convolution has no bias: batch norm's shift replaces it.
    """
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def discriminator_block(
    in_channels: int, out_channels: int, norm: str = "batch", downsample: bool = True
) -> nn.Sequential:
    """``(B, in, H, W) -> (B, out, H/2, W/2)``: a stride-2 convolution (not pooling), a normalisation, LeakyReLU(0.2).

    ``norm``: ``"batch"``, ``"layer"`` (the WGAN-GP critic's: with batch norm one sample's score would depend on the
    others, which the gradient penalty forbids) or ``"none"``. ``downsample=False``: a 3x3 stride-1 convolution.
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


def _mlp(sizes: list[int]) -> list[nn.Module]:
    """Linear layers through ``sizes``, with LeakyReLU(0.2) between them."""
    layers: list[nn.Module] = []
    for size_in, size_out in itertools.pairwise(sizes):
        layers += [nn.Linear(size_in, size_out), nn.LeakyReLU(0.2, inplace=True)]
    return layers[:-1]


class _Conditioning(nn.Module):
    """What every model here shares: its input is checked and, if ``num_classes > 0``, joined to its labels."""

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, embed_dim: int) -> None:
        super().__init__()
        self.input_shape, self.num_classes = tuple(input_shape), num_classes
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None

    def with_labels(self, x: Tensor, labels: Tensor | None, flatten: bool = False) -> Tensor:
        """``x (B, *input_shape)``, flattened to ``(B, -1)`` if asked, with its embedded labels appended along dim 1."""
        name = type(self).__name__
        if tuple(x.shape[1:]) != self.input_shape:
            shape = ", ".join(map(str, self.input_shape))
            raise ValueError(f"{name} expects input of shape (B, {shape}), got {tuple(x.shape)}.")
        batch, x = x.shape[0], x.flatten(1) if flatten else x
        if self.embed is None:
            if labels is not None:
                raise ValueError(f"{name} is unconditional (num_classes=0): build it with num_classes=K for labels.")
            return x
        if labels is None or labels.shape != (batch,) or labels.dtype not in (torch.int64, torch.int32):
            got = None if labels is None else f"{tuple(labels.shape)} {labels.dtype}"
            raise ValueError(f"{name} is conditional: pass integer labels of shape ({batch},) (got {got}).")
        embedded = self.embed(labels).view(batch, -1, *x.shape[2:])  # for images: one more channel
        return torch.cat([x, embedded.to(x.dtype)], dim=1)


class MLPGenerator(_Conditioning):
    """Fully connected: ``z (B, z_dim) [, labels (B,)] -> (B, *out_shape)``, in ``[-1, 1]`` if ``tanh``, else any."""

    def __init__(
        self,
        z_dim: int = 64,
        out_shape: tuple[int, ...] = IMAGE_SHAPE,
        hidden: int = 256,
        num_classes: int = 0,
        tanh: bool = True,
        depth: int = 2,
    ) -> None:
        super().__init__((z_dim,), num_classes, embed_dim=num_classes)
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        widths = [hidden * 2**i for i in range(depth)]
        layers = _mlp([z_dim + num_classes, *widths, math.prod(self.out_shape)])
        self.net = nn.Sequential(*layers, nn.Tanh()) if tanh else nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self.with_labels(z, labels)).view(-1, *self.out_shape)


class MLPDiscriminator(_Conditioning):
    """Fully connected: ``x (B, *in_shape) [, labels (B,)] -> logits (B,)``, through ``depth`` hidden layers."""

    def __init__(
        self, in_shape: tuple[int, ...] = IMAGE_SHAPE, hidden: int = 256, num_classes: int = 0, depth: int = 2
    ) -> None:
        super().__init__(in_shape, num_classes, embed_dim=num_classes)
        widths = [hidden * 2**i for i in reversed(range(depth))]
        self.net = nn.Sequential(nn.Flatten(), *_mlp([math.prod(in_shape) + num_classes, *widths, 1]))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self.with_labels(x, labels, flatten=True)).squeeze(1)


#: DCGAN image sizes -> (side of the smallest feature map, generator blocks). 28 (the course's MNIST): 7 -> 14 -> 28,
#: then a 3x3 convolution. 32 and 64 (Radford et al., 2016, Fig. 1): 4 -> 8 -> ... -> S/2, then a last transposed
#: convolution doubles the size once more. The discriminator halves the size back down to the smallest map.
DCGAN_SIZES = {28: (7, 2), 32: (4, 2), 64: (4, 3)}


def dcgan_plan(image_shape: tuple[int, ...]) -> tuple[int, int]:
    """``DCGAN_SIZES[S]`` for ``image_shape (C, S, S)``; an unsupported shape is an error naming the ones we build."""
    shape = tuple(image_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in DCGAN_SIZES or shape[0] < 1:
        sizes = ", ".join(f"(C, {s}, {s})" for s in DCGAN_SIZES)
        raise ValueError(f"DCGAN models make square images of shape {sizes}; got {shape}.")
    return DCGAN_SIZES[shape[1]]


class DCGANGenerator(_Conditioning):
    """Convolutional: ``z (B, z_dim) [, labels (B,)] -> images (B, *image_shape)`` in ``[-1, 1]``.

    28x28: ``z`` is projected to ``(4w, 7, 7)``, two generator blocks upsample to ``(2w, 14, 14)`` then
    ``(w, 28, 28)``, and a 3x3 convolution with ``tanh`` makes the image. 32x32 and 64x64, 1 or 3 channels (the DCGAN
    paper's): ``z`` is projected to ``(4w, 4, 4)`` (64: ``(8w, 4, 4)``), each block halves the channels and doubles
    the size up to ``(w, S/2, S/2)``, and a last transposed convolution with ``tanh`` (no batch norm) makes the image.
    """

    def __init__(
        self, z_dim: int = 64, width: int = 32, num_classes: int = 0, image_shape: tuple[int, ...] = IMAGE_SHAPE
    ) -> None:
        super().__init__((z_dim,), num_classes, embed_dim=num_classes)
        self.z_dim, self.image_shape = z_dim, tuple(image_shape)
        start, blocks = dcgan_plan(image_shape)
        channels = [width * 2**i for i in reversed(range(blocks + 1))]  # e.g. 4w, 2w, w
        self.project = nn.Sequential(
            nn.ConvTranspose2d(z_dim + num_classes, channels[0], kernel_size=start, bias=False),  # 1x1 -> start
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        )
        self.blocks = nn.Sequential(*map(generator_block, channels[:-1], channels[1:]))
        last = (
            nn.Conv2d(width, image_shape[0], kernel_size=3, padding=1)  # 28: the blocks already reached full size
            if image_shape[-1] == 28
            else nn.ConvTranspose2d(width, image_shape[0], kernel_size=4, stride=2, padding=1)  # S/2 -> S
        )
        self.to_image = nn.Sequential(last, nn.Tanh())
        self.apply(dcgan_weights_init)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.to_image(self.blocks(self.project(self.with_labels(z, labels)[:, :, None, None])))


class DCGANDiscriminator(_Conditioning):
    """Convolutional: ``images (B, *image_shape) [, labels (B,)] -> logits (B,)``; 28x28, 32x32 or 64x64 images.

    Stride-2 discriminator blocks halve the size down to the smallest map of :data:`DCGAN_SIZES` and double the
    channels: ``(w, 14, 14)`` (no normalisation, as in DCGAN) then ``(2w, 7, 7)`` for 28x28 images; ``(w, 16, 16)``
    ... ``(4w, 4, 4)`` for 32x32, ``(8w, 4, 4)`` for 64x64. A linear layer gives the logit (the paper's last 4x4
    convolution over a 4x4 map is the same linear map). ``depth=3`` adds a 3x3 stride-1 block at the smallest map,
    doubling its channels: a D that sees larger patches (whole strokes of a 28x28 digit). A conditional D sees its
    label as one more input channel (a learned S x S map per class).
    """

    def __init__(
        self,
        width: int = 32,
        num_classes: int = 0,
        norm: str = "batch",
        depth: int = 2,
        image_shape: tuple[int, ...] = IMAGE_SHAPE,
    ) -> None:
        start, _ = dcgan_plan(image_shape)
        size = image_shape[-1]
        super().__init__(image_shape, num_classes, embed_dim=size * size)
        if depth not in (2, 3):
            raise ValueError(f"depth must be 2 or 3 (3: one more block at the smallest map), not {depth!r}.")
        halvings = round(math.log2(size / start))  # 28 -> 7: 2 blocks; 32 -> 4: 3; 64 -> 4: 4
        blocks = [discriminator_block(image_shape[0] + (num_classes > 0), width, norm="none")]
        blocks += [discriminator_block(width * 2**i, width * 2 ** (i + 1), norm=norm) for i in range(halvings - 1)]
        if depth == 3:
            c = blocks[-1][0].out_channels
            blocks.append(discriminator_block(c, 2 * c, norm=norm, downsample=False))
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.head = nn.Linear(blocks[-1][0].out_channels * start * start, 1)
        self.apply(dcgan_weights_init)

    def trunk(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        """Features before the head: ``(B, c * s * s)``, the last block's channels ``c`` on the smallest map ``s``."""
        return self.features(self.with_labels(images, labels))

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.head(self.trunk(images, labels)).squeeze(1)


class ACGANDiscriminator(DCGANDiscriminator):
    """ACGAN: ``images (B, *image_shape) -> (logits (B,), class_logits (B, num_classes))``, both from one trunk.

    It does not see the label; it predicts it.
    """

    def __init__(
        self,
        width: int = 32,
        num_classes: int = 10,
        norm: str = "batch",
        depth: int = 2,
        image_shape: tuple[int, ...] = IMAGE_SHAPE,
    ) -> None:
        super().__init__(width, num_classes=0, norm=norm, depth=depth, image_shape=image_shape)
        self.class_head = nn.Linear(self.head.in_features, num_classes)

    def forward(self, images: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        h = self.trunk(images)
        return self.head(h).squeeze(1), self.class_head(h)


@torch.no_grad()
def sample(
    G: nn.Module, n: int = 64, *, z: Tensor | None = None, labels: Tensor | None = None, seed: int | None = None
) -> Tensor:
    """The one way to draw from a generator: ``(n, ...)`` samples, float32 on the CPU.

    ``z`` defaults to ``N(0, I)`` noise ``(n, G.z_dim)`` drawn on the CPU (from ``seed``: the same on every
    device); a conditional G (``G.num_classes > 0``) gets ``labels``, by default ``0, 1, ..., K-1, 0, ...``.
    G runs in eval mode (batch norm's running statistics), 1000 at a time, then back in its mode.
    """
    if z is None:
        if n < 1:
            raise ValueError(f"Ask for at least 1 sample, not {n}.")
        z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed) if seed is not None else None)
    if labels is None and getattr(G, "num_classes", 0):
        labels = torch.arange(len(z)) % G.num_classes
    inputs = [z] if labels is None else [z, labels]
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    try:
        parts = []
        for start in range(0, len(z), 1000):  # bounded memory for large n
            parts.append(G(*(t[start : start + 1000].to(device) for t in inputs)).float().cpu())
    finally:
        G.train(was_training)
    return torch.cat(parts)


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al., 2018): one feature about the whole batch, against collapse.

    ``x (B, F)`` or ``(B, C, H, W)`` -> one more feature (channel): the batch's standard deviation per feature,
    averaged. A collapsed batch has a small spread, and D can see it. Use it before D's last layer.
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[0] < 2:
            raise ValueError("MinibatchStdDev needs a batch of at least 2 samples to measure their spread.")
        spread = x.std(dim=0, unbiased=False).mean()
        return torch.cat([x, spread.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


class PackedDiscriminator(nn.Module):
    """PacGAN (Lin et al., 2018): D judges ``packing`` samples at once, all real or all generated.

    ``x (B, *shape) -> logits (B / packing,)``: ``discriminator`` scores each ``packing`` consecutive samples
    concatenated, ``(B / packing, packing * prod(shape))`` (e.g. ``MLPDiscriminator((packing * 2,))`` for 2-D
    points). A generator that repeats itself shows in a pack.
    """

    def __init__(self, discriminator: nn.Module, packing: int) -> None:
        super().__init__()
        if packing < 1:
            raise ValueError(f"packing must be at least 1, got {packing}.")
        self.discriminator, self.packing = discriminator, packing

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[0] % self.packing:
            raise ValueError(f"A batch of {x.shape[0]} samples cannot be cut into packs of {self.packing}.")
        return self.discriminator(x.reshape(x.shape[0] // self.packing, -1))
