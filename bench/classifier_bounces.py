"""Bounce classification per failure category: how often a hard bounce suppresses, and how
often a bounce that is NOT hard wrongly would (issue 11 targets: >= 90 % and <= 1 %).

Run: python bench/classifier_bounces.py [path/to/tests/data/inbound]
Categories are the folders under bounces/ (code_conflict, sender_side, dns, ...); the older
dsn/ samples form one more category. One item per labelled recipient; a labelled recipient
the parser missed counts as not suppressed (a miss for hard, fine for the rest).
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sendwarden.inbound.model import InboundParseError
from sendwarden.inbound.parse import parse_inbound

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "inbound"


def category_of(name: str) -> str | None:
    parts = name.split("/")
    if parts[0] == "bounces" and len(parts) > 2:
        return parts[1]
    return "dsn (older samples)" if parts[0] == "dsn" else None


def collect(corpus: Path) -> dict[str, list[tuple[str, str]]]:
    """category -> [(labelled class, parsed class)] per labelled recipient."""
    labels: dict[str, dict[str, Any]] = json.loads((corpus / "labels.json").read_text("utf-8"))
    items: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, label in sorted(labels.items()):
        category = category_of(name)
        if category is None or not label.get("bounces"):
            continue
        try:
            parsed = parse_inbound((corpus / name).read_bytes())
            found = {b.recipient.lower(): b.classification.value for b in parsed.bounces}
        except InboundParseError:
            found = {}
        for recipient, expected in label["bounces"].items():
            items[category].append((expected, found.get(recipient.lower(), "missing")))
    return items


def report(items: dict[str, list[tuple[str, str]]]) -> None:
    header = f"{'category':<22}{'items':>6}{'right':>7}{'hard→supp':>11}{'non-hard→supp':>15}"
    print(header)
    print("-" * len(header))
    total: Counter[str] = Counter()
    for category, pairs in sorted(items.items()):
        right = sum(1 for expected, got in pairs if expected == got)
        hard = [got for expected, got in pairs if expected == "hard"]
        other = [got for expected, got in pairs if expected != "hard"]
        hard_ok = sum(1 for got in hard if got == "hard")
        wrong = sum(1 for got in other if got == "hard")
        total.update(items=len(pairs), right=right, hard=len(hard), hard_ok=hard_ok)
        total.update(other=len(other), wrong=wrong)
        print(
            f"{category:<22}{len(pairs):>6}{right:>7}{_ratio(hard_ok, len(hard)):>11}"
            f"{_ratio(wrong, len(other)):>15}"
        )
    print("-" * len(header))
    print(
        f"{'all':<22}{total['items']:>6}{total['right']:>7}"
        f"{_ratio(total['hard_ok'], total['hard']):>11}{_ratio(total['wrong'], total['other']):>15}"
    )
    mistakes = [
        (category, expected, got)
        for category, pairs in sorted(items.items())
        for expected, got in pairs
        if expected != got
    ]
    for category, expected, got in mistakes:
        print(f"  mismatch in {category}: labelled {expected}, parsed {got}")


def _ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} {100 * part / whole:.0f}%" if whole else "-"


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS
    report(collect(corpus))


if __name__ == "__main__":
    main()
