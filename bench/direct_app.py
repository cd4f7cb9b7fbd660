"""The baseline of bench/gateway.py: the same multipart upload handled directly inside a FastAPI handler."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, File, Form, UploadFile

app = FastAPI()


@app.post("/predict")
async def predict(
    task: Annotated[str, Form()], file: Annotated[UploadFile, File()], params: Annotated[str, Form()] = "{}"
) -> dict[str, int | str]:
    data = await file.read()
    return {"task": task, "input_bytes": len(data)}
