from __future__ import annotations

import importlib.util
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.base import TaskItem
from models.errors import TaskInputError
from models.imaging import encode_image
from models.super_resolution.degrade import downscale
from models.super_resolution.evaluate import score
from models.super_resolution.schema import MAX_OUTPUT_SIDE, Params, Result
from models.super_resolution.task import SuperResolutionTask

SAMPLE = Path(__file__).parents[3] / "models" / "super_resolution" / "samples" / "chelsea_crop.png"
HAS_SWINIR = importlib.util.find_spec("models.super_resolution.swinir_weights") is not None


@pytest.fixture(scope="module")
def task() -> Iterator[SuperResolutionTask]:
    torch.set_num_threads(1)
    task = SuperResolutionTask()
    task.load("cpu", None)
    yield task


def _item(rgb: np.ndarray) -> TaskItem:
    return TaskItem(job_id="job", data=encode_image(np.ascontiguousarray(rgb)), filename="x.png")


def _run(task: SuperResolutionTask, rgbs: list[np.ndarray], params: Params) -> list[tuple[np.ndarray, dict]]:
    prepared = [task.preprocess(_item(rgb), params) for rgb in rgbs]
    raws = task.forward(prepared, [params] * len(prepared), lambda i, f: None)
    outputs = []
    for raw in raws:
        out = task.postprocess(raw, params)
        image = np.asarray(Image.open(io.BytesIO(out.artifacts["image"].data)).convert("RGB"))
        outputs.append((image, Result.model_validate(out.result).model_dump()))
    return outputs


