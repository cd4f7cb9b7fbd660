"""Parameter forms come from the task's JSON schema: right widget per type, bounds and defaults kept, and the
values they produce pass the task's own pydantic validation (the gateway's check) unchanged."""

from __future__ import annotations

import importlib
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field
from streamlit.testing.v1 import AppTest

from frontend.params import Invalid, field_specs, invalid_fields


class Pose(BaseModel):
    azimuth_deg: float = Field(default=30.0, ge=-180, le=180)
    radius: float = Field(default=4.0, gt=0.5, le=8.0)


class Example(BaseModel):
    method: Literal["a", "b", "c", "d", "e"] = "b"
    scale: Literal[2, 4] = 4
    fail: Literal["input", "model"] | None = None
    threshold: float = Field(default=0.25, ge=0.0, le=1.0, description="Keep above this.")
    sigma: float = Field(default=0.5, gt=0.0, le=10.0)
    steps: int = Field(default=8, ge=1, le=32)
    max_det: int = Field(default=300, ge=1, le=1000)
    tile: int | None = Field(default=None, ge=32)
    enabled: bool = True
    classes: list[int] | None = None
    name: str = "x"
    pose: Pose = Field(default_factory=Pose)


def form_script(schema: "dict[str, Any]") -> None:  # noqa: UP037 - AppTest runs this body alone, without our imports
    import streamlit as st

    from frontend.params import params_form

    st.session_state["values"] = params_form(schema, key="t")


def _form(schema: dict[str, Any]) -> AppTest:
    at = AppTest.from_function(form_script, kwargs={"schema": schema}, default_timeout=20)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_field_specs_resolve_refs_nullables_and_exclusive_bounds() -> None:
    specs = field_specs(Example.model_json_schema())
    assert specs["method"].kind == "enum" and specs["method"].options == ("a", "b", "c", "d", "e")
    assert specs["fail"].nullable and specs["fail"].kind == "enum"
    assert specs["sigma"].minimum == 0.0 and specs["sigma"].exclusive_minimum
    assert specs["tile"].kind == "integer" and specs["tile"].nullable and specs["tile"].default is None
    assert specs["classes"].kind == "array" and specs["classes"].item_kind == "integer"
    assert specs["pose"].kind == "object" and set(specs["pose"].children) == {"azimuth_deg", "radius"}
    assert specs["threshold"].description == "Keep above this."


def test_each_type_gets_its_widget_with_the_schema_bounds_and_defaults() -> None:
    at = _form(Example.model_json_schema())
    assert at.selectbox(key="t:method").options == ["a", "b", "c", "d", "e"]
    assert at.selectbox(key="t:method").value == "b"
    assert at.radio(key="t:scale").options == ["2", "4"] and at.radio(key="t:scale").value == 4
    assert at.radio(key="t:fail").options == ["(none)", "input", "model"]
    threshold = at.slider(key="t:threshold")
    assert (threshold.min, threshold.max, threshold.value) == (0.0, 1.0, 0.25)
    assert at.slider(key="t:sigma").min > 0.0, "an exclusive minimum must not be selectable"
    assert at.slider(key="t:steps").value == 8
    assert at.number_input(key="t:max_det").max == 1000
    assert at.checkbox(key="t:tile?").value is False
    assert at.checkbox(key="t:enabled").value is True
    assert at.slider(key="t:pose.azimuth_deg").value == 30.0
    assert Example.model_validate(at.session_state["values"]) == Example()


def test_list_text_is_parsed_and_bad_text_is_reported_not_raised() -> None:
    at = _form(Example.model_json_schema())
    at.text_input(key="t:classes").input("1, 3").run()
    assert at.session_state["values"]["classes"] == [1, 3]
    at.text_input(key="t:classes").input("1, star").run()
    values = at.session_state["values"]
    assert isinstance(values["classes"], Invalid)
    assert invalid_fields(values) == {"classes": "expected whole numbers separated by commas"}
    assert "expected whole numbers" in at.error[0].value
    at.checkbox(key="t:tile?").check().run()
    assert at.session_state["values"]["tile"] == 32


@pytest.mark.parametrize("module", ["models.detection.schema", "models.super_resolution.schema"])
def test_real_task_schemas_give_forms_the_task_accepts(module: str) -> None:
    try:
        schema_module = importlib.import_module(module)
    except ModuleNotFoundError:
        pytest.skip(f"{module} does not exist yet")
    params_model: type[BaseModel] = schema_module.SPEC.params
    at = _form(params_model.model_json_schema())
    values = at.session_state["values"]
    assert set(values) == set(params_model.model_fields)
    assert params_model.model_validate(values) == params_model()
