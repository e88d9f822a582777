"""Reduce a reply to the text its author wrote: drop quoted history and signatures.

Quoted history is cut at the first of:
  * an attribution line ("On … wrote:", "Am … schrieb …:", "Le … a écrit :", "El … escribió:",
    "Il … ha scritto:", "Op … schreef …:", also wrapped over up to three lines) containing a
    date or an address and NOT followed by '>' lines (when it is, the quote is removed line
    by line so inline and bottom-posted answers survive);
  * "-----Original Message-----" and its translations, forwarded-message separators;
  * an Outlook header block: From/Von/De/Da/Van followed by at least two of Sent/Date/To/
    Subject (and their translations) within the next lines.
Lines starting with '>' are always removed. Signatures are cut at the "-- " delimiter, at
mobile footers ("Sent from my iPhone", "Von meinem iPhone gesendet", …) and at a sign-off
line ("Best regards", "Mit freundlichen Grüßen", "Cordialement", "Saludos", "Cordiali
saluti", "Met vriendelijke groet", …) when what follows looks like a signature, not prose.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"on\b.{0,300}\bwrote\s*:"
    r"|am\b.{0,300}\bschrieb\b.{0,200}:"
    r"|.{0,300}\bschrieb am\b.{0,200}:"
    r"|le\b.{0,300}\ba\s+[ée]crit\s*:"
    r"|el\b.{0,300}\bescribi[óo]\s*:"
    r"|il\b.{0,300}\bha\s+scritto\s*:"
    r"|op\b.{0,300}\bschreef\b.{0,200}:"
    r"|op\b.{0,300}\bhet volgende geschreven\s*:"
    r"|.{1,300}\b(?:wrote|schrieb|a\s+[ée]crit|escribi[óo]|ha\s+scritto|schreef)\s*:"
    r")\s*$",
    re.IGNORECASE | re.DOTALL,
)
# A wrapped attribution must start like one, else "Yes please" + "On … wrote:" would join.
_WRAPPED_ATTRIBUTION_START = re.compile(r"^\s*(?:(?:on|am|le|el|il|op)\b|.*[<@])", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*[-_=*]{2,}\s*(?:"
    r"original message|ursprüngliche nachricht|urspr[üu]ngliche nachricht|originalnachricht"
    r"|message d'origine|message original|mensaje original|messaggio originale"
    r"|oorspronkelijk bericht|origineel bericht"
    r"|forwarded message|weitergeleitete nachricht|message transf[ée]r[ée]"
    r"|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht"
    r")\s*[-_=*]*\s*$",
    re.IGNORECASE,
)
_FORWARD_INTRO = re.compile(
    r"^\s*(?:begin forwarded message|anfang der weitergeleiteten nachricht"
    r"|d[ée]but du message r[ée]exp[ée]di[ée]|inicio del mensaje reenviado"
    r"|inizio messaggio inoltrato|begin doorgestuurd bericht)\s*:\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|von|de|da|van)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(?:sent|date|to|cc|subject"
    r"|gesendet|datum|an|betreff"
    r"|envoy[ée]|date|[àa]|objet"
    r"|enviado|fecha|para|asunto"
    r"|inviato|data|a|oggetto"
    r"|verzonden|datum|aan|onderwerp)\s*:\*?",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^--\s*$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:sent from my\b|sent from (?:outlook|mail|yahoo|gmail)\b|get outlook for\b"
    r"|von meinem \S+(?: \S+)? gesendet|gesendet von meinem\b|gesendet mit\b"
    r"|envoy[ée] de mon\b|envoy[ée] depuis\b|enviado desde mi\b|enviado desde\b"
    r"|inviato da\b|verzonden (?:vanaf|met) mijn\b|verstuurd vanaf mijn\b|verzonden vanaf\b)",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(?:"
    r"(?:best|kind|warm|warmest|many|with)? ?regards|best(?: wishes)?|cheers|sincerely"
    r"|(?:yours )?(?:truly|sincerely)|all the best|thanks(?: again| and regards)?|thank you"
    r"|mit freundlichen gr(?:ü|ue)(?:ß|ss)en|(?:viele|beste|liebe|freundliche|herzliche) "
    r"gr(?:ü|ue)(?:ß|ss)e|gr(?:ü|ue)(?:ß|ss)e|gru(?:ß|ss)|mfg|lg|vg|danke"
    r"|(?:bien )?cordialement|bien (?:à|a) vous|salutations(?: distingu[ée]es)?"
    r"|sinc[èe]res salutations|merci(?: beaucoup)?|bonne journ[ée]e"
    r"|(?:un )?saludos?(?: cordiales)?|atentamente|un abrazo|gracias"
    r"|(?:cordiali|distinti) saluti|saluti|un saluto|grazie(?: mille)?|buona giornata"
    r"|met vriendelijke groet(?:en)?|(?:hartelijke )?groet(?:en|jes)?|mvg|bedankt|dank je(?: wel)?"
    r")\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?]\s*$")
_MAX_SIGNATURE_LINES = 8


def _joined(lines: list[str], index: int, count: int) -> str:
    return " ".join(line.strip() for line in lines[index : index + count])


def _is_attribution(lines: list[str], index: int) -> int:
    """Number of lines the attribution at index spans (0 if none)."""
    if not lines[index].strip() or lines[index].lstrip().startswith(">"):
        return 0
    for span in (1, 2, 3):
        if index + span > len(lines):
            break
        if any(not line.strip() for line in lines[index : index + span]):
            break
        if span > 1 and not _WRAPPED_ATTRIBUTION_START.match(lines[index]):
            break
        if _ATTRIBUTION.match(_joined(lines, index, span)):
            return span
    return 0


def _followed_by_quote(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def _is_outlook_header_block(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index]):
        return False
    window = [line for line in lines[index + 1 : index + 8] if line.strip()][:5]
    return sum(1 for line in window if _HEADER_OTHER.match(line)) >= 2


def _cut_history(lines: list[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith(">"):
            index += 1
            continue
        span = _is_attribution(lines, index)
        if span:
            if _followed_by_quote(lines, index + span):
                index += span
                continue
            # Real attributions carry a date or an address; "as my boss wrote:" does not.
            if re.search(r"[@\d]", _joined(lines, index, span)):
                break
        if (
            _ORIGINAL_MESSAGE.match(line)
            or _FORWARD_INTRO.match(line)
            or _is_outlook_header_block(lines, index)
            or (re.fullmatch(r"_{8,}", stripped) and _next_is_header_block(lines, index + 1))
            or _SIGNATURE_DELIMITER.match(line)
            or _MOBILE_FOOTER.match(line)
        ):
            break
        kept.append(line)
        index += 1
    return kept


def _next_is_header_block(lines: list[str], index: int) -> bool:
    for position in range(index, min(index + 3, len(lines))):
        if lines[position].strip():
            return _is_outlook_header_block(lines, position)
    return False


def _is_prose(line: str) -> bool:
    """A sentence ("Please remove me from your list.") rather than a signature line."""
    words = [word.strip(".,;:!?()\"'") for word in line.split()]
    lowercase = [word for word in words if word.isalpha() and word.islower()]
    return bool(_SENTENCE_END.search(line)) and len(lowercase) >= 2


def _cut_sign_off(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if index == 0 or not _SIGN_OFF.match(line):
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


_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "dd", "div", "dl", "dt", "footer", "form", "h1", "h2",
        "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_SKIPPED_TAGS = frozenset({"head", "script", "style", "title", "template"})


class _TextExtractor(HTMLParser):
    """Renders HTML as plain text; <blockquote> content gets '> ' so quotes strip uniformly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._buffer: list[str] = []
        self._quote_depth = 0
        self._skip_depth = 0
        self._pre_depth = 0

    def _flush(self) -> None:
        text = "".join(self._buffer)
        self._buffer = []
        if self._pre_depth == 0:
            text = re.sub(r"\s+", " ", text).strip()
        prefix = "> " * self._quote_depth
        for piece in text.split("\n") if text else [""]:
            self.lines.append((prefix + piece).rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._flush()
        elif tag == "blockquote":
            self._flush()
            self._quote_depth += 1
        elif tag in _BLOCK_TAGS:
            if self._buffer:
                self._flush()
            if tag == "pre":
                self._pre_depth += 1
            if tag == "hr":
                self.lines.append("________________________________")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "blockquote":
            self._flush()
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag in _BLOCK_TAGS:
            if self._buffer:
                self._flush()
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
            if tag == "p":
                self.lines.append("> " * self._quote_depth)

    def handle_data(self, data: str) -> None:
        if self._skip_depth == 0:
            self._buffer.append(data)

    def text(self) -> str:
        if self._buffer:
            self._flush()
        result = "\n".join(line.rstrip() for line in self.lines)
        return re.sub(r"\n{3,}", "\n\n", result).strip()


def html_to_text(html: str) -> str:
    """Plain text of an HTML body (stdlib html.parser: no dependency for a simple renderer)."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return extractor.text()
