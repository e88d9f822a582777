"""Classify a reply's own (already stripped) text in en, de, fr, es, it and nl.

The phrase tables are data in reply_phrases.py; this module holds the rules that use them.

Hand-written because no maintained library classifies outreach replies in these six
languages (offline, without a model download), and every rule here must be auditable:
a wrong class suppresses a real person or keeps mailing someone who said no.

Order: unsubscribe_request > not_interested > interested > out_of_office > a proposed call
time > replied. Text is casefolded, accents removed and apostrophes unified, so every phrase
below is written lower-case without accents ("interesse" matches "intéressé", "grusse" "Grüße").

* unsubscribe: "unsubscribe", "remove me", "take me off", "stop emailing", "opt out";
  "abmelden", "austragen", "abbestellen"; "(se) desabonner", "desinscrire"; "darse de baja",
  "borrarme"; "cancellami", "disiscrivimi"; "afmelden", "uitschrijven", "verwijder mij" …
  Data-protection requests count too (erasure, objection to processing, "where did you get
  my address", or a GDPR/DSGVO/RGPD/AVG reference next to an erasure or objection verb):
  they oblige us to stop all contact. Footer boilerplate ("click here to unsubscribe", "you
  have the right to object …") is removed first: quoting a footer must never suppress anyone.
* not interested: fixed refusal phrases ("no thanks", "not a fit", "we'll pass", "leider
  nein", "non merci", "no gracias", "no grazie", "nee bedankt", "unfortunately not" …), a
  negated clause naming what cold outreach offers ("we don't accept guest posts", "wir nehmen
  keine Gastbeiträge an", "nous n'acceptons pas d'articles invités" …), or ANY interest word
  / positive phrase with a negation within three words before it, or (de/fr/nl word order)
  right after it, in the same clause ("not interested", "interessiert mich nicht").
  Questions ("don't you accept guest posts?") never count as a refusal.
* interested: interest words and positive phrases ("sounds like a good idea", "happy to take
  a look", "open to it", "gerne", "ça me va", "me parece bien", "mi sembra una buona idea",
  "we staan open" …), only when none is negated. Idioms that merely contain a negation word
  ("no problem", "why not", "kein Problem", "pas de souci" …) are not negations.
* out of office: absence phrasing ("out of the office", "im Urlaub", "en congé",
  "fuera de la oficina", "fuori ufficio", "afwezig" …).
* a proposed call time ("can we talk on Thursday?", "ci sentiamo giovedì?", "zullen we
  donderdag bellen?") is interested unless negated ("I can't talk on Thursday" is neutral).
"""

from __future__ import annotations

import bisect
import re
import unicodedata

from sendwarden.inbound import reply_phrases as phrases
from sendwarden.inbound.model import ReplyClass


def normalize(text: str) -> str:
    """Casefold, drop accents, unify apostrophes and whitespace."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    stripped = re.sub(r"[\u2018\u2019\u02bc`´]", "'", stripped)
    return " ".join(stripped.split())


_SENTENCE_END = re.compile(r"[.!?]")


def _without_footer_sentences(text: str) -> str:
    """Drop whole sentences of unsubscribe boilerplate (linear: no backtracking regex)."""
    pieces: list[str] = []
    position = 0
    for match in phrases.FOOTER_PHRASE.finditer(text):
        if match.start() < position:
            continue
        start = max(position, *(text.rfind(mark, position, match.start()) + 1 for mark in ".!?"))
        end_match = _SENTENCE_END.search(text, match.end())
        end = end_match.end() if end_match else len(text)
        pieces += [text[position:start], " "]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


_SENTENCE = re.compile(r"[^.!?;]+[.!?;]?")


def _is_data_protection_request(text: str) -> bool:
    if phrases.DATA_PROTECTION_REQUEST.search(text):
        return True
    for sentence in _sentences(text):
        legal = phrases.DATA_PROTECTION_TERM.search(sentence) or (
            phrases.DATA_PROTECTION_LAW.search(sentence)
            and phrases.DATA_PROTECTION_ACTION.search(sentence)
        )
        if legal and phrases.FIRST_PERSON.search(sentence):
            return True
    return False


def _sentences(text: str) -> list[str]:
    # "Art. 17" must not end a sentence before its law ("Art. 17 DSGVO").
    return _SENTENCE.findall(re.sub(r"\b(art|abs|nr|no)\.", r"\1", text))


_CLAUSE_BREAK = re.compile(
    r"[.!?;,:\n()\u2013\u2014]| - |\b(?:but|aber|mais|pero|ma|maar|however)\b"
)
_CONTRAST = re.compile(r"\b(?:but|aber|mais|pero|ma|maar|however|jedoch|sin embargo)\b")
_NEGATION_WINDOW_BEFORE = 3
_NEGATION_WINDOW_AFTER = 3
_CONTEXT_CHARS = 120
_SENTENCE_CHARS = 400
_CONTRACTED_NOT = re.compile(r"n't\b")
_ELIDED_NE = re.compile(r"\bn'(?!t\b)(?=\w)")


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to its clause (a bounded scan keeps this linear)."""
    low = max(0, start - _CONTEXT_CHARS)
    breaks_before = list(_CLAUSE_BREAK.finditer(text, low, start))
    clause_start = breaks_before[-1].end() if breaks_before else low
    break_after = _CLAUSE_BREAK.search(text, end, end + _CONTEXT_CHARS)
    clause_end = break_after.start() if break_after else min(len(text), end + _CONTEXT_CHARS)
    return clause_start, clause_end


