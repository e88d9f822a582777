"""Reduce a reply to the text its author wrote: drop quoted history and signatures.

Quoted history is cut at the first of (phrase tables in quoting_phrases.py):
  * an attribution line in any of ~25 languages ("On … wrote:", "Am … schrieb …:", "Den 12.
    okt. 2026 kl. 10.00 skrev …:", "W dniu … pisze:", "Vào … đã viết:", "… 写道："), also
    date-first ones with no verb ("2026-10-12 10:00 GMT+02:00 Anna <a@x>:"), wrapped over up
    to three lines, or following the reply's own sentence on the same line. It must carry a
    date or an address; when '>' lines follow it, the quote is removed line by line so inline
    and bottom-posted answers survive;
  * a separator ("-----Original Message-----", "-----Reply Message-----", "-------- Message
    d'origine --------", "------ On … wrote ------") or a forwarded-message intro;
  * a quoted header block: From/Date/Sent (and translations: Von, De, Da, Van, Från, Fra, Od,
    От …) with at least two more header fields (Sent, To, Subject, Gesendet, Envoyé,
    Skickat, Wysłano, Отправлено …) within the next lines, in any order;
  * a rule of underscores followed by a header block or a mailing-list footer.
Lines starting with '>' are always removed, and so is a fragment wrapped out of a quoted
line (a long link). Signatures are cut at "-- ", at REAL mobile footers ("Sent from my
iPhone", "Von meinem iPhone gesendet", "Get Outlook for iOS"; not "Sent from my desk, …")
and at a sign-off line when what follows looks like a signature, not prose.
"""

from __future__ import annotations

import re

from sendwarden.inbound import quoting_phrases as phrases
from sendwarden.inbound.html_text import html_to_text

__all__ = ["html_to_text", "strip_quoted_and_signature"]

_SENTENCE_END = re.compile(r"[.!?]\s*$")
_DATE_OR_ADDRESS = re.compile(r"[@\d]")
_WRAPPED_START = re.compile(
    r"^\s*(?:(?:" + phrases.ATTRIBUTION_STARTS + r")\b|.*[<@]|.*\d{1,2}[:.]\d{2})", re.I
)
_STARTS_LIKE_ATTRIBUTION = re.compile(r"^\s*(?:" + phrases.ATTRIBUTION_STARTS + r")\b", re.I)
_URL_PIECE = re.compile(r"[/=&?%#~]")
_URL = re.compile(r"(?:https?://|www\.)\S*$", re.IGNORECASE)
_UNDERSCORE_RULE = re.compile(r"^\s*_{8,}\s*$")
_MAX_SIGNATURE_LINES = 8
_HEADER_WINDOW = 6


def _joined(lines: list[str], index: int, count: int) -> str:
    return " ".join(line.strip() for line in lines[index : index + count])


def _is_attribution_text(text: str, *, evidence: bool = True) -> bool:
    """An attribution line; with `evidence`, it must carry a date or an address ("as my
    boss wrote:" does not). Without, when '>' lines confirm it ("Anna Keller wrote:")."""
    if len(text) > 500 or (evidence and not _DATE_OR_ADDRESS.search(text)):
        return False
    return bool(
        phrases.ATTRIBUTION.match(text)
        or phrases.DATE_FIRST_ATTRIBUTION.match(text)
        or phrases.DASHED_ATTRIBUTION.match(text)
    )


def _attribution_span(lines: list[str], index: int, *, evidence: bool = True) -> int:
    """Number of lines the attribution at index spans (0 if none)."""
    if not lines[index].strip() or lines[index].lstrip().startswith(">"):
        return 0
    for span in (1, 2, 3):
        if index + span > len(lines):
            break
        if any(not line.strip() for line in lines[index : index + span]):
            break
        if span > 1 and not _WRAPPED_START.match(lines[index]):
            break
        if _is_attribution_text(_joined(lines, index, span), evidence=evidence):
            return span
    return 0


