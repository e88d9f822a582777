"""Plain text of an HTML mail body, with <blockquote> content marked as '> ' quote lines."""

from __future__ import annotations

import re
from html.parser import HTMLParser

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
