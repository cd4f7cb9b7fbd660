"""The detection task: decode, letterbox or resize, batched forward, NMS on our kernels, boxes back to input pixels.

Two kinds of model serve it. The demo detector (`network.py`, weights trained by `train.py`) letterboxes every
image to its input size and is post-processed by `kernels.postprocess` (the seed's YOLOv3 post-processing); the
torchvision detectors batch and resize images themselves and end in `kernels.nms_by_method`
(`torchvision_detectors.py`). A torchvision model whose checkpoint is missing is served by the demo detector,
with a `note` in the result saying so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from models.base import Artifact, ModelInfo, ProgressFn, TaskItem, TaskOutput
from models.detection import torchvision_detectors as tvd
from models.detection.annotate import draw_detections, encode_png
from models.detection.boxes import letterbox, xyxy_to_xywh
from models.detection.demo import Letterboxed, NmsOptions, detect, predict, prepare
from models.detection.network import TinyYolo
from models.detection.schema import DEMO_MODEL, MAX_INPUT_PIXELS, SPEC, Detection, Params, Result, Timings
from models.detection.weights import (
    TORCHVISION_VARIANTS,
    find_checkpoint,
    load_demo_model,
    load_torchvision_detector,
    search_dirs,
)
from models.errors import TaskInputError
from models.imaging import decode_rgb

logger = logging.getLogger(__name__)

#: torchvision models get images shrunk to this long side first: they resize to at most 1333 px anyway
#: (GeneralizedRCNNTransform's max_size), and a 64-megapixel float tensor would take 768 MB.
TORCHVISION_MAX_SIDE = 2048


@dataclass(frozen=True)
class Prepared:
    """One decoded image, ready for the model that will run it."""

    model: str
    note: str | None
    #: Label ids to keep, after the fallback rule (None keeps all).
    classes: tuple[int, ...] | None
    rgb: NDArray[np.uint8]
    #: The demo detector's letterboxed input, or None for torchvision models.
    demo: Letterboxed | None
    #: A torchvision model's (3, h, w) float input and its scale (input pixels per original pixel).
    tensor: Tensor | None
    tensor_scale: float
    decode_ms: float
    preprocess_ms: float


@dataclass(frozen=True)
class Raw:
    """One image's forward output: demo rows or torchvision candidates."""

    prepared: Prepared
    rows: Tensor | None
    candidates: tvd.Candidates | None
    forward_ms: float
    batch_size: int


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class DetectionTask:
    spec = SPEC

    def __init__(self) -> None:
        self._device = torch.device("cpu")
        self._demo: TinyYolo | None = None
        self._demo_classes: tuple[str, ...] = ()
        self._demo_source = ""
        self._detectors: dict[str, nn.Module] = {}
        self._sources: dict[str, str] = {}

    def load(self, device: str, weights_dir: Path | None) -> None:
        """Load the demo detector and every torchvision detector whose checkpoint is found; warm up the demo."""
        self._device = torch.device(device)
        demo, self._demo_classes, metadata = load_demo_model()
        self._demo = demo.to(self._device)
        self._demo_source = f"demo (trained here, {metadata.get('train_steps', '?')} steps)"
        for name, variant in TORCHVISION_VARIANTS.items():
            path = find_checkpoint(variant, weights_dir)
            if path is None:
                dirs = ", ".join(str(d) for d in search_dirs(weights_dir))
                self._sources[name] = (
                    f"missing: {variant.file_name} not found in {dirs}; run `visionq weights fetch detection`"
                )
                continue
            try:
                model = load_torchvision_detector(variant, path)
            except (OSError, RuntimeError, ValueError) as exc:
                logger.exception("could not load %s from %s", name, path)
                self._sources[name] = f"missing: {path} could not be loaded ({exc})"
                continue
            self._detectors[name] = tvd.route_nms(model.to(self._device))
            self._sources[name] = f"official: {path}"
        predict(self._demo, [prepare(np.zeros((64, 64, 3), np.uint8), self._demo.config.input_size)])

    def models(self) -> list[ModelInfo]:
        demo = ModelInfo(
            name=DEMO_MODEL,
            description=f"Built-in YOLO-style detector of {', '.join(self._demo_classes)} (generated scenes)",
            weights=self._demo_source,
            default=True,
        )
        others = [
            ModelInfo(name=name, description=variant.description, weights=self._sources[name])
            for name, variant in TORCHVISION_VARIANTS.items()
        ]
        return [demo, *others]

    def label_names(self, model: str) -> tuple[str, ...]:
        """Names indexed by label id for `model`."""
        return self._demo_classes if model == DEMO_MODEL else TORCHVISION_VARIANTS[model].categories

    def _demo_model(self) -> TinyYolo:
        if self._demo is None:
            raise RuntimeError("DetectionTask.load() must run first")
        return self._demo

    def preprocess(self, item: TaskItem, params: Params) -> Prepared:
        demo = self._demo_model()
        if item.data is None:
            raise TaskInputError("detection needs an image file", code="missing_file")
        start = time.perf_counter()
        rgb = decode_rgb(item.data, MAX_INPUT_PIXELS)
        decode_ms = _ms_since(start)
        start = time.perf_counter()
        model, note, classes = self._resolve(params)
        names = self.label_names(model)
        if classes is not None and not all(0 <= c < len(names) for c in classes):
            raise TaskInputError(
                f"classes must be label ids of {model} in [0, {len(names) - 1}]; got {list(classes)}",
                code="invalid_params",
                details={"classes": list(classes), "num_labels": len(names)},
            )
        demo_input, tensor, tensor_scale = None, None, 1.0
        if model == DEMO_MODEL:
            demo_input = prepare(rgb, demo.config.input_size)
        else:
            small, tensor_scale = (
                letterbox(rgb, TORCHVISION_MAX_SIDE) if max(rgb.shape[:2]) > TORCHVISION_MAX_SIDE else (rgb, 1.0)
            )
            tensor = torch.from_numpy(np.ascontiguousarray(small)).permute(2, 0, 1).float().div_(255)
        return Prepared(model, note, classes, rgb, demo_input, tensor, tensor_scale, decode_ms, _ms_since(start))

    def _resolve(self, params: Params) -> tuple[str, str | None, tuple[int, ...] | None]:
        """The model that will run, the note explaining a fallback, and the classes filter that applies."""
        classes = tuple(params.classes) if params.classes is not None else None
        if params.model == DEMO_MODEL or params.model in self._detectors:
            return params.model, None, classes
        note = f"{params.model} is not available ({self._sources[params.model]}); the demo detector ran instead" + (
            "; the classes filter was ignored because its ids are COCO ids" if classes is not None else ""
        )
        return DEMO_MODEL, note, None

    def batch_key(self, prepared: Prepared, params: Params) -> Hashable:
        # Images of any size share a forward: the demo pads to the largest, torchvision batches internally.
        return prepared.model

    def forward(self, batch: Sequence[Prepared], params: Sequence[Params], progress: ProgressFn) -> list[Raw]:
        model = batch[0].model
        if any(p.model != model for p in batch):
            raise ValueError(f"a forward group mixes models: {sorted({p.model for p in batch})}")
        start = time.perf_counter()
        if model == DEMO_MODEL:
            rows = predict(self._demo_model(), [p.demo for p in batch if p.demo is not None])
            forward_ms = _ms_since(start)
            raws = [Raw(p, rows[i], None, forward_ms, len(batch)) for i, p in enumerate(batch)]
        else:
            images = [p.tensor.to(self._device) for p in batch if p.tensor is not None]
            cands = tvd.candidates(self._detectors[model], images)
            forward_ms = _ms_since(start)
            raws = [Raw(p, None, c, forward_ms, len(batch)) for p, c in zip(batch, cands, strict=True)]
        for i in range(len(batch)):
            progress(i, 1.0)
        return raws

    def postprocess(self, raw: Raw, params: Params) -> TaskOutput:
        prepared = raw.prepared
        start = time.perf_counter()
        boxes, scores, labels = self._nms(raw, params)
        nms_ms = _ms_since(start)
        start = time.perf_counter()
        names = self.label_names(prepared.model)
        label_ids = [int(v) for v in labels.tolist()]
        label_names = [names[i] for i in label_ids]
        annotated = draw_detections(prepared.rgb, boxes.numpy(), scores.numpy(), label_names, label_ids)
        png = encode_png(annotated)
        annotate_ms = _ms_since(start)
        shown = xyxy_to_xywh(boxes) if params.box_format == "xywh" else boxes
        height, width = prepared.rgb.shape[:2]
        result = Result(
            model=prepared.model,
            note=prepared.note,
            image_width=width,
            image_height=height,
            box_format=params.box_format,
            nms_method=params.nms_method,
            detections=[
                Detection(
                    box=(round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)),
                    score=round(score, 4),
                    label_id=i,
                    label=n,
                )
                for (x1, y1, x2, y2), score, i, n in zip(
                    shown.tolist(), scores.tolist(), label_ids, label_names, strict=True
                )
            ],
            timings_ms=Timings(
                decode=round(prepared.decode_ms, 2),
                preprocess=round(prepared.preprocess_ms, 2),
                forward=round(raw.forward_ms, 2),
                nms=round(nms_ms, 2),
                annotate=round(annotate_ms, 2),
            ),
            batch_size=raw.batch_size,
        )
        return TaskOutput(result=result.model_dump(mode="json"), artifacts={"annotated": Artifact(png, "image/png")})

    def _nms(self, raw: Raw, params: Params) -> tuple[Tensor, Tensor, Tensor]:
        """Boxes (K, 4) x1 y1 x2 y2 in input pixels, scores (K,), labels (K,) int64, best first."""
        prepared = raw.prepared
        if raw.rows is not None and prepared.demo is not None:
            options = NmsOptions(
                conf_thres=params.conf_thres,
                iou_thres=params.iou_thres,
                method=params.nms_method,
                multi_label=params.multi_label,
                max_det=params.max_det,
                classes=prepared.classes,
                soft_sigma=params.soft_sigma,
            )
            out = detect(raw.rows, prepared.demo, options)
            return out[:, :4], out[:, 4], out[:, 5].long()
        if raw.candidates is None:
            raise ValueError("a raw output carries neither demo rows nor torchvision candidates")
        boxes, scores, labels = tvd.finish(
            raw.candidates,
            conf_thres=params.conf_thres,
            iou_thres=params.iou_thres,
            method=params.nms_method,
            max_det=params.max_det,
            classes=prepared.classes,
            soft_sigma=params.soft_sigma,
        )
        return boxes / prepared.tensor_scale, scores, labels
