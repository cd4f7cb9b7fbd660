from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.super_resolution.schema import SPEC, SUPPORTED_SCALES, Params


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model": "srresnet", "scale": 3}, "'srresnet' supports scale 2 or 4, not 3"),
        ({"model": "swinir-lightweight", "scale": 8}, "supports scale 2 or 3 or 4, not 8"),
        ({"model": "swinir-real", "scale": 2}, "'swinir-real' supports scale 4, not 2"),
        ({"model": "swinir-classical", "tile": 100}, "tile must be a multiple of 8 for 'swinir-classical'"),
        ({"tile": 64, "tile_overlap": 32}, "less than half the tile"),
        ({"tile_overlap": 128}, r"less than half the tile \(256\)"),
        ({"tile": 8}, "greater than or equal to 32"),
        ({"model": "esrgan"}, "model"),
        ({"scale": 5}, "scale"),
        ({"output_format": "jpeg"}, "output_format"),
        ({"scales": 2}, "Extra inputs are not permitted"),
    ],
)
def test_impossible_params_are_refused_before_queueing(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Params.model_validate(params)


@pytest.mark.parametrize("model", list(SUPPORTED_SCALES))
def test_every_supported_scale_validates(model: str) -> None:
    for scale in SUPPORTED_SCALES[model]:
        assert Params.model_validate({"model": model, "scale": scale, "tile": 128}).scale == scale


def test_defaults_and_bicubic_tiles_need_not_be_multiples_of_8() -> None:
    p = Params()
    assert (p.model, p.scale, p.tile, p.tile_overlap, p.output_format) == ("srresnet", 2, None, 16, "png")
    assert Params(model="bicubic", tile=100).tile == 100


def test_schema_examples_validate() -> None:
    for example in Params.model_json_schema()["examples"]:
        Params.model_validate(example)
    for example in SPEC.result.model_json_schema()["examples"]:
        SPEC.result.model_validate(example)


def test_schema_module_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, models.super_resolution.schema; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