def test_srresnet_beats_bicubic_on_the_held_out_sample(task: SuperResolutionTask) -> None:
    hr_u8 = np.array(Image.open(SAMPLE).convert("RGB"))[:96, :128]
    hr = torch.from_numpy(hr_u8).permute(2, 0, 1).float()[None] / 255
    lr = (downscale(hr, 2)[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    psnr = {}
    for model in ("bicubic", "srresnet"):
        ((out, result),) = _run(task, [lr], Params(model=model, scale=2))
        assert out.shape == hr_u8.shape
        assert (result["width"], result["height"], result["input_width"], result["tiles"]) == (128, 96, 64, 1)
        assert result["precision"] == "float32" and set(result["timings_ms"]) == {"decode", "forward", "encode"}
        psnr[model], _ = score(hr_u8 / 255.0, out / 255.0, border=2)
    assert psnr["srresnet"] > psnr["bicubic"] + 0.3, psnr


def test_tiles_of_two_requests_share_network_calls_and_report_progress(task: SuperResolutionTask) -> None:
    params = Params(model="srresnet", scale=2, tile=128, tile_overlap=16)
    rgbs = [np.random.default_rng(i).integers(0, 256, (192, 192, 3), dtype=np.uint8) for i in range(2)]
    prepared = [task.preprocess(_item(rgb), params) for rgb in rgbs]
    assert task.batch_key(prepared[0], params) == task.batch_key(prepared[1], params)
    network, dtype = task.networks["srresnet", 2]
    calls: list[int] = []

    def counting(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return network(x)

    task.networks["srresnet", 2] = (counting, dtype)
    task.batch_tiles = True  # what load() picks on a GPU; the code path is the same on CPU
    seen: dict[int, list[float]] = {0: [], 1: []}
    try:
        raws = task.forward(prepared, [params, params], lambda i, f: seen[i].append(f))
        task.batch_tiles = False  # the CPU default: one tile per call, same output
        calls_on_cpu = len(calls)
        one_by_one = task.forward(prepared, [params, params], lambda i, f: None)
    finally:
        task.networks["srresnet", 2] = (network, dtype)
    assert calls[:calls_on_cpu] == [8]  # 2x2 tiles per image, all eight in one call (32 of 128 px fit its budget)
    assert calls[calls_on_cpu:] == [1] * 8  # CPU: one tile per call
    assert all(torch.allclose(a.output, b.output, atol=1e-5) for a, b in zip(raws, one_by_one, strict=True))
    assert [r.tiles for r in raws] == [4, 4]
    for fractions in seen.values():
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
    alone = task.forward(prepared[:1], [params], lambda i, f: None)[0]
    assert torch.equal(alone.output, one_by_one[0].output)  # a companion request changes nothing


def test_different_tile_geometry_gets_different_batch_keys(task: SuperResolutionTask) -> None:
    params = Params(scale=2)
    small, large = (task.preprocess(_item(np.zeros((h, 50, 3), np.uint8)), params) for h in (30, 300))
    assert task.batch_key(small, params) != task.batch_key(large, params)
    assert task.batch_key(small, params) != task.batch_key(small, Params(scale=4))


def test_outputs_over_the_limit_are_refused(task: SuperResolutionTask) -> None:
    wide = np.zeros((2, MAX_OUTPUT_SIDE // 8 + 1, 3), np.uint8)
    with pytest.raises(TaskInputError, match="may be at most 16384 px on a side") as info:
        task.preprocess(_item(wide), Params(model="bicubic", scale=8))
    assert info.value.code == "output_too_large"
    task.preprocess(_item(wide), Params(model="bicubic", scale=4))


def test_corrupt_input_is_an_input_error(task: SuperResolutionTask) -> None:
    with pytest.raises(TaskInputError) as info:
        task.preprocess(TaskItem(job_id="job", data=b"not an image"), Params())
    assert info.value.code == "unsupported_media"


def test_missing_swinir_names_the_file_to_install(task: SuperResolutionTask) -> None:
    with pytest.raises(TaskInputError, match="swinir-classical x4 is not available") as info:
        task.preprocess(_item(np.zeros((8, 8, 3), np.uint8)), Params(model="swinir-classical", scale=4))
    assert info.value.code == "model_unavailable"
    infos = {m.name: m for m in task.models()}
    assert infos["srresnet"].default and infos["srresnet"].weights.startswith("demo")
    assert infos["srresnet"].description.endswith("x2/x4")
    if HAS_SWINIR:
        assert "001_classicalSR_DF2K_s64w8_SwinIR-M_x4.pth" in str(info.value)
        assert "missing: put 003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth in" in infos["swinir-real"].weights


@pytest.mark.skipif(not HAS_SWINIR, reason="models/super_resolution/swinir_weights.py is not in the tree")
def test_swinir_is_served_from_an_official_file(tmp_path: Path) -> None:
    from models.super_resolution.swinir import OFFICIAL_FILES, SWINIR_VARIANTS, SwinIR

    torch.manual_seed(0)
    net = SwinIR(SWINIR_VARIANTS["lightweight_x2"])  # the smallest release; random weights, official layout
    torch.save({"params": net.state_dict()}, tmp_path / OFFICIAL_FILES["lightweight_x2"])
    task = SuperResolutionTask()
    task.load("cpu", tmp_path)
    weights = {m.name: m.weights for m in task.models()}["swinir-lightweight"]
    assert weights.startswith(f"official: {tmp_path / OFFICIAL_FILES['lightweight_x2']}")
    assert OFFICIAL_FILES["lightweight_x3"] in weights
    rgb = np.random.default_rng(0).integers(0, 256, (40, 44, 3), dtype=np.uint8)
    ((out, result),) = _run(task, [rgb], Params(model="swinir-lightweight", scale=2, tile=32, tile_overlap=8))
    assert out.shape == (80, 88, 3) and result["tiles"] == 4
    with torch.inference_mode():  # the first tile alone: rows < 8 and columns < 12 are blended with no other tile
        first_tile = net.eval()(torch.from_numpy(rgb[:32, :32]).permute(2, 0, 1).float()[None] / 255)[0]
    expected = first_tile[:, :16, :24].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy()
    assert np.abs(out[:16, :24].astype(int) - expected).max() <= 1
