"""Amazon SES notifications that arrive by mail (SNS "email" / "email-json" subscriptions,
or SES feedback forwarding of the JSON).

SNS wraps the SES notification: `{"Type": "Notification", "Message": "<json string>", ...}`
("email-json"), or sends the notification JSON itself as the text body followed by an
SNS footer ("email"). The notification is `{"notificationType": "Bounce" | "Complaint",
"bounce"/"complaint": {...}, "mail": {"commonHeaders": {"messageId": ...}, "headers": [...]}}`.
`mail.messageId` is SES's own id, not our Message-ID header: ours is in the headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import Message
from typing import Any

from sendwarden.inbound.dsn import body_texts, classify_status, normalize_message_id
from sendwarden.inbound.model import BounceClass, BounceRecipient

_MAX_JSON_CHARS = 1_000_000
# SES bounce (type, subtype) when a recipient carries no usable status code of its own.
_BY_SUBTYPE: dict[tuple[str, str], BounceClass] = {
    ("permanent", "general"): BounceClass.HARD,
    ("permanent", "noemail"): BounceClass.HARD,
    ("permanent", "suppressed"): BounceClass.HARD,
    ("permanent", "onaccountsuppressionlist"): BounceClass.HARD,
    ("transient", "mailboxfull"): BounceClass.SOFT,
    ("transient", "general"): BounceClass.SOFT,
    ("transient", "messagetoolarge"): BounceClass.SOFT,
    ("transient", "contentrejected"): BounceClass.SENDER_BLOCK,
    ("transient", "attachmentrejected"): BounceClass.SENDER_BLOCK,
}


@dataclass(frozen=True)
class SesNotification:
    kind: str  # "bounce" or "complaint"
    original_message_id: str | None
    bounces: tuple[BounceRecipient, ...] = ()
    complainers: tuple[str, ...] = ()


def _json_objects(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    found: list[Any] = []
    start = text.find("{")
    while 0 <= start < len(text) and len(found) < 3:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        found.append(value)
        start = text.find("{", end)
    return found


def _notification(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("notificationType") or value.get("eventType"), str):
        return value
    inner = value.get("Message")
    if isinstance(inner, str) and len(inner) <= _MAX_JSON_CHARS:
        try:
            return _notification(json.loads(inner))
        except ValueError:
            return None
    return None


def _our_message_id(mail: Any) -> str | None:
    if not isinstance(mail, dict):
        return None
    common = mail.get("commonHeaders")
    if isinstance(common, dict) and isinstance(common.get("messageId"), str):
        return normalize_message_id(common["messageId"])
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id":
            return normalize_message_id(str(header.get("value", "")))
    return None


def _bounce_class(kind: str, subtype: str, entry: dict[str, Any]) -> BounceClass:
    status = entry.get("status") if isinstance(entry.get("status"), str) else None
    diagnostic = (
        entry.get("diagnosticCode") if isinstance(entry.get("diagnosticCode"), str) else None
    )
    if status or diagnostic:
        return classify_status(status, diagnostic, entry.get("action") or "failed")
    by_type = _BY_SUBTYPE.get((kind.lower(), subtype.lower()))
    if by_type is not None:
        return by_type
    return BounceClass.HARD if kind.lower() == "permanent" else BounceClass.SOFT


def _addresses(entries: Any) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("emailAddress"), str)]


def parse_ses_notification(msg: Message) -> SesNotification | None:
    text = "\n".join(body_texts(msg))[:_MAX_JSON_CHARS]
    if "notificationType" not in text and "eventType" not in text:
        return None
    for value in _json_objects(text):
        note = _notification(value)
        if note is None:
            continue
        kind = str(note.get("notificationType") or note.get("eventType")).lower()
        original = _our_message_id(note.get("mail"))
        if kind == "bounce" and isinstance(note.get("bounce"), dict):
            bounce = note["bounce"]
            btype, subtype = str(bounce.get("bounceType", "")), str(bounce.get("bounceSubType", ""))
            recipients = tuple(
                BounceRecipient(
                    recipient=entry["emailAddress"].strip(),
                    action=str(entry.get("action") or "failed"),
                    status=entry.get("status") if isinstance(entry.get("status"), str) else None,
                    diagnostic=str(entry.get("diagnosticCode") or f"SES {btype}/{subtype}"),
                    classification=_bounce_class(btype, subtype, entry),
                )
                for entry in _addresses(bounce.get("bouncedRecipients"))
            )
            return SesNotification("bounce", original, bounces=recipients)
        if kind == "complaint" and isinstance(note.get("complaint"), dict):
            complaint = note["complaint"]
            if str(complaint.get("complaintFeedbackType", "")).lower() == "not-spam":
                return None
            people = tuple(
                e["emailAddress"].strip() for e in _addresses(complaint.get("complainedRecipients"))
            )
            return SesNotification("complaint", original, complainers=people)
    return None
