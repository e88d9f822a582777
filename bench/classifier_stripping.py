"""Quoted-history stripping on the corpus, per client shape, and the quote-injection check.

Run: python bench/classifier_stripping.py [path/to/tests/data/inbound]
1. Accuracy: the reply text the parser keeps equals the expected own text of each sample in
   quoted/expected.json (whitespace-normalised), grouped by shape (the name's first word:
   outlook, gmail, hotmail, iphone, ...).
2. Injection: "Not interested. Please unsubscribe me." (and variants) is written into the
   quoted history or footer of every sample whose own text does not suppress, at every line
   after the history starts, with and without '>'; any suppressing class is a failure
   (issue 11 target: 0).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from sendwarden.inbound.model import SUPPRESSING_REPLY_CLASSES
from sendwarden.inbound.parse import parse_inbound

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "inbound"
INJECTIONS = (
    "Not interested. Please unsubscribe me.",
    "> Not interested. Please unsubscribe me.",
    "Please remove me from your list, not interested.",
    "Kein Interesse, bitte abmelden.",
)


def _normalised(text: str | None) -> str:
    return " ".join((text or "").split())


def injected_variants(raw: bytes, history_starts: str) -> Iterator[bytes]:
    """The message with an unsubscribe sentence put into its history/footer, many ways."""
    head, sep, body = raw.partition(b"\n\n")
    lines = body.decode("utf-8").split("\n")
    first_line = history_starts.split("\n")[0].strip()
    start = next((i for i, line in enumerate(lines) if first_line in line), None)
    if start is None:
        return
    # Not between the fields of a quoted header block: no client writes text there.
    first = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), start + 1)
    # In a '>'-quoted history an unmarked line is the author's own (interleaved) answer, so
    # there the injection is quoted too.
    marked = any(line.lstrip().startswith(">") for line in lines[start:])
    for position in range(first, len(lines) + 1):
        for injection in INJECTIONS:
            if marked and not injection.startswith(">"):
                injection = "> " + injection
            mutated = [*lines[:position], injection, *lines[position:]]
            yield head + sep + "\n".join(mutated).encode("utf-8")


def run(corpus: Path) -> tuple[Counter[str], Counter[str], int, int, list[str]]:
    expected: dict[str, dict[str, str]] = json.loads(
        (corpus / "quoted" / "expected.json").read_text("utf-8")
    )
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    injections = suppressed = 0
    failures: list[str] = []
    for name, case in sorted(expected.items()):
        shape = Path(name).stem.split("_")[0]
        raw = (corpus / name).read_bytes()
        parsed = parse_inbound(raw)
        total[shape] += 1
        if _normalised(parsed.reply_text) == _normalised(case["text"]):
            right[shape] += 1
        else:
            failures.append(f"{name}: kept {parsed.reply_text!r}")
        if parsed.reply_class in SUPPRESSING_REPLY_CLASSES:
            continue
        for variant in injected_variants(raw, case["history_starts"]):
            injections += 1
            if parse_inbound(variant).reply_class in SUPPRESSING_REPLY_CLASSES:
                suppressed += 1
                failures.append(f"{name}: an injected quote/footer suppressed")
    return right, total, injections, suppressed, failures


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS
    right, total, injections, suppressed, failures = run(corpus)
    print(f"{'shape':<12}{'samples':>8}{'stripped right':>16}")
    for shape in sorted(total):
        share = 100 * right[shape] / total[shape]
        print(f"{shape:<12}{total[shape]:>8}{right[shape]:>10} {share:>4.0f}%")
    all_right, all_total = sum(right.values()), sum(total.values())
    print(f"{'all':<12}{all_total:>8}{all_right:>10} {100 * all_right / all_total:>4.0f}%")
    print(f"injections into quoted history/footers: {injections}, suppressing: {suppressed}")
    for failure in failures[:40]:
        print("  " + failure)


if __name__ == "__main__":
    main()
