"""Quoted history without '>' is stripped, and quoted or footer text never suppresses
(issue 11, item 4). Samples: tests/data/inbound/quoted/ with the expected own text of each
in quoted/expected.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.inbound.model import SUPPRESSING_REPLY_CLASSES
from sendwarden.inbound.parse import parse_inbound
from sendwarden.inbound.quoting import strip_quoted_and_signature
from sendwarden.inbound.replies import classify_reply

CORPUS = Path(__file__).parent / "data" / "inbound"
EXPECTED: dict[str, dict[str, str]] = json.loads(
    (CORPUS / "quoted" / "expected.json").read_text("utf-8")
)
INJECTIONS = (
    "Not interested. Please unsubscribe me.",
    "> Not interested. Please unsubscribe me.",
    "Please remove me from your list, not interested.",
    "Kein Interesse, bitte abmelden.",
    "Pas intéressé, désabonnez-moi.",
)


def test_at_least_forty_quoted_samples_in_many_clients_and_languages() -> None:
    assert len(EXPECTED) >= 40
    assert {Path(name).stem.split("_")[0] for name in EXPECTED} >= {"outlook", "gmail", "hotmail"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_quoted_sample_keeps_exactly_the_authors_text(name: str) -> None:
    parsed = parse_inbound((CORPUS / name).read_bytes())
    assert " ".join((parsed.reply_text or "").split()) == " ".join(EXPECTED[name]["text"].split())


def _variants(raw: bytes, history_starts: str) -> Iterator[bytes]:
    head, sep, body = raw.partition(b"\n\n")
    lines = body.decode("utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if history_starts.split("\n")[0] in line)
    # Not between the fields of a quoted header block: no client writes text there.
    first = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), start + 1)
    # In a '>'-quoted history an unmarked line is the author's interleaved answer.
    marked = any(line.lstrip().startswith(">") for line in lines[start:])
    for position in range(first, len(lines) + 1):
        for injection in INJECTIONS:
            if marked and not injection.startswith(">"):
                injection = "> " + injection
            yield head + sep + "\n".join([*lines[:position], injection, *lines[position:]]).encode()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_unsubscribe_text_injected_into_quote_or_footer_never_suppresses(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    own_class = parse_inbound(raw).reply_class
    if own_class in SUPPRESSING_REPLY_CLASSES:
        pytest.skip("the author's own text already suppresses")
    variants = list(_variants(raw, EXPECTED[name]["history_starts"]))
    assert variants
    suppressing = [v for v in variants if parse_inbound(v).reply_class in SUPPRESSING_REPLY_CLASSES]
    assert suppressing == []


# --- named behaviours ------------------------------------------------------------------------
QUOTE = "Hi Jan,\nWould you be open to a guest post?\n\nTo unsubscribe, reply STOP. Not interested?"


def test_sent_from_my_desk_is_the_authors_sentence_not_a_phone_footer() -> None:
    text = "Sent from my desk, so briefly: what's the word count?\nThanks"
    assert strip_quoted_and_signature(text).startswith("Sent from my desk, so briefly")


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Get Outlook for iOS",
        "Skickat från min iPhone",
        "Sendt fra min iPhone",
        "Von meinem Samsung Galaxy Smartphone gesendet.",
        "Sent from Outlook for Android",
    ],
)
def test_real_mobile_footers_end_the_reply(footer: str) -> None:
    assert strip_quoted_and_signature(f"Sounds good.\n\n{footer}\n\nPlease unsubscribe me") == (
        "Sounds good."
    )


def test_text_sharing_a_line_with_the_attribution_is_kept() -> None:
    attribution = "On Mon, Oct 12, 2026 at 10:00 AM Anna <a@x.example> wrote:"
    text = f"Sounds good, send it over. {attribution}\n{QUOTE}"
    assert strip_quoted_and_signature(text) == "Sounds good, send it over."


@pytest.mark.parametrize(
    "attribution",
    [
        "Den 12. okt. 2026 kl. 10.00 skrev Anna <a@x.example>:",
        "2026-10-12 10:00 GMT+02:00 Anna <a@x.example>:",
        "Vào Th 2, 12 thg 10, 2026 vào lúc 10:00 Anna <a@x.example> đã viết:",
        "W dniu 12.10.2026 o 10:00, Anna pisze:",
        "пн, 12 окт. 2026 г. в 10:00, Anna <a@x.example>:",
        "Anna <a@x.example> 于2026年10月12日周一 10:00写道：",
        "Em seg., 12 de out. de 2026 às 10:00, Anna <a@x.example> escreveu:",
    ],
)
def test_attributions_in_more_languages_and_date_first_cut_history(attribution: str) -> None:
    assert strip_quoted_and_signature(f"What's the length?\n\n{attribution}\n{QUOTE}") == (
        "What's the length?"
    )


@pytest.mark.parametrize(
    "block",
    [
        "Från: Anna <a@x.example>\nSkickat: den 12 oktober 2026 10:00\nTill: Jan\nÄmne: Guest",
        "Od: Anna <a@x.example>\nWysłano: 12 października 2026\nDo: Jan\nTemat: Guest",
        "От: Anna <a@x.example>\nОтправлено: 12 октября 2026 г.\nКому: Jan\nТема: Guest",
        "Date: Mon, 12 Oct 2026 10:00\nFrom: Anna <a@x.example>\nTo: Jan\nSubject: Guest",
        "De : Anna <a@x.example>\nEnvoyé : lundi 12 octobre 2026\nÀ : Jan\nObjet : Guest",
        "De: Anna <a@x.example>\nEnviado el: lunes, 12 de octubre de 2026\nPara: Jan\nAsunto: G",
        "De: Anna <a@x.example>\nEnviada em: segunda-feira, 12 de outubro\nPara: Jan\nAssunto: G",
    ],
)
def test_localised_header_blocks_cut_history(block: str) -> None:
    assert strip_quoted_and_signature(f"What's the length?\n\n{block}\n\n{QUOTE}") == (
        "What's the length?"
    )


@pytest.mark.parametrize(
    "separator",
    [
        "-----Reply Message-----",
        "-----Antwort Nachricht-----",
        "-----Ursprüngliche Nachricht-----",
        "-------- Message d'origine --------",
        "---- On Mon, 12 Oct 2026 10:00:00 +0200 Anna <a@x.example> wrote ----",
    ],
)
def test_separators_cut_history(separator: str) -> None:
    assert strip_quoted_and_signature(f"What's the length?\n{separator}\n{QUOTE}") == (
        "What's the length?"
    )


@pytest.mark.parametrize(
    "attribution",
    [
        "2026年10月12日(月) 10:00 Anna Keller <\nanna@x.example>:",
        "2026-10-12 10:00 GMT+02:00 Anna Keller\n<anna@x.example>:",
        "Den 12. okt. 2026 kl. 10.00 skrev Anna Keller\n<anna@x.example>:",
        "On Mon, Oct 12, 2026 at 10:00 AM Anna Keller <\nanna@x.example> wrote:",
    ],
)
def test_attribution_wrapped_over_two_lines_cuts_history(attribution: str) -> None:
    assert strip_quoted_and_signature(f"What's the length?\n\n{attribution}\n{QUOTE}") == (
        "What's the length?"
    )


def test_wrapped_link_inside_a_quote_is_not_the_authors_text() -> None:
    text = (
        "What's the length?\n\nOn Mon, Oct 12, 2026 at 10:00 AM Anna <a@x.example> wrote:\n"
        "> Hi, see https://x.example/a/very/long/\nlink/that/wrapped?utm=1\n> Thanks"
    )
    assert strip_quoted_and_signature(text) == "What's the length?"


def test_bottom_posted_answer_after_a_quote_is_kept() -> None:
    text = "> Would you be open to a guest post? https://x.example/post\nYes\n"
    assert strip_quoted_and_signature(text) == "Yes"


def test_mailing_list_footer_after_underscores_is_cut() -> None:
    text = (
        "Count us in.\n\n____________________________________________\nteam mailing list\n"
        "To unsubscribe send an email to team-leave@lists.example"
    )
    assert strip_quoted_and_signature(text) == "Count us in."


HISTORY_STARTS = (
    "On Mon, Oct 12, 2026 at 10:00 AM Anna <a@x.example> wrote:",
    "Am Mo., 12. Okt. 2026 um 10:00 Uhr schrieb Anna <a@x.example>:",
    "Den 12. okt. 2026 kl. 10.00 skrev Anna <a@x.example>:",
    "2026-10-12 10:00 GMT+02:00 Anna <a@x.example>:",
    "W dniu 12.10.2026 o 10:00, Anna pisze:",
    "-----Original Message-----",
    "-----Reply Message-----",
    "-------- Message d'origine --------",
    "From: Anna <a@x.example>\nSent: Monday, October 12, 2026 10:00 AM\nTo: Jan\nSubject: Hi",
    "Von: Anna <a@x.example>\nGesendet: Montag, 12. Oktober 2026 10:00\nAn: Jan\nBetreff: Hi",
    "________________________________\nFrom: Anna <a@x.example>\nDate: 12 Oct 2026\nTo: Jan",
    "Sent from my iPhone",
    "Von meinem iPhone gesendet",
    "Get Outlook for iOS",
    "--",
)
OWN_SENTENCES = (
    "What's the word count?",
    "Sounds good, send it over.",
    "Which topics do you have in mind?",
    "Klingt gut, schicken Sie mir den Entwurf.",
    "Sent from my desk, so briefly: what's the deadline?",
)


@given(
    own=st.lists(st.sampled_from(OWN_SENTENCES), min_size=1, max_size=3),
    start=st.sampled_from(HISTORY_STARTS),
    before=st.lists(st.sampled_from(["Hi Jan,", "", "Thanks for writing."]), max_size=3),
    injection=st.sampled_from(INJECTIONS),
    after=st.lists(st.sampled_from(["Best,", "Anna", "", "https://x.example/u/1"]), max_size=3),
)
def test_any_history_shape_with_an_injected_refusal_never_suppresses(
    own: list[str], start: str, before: list[str], injection: str, after: list[str]
) -> None:
    text = "\n".join([*own, "", start, *before, injection, *after])
    stripped = strip_quoted_and_signature(text)
    assert classify_reply(stripped) not in SUPPRESSING_REPLY_CLASSES
    assert all(sentence in stripped for sentence in own)
