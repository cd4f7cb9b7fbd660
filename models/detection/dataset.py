"""Procedural detection scenes: coloured, textured shapes on varied backgrounds, with clutter and occlusion.

Every scene is a pure function of its seed, so the training set, the held-out evaluation set and the test images
are reproducible without storing any pixels. Training draws seeds from `TRAIN_SEEDS`; evaluation, tests and the
sample images use `HELDOUT_SEED_BASE + i`, a range training never reaches.

Objects of six classes are painted one over another (later ones occlude earlier ones; a placement that would
hide more than `max_occluded` of an earlier object is retried elsewhere), over backgrounds drawn from flat colour,
gradients, low-frequency noise, stripes and checkerboards, with distractors (lines, irregular blobs, dots) that
belong to no class. A box is the tight box of the whole object, occluded parts included, as in COCO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

CLASS_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "star", "ring", "cross")

#: Seeds [0, TRAIN_SEEDS) are for training; held-out scenes start far beyond them.
TRAIN_SEEDS = 1_000_000_000
HELDOUT_SEED_BASE = 2_000_000_000

#: Sub-pixel precision for cv2 polygon and ellipse drawing (coordinates are multiplied by 2**_SHIFT).
_SHIFT = 4
_SCALE = 1 << _SHIFT


@dataclass(frozen=True)
class SceneConfig:
    """How busy and how varied a scene is."""

    min_objects: int = 1
    max_objects: int = 9
    #: Object size (long side of its box) as a fraction of sqrt(width * height), drawn log-uniformly.
    min_size_frac: float = 0.07
    max_size_frac: float = 0.42
    #: Objects are never smaller than this many pixels, whatever the image size.
    min_size_px: float = 12.0
    #: A new object may cover at most this fraction of the still-visible pixels of an earlier object.
    max_occluded: float = 0.45
    max_distractors: int = 12
    #: Minimum RGB distance between an object's mean colour and the background under it (else the colour is redrawn).
    min_contrast: float = 70.0


@dataclass(frozen=True)
class Scene:
    """One generated image with its ground truth.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        boxes: (N, 4) float32, x1 y1 x2 y2 in pixels.
        labels: (N,) int64 indices into `CLASS_NAMES`.
    """

    image: NDArray[np.uint8]
    boxes: NDArray[np.float32]
    labels: NDArray[np.int64]


def heldout_scene(index: int, config: SceneConfig | None = None) -> Scene:
    """Held-out scene `index` (evaluation, tests and samples use these): 256-640 px long side, aspect 0.6-1.67."""
    seed = HELDOUT_SEED_BASE + index
    rng = np.random.default_rng((seed, 1))  # a stream apart from the scene's own
    long_side = int(rng.integers(256, 641))
    aspect = math.exp(rng.uniform(math.log(0.6), math.log(1 / 0.6)))
    width = max(int(long_side * min(aspect, 1.0)), 32)
    height = max(int(long_side / max(aspect, 1.0)), 32)
    return generate_scene(seed, width, height, config)


def generate_scene(seed: int, width: int, height: int, config: SceneConfig | None = None) -> Scene:
    """Render one scene deterministically from `seed`.

    Args:
        seed: any non-negative int; equal seeds and sizes give equal scenes.
        width: image width in pixels.
        height: image height in pixels.
        config: scene options; defaults to `SceneConfig()`.

    Returns:
        The image and its boxes (x1 y1 x2 y2, pixels) and labels, in painting order.
    """
    cfg = config or SceneConfig()
    rng = np.random.default_rng(seed)
    canvas = _background(rng, width, height)
    _draw_distractors(rng, canvas, cfg, count=int(rng.integers(0, cfg.max_distractors + 1)))
    owner = np.full((height, width), -1, dtype=np.int32)  # index of the object visible at each pixel
    count = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    visible = np.zeros(count, dtype=np.int64)  # pixels of each object still visible
    boxes: list[tuple[float, float, float, float]] = []
    labels: list[int] = []
    for _ in range(count):
        placed = _place_object(rng, canvas, owner, visible, cfg, index=len(boxes))
        if placed is not None:
            boxes.append(placed[0])
            labels.append(placed[1])
    if rng.random() < 0.3:  # thin clutter over the objects: a little more occlusion
        _draw_lines(rng, canvas, int(rng.integers(1, 4)), max_thickness=2)
    canvas = _photometric(rng, canvas)
    return Scene(
        image=canvas,
        boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        labels=np.asarray(labels, dtype=np.int64),
    )


def _random_colour(rng: np.random.Generator) -> NDArray[np.float32]:
    return rng.uniform(0, 255, size=3).astype(np.float32)


def _background(rng: np.random.Generator, width: int, height: int) -> NDArray[np.uint8]:
    kind = rng.choice(["flat", "gradient", "noise", "stripes", "checker"], p=[0.15, 0.25, 0.3, 0.15, 0.15])
    base = _random_colour(rng)
    if kind == "flat":
        img = np.broadcast_to(base, (height, width, 3)).copy()
    elif kind == "gradient":
        other = _random_colour(rng)
        angle = rng.uniform(0, 2 * math.pi)
        t = _ramp(width, height, angle)
        img = base * (1 - t[..., None]) + other * t[..., None]
    elif kind == "noise":
        cells = int(rng.integers(2, 10))
        small = rng.uniform(0, 255, size=(cells, cells, 3)).astype(np.float32)
        img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    else:
        img = _pattern(rng, width, height, base, _random_colour(rng), kind, period=rng.uniform(6, 40))
    if rng.random() < 0.5:  # fine grain
        img = img + rng.standard_normal(img.shape, dtype=np.float32) * rng.uniform(2, 14)
    return np.clip(img, 0, 255).astype(np.uint8)


def _ramp(width: int, height: int, angle: float) -> NDArray[np.float32]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    proj = xs * math.cos(angle) + ys * math.sin(angle)
    return (proj - proj.min()) / max(float(np.ptp(proj)), 1.0)


def _pattern(
    rng: np.random.Generator,
    width: int,
    height: int,
    colour_a: NDArray[np.float32],
    colour_b: NDArray[np.float32],
    kind: str,
    period: float,
    origin: tuple[float, float] = (0.0, 0.0),
) -> NDArray[np.float32]:
    """Two-colour stripes or checkerboard at a random angle, (height, width, 3) float32."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs += origin[0]
    ys += origin[1]
    angle = rng.uniform(0, math.pi)
    u = xs * math.cos(angle) + ys * math.sin(angle)
    if kind == "stripes":
        mask = (np.floor(u / period) % 2).astype(np.float32)
    else:
        v = -xs * math.sin(angle) + ys * math.cos(angle)
        mask = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    return colour_a * (1 - mask[..., None]) + colour_b * mask[..., None]


