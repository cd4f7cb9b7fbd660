"""Parameter controls generated from a task's JSON schema (GET /models `params_schema`, the pydantic Params).

Each property becomes the widget its schema implies, with the schema's title, description (as help), default
and bounds, so the form cannot drift from what the gateway validates:

    enum / Literal        radio (up to 4 options) or selectbox; nullable enums get a "(none)" option
    boolean               checkbox
    number with bounds    slider (exclusive bounds respected); without bounds, number input
    integer               number input (slider when the range is 64 values or fewer)
    array of numbers      text input "1, 3" (empty means null when nullable); array of enum: multiselect
    object ($ref)         its own fields, nested
    string                text input

A page lays out the fields it cares about with `param_widget` and hands the rest to `params_form`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import streamlit as st

WidgetKind = Literal["auto", "radio", "select", "slider", "number"]


class Invalid:
    """What a widget returns when its text cannot be parsed; the message is shown under the widget."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"Invalid({self.message!r})"


@dataclass(frozen=True)
class FieldSpec:
    """One property of a params schema, normalised ($ref and `anyOf [X, null]` resolved)."""

    name: str
    title: str
    description: str
    kind: str  # enum, boolean, integer, number, string, array, object, json
    default: Any = None
    nullable: bool = False
    required: bool = False
    options: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    item_kind: str | None = None
    item_options: tuple[Any, ...] = ()
    children: dict[str, FieldSpec] = field(default_factory=dict)


def field_specs(schema: Mapping[str, Any]) -> dict[str, FieldSpec]:
    """The schema's properties, in declaration order."""
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    return {name: _spec(name, node, defs, name in required) for name, node in schema.get("properties", {}).items()}


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs[ref.removeprefix("#/$defs/")], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _spec(name: str, node: Mapping[str, Any], defs: Mapping[str, Any], required: bool) -> FieldSpec:
    node = _resolve(node, defs)
    body, nullable = node, False
    if "anyOf" in node:
        branches = [_resolve(b, defs) for b in node["anyOf"]]
        non_null = [b for b in branches if b.get("type") != "null"]
        nullable = len(non_null) < len(branches)
        body = {**non_null[0], **{k: v for k, v in node.items() if k != "anyOf"}} if len(non_null) == 1 else node
    kind = _kind(body)
    minimum, exclusive_min = _bound(body, "minimum", "exclusiveMinimum")
    maximum, exclusive_max = _bound(body, "maximum", "exclusiveMaximum")
    items = _resolve(body.get("items", {}), defs)
    return FieldSpec(
        name=name,
        title=str(body.get("title") or name.replace("_", " ").capitalize()),
        description=str(body.get("description", "")),
        kind=kind,
        default=body.get("default"),
        nullable=nullable,
        required=required,
        options=tuple(body["enum"]) if "enum" in body else (body["const"],) if "const" in body else (),
        minimum=minimum,
        maximum=maximum,
        exclusive_minimum=exclusive_min,
        exclusive_maximum=exclusive_max,
        item_kind=_kind(items) if kind == "array" else None,
        item_options=tuple(items.get("enum", ())),
        children=field_specs({**body, "$defs": defs}) if kind == "object" else {},
    )


def _kind(node: Mapping[str, Any]) -> str:
    if "enum" in node or "const" in node:
        return "enum"
    kind = node.get("type")
    if kind == "object" and "properties" in node:
        return "object"
    return kind if kind in ("boolean", "integer", "number", "string", "array") else "json"


def _bound(node: Mapping[str, Any], inclusive: str, exclusive: str) -> tuple[float | None, bool]:
    if exclusive in node:
        return float(node[exclusive]), True
    if inclusive in node:
        return float(node[inclusive]), False
    return None, False


def param_widget(
    schema: Mapping[str, Any],
    name: str,
    *,
    key: str,
    widget: WidgetKind = "auto",
    label: str | None = None,
    help_extra: str = "",
    format_option: Mapping[Any, str] | None = None,
    default: Any = ...,
) -> Any:
    """Render one property's widget and return its value (an `Invalid` when its text cannot be parsed).

    `default` replaces the schema's default as the initial value (e.g. a second NMS method to compare with).
    """
    spec = field_specs(schema)[name]
    if default is not ...:
        spec = replace(spec, default=default)
    return _widget(spec, f"{key}:{name}", widget, label, help_extra, format_option)


