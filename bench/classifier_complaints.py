"""Per-format figures for complaint reports and mailto unsubscribes (issue 11 items 1 and 3).

Run: python bench/classifier_complaints.py
Reads the labelled templates in tests/data/inbound/complaints and .../unsubscribe, fills in
a recipient, our Message-ID and a token, and reports per format whether the kind, the
complainer/recipient and our Message-ID came out right.
"""

from __future__ import annotations

from pathlib import Path

from sendwarden.inbound.model import InboundKind, InboundParseError
from sendwarden.inbound.parse import parse_inbound

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "inbound"
RECIPIENT = "reader@webmail.example"
MESSAGE_ID = "<6f1c0a2e9b7d4e55a1c3@sender.example>"
TOKEN = "AuRNNoAT8a70QbS-fLWZxyHCoxKiU8REVPorytt7ob3t52rWCdolh6vOPxjuLYDSqzx"


def render(path: Path) -> bytes:
    text = path.read_text("utf-8")
    for key, value in (
        ("{{RECIPIENT}}", RECIPIENT),
        ("{{MESSAGE_ID}}", MESSAGE_ID),
        ("{{TOKEN}}", TOKEN),
        ("{{IDENT}}", "bench"),
        ("{{MAILBOX}}", "bounces@example.com"),
    ):
        text = text.replace(key, value)
    return text.replace("\n", "\r\n").encode()


def check(path: Path) -> tuple[str, bool, str]:
    name = path.name.removesuffix(".eml.tmpl")
    try:
        parsed = parse_inbound(render(path))
    except InboundParseError as exc:
        return name, False, f"parse error: {exc}"
    if path.parent.name == "unsubscribe":
        token = None if name.endswith("no_token") else TOKEN
        ok = parsed.kind == InboundKind.UNSUBSCRIBE and parsed.unsubscribe_token == token
        return (
            name,
            ok,
            f"kind={parsed.kind.value} token={'yes' if parsed.unsubscribe_token else 'no'}",
        )
    if parsed.kind == InboundKind.BOUNCE:
        found = [b.recipient for b in parsed.bounces]
        ok = found == [RECIPIENT] and parsed.original_message_id == MESSAGE_ID
        return name, ok, f"kind=bounce recipients={found}"
    ok = (
        parsed.kind == InboundKind.COMPLAINT
        and parsed.complaint_recipient == RECIPIENT
        and parsed.original_message_id == MESSAGE_ID
    )
    return name, ok, f"kind={parsed.kind.value} complainer={parsed.complaint_recipient}"


def main() -> None:
    for folder in ("complaints", "unsubscribe"):
        results = [check(p) for p in sorted((DATA / folder).glob("*.eml.tmpl"))]
        right = sum(ok for _, ok, _ in results)
        print(f"\n== {folder}: {right}/{len(results)} right ==")
        for name, ok, detail in results:
            print(f"{'ok  ' if ok else 'MISS'} {name:<34} {detail}")


if __name__ == "__main__":
    main()