def _draw_lines(rng: np.random.Generator, canvas: NDArray[np.uint8], count: int, max_thickness: int) -> None:
    h, w = canvas.shape[:2]
    for _ in range(count):
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p2 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        cv2.line(canvas, p1, p2, colour, int(rng.integers(1, max_thickness + 1)), cv2.LINE_AA)


def _draw_distractors(rng: np.random.Generator, canvas: NDArray[np.uint8], cfg: SceneConfig, count: int) -> None:
    """Lines, irregular blobs and dots that belong to no class."""
    h, w = canvas.shape[:2]
    scale = math.sqrt(w * h)
    for _ in range(count):
        kind = rng.choice(["line", "blob", "dots"], p=[0.45, 0.35, 0.2])
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if kind == "line":
            _draw_lines(rng, canvas, 1, max_thickness=4)
        elif kind == "blob":
            radius = scale * rng.uniform(0.015, 0.06)
            n = int(rng.integers(7, 12))
            angles = np.sort(rng.uniform(0, 2 * math.pi, size=n))
            radii = radius * rng.uniform(0.35, 1.0, size=n)
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)
            cv2.fillPoly(canvas, [np.round(pts * _SCALE).astype(np.int32)], colour, cv2.LINE_AA, _SHIFT)
        else:
            for _ in range(int(rng.integers(3, 15))):
                centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
                cv2.circle(canvas, centre, int(rng.integers(1, 4)), colour, -1, cv2.LINE_AA)


