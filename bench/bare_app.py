"""The baseline of validate_throughput.py: a bare FastAPI JSON endpoint, nothing else."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.post("/bare")
async def bare(body: dict[str, Any]) -> dict[str, Any]:
    return {"allowed": True, "recipient_email": body.get("recipient_email")}