def _words(text: str) -> list[str]:
    """Words with contracted negations split off: "don't" -> "do n't", "n'a" -> "n' a"."""
    return _ELIDED_NE.sub("n' ", _CONTRACTED_NOT.sub(" n't", text)).split()


def _is_negation(word: str) -> bool:
    word = word.strip('".,!?')
    return word in ("n't", "n'") or bool(phrases.NEGATION.fullmatch(word))


def _is_negated(text: str, match: re.Match[str]) -> bool:
    clause_start, clause_end = _clause_bounds(text, match.start(), match.end())
    before = _words(text[clause_start : match.start()])[-_NEGATION_WINDOW_BEFORE:]
    after = text[match.end() : clause_end].split()[:_NEGATION_WINDOW_AFTER]
    # English, Spanish and Italian negate before the verb: in "send it over no rush" the
    # "no" negates nothing. German, French and Dutch also negate after it.
    return any(_is_negation(word) for word in before) or any(
        phrases.TRAILING_NEGATION.fullmatch(word) for word in after
    )


def _sentence_end(text: str, position: int) -> re.Match[str] | None:
    # A sentence longer than this is not one a person wrote; bounding keeps this linear.
    return _SENTENCE_END.search(text, position, position + _SENTENCE_CHARS)


def _in_question(text: str, position: int) -> bool:
    sentence_end = _sentence_end(text, position)
    return sentence_end is not None and sentence_end.group() == "?"


def _clause_has_day(text: str, match: re.Match[str]) -> bool:
    clause_start, clause_end = _clause_bounds(text, match.start(), match.end())
    return phrases.DAY.search(text, clause_start, clause_end) is not None


def _has_fixed_refusal(text: str) -> bool:
    """A refusal phrase outside questions; "Thursday doesn't suit me" is about a date, not us."""
    return any(
        not _in_question(text, match.end()) and not _clause_has_day(text, match)
        for match in phrases.NOT_INTERESTED.finditer(text)
    )


class _Positives:
    """Non-negated positive phrases, in text order."""

    def __init__(self, text: str) -> None:
        found = [*phrases.INTEREST_WORD.finditer(text), *phrases.INTERESTED.finditer(text)]
        self.matches = sorted(found, key=lambda match: match.start())
        self.starts = [match.start() for match in self.matches]
        self.any_negated = any(_is_negated(text, match) for match in self.matches)

    def any_between(self, text: str, start: int, stop: int) -> bool:
        first = bisect.bisect_left(self.starts, start)
        last = bisect.bisect_left(self.starts, stop)
        return any(not _is_negated(text, match) for match in self.matches[first:last])


def _has_offer_refusal(text: str, positives: _Positives) -> bool:
    """A negated, non-question clause naming an outreach offer ("no aceptamos artículos ..."),
    unless a positive follows a "but": "we don't usually take guest posts, but sounds good"."""
    for match in phrases.OFFER_NOUN.finditer(text):
        if _in_question(text, match.end()):
            continue
        clause_start, clause_end = _clause_bounds(text, match.start(), match.end())
        if not any(_is_negation(word) for word in _words(text[clause_start:clause_end])):
            continue
        sentence_end = _sentence_end(text, match.end())
        stop = sentence_end.start() if sentence_end else match.end() + _SENTENCE_CHARS
        contrast = _CONTRAST.search(text, match.end(), stop)
        if contrast is None or not positives.any_between(text, contrast.end(), stop):
            return True
    return False


def _proposes_call(text: str) -> bool:
    return any(
        _clause_has_day(text, match) and not _is_negated(text, match)
        for match in phrases.CALL_VERB.finditer(text)
    )


def classify_reply(text: str) -> ReplyClass:
    """Classify the new text of a reply (quotes and signature must already be stripped)."""
    normalized = normalize(text)
    without_footer = _without_footer_sentences(normalized)
    if (
        phrases.UNSUBSCRIBE.search(without_footer)
        or phrases.UNSUBSCRIBE_ALONE.match(without_footer)
        or _is_data_protection_request(without_footer)
    ):
        return ReplyClass.UNSUBSCRIBE_REQUEST
    plain = phrases.NEUTRAL_IDIOMS.sub("fine", without_footer)
    positives = _Positives(plain)
    if positives.any_negated or _has_fixed_refusal(plain) or _has_offer_refusal(plain, positives):
        return ReplyClass.NOT_INTERESTED
    if positives.matches:
        return ReplyClass.INTERESTED
    if phrases.OUT_OF_OFFICE.search(plain):
        return ReplyClass.OUT_OF_OFFICE
    if _proposes_call(plain):
        return ReplyClass.INTERESTED
    return ReplyClass.REPLIED


def looks_out_of_office(text: str) -> bool:
    """Absence phrasing anywhere in the text (used with Precedence: bulk auto-replies)."""
    return phrases.OUT_OF_OFFICE.search(normalize(text)) is not None
