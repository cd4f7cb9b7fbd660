"""Train the SRResNet demo weights on scikit-image's photos with L1 loss (x2 and x4).

    python -m models.super_resolution.train    # writes models/super_resolution/weights/srresnet_x{2,4}.safetensors

Random HR crops (flips, 90-degree rotations) of the training photos; LR inputs by the same antialiased bicubic
as evaluation (degrade.py). Fixed seed; one thread per process. The committed weights were trained in two
processes side by side on the 2-core CPU, `--scales 2` (6000 steps, 6.6 min) and `--scales 4` (5000 steps,
7.2 min); held-out photos (photos.HELDOUT_PHOTOS) are never sampled.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tqdm import tqdm

from models.super_resolution.degrade import downscale
from models.super_resolution.photos import TRAIN_PHOTOS, load_photo
from models.super_resolution.srresnet import SRResNet, SRResNetConfig

WEIGHTS_DIR = Path(__file__).with_name("weights")
#: Steps per scale behind the committed weights (an x4 step costs ~1.3x an x2 step).
DEFAULT_STEPS: dict[int, int] = {2: 6000, 4: 5000}
#: Low-resolution crop side per scale (x4 crops are smaller: its upsampler runs at 2x and 4x resolution).
DEFAULT_LR_CROP: dict[int, int] = {2: 32, 4: 24}


def sample_batch(photos: list[torch.Tensor], batch: int, crop: int, gen: torch.Generator) -> torch.Tensor:
    """(batch, 3, crop, crop) random augmented crops in [0, 1]."""
    out = []
    for _ in range(batch):
        photo = photos[int(torch.randint(len(photos), (1,), generator=gen))]
        _, h, w = photo.shape
        y = int(torch.randint(h - crop + 1, (1,), generator=gen))
        x = int(torch.randint(w - crop + 1, (1,), generator=gen))
        patch = photo[:, y : y + crop, x : x + crop]
        if torch.rand(1, generator=gen) < 0.5:
            patch = patch.flip(-1)
        patch = torch.rot90(patch, int(torch.randint(4, (1,), generator=gen)), dims=(1, 2))
        out.append(patch)
    return torch.stack(out)


def train_scale(scale: int, steps: int, batch: int, lr_crop: int, seed: int) -> tuple[SRResNet, float]:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    photos = [torch.from_numpy(load_photo(n)).permute(2, 0, 1).float() / 255 for n in TRAIN_PHOTOS]
    model = SRResNet(SRResNetConfig(scale=scale))
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, steps, eta_min=1e-5)
    running = 0.0
    bar = tqdm(range(steps), desc=f"train srresnet x{scale}")
    for step in bar:
        hr = sample_batch(photos, batch, lr_crop * scale, gen)
        lr = downscale(hr, scale)
        loss = F.l1_loss(model(lr), hr)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
        bar.set_postfix(l1=f"{running:.4f}")
    return model.eval(), running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--steps", type=int, default=None, help=f"per scale; default {DEFAULT_STEPS}")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument(
        "--lr-crop", type=int, default=None, help=f"low-resolution crop side; default {DEFAULT_LR_CROP}"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=WEIGHTS_DIR)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for scale in args.scales:
        started = time.perf_counter()
        steps = args.steps or DEFAULT_STEPS[scale]
        model, loss = train_scale(scale, steps, args.batch, args.lr_crop or DEFAULT_LR_CROP[scale], args.seed)
        path = args.out_dir / f"srresnet_x{scale}.safetensors"
        config = model.config
        metadata = {
            "scale": str(scale),
            "channels": str(config.channels),
            "blocks": str(config.blocks),
            "steps": str(steps),
            "l1": f"{loss:.5f}",
        }
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path), metadata=metadata)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
