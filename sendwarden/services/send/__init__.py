"""Sending one pitch, stage by stage (product.md §4).

pipeline.py  ties the stages together: SendPipeline.send
decide.py    policy reads, then the attempt and its reservation (or block)
compose.py   MIME, unsubscribe links, DKIM
deliver.py   the transport call
record.py    the outcome: sent, failed or unknown
model.py     SendRequest, SendResult, the Transport protocol
"""

from sendwarden.services.send.model import (
    MAX_BODY_CHARS,
    Outcome,
    RejectionHook,
    SendRequest,
    SendResult,
    Transport,
)
from sendwarden.services.send.pipeline import SendPipeline

__all__ = [
    "MAX_BODY_CHARS",
    "Outcome",
    "RejectionHook",
    "SendPipeline",
    "SendRequest",
    "SendResult",
    "Transport",
]
