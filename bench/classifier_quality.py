"""Precision / recall / F1 and confusion matrices of the inbound classifier on the corpus.

Run: python bench/classifier_quality.py [path/to/tests/data/inbound]
Three views: message kind (parse errors count as kind "error"), reply class (messages labelled
with one), bounce class (one item per labelled recipient; a missed recipient is "missing"),
then the bounce figures per failure category (classifier_bounces.py).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from classifier_bounces import collect as bounce_items
from classifier_bounces import report as bounce_report

from sendwarden.inbound.model import InboundParseError, ParsedInbound
from sendwarden.inbound.parse import parse_inbound

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "inbound"
Pairs = list[tuple[str, str]]


def _collect(corpus: Path) -> tuple[Pairs, Pairs, Pairs]:
    labels: dict[str, dict[str, Any]] = json.loads((corpus / "labels.json").read_text("utf-8"))
    kinds: Pairs = []
    replies: Pairs = []
    bounces: Pairs = []
    for name, label in sorted(labels.items()):
        parsed: ParsedInbound | None
        try:
            parsed = parse_inbound((corpus / name).read_bytes())
        except InboundParseError:
            parsed = None
        kinds.append(("error" if label.get("error") else label["kind"], parsed_kind(parsed)))
        if label.get("reply_class"):
            got = parsed.reply_class.value if parsed and parsed.reply_class else "none"
            replies.append((label["reply_class"], got))
        found = {b.recipient: b.classification.value for b in parsed.bounces} if parsed else {}
        for recipient, expected in label.get("bounces", {}).items():
            bounces.append((expected, found.get(recipient, "missing")))
    return kinds, replies, bounces


def parsed_kind(parsed: ParsedInbound | None) -> str:
    return "error" if parsed is None else parsed.kind.value


def _report(title: str, pairs: Pairs) -> None:
    classes = sorted({expected for expected, _ in pairs} | {got for _, got in pairs})
    counts = Counter(pairs)
    print(f"\n== {title} ({len(pairs)} items) ==")
    print(f"{'class':<22}{'precision':>10}{'recall':>8}{'f1':>7}{'support':>9}")
    for cls in classes:
        true_pos = counts[(cls, cls)]
        predicted = sum(n for (_, got), n in counts.items() if got == cls)
        support = sum(n for (expected, _), n in counts.items() if expected == cls)
        precision = true_pos / predicted if predicted else 0.0
        recall = true_pos / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"{cls:<22}{precision:>10.3f}{recall:>8.3f}{f1:>7.3f}{support:>9}")
    accuracy = sum(n for (expected, got), n in counts.items() if expected == got) / len(pairs)
    print(f"accuracy {accuracy:.3f}")
    width = max(len(cls) for cls in classes) + 2
    print("confusion (rows = labelled, columns = predicted):")
    print(" " * width + "".join(f"{cls[:10]:>11}" for cls in classes))
    for expected in classes:
        row = "".join(f"{counts[(expected, got)]:>11}" for got in classes)
        print(f"{expected:<{width}}{row}")


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS
    kinds, replies, bounces = _collect(corpus)
    _report("message kind", kinds)
    _report("reply class", replies)
    _report("bounce class per recipient", bounces)
    print("\n== bounce categories (bench/classifier_bounces.py) ==")
    bounce_report(bounce_items(corpus))


if __name__ == "__main__":
    main()