def _shape_points(rng: np.random.Generator, label: int, size: float) -> NDArray[np.float64]:
    """Polygon vertices (K, 2) centred on the origin, for the polygon classes, before rotation."""
    name = CLASS_NAMES[label]
    r = size / 2
    if name == "square":
        return np.array([[-r, -r], [r, -r], [r, r], [-r, r]])
    if name == "triangle":
        angles = -math.pi / 2 + np.arange(3) * 2 * math.pi / 3 + rng.uniform(-0.15, 0.15, size=3)
        return np.stack([r * np.cos(angles), r * np.sin(angles)], axis=1)
    if name == "star":
        inner = rng.uniform(0.38, 0.5)
        angles = -math.pi / 2 + np.arange(10) * math.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * inner)
        return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    if name == "cross":
        a = r * rng.uniform(0.28, 0.4)  # half arm width
        return np.array(
            [[-a, -r], [a, -r], [a, -a], [r, -a], [r, a], [a, a], [a, r], [-a, r], [-a, a], [-r, a], [-r, -a], [-a, -a]]
        )
    raise ValueError(f"{name} is not a polygon class")


def _object_mask(
    rng: np.random.Generator, label: int, size: float, width: int, height: int
) -> tuple[NDArray[np.float32], tuple[float, float, float, float]] | None:
    """Anti-aliased mask (height, width) of one object placed at random, with its tight box; None if it can't fit."""
    name = CLASS_NAMES[label]
    mask = np.zeros((height, width), dtype=np.uint8)
    stretch = rng.uniform(0.85, 1.15, size=2)
    if name in ("circle", "ring"):
        axes = np.array([size / 2, size / 2]) * stretch
        half = axes
    else:
        pts = _shape_points(rng, label, size) * stretch
        theta = rng.uniform(0, 2 * math.pi)
        rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        pts = pts @ rot.T
        half = np.abs(pts).max(axis=0)
    if 2 * half[0] >= width - 2 or 2 * half[1] >= height - 2:
        return None
    cx = rng.uniform(half[0] + 1, width - half[0] - 1)
    cy = rng.uniform(half[1] + 1, height - half[1] - 1)
    if name in ("circle", "ring"):
        centre = (round(cx * _SCALE), round(cy * _SCALE))
        cv2.ellipse(
            mask, centre, (round(axes[0] * _SCALE), round(axes[1] * _SCALE)), 0, 0, 360, 255, -1, cv2.LINE_AA, _SHIFT
        )
        if name == "ring":
            inner = axes * rng.uniform(0.45, 0.68)
            cv2.ellipse(
                mask,
                centre,
                (round(inner[0] * _SCALE), round(inner[1] * _SCALE)),
                0,
                0,
                360,
                0,
                -1,
                cv2.LINE_AA,
                _SHIFT,
            )
        box = (cx - axes[0], cy - axes[1], cx + axes[0], cy + axes[1])
    else:
        placed = pts + np.array([cx, cy])
        cv2.fillPoly(mask, [np.round(placed * _SCALE).astype(np.int32)], 255, cv2.LINE_AA, _SHIFT)
        box = (
            float(placed[:, 0].min()),
            float(placed[:, 1].min()),
            float(placed[:, 0].max()),
            float(placed[:, 1].max()),
        )
    return mask.astype(np.float32) / 255.0, box


