"""Train the demo detector on procedurally generated scenes and write its weights.

Reproduce the committed weights (one CPU thread for the model, one process generating scenes):

    .venv/bin/python -m models.detection.train

Every batch is generated from its step number, so a run is a pure function of `--seed` and the other arguments:
two runs of the command above wrote identical tensors (the committed file), in 8.2 and 8.7 min of wall time on the
2-core machine, the model in one process and the scene generator in another.
Targets are assigned YOLOv5-style: each box goes to the levels whose size band holds its long side, to the grid cell
holding its centre plus the two neighbouring cells nearest to it; a cell claimed twice goes to the smaller box.
The loss is YOLOX's (arXiv 2107.08430): 5 x (1 - CIoU) + objectness BCE + class BCE, summed and divided by the
number of positive cells; the objectness target of a positive cell is its detached IoU (YOLOv5), so objectness
ranks boxes by how well they fit.
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from models.detection.boxes import PAD_VALUE, complete_iou, letterbox
from models.detection.dataset import CLASS_NAMES, TRAIN_SEEDS, generate_scene
from models.detection.network import DetectorConfig, TinyYolo
from models.detection.weights import DEMO_WEIGHTS_PATH, save_demo_weights

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1100
    batch_size: int = 32
    #: Square training canvases, one drawn per step; inference letterboxes to `DetectorConfig.input_size`.
    sizes: tuple[int, ...] = (256, 288, 320)
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    #: EMA of the weights (YOLOv5's ModelEMA); the effective decay ramps up over the first ~2000 steps.
    ema_decay: float = 0.999
    seed: int = 0
    #: Long-side bands (training pixels) each level is responsible for, overlapping so borderline boxes get both.
    level_bands: tuple[tuple[float, float], ...] = ((0.0, 48.0), (32.0, 112.0), (80.0, 1e9))
    box_weight: float = 5.0


class SceneBatches(Dataset[tuple[Tensor, Tensor]]):
    """Batch `step` of the training stream: letterboxed scenes of random size and aspect on a square canvas."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    def __len__(self) -> int:
        return self.config.steps

    def __getitem__(self, step: int) -> tuple[Tensor, Tensor]:
        """Returns images (B, 3, S, S) uint8 and targets (M, 6) float32 rows (image index, class, x1, y1, x2, y2)."""
        cfg = self.config
        rng = np.random.default_rng((cfg.seed, step))
        size = int(rng.choice(cfg.sizes))
        images, targets = [], []
        for i in range(cfg.batch_size):
            seed = int((cfg.seed * 7919 + step * cfg.batch_size + i) % TRAIN_SEEDS)
            long_side = int(size * rng.uniform(0.7, 1.5))
            aspect = math.exp(rng.uniform(math.log(0.6), math.log(1 / 0.6)))
            width = max(int(long_side * min(aspect, 1.0)), 32)
            height = max(int(long_side / max(aspect, 1.0)), 32)
            scene = generate_scene(seed, width, height)
            resized, scale = letterbox(scene.image, size)
            images.append(torch.from_numpy(resized).permute(2, 0, 1))
            rows = np.concatenate(
                [np.full((len(scene.labels), 1), i), scene.labels[:, None], scene.boxes * scale], axis=1
            )
            targets.append(torch.from_numpy(rows.astype(np.float32)))
        canvas = torch.full((cfg.batch_size, 3, size, size), PAD_VALUE, dtype=torch.uint8)
        for i, img in enumerate(images):
            canvas[i, :, : img.shape[1], : img.shape[2]] = img
        return canvas, torch.cat(targets)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def assign_level(targets: Tensor, band: tuple[float, float], stride: int, height: int, width: int) -> Tensor:
    """Positive cells of one level.

    Args:
        targets: (M, 6) rows (image index, class, x1, y1, x2, y2) in canvas pixels.
        band: (low, high) long side in pixels this level predicts.
        stride: the level's stride.
        height: grid rows.
        width: grid columns.

    Returns:
        (P, 4) long rows (target index, image index, cell y, cell x), at most one row per cell.
    """
    wh = targets[:, 4:6] - targets[:, 2:4]
    long_side = wh.max(dim=1).values
    chosen = torch.nonzero((long_side >= band[0]) & (long_side <= band[1])).flatten()
    if chosen.numel() == 0:
        return torch.zeros((0, 4), dtype=torch.long)
    centre = (targets[chosen, 2:4] + targets[chosen, 4:6]) / 2 / stride  # (m, 2) in cells
    cell = centre.floor()
    frac = centre - cell
    step_x = torch.where(frac[:, 0] < 0.5, -1.0, 1.0)
    step_y = torch.where(frac[:, 1] < 0.5, -1.0, 1.0)
    zero = torch.zeros_like(step_x)
    offsets = [(zero, zero), (step_x, zero), (zero, step_y)]
    rows = []
    for dx, dy in offsets:
        cx, cy = cell[:, 0] + dx, cell[:, 1] + dy
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        rows.append(torch.stack((chosen, targets[chosen, 0].long(), cy.long(), cx.long()), dim=1)[inside])
    pos = torch.cat(rows)
    # A cell claimed by several boxes goes to the smallest (large boxes have other cells and levels).
    area = wh[pos[:, 0]].prod(dim=1)
    key = (pos[:, 1] * height + pos[:, 2]) * width + pos[:, 3]
    rank = torch.empty_like(key)
    rank[torch.argsort(area, stable=True)] = torch.arange(len(key))
    best = torch.full((int(key.max()) + 1,), len(key), dtype=torch.long).scatter_reduce(0, key, rank, "amin")
    return pos[best[key] == rank]


