"""Path ids and `limit`/`offset` query parameters, as every list route takes them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
