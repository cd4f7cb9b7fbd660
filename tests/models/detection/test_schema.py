"""The detection schema: torch-free, validates what the gateway must refuse, documents itself."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest
from pydantic import ValidationError

from models.detection.schema import (
    DEMO_MODEL,
    NMS_METHODS,
    SPEC,
    TORCHVISION_MODELS,
    ModelName,
    NmsMethod,
    Params,
    Result,
)


def test_importing_the_schema_does_not_import_torch() -> None:
    code = "import sys, models.detection.schema; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_literals_match_the_published_tuples() -> None:
    assert typing.get_args(ModelName) == (DEMO_MODEL, *TORCHVISION_MODELS)
    assert typing.get_args(NmsMethod) == NMS_METHODS


def test_spec_points_at_the_task() -> None:
    assert SPEC.name == "detection"
    assert SPEC.input_kind.value == "image"
    assert SPEC.implementation == "models.detection.task:DetectionTask"


def test_examples_are_valid() -> None:
    for example in Params.model_json_schema()["examples"]:
        Params.model_validate(example)
    for example in Result.model_json_schema()["examples"]:
        Result.model_validate(example)


@pytest.mark.parametrize("method", NMS_METHODS)
def test_every_nms_method_is_accepted(method: str) -> None:
    assert Params.model_validate({"nms_method": method}).nms_method == method


@pytest.mark.parametrize(
    "bad",
    [
        {"conf_thres": 1.5},
        {"conf_thres": -0.1},
        {"iou_thres": 2},
        {"nms_method": "fast"},
        {"model": "yolov8"},
        {"box_format": "cxcywh"},
        {"max_det": 0},
        {"soft_sigma": 0},
        {"classes": []},
        {"unknown_field": 1},
    ],
)
def test_bad_params_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Params.model_validate(bad)


def test_defaults_follow_the_seed() -> None:
    params = Params()
    assert (params.model, params.conf_thres, params.iou_thres, params.nms_method) == ("demo", 0.5, 0.5, "vision_batch")