def params_form(
    schema: Mapping[str, Any],
    *,
    key: str,
    exclude: Collection[str] = (),
    widgets: Mapping[str, WidgetKind] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Widgets for every property not in `exclude`; returns name -> value.

    `labels` replaces schema titles (pydantic's default title of `iou_thres` is "Iou Thres").
    """
    widgets, labels = widgets or {}, labels or {}
    values = {}
    for name, spec in field_specs(schema).items():
        if name not in exclude:
            values[name] = _widget(spec, f"{key}:{name}", widgets.get(name, "auto"), labels.get(name), "", None)
    return values


def invalid_fields(values: Mapping[str, Any]) -> dict[str, str]:
    """Names of values that failed to parse, with why (nested objects included)."""
    bad: dict[str, str] = {}
    for name, value in values.items():
        if isinstance(value, Invalid):
            bad[name] = value.message
        elif isinstance(value, Mapping):
            bad.update({f"{name}.{k}": v for k, v in invalid_fields(value).items()})
    return bad


def _widget(
    spec: FieldSpec,
    key: str,
    widget: WidgetKind,
    label: str | None,
    help_extra: str,
    format_option: Mapping[Any, str] | None,
) -> Any:
    label = label or spec.title
    help_text = " ".join(p for p in (spec.description, help_extra) if p) or None
    if spec.kind == "object":
        st.markdown(f"**{label}**", help=help_text)
        return {name: _widget(child, f"{key}.{name}", "auto", None, "", None) for name, child in spec.children.items()}
    if spec.kind == "enum":
        return _choice(spec, key, widget, label, help_text, format_option)
    if spec.kind == "boolean":
        return st.checkbox(label, value=bool(spec.default), key=key, help=help_text)
    if spec.kind in ("integer", "number"):
        if spec.nullable and not st.checkbox(f"Set {label.lower()}", value=spec.default is not None, key=f"{key}?"):
            return None
        return _number(spec, key, widget, label, help_text)
    if spec.kind == "array":
        return _array(spec, key, label, help_text)
    if spec.kind == "string":
        text = st.text_input(label, value=spec.default or "", key=key, help=help_text)
        return None if spec.nullable and not text else text
    text = st.text_input(label, value=json.dumps(spec.default), key=key, help=help_text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        st.error(f"{label}: not valid JSON ({exc.msg})")
        return Invalid(f"not valid JSON ({exc.msg})")


def _choice(
    spec: FieldSpec,
    key: str,
    widget: WidgetKind,
    label: str,
    help_text: str | None,
    format_option: Mapping[Any, str] | None,
) -> Any:
    options = [None, *spec.options] if spec.nullable else list(spec.options)
    default = spec.default if spec.default in options else options[0]

    def fmt(option: Any) -> str:
        if format_option and option in format_option:
            return format_option[option]
        return "(none)" if option is None else str(option)

    if widget == "radio" or (widget == "auto" and len(options) <= 4):
        return st.radio(
            label, options, index=options.index(default), key=key, help=help_text, format_func=fmt, horizontal=True
        )
    return st.selectbox(label, options, index=options.index(default), key=key, help=help_text, format_func=fmt)


def _number(spec: FieldSpec, key: str, widget: WidgetKind, label: str, help_text: str | None) -> int | float:
    is_int = spec.kind == "integer"
    lo, hi = spec.minimum, spec.maximum
    if is_int:
        step: float = 1
        lo = None if lo is None else math.floor(lo) + 1 if spec.exclusive_minimum else math.ceil(lo)
        hi = None if hi is None else math.ceil(hi) - 1 if spec.exclusive_maximum else math.floor(hi)
    else:
        span = (hi - lo) if lo is not None and hi is not None else abs(spec.default or 1.0) or 1.0
        step = 10.0 ** math.floor(math.log10(span)) / 100
        lo = None if lo is None else lo + step if spec.exclusive_minimum else lo
        hi = None if hi is None else hi - step if spec.exclusive_maximum else hi
    default = spec.default if spec.default is not None else lo if lo is not None else 0
    default = min(max(default, lo if lo is not None else default), hi if hi is not None else default)
    cast = int if is_int else float
    as_slider = widget == "slider" or (
        widget == "auto" and lo is not None and hi is not None and (not is_int or hi - lo <= 64)
    )
    if as_slider and lo is not None and hi is not None:
        value = st.slider(label, cast(lo), cast(hi), cast(default), cast(step), key=key, help=help_text)
    else:
        value = st.number_input(
            label,
            min_value=None if lo is None else cast(lo),
            max_value=None if hi is None else cast(hi),
            value=cast(default),
            step=cast(step),
            key=key,
            help=help_text,
        )
    return cast(value)


def _array(spec: FieldSpec, key: str, label: str, help_text: str | None) -> Any:
    if spec.item_kind == "enum":
        return st.multiselect(label, spec.item_options, default=spec.default or [], key=key, help=help_text) or (
            None if spec.nullable else []
        )
    default = ", ".join(str(v) for v in spec.default or [])
    placeholder = "empty: all" if spec.nullable else "comma-separated"
    text = st.text_input(label, value=default, key=key, help=help_text, placeholder=placeholder)
    if not text.strip():
        return None if spec.nullable else []
    cast = int if spec.item_kind == "integer" else float if spec.item_kind == "number" else str
    try:
        return [cast(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        kind = "whole numbers" if cast is int else "numbers"
        st.error(f"{label}: expected {kind} separated by commas, got {text!r}")
        return Invalid(f"expected {kind} separated by commas")