def _object_fill(
    rng: np.random.Generator, background_mean: NDArray[np.float32], width: int, height: int, cfg: SceneConfig
) -> NDArray[np.float32]:
    """A texture (height, width, 3) whose mean colour stands out from `background_mean`."""
    colour = _random_colour(rng)
    for _ in range(20):
        if np.linalg.norm(colour - background_mean) >= cfg.min_contrast:
            break
        colour = _random_colour(rng)
    kind = rng.choice(["flat", "stripes", "checker", "gradient", "noisy"], p=[0.4, 0.15, 0.1, 0.2, 0.15])
    if kind == "flat":
        return np.broadcast_to(colour, (height, width, 3)).astype(np.float32)
    second = np.clip(colour + rng.uniform(-70, 70, size=3), 0, 255).astype(np.float32)
    if kind in ("stripes", "checker"):
        return _pattern(rng, width, height, colour, second, kind, period=rng.uniform(3, 12))
    if kind == "gradient":
        t = _ramp(width, height, rng.uniform(0, 2 * math.pi))
        return colour * (1 - t[..., None]) + second * t[..., None]
    return colour + rng.standard_normal((height, width, 3), dtype=np.float32) * 18


def _place_object(
    rng: np.random.Generator,
    canvas: NDArray[np.uint8],
    owner: NDArray[np.int32],
    visible: NDArray[np.int64],
    cfg: SceneConfig,
    index: int,
) -> tuple[tuple[float, float, float, float], int] | None:
    """Paint one object where it hides no earlier object too much; returns its box and label, or None."""
    h, w = owner.shape
    label = int(rng.integers(len(CLASS_NAMES)))
    lo = max(cfg.min_size_frac * math.sqrt(w * h), cfg.min_size_px)
    hi = max(cfg.max_size_frac * math.sqrt(w * h), lo)
    for _ in range(8):
        size = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        drawn = _object_mask(rng, label, size, w, h)
        if drawn is None:
            continue
        alpha, box = drawn
        x1, y1 = max(int(box[0]) - 1, 0), max(int(box[1]) - 1, 0)
        x2, y2 = min(int(math.ceil(box[2])) + 2, w), min(int(math.ceil(box[3])) + 2, h)
        a = alpha[y1:y2, x1:x2]
        covered = owner[y1:y2, x1:x2][a > 0.5]
        hidden = np.bincount(covered[covered >= 0], minlength=index)
        if np.any(hidden > cfg.max_occluded * np.maximum(visible[:index], 1)):
            continue
        region = canvas[y1:y2, x1:x2].astype(np.float32)
        background_mean = region[a > 0.5].mean(axis=0) if (a > 0.5).any() else region.reshape(-1, 3).mean(axis=0)
        fill = _object_fill(rng, background_mean, x2 - x1, y2 - y1, cfg)
        if rng.random() < 0.25:  # a dark or light outline
            edge = cv2.morphologyEx(a, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
            fill = fill * (1 - edge[..., None]) + (255.0 * (rng.random() < 0.5)) * edge[..., None]
        blended = region * (1 - a[..., None]) + fill * a[..., None]
        canvas[y1:y2, x1:x2] = np.clip(blended, 0, 255).astype(np.uint8)
        owner[y1:y2, x1:x2][a > 0.5] = index
        visible[:index] -= hidden
        visible[index] = int((a > 0.5).sum())
        return box, label
    return None


def _photometric(rng: np.random.Generator, canvas: NDArray[np.uint8]) -> NDArray[np.uint8]:
    contrast = rng.uniform(0.75, 1.2)
    img = canvas.astype(np.float32) * contrast + (128.0 * (1 - contrast) + rng.uniform(-25, 25))
    if rng.random() < 0.25:
        sigma = rng.uniform(0.5, 1.4)
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < 0.3:
        img = img + rng.standard_normal(img.shape, dtype=np.float32) * rng.uniform(3, 10)
    return np.clip(img, 0, 255).astype(np.uint8)
