"""Every labelled sample in tests/data/inbound classifies as labelled."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sendwarden.inbound.model import InboundParseError
from sendwarden.inbound.parse import parse_inbound

CORPUS = Path(__file__).parent / "data" / "inbound"
LABELS: dict[str, dict[str, Any]] = json.loads((CORPUS / "labels.json").read_text("utf-8"))
LANGUAGES = ("en", "de", "fr", "es", "it", "nl")


def test_every_sample_is_labelled_and_every_label_has_a_sample() -> None:
    files = {path.relative_to(CORPUS).as_posix() for path in CORPUS.rglob("*.eml")}
    assert files == set(LABELS)


@pytest.mark.parametrize("name", sorted(LABELS))
def test_sample_classifies_as_labelled(name: str) -> None:
    label = LABELS[name]
    raw = (CORPUS / name).read_bytes()
    if label.get("error"):
        with pytest.raises(InboundParseError):
            parse_inbound(raw)
        return
    parsed = parse_inbound(raw)
    assert parsed.kind.value == label["kind"]
    assert {b.recipient: b.classification.value for b in parsed.bounces} == label.get("bounces", {})
    expected_class = label.get("reply_class")
    assert (parsed.reply_class.value if parsed.reply_class else None) == expected_class
    if "original_message_id" in label:
        assert parsed.original_message_id == label["original_message_id"]
    if "complaint_recipient" in label:
        assert parsed.complaint_recipient == label["complaint_recipient"]


def test_corpus_covers_every_class_in_every_language() -> None:
    seen = {
        (name.split("/")[1][:2], label["reply_class"])
        for name, label in LABELS.items()
        if name.startswith("replies/") and label.get("kind") == "reply"
    }
    for language in LANGUAGES:
        for reply_class in ("interested", "not_interested", "unsubscribe_request", "replied"):
            assert (language, reply_class) in seen
        assert (language, "out_of_office") in seen
    per_language = Counter(name.split("/")[1][:2] for name in LABELS if name.startswith("replies/"))
    assert all(per_language[language] >= 8 for language in LANGUAGES)


def test_corpus_has_the_required_bounce_and_complaint_shapes() -> None:
    dsn = [label for name, label in LABELS.items() if name.startswith("dsn/")]
    assert len(dsn) >= 12
    classes = Counter(value for label in dsn for value in label["bounces"].values())
    assert set(classes) == {"hard", "soft", "sender_block", "not_a_failure"}
    assert sum(1 for name in LABELS if name.startswith("arf/")) >= 2


def test_corpus_has_machine_reports_and_calendar_mail_labelled_other() -> None:
    reports = [label for name, label in LABELS.items() if name.startswith("reports/")]
    invites = [
        label
        for name, label in LABELS.items()
        if name.startswith("calendar/") and label["kind"] == "other"
    ]
    assert len(reports) >= 3 and all(label["kind"] == "other" for label in reports)
    assert len(invites) >= 2


def test_corpus_has_a_data_protection_request_in_every_language() -> None:
    laws = ("gdpr", "dsgvo", "rgpd", "avg")
    for language in LANGUAGES:
        assert any(
            name.startswith(f"replies/{language}_unsubscribe_")
            and any(law in name for law in laws)
            and LABELS[name]["reply_class"] == "unsubscribe_request"
            for name in LABELS
        )
