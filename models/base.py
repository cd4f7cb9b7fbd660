"""The contract every task implements, and the torch-free description of a task.

Data flow inside a worker, for one batch of jobs of one task:

    item (bytes + params) --preprocess--> prepared --batch_key--> groups
    group --forward--> raw outputs (one per item) --postprocess--> TaskOutput(result, artifacts)

`TaskSpec` is what the gateway sees (schemas, input kind); `Task` is what the worker runs. The spec
names the implementation by dotted path so that importing a spec never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

ParamsT = TypeVar("ParamsT", bound=BaseModel, contravariant=True)
PreparedT = TypeVar("PreparedT")
RawT = TypeVar("RawT")

#: Reports progress of item `index` (its position in the batch given to `forward`) as a fraction in [0, 1].
ProgressFn = Callable[[int, float], None]


class InputKind(StrEnum):
    #: A still image (PNG, JPEG, WebP, BMP, TIFF), checked by the gateway with Pillow.
    image = "image"
    #: A short video (MP4, AVI, MPG, WebM, GIF), checked by the gateway with PyAV.
    video = "video"
    #: No file at all; everything is in the params (NeRF takes a pose).
    none = "none"


@dataclass(frozen=True)
class Artifact:
    """A result file stored beside the job and served at /jobs/{id}/artifacts/{name}."""

    data: bytes
    media_type: str  # e.g. "image/png", "image/gif", "video/mp4", "application/x-npy"


@dataclass
class TaskOutput:
    """What one item produces: a JSON-able result and named artifacts."""

    result: dict[str, Any]
    artifacts: dict[str, Artifact] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskItem:
    """One job's input as the worker hands it to `preprocess`."""

    job_id: str
    data: bytes | None  # the uploaded file; None for tasks with InputKind.none
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """One model a task can run, as listed by GET /models."""

    name: str
    description: str
    weights: str  # where weights come from: "builtin", "demo (trained here)", "official: <path>", "missing: ..."
    default: bool = False


@dataclass(frozen=True)
class TaskSpec:
    """Torch-free description of a task: everything the gateway needs to validate and document requests."""

    name: str
    title: str
    description: str
    input_kind: InputKind
    params: type[BaseModel]
    result: type[BaseModel]
    #: Dotted path "package.module:ClassName" of the `Task` implementation, imported by workers only.
    implementation: str
    #: Media types the gateway accepts for the file; empty means any type of `input_kind`.
    accepts: tuple[str, ...] = ()
    #: Dotted path of `fetch(dest_dir: Path) -> list[Path]` that downloads official weights (needs a network);
    #: run by `visionq weights fetch <task>`, never by tests or at serving time.
    weights_fetcher: str | None = None


class Task(Protocol, Generic[ParamsT, PreparedT, RawT]):
    """What a worker runs. One instance per process; `load` is called once before any other method."""

    spec: TaskSpec

    def load(self, device: str, weights_dir: Path | None) -> None:
        """Build networks, load weights onto `device` ("cpu", "cuda:0") and warm up.

        `weights_dir` is where user-supplied official checkpoints are looked for (None: demo weights only);
        demo weights ship inside the package.
        """
        ...

    def models(self) -> list[ModelInfo]:
        """Models this task can serve in this process, with where their weights came from."""
        ...

    def preprocess(self, item: TaskItem, params: ParamsT) -> PreparedT:
        """Decode and validate one item on the CPU. Raises `TaskInputError` on bad input."""
        ...

    def batch_key(self, prepared: PreparedT, params: ParamsT) -> Hashable:
        """Items with equal keys may share one `forward` call."""
        ...

    def forward(self, batch: Sequence[PreparedT], params: Sequence[ParamsT], progress: ProgressFn) -> list[RawT]:
        """Run the network once for a group of compatible items; returns one raw output per item, in order."""
        ...

    def postprocess(self, raw: RawT, params: ParamsT) -> TaskOutput:
        """Turn one raw output into the JSON result and artifacts."""
        ...
