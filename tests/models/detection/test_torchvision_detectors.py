"""torchvision detectors on our NMS: identical to stock torchvision with method "vision_batch"; no torchvision NMS."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
import torchvision.ops.boxes
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.resnet import resnet50
from torchvision.ops.misc import FrozenBatchNorm2d

from models.detection.torchvision_detectors import candidates, finish, route_nms
from models.detection.weights import (
    TORCHVISION_VARIANTS,
    build_torchvision_detector,
    find_checkpoint,
    load_torchvision_detector,
)

# Small inputs and low score floors, so that random weights give thousands of overlapping candidates.
TINY: dict[str, dict[str, Any]] = {
    "fasterrcnn_resnet50_fpn": {
        "min_size": 128,
        "max_size": 160,
        "box_score_thresh": 0.005,
        "rpn_pre_nms_top_n_test": 150,
        "rpn_post_nms_top_n_test": 60,
    },
    "retinanet_resnet50_fpn": {"min_size": 128, "max_size": 160, "score_thresh": 0.005, "topk_candidates": 60},
    "fcos_resnet50_fpn": {"min_size": 128, "max_size": 160, "score_thresh": 0.05, "topk_candidates": 60},
    "ssdlite320_mobilenet_v3_large": {"score_thresh": 0.001, "topk_candidates": 20},
}


def _head(model: nn.Module) -> nn.Module:
    return getattr(model, "roi_heads", model)


def _images() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.rand(3, 120, 160, generator=g), torch.rand(3, 90, 70, generator=g)]


@pytest.fixture(scope="module", params=list(TINY))
def stock_and_routed(request: pytest.FixtureRequest) -> tuple[str, nn.Module, nn.Module]:
    name = request.param
    torch.manual_seed(0)
    stock = build_torchvision_detector(TORCHVISION_VARIANTS[name], **TINY[name])
    return name, stock, route_nms(copy.deepcopy(stock))


def test_vision_batch_output_is_identical_to_stock(stock_and_routed: tuple[str, nn.Module, nn.Module]) -> None:
    name, stock, routed = stock_and_routed
    head = _head(stock)
    images = _images()
    with torch.inference_mode():
        expected = stock(images)
    for exp, cand in zip(expected, candidates(routed, images), strict=True):
        boxes, scores, labels = finish(
            cand,
            conf_thres=head.score_thresh,
            iou_thres=head.nms_thresh,
            method="vision_batch",
            max_det=head.detections_per_img,
        )
        assert len(cand.boxes) > len(exp["boxes"]) > 0, f"{name}: NMS had nothing to do"
        assert torch.equal(labels, exp["labels"]), name
        assert torch.equal(scores, exp["scores"]), name
        assert torch.equal(boxes, exp["boxes"]), name


def test_no_torchvision_nms_runs(
    stock_and_routed: tuple[str, nn.Module, nn.Module], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, _, routed = stock_and_routed

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("torchvision NMS was called")

    monkeypatch.setattr(torchvision.ops.boxes, "nms", forbidden)
    monkeypatch.setattr(torchvision.ops.boxes, "batched_nms", forbidden)
    for cand in candidates(routed, _images()):
        for method in ("vision", "soft"):
            finish(cand, conf_thres=0.01, iou_thres=0.5, method=method, max_det=100)


def test_routing_leaves_stock_models_alone(stock_and_routed: tuple[str, nn.Module, nn.Module]) -> None:
    _, stock, routed = stock_and_routed
    assert "postprocess_detections" not in vars(_head(stock))
    assert "postprocess_detections" in vars(_head(routed))


def test_an_official_checkpoint_loads_key_for_key(tmp_path: Any) -> None:
    variant = TORCHVISION_VARIANTS["fasterrcnn_resnet50_fpn"]
    # the layout torchvision itself builds for pretrained weights (faster_rcnn.py, fasterrcnn_resnet50_fpn)
    official = FasterRCNN(_resnet_fpn_extractor(resnet50(norm_layer=FrozenBatchNorm2d), 3), num_classes=91)
    for module in official.modules():
        if isinstance(module, FrozenBatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
    torch.save(official.state_dict(), tmp_path / variant.file_name)
    path = find_checkpoint(variant, tmp_path)
    assert path == tmp_path / variant.file_name
    loaded = load_torchvision_detector(variant, path)
    state = loaded.state_dict()
    assert state.keys() == official.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in official.state_dict().items())
    eps = {m.eps for m in loaded.modules() if isinstance(m, FrozenBatchNorm2d)}
    assert eps == {0.0}  # torchvision's overwrite_eps(model, 0.0) for the v1 file


def test_a_mismatched_checkpoint_is_refused(tmp_path: Any) -> None:
    variant = TORCHVISION_VARIANTS["ssdlite320_mobilenet_v3_large"]
    state = build_torchvision_detector(variant).state_dict()
    state.pop(next(iter(state)))
    with pytest.raises(ValueError, match="missing keys"):
        build_torchvision_detector(variant, state)


def test_missing_checkpoints_are_not_found(tmp_path: Any) -> None:
    for variant in TORCHVISION_VARIANTS.values():
        assert variant.file_name.endswith(".pth") and variant.url.endswith(variant.file_name)
        if find_checkpoint(variant, None) is None:
            assert find_checkpoint(variant, tmp_path) is None
