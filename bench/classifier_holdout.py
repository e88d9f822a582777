"""Held-out evaluation of the inbound classifier (kind, reply class, bounce class).

The corpus in tests/data/inbound_holdout/ was written independently of the classifier's
phrase lists and of tests/data/inbound/, so these figures are out-of-sample. It holds
raw RFC 5322 messages and one labels.json:

    {"<path relative to the corpus>": {"kind": "bounce|complaint|reply|auto_reply|other",
                                       "reply_class": "<ReplyClass value>" | null,
                                       "bounces": {"<recipient>": "hard|soft|sender_block"} | null}}

Scoring conventions:
- Out-of-office: an OOO may come back as kind `reply` or `auto_reply` (only some carry
  `Auto-Submitted`); when the label's reply_class is `out_of_office`, either kind counts
  as correct.
- Reply class is scored on every labelled reply, and also on every other message to
  which the parser attached a reply class (expected `(none)`): a newsletter classified
  `unsubscribe_request` is a false positive, not an ignored row.
- Bounces are scored per labelled recipient (address compared case-insensitively); a
  labelled recipient absent from the parse is `(missing)`; a parsed failure recipient
  that is not labelled is scored as expected `(none)`. Recipients parsed as
  `not_a_failure` (delivered/relayed) are ignored when unlabelled.
- `parse_error` (InboundParseError) and `crash` (any other exception) count as misses.
- Reply language is the directory under replies/ (en, de, fr, es, it, nl).

Prints figures only; always exits 0. Usage: python bench/classifier_holdout.py [--corpus DIR]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sendwarden.inbound.model import (
    SUPPRESSING_REPLY_CLASSES,
    BounceClass,
    InboundParseError,
    ParsedInbound,
)
from sendwarden.inbound.parse import parse_inbound

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "inbound_holdout"
NONE = "(none)"
MISSING = "(missing)"
PARSE_ERROR = "parse_error"
CRASH = "crash"
OOO_KINDS = frozenset({"reply", "auto_reply"})
SUPPRESSING = frozenset(c.value for c in SUPPRESSING_REPLY_CLASSES)


@dataclass(frozen=True)
class Label:
    kind: str
    reply_class: str | None
    bounces: dict[str, str] | None


@dataclass
class Outcome:
    path: str
    label: Label
    parsed: ParsedInbound | None
    failure: str | None  # PARSE_ERROR or CRASH, with the exception text in `detail`
    detail: str = ""


@dataclass
class Confusion:
    pairs: list[tuple[str, str]] = field(default_factory=list)

    def add(self, expected: str, got: str) -> None:
        self.pairs.append((expected, got))

    def classes(self) -> list[str]:
        expected = sorted({e for e, _ in self.pairs} - {NONE})
        extra = sorted({g for _, g in self.pairs} - set(expected) - {NONE})
        tail = [NONE] if any(NONE in pair for pair in self.pairs) else []
        return expected + extra + tail

    def report(self, title: str) -> list[str]:
        lines = [f"== {title} =="]
        if not self.pairs:
            return [*lines, "  (no items)", ""]
        classes = self.classes()
        scored = [(e, g) for e, g in self.pairs if e != NONE]
        correct = sum(e == g for e, g in scored)
        unlabelled = len(self.pairs) - len(scored)
        lines.append(f"  accuracy {correct}/{len(scored)} = {_pct(correct, len(scored))}")
        if unlabelled:
            lines.append(f"  + {unlabelled} unlabelled predictions, counted as false positives")
        lines.append(
            f"  {'class':<22}{'prec':>7}{'recall':>8}{'F1':>7}{'support':>9}{'predicted':>11}"
        )
        f1s: list[float] = []
        for c in classes:
            if c == NONE:
                continue
            tp = sum(e == c and g == c for e, g in self.pairs)
            support = sum(e == c for e, _ in self.pairs)
            predicted = sum(g == c for _, g in self.pairs)
            prec = tp / predicted if predicted else None
            rec = tp / support if support else None
            f1 = 2 * prec * rec / (prec + rec) if prec and rec else (0.0 if support else None)
            if support:
                f1s.append(f1 or 0.0)
            lines.append(
                f"  {c:<22}{_num(prec):>7}{_num(rec):>8}{_num(f1):>7}{support:>9}{predicted:>11}"
            )
        if f1s:
            lines.append(f"  macro-F1 over labelled classes: {sum(f1s) / len(f1s):.3f}")
        lines.append("  confusion (rows = expected, columns = got):")
        width = max(8, *(len(c) for c in classes)) + 1
        lines.append("  " + " " * width + "".join(f"{_abbrev(c):>9}" for c in classes))
        counts = Counter(self.pairs)
        for e in classes:
            row = [counts[(e, g)] for g in classes]
            if any(row):
                lines.append("  " + f"{e:<{width}}" + "".join(f"{n or '.':>9}" for n in row))
        lines.append("  " + "  ".join(f"{_abbrev(c)}={c}" for c in classes if _abbrev(c) != c))
        return [*lines, ""]


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "n/a"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _listing(title: str, items: list[str]) -> list[str]:
    return [f"  {title}: {len(items)}", *(f"    {item}" for item in items)]


def _abbrev(c: str) -> str:
    return c if len(c) <= 8 else c[:8]


def load_labels(corpus: Path) -> dict[str, Label]:
    raw = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))
    return {
        path: Label(entry["kind"], entry.get("reply_class"), entry.get("bounces"))
        for path, entry in sorted(raw.items())
    }


def run(corpus: Path, labels: dict[str, Label]) -> list[Outcome]:
    outcomes = []
    for path, label in labels.items():
        raw = (corpus / path).read_bytes()
        try:
            outcomes.append(Outcome(path, label, parse_inbound(raw), None))
        except InboundParseError as exc:
            outcomes.append(Outcome(path, label, None, PARSE_ERROR, str(exc)))
        except Exception as exc:  # a crash is a finding to print, not a reason to stop
            outcomes.append(Outcome(path, label, None, CRASH, f"{type(exc).__name__}: {exc}"))
    return outcomes


def got_kind(o: Outcome) -> str:
    return o.failure or str(o.parsed.kind.value if o.parsed else NONE)


def expected_kind(o: Outcome) -> str:
    got = got_kind(o)
    if o.label.reply_class == "out_of_office" and o.label.kind in OOO_KINDS and got in OOO_KINDS:
        return got
    return o.label.kind


def got_reply_class(o: Outcome) -> str:
    if o.failure:
        return o.failure
    if o.parsed is None or o.parsed.reply_class is None:
        return NONE
    return o.parsed.reply_class.value


def bounce_pairs(o: Outcome) -> list[tuple[str, str, str]]:
    """(recipient, expected, got) for every labelled or wrongly-flagged recipient."""
    expected = {r.lower(): c for r, c in (o.label.bounces or {}).items()}
    got: dict[str, str] = {}
    if o.parsed:
        for b in o.parsed.bounces:
            got[b.recipient.strip("<>").lower()] = b.classification.value
    rows = [(r, c, o.failure or got.get(r, MISSING)) for r, c in expected.items()]
    rows += [
        (r, NONE, c)
        for r, c in got.items()
        if r not in expected and c != BounceClass.NOT_A_FAILURE.value
    ]
    return rows


def language(path: str) -> str | None:
    parts = Path(path).parts
    return parts[1] if len(parts) > 2 and parts[0] == "replies" else None


def evaluate(outcomes: Iterable[Outcome]) -> list[str]:
    outcomes = list(outcomes)
    kinds, replies, bounces = Confusion(), Confusion(), Confusion()
    per_lang: dict[str, list[bool]] = defaultdict(list)
    misses: list[str] = []
    false_suppress: list[str] = []
    missed_suppress: list[str] = []
    bounce_risks: list[str] = []
    for o in outcomes:
        problems: list[str] = []
        ek, gk = expected_kind(o), got_kind(o)
        kinds.add(ek, gk)
        if ek != gk:
            problems.append(f"kind expected={o.label.kind} got={gk}")
        grc = got_reply_class(o)
        erc = o.label.reply_class or NONE
        if o.label.reply_class or grc not in (NONE, PARSE_ERROR, CRASH):
            replies.add(erc, grc)
            if erc != grc:
                problems.append(f"reply_class expected={erc} got={grc}")
            if grc in SUPPRESSING and erc not in SUPPRESSING:
                false_suppress.append(f"{o.path} ({erc} -> {grc})")
            if erc in SUPPRESSING and grc not in SUPPRESSING:
                missed_suppress.append(f"{o.path} ({erc} -> {grc})")
        lang = language(o.path)
        if lang and o.label.reply_class:
            per_lang[lang].append(erc == grc)
        for rcpt, eb, gb in bounce_pairs(o):
            bounces.add(eb, gb)
            if eb != gb:
                problems.append(f"bounce {rcpt} expected={eb} got={gb}")
            if gb == BounceClass.HARD.value and eb != gb:
                bounce_risks.append(f"{o.path}: {rcpt} suppressed as hard, truly {eb}")
            if eb == BounceClass.SENDER_BLOCK.value and gb != eb:
                bounce_risks.append(f"{o.path}: {rcpt} sender block missed (got {gb})")
        if o.failure:
            problems.append(f"{o.failure}: {o.detail}")
        if problems:
            misses.append(f"  {o.path}\n      " + "\n      ".join(problems))

    total = Counter(o.label.kind for o in outcomes)
    lines = [
        f"Held-out inbound corpus: {len(outcomes)} messages "
        + ", ".join(f"{k}={n}" for k, n in sorted(total.items())),
        "",
        *kinds.report("(a) message kind"),
        *replies.report("(b) reply class"),
        *bounces.report("(c) bounce class per recipient"),
        "== reply class accuracy per language ==",
        "  "
        + "   ".join(
            f"{lang} {sum(ok)}/{len(ok)} ({_pct(sum(ok), len(ok))})"
            for lang, ok in sorted(per_lang.items())
        ),
        "",
        "== suppression impact ==",
        *_listing("replies that would wrongly suppress", false_suppress),
        *_listing("suppressing replies missed", missed_suppress),
        *_listing("bounce risks (wrong hard suppression, missed sender block)", bounce_risks),
        "",
        f"== misclassified files ({len(misses)}) ==",
        *(misses or ["  none"]),
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    corpus: Path = args.corpus
    if not (corpus / "labels.json").is_file():
        print(f"no labels.json under {corpus}")
        return
    print("\n".join(evaluate(run(corpus, load_labels(corpus)))))


if __name__ == "__main__":
    main()
