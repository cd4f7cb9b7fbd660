"""PSNR and SSIM of the demo SRResNet against bicubic on the held-out photos (Y channel, border cropped).

    python -m models.super_resolution.evaluate [--scales 2 4] [--weights-dir DIR]

As in the SR papers: each held-out photo is cropped to a multiple of the scale, downscaled by the same
antialiased bicubic as training, upscaled back by each model, and compared on the luma (Y, ITU-R BT.601) channel
with `scale` pixels cropped from every border.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from models.super_resolution.degrade import bicubic_upscale, downscale
from models.super_resolution.photos import HELDOUT_PHOTOS, load_photo
from models.super_resolution.weights import WEIGHTS_DIR, load_srresnet


def luma(rgb: NDArray[np.float64]) -> NDArray[np.float64]:
    """Y of YCbCr (BT.601, the SR papers' convention) from RGB in [0, 1], in [16/255, 235/255]."""
    return (16.0 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0


def score(reference: NDArray[np.float64], estimate: NDArray[np.float64], border: int) -> tuple[float, float]:
    y_ref = luma(reference)[border:-border, border:-border]
    y_est = luma(np.clip(estimate, 0, 1))[border:-border, border:-border]
    psnr = peak_signal_noise_ratio(y_ref, y_est, data_range=1.0)
    ssim = structural_similarity(y_ref, y_est, data_range=1.0)
    return float(psnr), float(ssim)


def evaluate(scale: int, weights_dir: Path = WEIGHTS_DIR) -> list[dict[str, float | str]]:
    """Per held-out photo: PSNR and SSIM (Y, `scale` px border cropped) of bicubic and SRResNet at `scale`."""
    model = load_srresnet(scale, weights_dir / f"srresnet_x{scale}.safetensors")
    rows: list[dict[str, float | str]] = []
    for name in HELDOUT_PHOTOS:
        photo = load_photo(name)
        h, w = (photo.shape[0] // scale) * scale, (photo.shape[1] // scale) * scale
        hr = torch.from_numpy(photo[:h, :w]).permute(2, 0, 1).float()[None] / 255
        with torch.inference_mode():
            lr = downscale(hr, scale)
            outputs = {"bicubic": bicubic_upscale(lr, scale), "srresnet": model(lr)}
        reference = hr[0].permute(1, 2, 0).double().numpy()
        row: dict[str, float | str] = {"photo": name, "scale": scale}
        for label, out in outputs.items():
            psnr, ssim = score(reference, out[0].permute(1, 2, 0).double().numpy(), border=scale)
            row[f"{label}_psnr"], row[f"{label}_ssim"] = psnr, ssim
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR, help="where srresnet_x{2,4}.safetensors are")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    all_rows = [row for scale in args.scales for row in evaluate(scale, args.weights_dir)]
    if args.json:
        print(json.dumps(all_rows, indent=1))
        return
    header = ("photo", "scale", "bicubic PSNR", "SSIM", "SRResNet PSNR", "SSIM", "gain dB")
    print("{:<18} {:>5} | {:>12} {:>6} | {:>13} {:>6} | {:>7}".format(*header))
    for scale in args.scales:
        rows = [r for r in all_rows if r["scale"] == scale]
        mean = {k: float(np.mean([float(r[k]) for r in rows])) for k in rows[0] if k not in ("photo", "scale")}
        for r in [*rows, {"photo": "mean", "scale": scale, **mean}]:
            gain = float(r["srresnet_psnr"]) - float(r["bicubic_psnr"])
            print(
                f"{r['photo']:<18} {scale:>5} | {float(r['bicubic_psnr']):>12.2f} {float(r['bicubic_ssim']):>6.4f} | "
                f"{float(r['srresnet_psnr']):>13.2f} {float(r['srresnet_ssim']):>6.4f} | {gain:>+7.2f}"
            )


if __name__ == "__main__":
    main()
