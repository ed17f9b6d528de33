"""Augmentation of whole batches on the training device: no per-picture Python.

`ShiftFlip` moves every picture by a random offset of up to `pad` pixels (a random crop of the
picture padded with zeros, as in the classic CIFAR recipe) and mirrors a random half left to right
when `flip` is set. `RandomAffine` also turns and scales each picture a little (one `affine_grid`
and one `grid_sample` for the whole batch): what small picture sets need, where a face seen a few
times must be recognised a little tilted, nearer or further. Flips suit photos and faces, never digits or letters (a mirrored 2 is not a 2):
`flips_make_sense` tells them apart from the data.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

SYMMETRY_THRESHOLD = 0.2  # mean class asymmetry below which mirrored pictures still look like their class
# (measured: digits 0.32, rendered letters 0.27; made-up faces 0.11, elephant scenes 0.08)


class ShiftFlip:
    """Random shifts of up to `pad` pixels (or (rows, columns): a spectrogram moves in time only) into
    a margin of zeros (or of `fill`), and left-right flips when `flip`; on (N, C, H, W) batches."""

    def __init__(self, pad, flip: bool, seed: int, fill: torch.Tensor | None = None, lighting: float = 0.0):
        self.pad_rows, self.pad_cols = (pad, pad) if np.isscalar(pad) else pad
        self.flip = flip
        self.fill = fill  # what the margin holds, broadcast to (1, C, H, 1); None: zeros
        self.lighting = lighting  # pictures made up to this share brighter or darker, and as much more or less contrasted
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, pictures: torch.Tensor) -> torch.Tensor:
        n, _, height, width = pictures.shape
        out = pictures
        if self.pad_rows or self.pad_cols:
            pad_rows, pad_cols = self.pad_rows, self.pad_cols
            padded = F.pad(pictures, (pad_cols, pad_cols, pad_rows, pad_rows))
            if self.fill is not None:  # e.g. silence in each mel band, for spectrograms
                margin = torch.ones_like(padded[:1, :1], dtype=torch.bool)
                margin[..., pad_rows:pad_rows + height, pad_cols:pad_cols + width] = False
                padded = torch.where(margin, self.fill.to(padded), padded)
            if pad_rows == pad_cols:
                offsets = torch.randint(0, 2 * pad_rows + 1, (2, n), generator=self.generator)
            else:
                offsets = torch.stack([torch.randint(0, 2 * pad + 1, (n,), generator=self.generator)
                                       for pad in (pad_rows, pad_cols)])
            offsets = offsets.to(pictures.device)
            rows = offsets[0][:, None] + torch.arange(height, device=pictures.device)
            cols = offsets[1][:, None] + torch.arange(width, device=pictures.device)
            batch = torch.arange(n, device=pictures.device)[:, None, None]
            out = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
        if self.flip:
            mirrored = torch.rand(n, generator=self.generator).to(pictures.device) < 0.5
            out = torch.where(mirrored[:, None, None, None], out.flip(3), out)
        if self.lighting:
            out = relit(out, self.lighting, self.generator)
        return out.contiguous()


def relit(pictures: torch.Tensor, amount: float, generator: torch.Generator) -> torch.Tensor:
    """Each picture's brightness and contrast changed by a random factor within 1 +- `amount`: pixels
    spread around the picture's mean, then the whole picture scaled; kept within 0-255 for bytes."""
    n = len(pictures)
    factors = 1 + (torch.rand(2, n, 1, 1, 1, generator=generator) * 2 - 1).to(pictures.device) * amount
    values = pictures.float()
    mean = values.mean(dim=(1, 2, 3), keepdim=True)
    values = ((values - mean) * factors[0] + mean) * factors[1]
    return values.clamp(0, 255) if pictures.dtype == torch.uint8 else values


class RandomAffine:
    """Each picture of an (N, C, H, W) batch turned by up to `degrees`, scaled by up to 1 +- `scale`, moved
    by up to `shift` of its height and width, mirrored left to right half the time when `flip`, and
    relit as `ShiftFlip` does when `lighting`; bilinear, with zeros coming in at the edges (as
    `ShiftFlip`'s margin). Floats out."""

    def __init__(self, shift: float, degrees: float, scale: float, flip: bool, seed: int, lighting: float = 0.0):
        self.shift, self.degrees, self.scale, self.flip = shift, degrees, scale, flip
        self.lighting = lighting  # as ShiftFlip's
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, pictures: torch.Tensor) -> torch.Tensor:
        n, _, height, width = pictures.shape
        uniform = torch.rand(5, n, generator=self.generator, dtype=torch.float64) * 2 - 1  # each in [-1, 1)
        angle = uniform[0] * math.radians(self.degrees)
        zoom = 1 + uniform[1] * self.scale
        mirror = torch.where(uniform[2] < 0, -1.0, 1.0) if self.flip else torch.ones(n, dtype=torch.float64)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        # A turn in pixels, written in the -1..1 coordinates of affine_grid (which stretch a side to 2).
        theta = torch.stack([torch.stack([cos * mirror, -sin * height / width, uniform[3] * self.shift * 2], 1),
                             torch.stack([sin * width / height * mirror, cos, uniform[4] * self.shift * 2], 1)], 1)
        theta = theta.to(device=pictures.device, dtype=torch.float32)
        grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)
        out = F.grid_sample(pictures.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if self.lighting:
            out = relit(out, self.lighting, self.generator)
            out = out.clamp(0, 255) if pictures.dtype == torch.uint8 else out
        return out


def shift_for(height: int, width: int) -> int:
    """An eighth of the picture, at least one pixel: 1 for 8x8 digits, 4 for 32x32, 8 for 64x64."""
    return max(1, round(min(height, width) / 8))


def asymmetry(pictures: np.ndarray, y_index: np.ndarray, per_class: int = 200) -> float:
    """How much each class's mean picture differs from its mirror image (0: symmetric, 1: opposite).

    Digits and letters score high (a mean 3 is not a mean mirrored 3); faces, animals and scenes low.

    >>> left = np.zeros((4, 1, 8, 8)); left[:, :, :, :2] = 1       # a bar on the left edge
    >>> round(asymmetry(left, np.zeros(4, dtype=int)), 2)
    0.82
    >>> middle = np.zeros((4, 1, 8, 8)); middle[:, :, :, 3:5] = 1  # a bar in the middle
    >>> round(asymmetry(middle, np.zeros(4, dtype=int)), 2)
    0.0
    """
    scores = []
    for label in np.unique(y_index):
        rows = np.flatnonzero(y_index == label)[:per_class]
        mean = pictures[rows].mean(axis=(0, 1), dtype=np.float64)  # (H, W), channels averaged
        centred = mean - mean.mean()
        norm = np.linalg.norm(centred)
        if norm > 0:
            scores.append(np.linalg.norm(centred - centred[:, ::-1]) / (2 * norm))
    return float(np.mean(scores)) if scores else 0.0


def flips_make_sense(pictures: np.ndarray, y_index: np.ndarray) -> bool:
    return asymmetry(pictures, y_index) < SYMMETRY_THRESHOLD
