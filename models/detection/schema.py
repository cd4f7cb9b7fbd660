"""Request and response schemas of the detection task (torch-free; the gateway imports this module)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.base import InputKind, TaskSpec

#: The built-in detector trained by this repository (`models/detection/train.py`); always available.
DEMO_MODEL = "demo"
#: torchvision detectors with official COCO weights; each needs its checkpoint (see `models/detection/weights.py`).
TORCHVISION_MODELS: tuple[str, ...] = (
    "fasterrcnn_resnet50_fpn",
    "retinanet_resnet50_fpn",
    "fcos_resnet50_fpn",
    "ssdlite320_mobilenet_v3_large",
)
#: NMS methods of the seed's YOLOv3 post-processing, all implemented in `kernels/`.
NMS_METHODS: tuple[str, ...] = ("vision", "vision_batch", "or", "and", "merge", "diou", "soft")
#: Images up to this many pixels are accepted and shrunk as each model needs; larger ones are refused (413).
MAX_INPUT_PIXELS = 64 * 1024 * 1024

ModelName = Literal[
    "demo", "fasterrcnn_resnet50_fpn", "retinanet_resnet50_fpn", "fcos_resnet50_fpn", "ssdlite320_mobilenet_v3_large"
]
NmsMethod = Literal["vision", "vision_batch", "or", "and", "merge", "diou", "soft"]


class Params(BaseModel):
    """How to detect: which model, which thresholds, which NMS."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"model": "demo", "conf_thres": 0.5, "iou_thres": 0.5, "nms_method": "vision_batch"},
                {"model": "demo", "conf_thres": 0.3, "nms_method": "soft", "soft_sigma": 0.5, "box_format": "xywh"},
                {"model": "fasterrcnn_resnet50_fpn", "conf_thres": 0.5, "classes": [1, 3], "max_det": 50},
            ]
        },
    )

    model: ModelName = Field(
        default="demo",
        description="Detector to run. torchvision models need their official COCO checkpoint; without it the "
        "demo detector runs instead and the response's `note` says so.",
    )
    conf_thres: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Keep detections whose confidence exceeds this. Demo: objectness x class probability "
        "(objectness must exceed it too, as in YOLOv3). torchvision models: their class score; values below the "
        "model's own candidate floor (0.05 Faster R-CNN and RetinaNet, 0.2 FCOS, 0.001 SSDlite) act as that floor.",
    )
    iou_thres: float = Field(
        default=0.5, ge=0.0, le=1.0, description="IoU (DIoU for `diou`) above which NMS suppresses a box."
    )
    nms_method: NmsMethod = Field(
        default="vision_batch",
        description="vision: hard NMS per class; vision_batch: class-aware hard NMS in one call; or: greedy hard NMS; "
        "and: hard NMS that also drops boxes no other box overlaps; merge: kept boxes become the confidence-weighted "
        "mean of their cluster; diou: hard NMS on DIoU; soft: Gaussian Soft-NMS (scores decay, more boxes survive).",
    )
    soft_sigma: float = Field(default=0.5, gt=0.0, le=10.0, description="Gaussian Soft-NMS sigma: exp(-IoU^2 / sigma).")
    multi_label: bool = Field(
        default=False,
        description="Demo: every class over the threshold becomes its own detection (else the best class only). "
        "torchvision detectors always score each class separately.",
    )
    max_det: int = Field(default=300, ge=1, le=1000, description="At most this many detections, best first.")
    classes: list[int] | None = Field(
        default=None,
        min_length=1,
        description="Keep only these label ids (see GET /models or a response's `label_id`); null keeps all.",
        examples=[[0, 3]],
    )
    box_format: Literal["xyxy", "xywh"] = Field(
        default="xyxy",
        description="xyxy: x1, y1, x2, y2; xywh: top-left x, y, width, height (torchvision's names). Pixels of the "
        "uploaded image.",
    )


class Detection(BaseModel):
    box: tuple[float, float, float, float] = Field(
        description="In input-image pixels, in the requested `box_format`.", examples=[[12.5, 40.0, 96.0, 130.25]]
    )
    score: float = Field(ge=0.0, le=1.0, examples=[0.93])
    label_id: int = Field(examples=[3])
    label: str = Field(examples=["star"])


class Timings(BaseModel):
    """Milliseconds spent in each stage for this image; `forward` is the whole batch's forward pass."""

    decode: float
    preprocess: float
    forward: float
    nms: float
    annotate: float


class Result(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "demo",
                    "note": None,
                    "image_width": 640,
                    "image_height": 480,
                    "box_format": "xyxy",
                    "nms_method": "vision_batch",
                    "detections": [{"box": [12.5, 40.0, 96.0, 130.25], "score": 0.93, "label_id": 3, "label": "star"}],
                    "timings_ms": {"decode": 4.1, "preprocess": 1.2, "forward": 31.0, "nms": 0.6, "annotate": 9.8},
                    "batch_size": 1,
                }
            ]
        }
    )

    model: str = Field(description="The model that ran (the demo detector when the requested one is missing).")
    note: str | None = Field(default=None, description="Why another model ran than the one requested, if it did.")
    image_width: int
    image_height: int
    box_format: Literal["xyxy", "xywh"]
    nms_method: NmsMethod
    detections: list[Detection] = Field(description="Sorted by score, best first.")
    timings_ms: Timings
    batch_size: int = Field(description="How many images shared the forward pass.")


SPEC = TaskSpec(
    name="detection",
    title="Object detection",
    description="Boxes, scores and labels for an image, with a choice of detector and NMS method, plus an "
    "annotated PNG (artifact `annotated`).",
    input_kind=InputKind.image,
    params=Params,
    result=Result,
    implementation="models.detection.task:DetectionTask",
    weights_fetcher="models.detection.weights:fetch_weights",
)