def _own_text_before_attribution(lines: list[str], index: int) -> str | None:
    """ "Sounds good. On Mon, 12 Oct 2026 … wrote:" -> "Sounds good." (None if no such line)."""
    if _STARTS_LIKE_ATTRIBUTION.match(lines[index]) or not lines[index].strip():
        return None
    for span in (1, 2):
        if index + span > len(lines):
            break
        joined = _joined(lines, index, span)
        if not joined.endswith((":", "：")) or len(joined) > 2000:
            continue
        match = phrases.OWN_TEXT_THEN_ATTRIBUTION.match(joined)
        if (
            match
            and match.group("own").strip()
            and _is_attribution_text(match.group("attribution"))
        ):
            return match.group("own")
    return None


def _followed_by_quote(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def _is_header_line(line: str) -> bool:
    return bool(phrases.HEADER_FROM.match(line) or phrases.HEADER_OTHER.match(line))


def _is_header_block(lines: list[str], index: int) -> bool:
    """A From-like field and two more header fields among the next few lines, any order
    (Outlook starts with From:, some webmails with Date: or Sent:)."""
    if not _is_header_line(lines[index]):
        return False
    window = [lines[index]] + [line for line in lines[index + 1 : index + 10] if line.strip()]
    window = window[:_HEADER_WINDOW]
    fields = [line for line in window if _is_header_line(line)]
    has_from = any(phrases.HEADER_FROM.match(line) for line in window)
    return has_from and len(fields) >= 3 and _is_header_line(window[1] if len(window) > 1 else "")


def _footer_follows(lines: list[str], index: int) -> bool:
    following = [line for line in lines[index : index + 12] if line.strip()]
    if following and _is_header_block(lines, lines.index(following[0], index)):
        return True
    return any(phrases.LIST_FOOTER.search(line) for line in following)


def _is_wrapped_quote_fragment(lines: list[str], index: int) -> bool:
    """A piece of a long quoted link wrapped onto a line without '>': the quoted line above
    ends in a link and this line is one unbroken token of link characters ("Yes" below a
    quoted link is a bottom-posted answer)."""
    stripped = lines[index].strip()
    if not stripped or " " in stripped or index == 0 or not _URL_PIECE.search(stripped):
        return False
    above = lines[index - 1].strip()
    return above.startswith(">") and _URL.search(above) is not None


def _cut_history(lines: list[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith(">") or _is_wrapped_quote_fragment(lines, index):
            index += 1
            continue
        own = _own_text_before_attribution(lines, index)
        if own is None:
            quoted_span = _attribution_span(lines, index, evidence=False)
            if quoted_span and _followed_by_quote(lines, index + quoted_span):
                index += quoted_span
                continue
            if _attribution_span(lines, index):
                break
        if own is not None:
            kept.append(own)
            break
        if (
            phrases.SEPARATOR.match(line)
            or phrases.FORWARD_INTRO.match(line)
            or _is_header_block(lines, index)
            or (_UNDERSCORE_RULE.match(line) and _footer_follows(lines, index + 1))
            or phrases.SIGNATURE_DELIMITER.match(line)
            or phrases.MOBILE_FOOTER.match(line)
        ):
            break
        kept.append(line)
        index += 1
    return kept


def _is_prose(line: str) -> bool:
    """A sentence ("Please remove me from your list.") rather than a signature line."""
    words = [word.strip(".,;:!?()\"'") for word in line.split()]
    lowercase = [word for word in words if word.isalpha() and word.islower()]
    return bool(_SENTENCE_END.search(line)) and len(lowercase) >= 2


def _cut_sign_off(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if index == 0 or not phrases.SIGN_OFF.match(line):
            continue
        rest: list[str] = []
        for position in range(index + 1, len(lines)):
            candidate = lines[position]
            if candidate.strip():
                rest.append(candidate)
                if len(rest) > _MAX_SIGNATURE_LINES:
                    break
        if len(rest) <= _MAX_SIGNATURE_LINES and not any(_is_prose(r) for r in rest):
            return lines[:index]
    return lines


def strip_quoted_and_signature(text: str) -> str:
    """The reply's own new text, without quoted history, signature or mobile footer."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = _cut_sign_off(_cut_history(lines))
    result = "\n".join(line.rstrip() for line in kept)
    return re.sub(r"\n{3,}", "\n\n", result).strip()
