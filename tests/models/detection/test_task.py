"""The detection task in process, as a worker runs it: preprocess -> forward -> postprocess on the demo weights."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from models.base import TaskItem
from models.detection.dataset import CLASS_NAMES, heldout_scene
from models.detection.metrics import box_iou
from models.detection.schema import NMS_METHODS, Params, Result
from models.detection.task import DetectionTask
from models.errors import TaskInputError
from models.imaging import encode_image

#: A held-out scene of 9 objects of 5 classes, with clutter and occlusion: every object must be found.
SCENE_INDEX = 23


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DetectionTask]:
    previous_hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path_factory.mktemp("hub")))  # no official checkpoints anywhere
    task = DetectionTask()
    task.load("cpu", tmp_path_factory.mktemp("weights"))
    yield task
    torch.hub.set_dir(previous_hub)


def _item(rgb: np.ndarray, name: str = "x") -> TaskItem:
    return TaskItem(job_id=name, data=encode_image(rgb), filename=f"{name}.png", content_type="image/png")


def run(task: DetectionTask, items: list[TaskItem], **params: Any) -> list[dict[str, Any]]:
    p = Params.model_validate(params)
    prepared = [task.preprocess(item, p) for item in items]
    assert len({task.batch_key(x, p) for x in prepared}) == 1
    seen: list[int] = []
    raws = task.forward(prepared, [p] * len(prepared), lambda index, fraction: seen.append(index))
    assert sorted(seen) == list(range(len(items)))
    outputs = [task.postprocess(raw, p) for raw in raws]
    for out in outputs:
        Result.model_validate(out.result)
        assert out.artifacts["annotated"].media_type == "image/png"
    return [out.result for out in outputs]


def _arrays(result: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dets = result["detections"]
    boxes = np.array([d["box"] for d in dets], dtype=float).reshape(-1, 4)
    return boxes, np.array([d["score"] for d in dets]), np.array([d["label_id"] for d in dets], dtype=int)


def test_expected_objects_are_found(task: DetectionTask) -> None:
    scene = heldout_scene(SCENE_INDEX)
    result = run(task, [_item(scene.image)])[0]
    boxes, _, labels = _arrays(result)
    assert (result["image_width"], result["image_height"]) == (scene.image.shape[1], scene.image.shape[0])
    ious = box_iou(scene.boxes, boxes)
    for i, label in enumerate(scene.labels):
        same_class = np.where(labels == label, ious[i], 0.0)
        assert same_class.max() >= 0.7, f"{CLASS_NAMES[label]} at {scene.boxes[i]} not found: {result['detections']}"
    assert len(boxes) <= len(scene.labels) + 1
    assert [d["label"] for d in result["detections"]] == [CLASS_NAMES[i] for i in labels]
    assert set(result["timings_ms"]) == {"decode", "preprocess", "forward", "nms", "annotate"}


def test_images_of_different_sizes_batch_and_map_back(task: DetectionTask) -> None:
    a, b = heldout_scene(SCENE_INDEX).image, heldout_scene(10).image
    assert a.shape != b.shape
    batched = run(task, [_item(a), _item(b)])
    alone = [run(task, [_item(a)])[0], run(task, [_item(b)])[0]]
    assert [r["batch_size"] for r in batched] == [2, 2]
    for together, single in zip(batched, alone, strict=True):
        boxes_t, scores_t, labels_t = _arrays(together)
        boxes_s, scores_s, labels_s = _arrays(single)
        assert len(labels_t) == len(labels_s)
        # Padding moves scores a little, so two close scores may swap places: match detections, not positions.
        for box, score, label in zip(boxes_s, scores_s, labels_s, strict=True):
            gaps = np.where(labels_t == label, np.abs(boxes_t - box).max(axis=1), np.inf)
            best = int(gaps.argmin())
            assert gaps[best] < 1.5 and abs(scores_t[best] - score) < 0.02, (box, label, boxes_t, labels_t)


def test_letterbox_is_undone_on_a_resized_input(task: DetectionTask) -> None:
    scene = heldout_scene(SCENE_INDEX)
    h, w = scene.image.shape[:2]
    big_w, big_h = round(w * 1.7), round(h * 1.7)  # letterboxed by 320 / 604 instead of 320 / 355
    bigger = cv2.resize(scene.image, (big_w, big_h), interpolation=cv2.INTER_LINEAR)
    boxes = _arrays(run(task, [_item(bigger)])[0])[0]
    expected = scene.boxes * np.array([big_w / w, big_h / h, big_w / w, big_h / h])
    assert box_iou(expected, boxes).max(axis=1).min() >= 0.7


def test_xywh_boxes(task: DetectionTask) -> None:
    item = _item(heldout_scene(SCENE_INDEX).image)
    xyxy = _arrays(run(task, [item])[0])[0]
    xywh = _arrays(run(task, [item], box_format="xywh")[0])[0]
    np.testing.assert_allclose(xywh[:, :2], xyxy[:, :2], atol=0.02)
    np.testing.assert_allclose(xywh[:, 2:], xyxy[:, 2:] - xyxy[:, :2], atol=0.02)


@pytest.mark.parametrize("method", NMS_METHODS)
def test_every_nms_method_is_reachable(task: DetectionTask, method: str) -> None:
    result = run(task, [_item(heldout_scene(SCENE_INDEX).image)], nms_method=method, conf_thres=0.3)[0]
    assert result["nms_method"] == method
    assert len(result["detections"]) >= 1
    scores = [d["score"] for d in result["detections"]]
    assert scores == sorted(scores, reverse=True)


def _box_keys(boxes: np.ndarray) -> list[tuple[float, ...]]:
    return [tuple(np.round(b, 1)) for b in boxes]


def test_soft_nms_keeps_more_boxes_with_lower_scores(task: DetectionTask) -> None:
    item = _item(heldout_scene(SCENE_INDEX).image)
    common = {"conf_thres": 0.1, "iou_thres": 0.5}
    everything = _arrays(run(task, [item], nms_method="or", **common | {"iou_thres": 1.0})[0])
    hard = _arrays(run(task, [item], nms_method="or", **common)[0])
    soft = _arrays(run(task, [item], nms_method="soft", **common)[0])
    assert len(soft[0]) > len(hard[0])
    original = dict(zip(_box_keys(everything[0]), everything[1], strict=True))
    before = np.array([original[k] for k in _box_keys(soft[0])])  # soft moves no box: all are candidates
    assert (soft[1] <= before + 1e-3).all() and (soft[1] < before - 1e-3).any()


def test_merge_moves_boxes(task: DetectionTask) -> None:
    item = _item(heldout_scene(SCENE_INDEX).image)
    hard = _arrays(run(task, [item], nms_method="or", conf_thres=0.1)[0])
    merged = _arrays(run(task, [item], nms_method="merge", conf_thres=0.1)[0])
    assert len(merged[0]) == len(hard[0])
    assert set(_box_keys(merged[0])) != set(_box_keys(hard[0]))
    assert box_iou(hard[0], merged[0]).max(axis=1).min() > 0.5  # moved, not replaced


def test_and_drops_isolated_boxes(task: DetectionTask) -> None:
    item = _item(heldout_scene(SCENE_INDEX).image)
    # at a high threshold few duplicates survive, so some kept boxes have no neighbour left
    hard = _arrays(run(task, [item], nms_method="vision", conf_thres=0.8)[0])
    strict = _arrays(run(task, [item], nms_method="and", conf_thres=0.8)[0])
    assert 0 < len(strict[0]) < len(hard[0])
    assert set(_box_keys(strict[0])) <= set(_box_keys(hard[0]))


def test_classes_multi_label_and_max_det(task: DetectionTask) -> None:
    item = _item(heldout_scene(SCENE_INDEX).image)
    some = run(task, [item], classes=[1, 3])[0]["detections"]
    assert some and {d["label_id"] for d in some} <= {1, 3}
    single = run(task, [item], conf_thres=0.05)[0]["detections"]
    multi = run(task, [item], conf_thres=0.05, multi_label=True)[0]["detections"]
    assert len(multi) > len(single)
    assert len(run(task, [item], conf_thres=0.05, max_det=2)[0]["detections"]) == 2


def test_missing_official_weights_fall_back_to_the_demo(task: DetectionTask) -> None:
    infos = {info.name: info for info in task.models()}
    assert infos["demo"].default and infos["demo"].weights.startswith("demo")
    assert infos["fasterrcnn_resnet50_fpn"].weights.startswith("missing: fasterrcnn_resnet50_fpn_coco-")
    result = run(task, [_item(heldout_scene(SCENE_INDEX).image)], model="retinanet_resnet50_fpn", classes=[1])[0]
    assert result["model"] == "demo"
    assert "retinanet_resnet50_fpn is not available" in result["note"]
    assert "visionq weights fetch detection" in result["note"] and "classes filter was ignored" in result["note"]
    assert len(result["detections"]) > 1


def test_huge_images_are_resized_not_refused(task: DetectionTask) -> None:
    scene = heldout_scene(SCENE_INDEX)
    h, w = scene.image.shape[:2]
    factor = 4096 // max(h, w)
    huge = cv2.resize(scene.image, (w * factor, h * factor), interpolation=cv2.INTER_NEAREST)
    out = task.postprocess(
        task.forward([task.preprocess(_item(huge), Params())], [Params()], lambda i, f: None)[0], Params()
    )
    boxes = _arrays(out.result)[0]
    assert box_iou(scene.boxes * factor, boxes).max(axis=1).min() >= 0.7
    with Image.open(io.BytesIO(out.artifacts["annotated"].data)) as annotated:
        assert max(annotated.size) == 2048


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"this is not an image", "unsupported_media"),
        (encode_image(np.zeros((40, 40, 3), np.uint8))[:-40], "corrupt_image"),
        (_png_header(0, 10), "unsupported_media"),  # Pillow refuses zero-size headers outright
        (_png_header(100_000, 100_000), "image_too_large"),
        (b"", "empty_file"),
    ],
)
def test_bad_input_is_refused_with_a_code(task: DetectionTask, data: bytes, code: str) -> None:
    with pytest.raises(TaskInputError) as info:
        task.preprocess(TaskItem(job_id="bad", data=data), Params())
    assert info.value.code == code


def test_unknown_class_ids_are_refused(task: DetectionTask) -> None:
    with pytest.raises(TaskInputError, match=r"label ids of demo in \[0, 5\]") as info:
        task.preprocess(_item(np.zeros((32, 32, 3), np.uint8)), Params(classes=[6]))
    assert info.value.code == "invalid_params"