def detection_loss(
    raw: list[Tensor], targets: Tensor, strides: tuple[int, ...], cfg: TrainConfig
) -> tuple[Tensor, dict[str, float]]:
    """YOLOX-normalised detection loss.

    Args:
        raw: per-level (B, 5 + C, H, W) maps from `TinyYolo.forward`.
        targets: (M, 6) rows (image index, class, x1, y1, x2, y2) in canvas pixels.
        strides: stride of each level.
        cfg: band and weight settings.

    Returns:
        The scalar loss and its parts (for the progress bar).
    """
    bce = nn.functional.binary_cross_entropy_with_logits
    box_loss = raw[0].new_zeros(())
    obj_loss = raw[0].new_zeros(())
    cls_loss = raw[0].new_zeros(())
    num_pos = 0
    for level, stride, band in zip(raw, strides, cfg.level_bands, strict=True):
        b, k, h, w = level.shape
        pred = level.permute(0, 2, 3, 1)  # (B, h, w, 5+C)
        obj_target = torch.zeros((b, h, w), dtype=level.dtype)
        pos = assign_level(targets, band, stride, h, w)
        if len(pos):
            p = pred[pos[:, 1], pos[:, 2], pos[:, 3]]  # (P, 5+C)
            grid = torch.stack((pos[:, 3], pos[:, 2]), dim=1).to(p.dtype)
            xy = (p[:, :2].sigmoid() * 2 - 0.5 + grid) * stride
            wh = p[:, 2:4].clamp(max=6.0).exp() * stride
            boxes = torch.cat((xy - wh / 2, xy + wh / 2), dim=1)
            gt = targets[pos[:, 0]]
            iou, ciou = complete_iou(boxes, gt[:, 2:6])
            box_loss = box_loss + (1 - ciou).sum()
            obj_target[pos[:, 1], pos[:, 2], pos[:, 3]] = iou.detach().clamp(0).to(obj_target.dtype)
            cls_target = nn.functional.one_hot(gt[:, 1].long(), k - 5).to(p.dtype)
            cls_loss = cls_loss + bce(p[:, 5:], cls_target, reduction="sum")
            num_pos += len(pos)
        obj_loss = obj_loss + bce(pred[..., 4], obj_target, reduction="sum")
    n = max(num_pos, 1)
    total = (cfg.box_weight * box_loss + obj_loss + cls_loss) / n
    parts = {"box": box_loss.item() / n, "obj": obj_loss.item() / n, "cls": cls_loss.item() / n}
    return total, parts


class WeightEma:
    """Exponential moving average of a model's state (YOLOv5 `ModelEMA`: decay ramps as d * (1 - exp(-t / 2000)))."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model).eval()
        self.decay = decay
        self.updates = 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / 2000))
        current = model.state_dict()
        for name, value in self.model.state_dict().items():
            if value.dtype.is_floating_point:
                value.mul_(d).add_(current[name].detach(), alpha=1 - d)
            else:
                value.copy_(current[name])


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, p in model.named_parameters():
        (decay if p.ndim == 4 and not name.endswith("bias") else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _lr_factor(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


def train(cfg: TrainConfig, model_config: DetectorConfig, workers: int = 1) -> TinyYolo:
    """Train from scratch and return the EMA model (eval mode)."""
    torch.manual_seed(cfg.seed)
    model = TinyYolo(model_config).to(memory_format=torch.channels_last)  # ~30% faster convolutions on CPU
    ema = WeightEma(model, cfg.ema_decay)
    optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _lr_factor(step, cfg))
    loader = DataLoader(
        SceneBatches(cfg),
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        worker_init_fn=_worker_init if workers else None,
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )
    model.train()
    bar = tqdm(loader, total=cfg.steps, desc="train detection", unit="step")
    for images, targets in bar:
        x = images.float().div_(255).contiguous(memory_format=torch.channels_last)
        loss, parts = detection_loss(model(x), targets, model_config.strides, cfg)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        scheduler.step()
        ema.update(model)
        bar.set_postfix(loss=f"{loss.item():.3f}", **{k: f"{v:.3f}" for k, v in parts.items()})
    model.load_state_dict(ema.model.state_dict())  # the averaged weights and BN statistics
    return model.eval().to(memory_format=torch.contiguous_format)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--workers", type=int, default=1, help="scene-generating processes (0: in this process)")
    parser.add_argument("--out", type=Path, default=DEMO_WEIGHTS_PATH)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the machine is shared; results are reproducible at one thread
    cv2.setNumThreads(1)
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, seed=args.seed)
    model_config = DetectorConfig(num_classes=len(CLASS_NAMES))
    start = time.perf_counter()
    model = train(cfg, model_config, workers=args.workers)
    elapsed_s = time.perf_counter() - start
    # no wall time in the metadata: the same arguments must give the same file, byte for byte
    save_demo_weights(model, args.out, {"train_steps": str(cfg.steps), "train_seed": str(cfg.seed)})
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) after {elapsed_s / 60:.1f} min")


if __name__ == "__main__":
    main()
