"""Quote/signature stripping, HTML to text, and reply classification in six languages."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.inbound.model import SUPPRESSING_REPLY_CLASSES, ReplyClass
from sendwarden.inbound.quoting import html_to_text, strip_quoted_and_signature
from sendwarden.inbound.replies import classify_reply

INTERESTED = ReplyClass.INTERESTED
NOT_INTERESTED = ReplyClass.NOT_INTERESTED
UNSUBSCRIBE = ReplyClass.UNSUBSCRIBE_REQUEST
OOO = ReplyClass.OUT_OF_OFFICE
REPLIED = ReplyClass.REPLIED

FOOTER = "> Would you be interested?\n> To unsubscribe, reply 'unsubscribe'."

# --- strip_quoted_and_signature --------------------------------------------------------------


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, Nov 5, 2024 at 9:12 AM Anna Keller <anna@acme.example> wrote:",
        "On 5 Nov 2024, at 09:12, Anna Keller <anna@acme.example> wrote:",
        "Am Di., 5. Nov. 2024 um 09:12 Uhr schrieb Anna Keller <anna@acme.example>:",
        "Anna Keller <anna@acme.example> schrieb am Di., 5. Nov. 2024, 09:12:",
        "Le mar. 5 nov. 2024 à 09:12, Anna Keller <anna@acme.example> a écrit :",
        "El mar, 5 nov 2024 a las 9:12, Anna Keller (<anna@acme.example>) escribió:",
        "Il giorno mar 5 nov 2024 alle ore 09:12 Anna Keller <anna@acme.example> ha scritto:",
        "Op di 5 nov 2024 om 09:12 schreef Anna Keller <anna@acme.example>:",
        "Op 5 nov 2024 om 09:12 heeft Anna Keller <anna@acme.example> het volgende geschreven:",
    ],
)
def test_attribution_and_quote_removed_in_each_language(attribution: str) -> None:
    text = f"Thanks, what does it cost?\n\n{attribution}\n\n{FOOTER}\n"
    assert strip_quoted_and_signature(text) == "Thanks, what does it cost?"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, Nov 5, 2024 at 9:12 AM Anna Keller <\nanna@acme.example> wrote:",
        "Le mar. 5 nov. 2024 à 09:12, Anna Keller <anna@acme.example> a\nécrit :",
    ],
)
def test_wrapped_attribution_without_quote_marks_cuts_history(attribution: str) -> None:
    text = f"What does it cost?\n\n{attribution}\n\nWould you be interested? Unsubscribe here.\n"
    assert strip_quoted_and_signature(text) == "What does it cost?"


@pytest.mark.parametrize(
    ("labels", "date"),
    [
        (("From", "Sent", "To", "Subject"), "Tuesday, November 5, 2024 9:12 AM"),
        (("Von", "Gesendet", "An", "Betreff"), "Dienstag, 5. November 2024 09:12"),
        (("De\u00a0", "Envoyé\u00a0", "À\u00a0", "Objet\u00a0"), "mardi 5 novembre 2024 09:12"),
        (("De", "Enviado", "Para", "Asunto"), "martes, 5 de noviembre de 2024 9:12"),
        (("Da", "Inviato", "A", "Oggetto"), "martedì 5 novembre 2024 09:12"),
        (("Van", "Verzonden", "Aan", "Onderwerp"), "dinsdag 5 november 2024 09:12"),
    ],
)
def test_outlook_header_block_removed_in_each_language(
    labels: tuple[str, str, str, str], date: str
) -> None:
    sender, sent, to, subject = labels
    text = (
        "Not for us.\n\n________________________________\n"
        f"{sender}: Anna <anna@acme.example>\n{sent}: {date}\n{to}: Bob <bob@example.org>\n"
        f"{subject}: Pipeline\n\nInterested? To unsubscribe, click here.\n"
    )
    assert strip_quoted_and_signature(text) == "Not for us."


def test_outlook_bold_header_block_from_html_is_removed() -> None:
    text = "Ok.\n*From:* Anna\n*Sent:* Monday\n*To:* Bob\n*Subject:* Hi\nunsubscribe"
    assert strip_quoted_and_signature(text) == "Ok."


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Messaggio originale-----",
        "-----Oorspronkelijk bericht-----",
        "---------- Forwarded message ---------",
        "Begin forwarded message:",
    ],
)
def test_original_message_separators_cut_history(separator: str) -> None:
    text = f"See below.\n\n{separator}\nFrom: Anna\nPlease unsubscribe me\n"
    assert strip_quoted_and_signature(text) == "See below."


def test_quoted_lines_removed_but_inline_answers_kept() -> None:
    text = (
        "On 05.11.24 09:12, Anna wrote:\n> Interested in a copy?\n\nYes, send it.\n\n"
        "> Best, Anna\n> To unsubscribe reply unsubscribe\n"
    )
    assert strip_quoted_and_signature(text) == "Yes, send it."


def test_attribution_like_sentence_without_date_or_address_is_kept() -> None:
    text = "As my colleague wrote:\nwe are interested in a call."
    assert strip_quoted_and_signature(text) == text


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from Outlook for Android",
        "Get Outlook for iOS",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Inviato da iPhone",
        "Verstuurd vanaf mijn iPhone",
    ],
)
def test_mobile_footer_removed(footer: str) -> None:
    assert strip_quoted_and_signature(f"Call me Monday.\n\n{footer}\n{FOOTER}") == "Call me Monday."


def test_signature_delimiter_cuts_signature() -> None:
    text = "Price for 20 seats?\n-- \nRuth | Interested in webinars? Unsubscribe: https://x"
    assert strip_quoted_and_signature(text) == "Price for 20 seats?"


@pytest.mark.parametrize(
    "sign_off",
    [
        "Best regards,",
        "Kind regards",
        "Mit freundlichen Grüßen",
        "Viele Grüße",
        "Cordialement,",
        "Bien à vous,",
        "Un saludo,",
        "Cordiali saluti,",
        "Met vriendelijke groet,",
    ],
)
def test_sign_off_block_removed(sign_off: str) -> None:
    text = f"Let us talk next week.\n\n{sign_off}\nJane Roe\nHead of Data | Acme S.L.\n+34 600 000"
    assert strip_quoted_and_signature(text) == "Let us talk next week."


def test_prose_after_sign_off_word_is_kept() -> None:
    text = "Hi Anna,\nThanks\nPlease remove me from your mailing list."
    assert "remove me" in strip_quoted_and_signature(text)


# --- html_to_text ------------------------------------------------------------------------------


def test_html_blockquote_becomes_quote_lines() -> None:
    html = (
        "<div dir=ltr>Yes please<br>send it</div><div class=gmail_quote>"
        "<div class=gmail_attr>On Tue, Nov 5, 2024 Anna &lt;a@acme.example&gt; wrote:</div>"
        "<blockquote>Interested?<br>To unsubscribe click here</blockquote></div>"
    )
    text = html_to_text(html)
    assert "> To unsubscribe click here" in text
    assert strip_quoted_and_signature(text) == "Yes please\nsend it"


def test_html_scripts_styles_and_entities() -> None:
    html = "<html><head><style>p{color:red}</style><title>t</title></head><body>"
    html += "<script>alert(1)</script><p>Caf&eacute; &amp; more</p></body></html>"
    assert html_to_text(html) == "Café & more"


def test_html_outlook_reply_header_block_is_stripped() -> None:
    html = (
        "<p>Remove me.</p><hr><div id=divRplyFwdMsg><b>From:</b> Anna<br><b>Sent:</b> Tue"
        "<br><b>To:</b> Bob<br><b>Subject:</b> Hi</div><p>Interested?</p>"
    )
    assert strip_quoted_and_signature(html_to_text(html)) == "Remove me."


# --- classify_reply ----------------------------------------------------------------------------

CASES: list[tuple[str, ReplyClass]] = [
    # English
    ("Yes, I'd be interested. Please send the article.", INTERESTED),
    ("Sounds good, let's set up a call on Tuesday.", INTERESTED),
    ("We're not interested, thanks.", NOT_INTERESTED),
    ("No thanks, we built this in-house.", NOT_INTERESTED),
    ("I'm not really interested in this.", NOT_INTERESTED),
    ("Please remove me from your list.", UNSUBSCRIBE),
    ("Stop emailing me.", UNSUBSCRIBE),
    ("unsubscribe", UNSUBSCRIBE),
    ("STOP", UNSUBSCRIBE),
    ("Which databases does it support?", REPLIED),
    ("I'm out of the office until Monday.", OOO),
    # German
    ("Klingt interessant, schicken Sie mir gerne den Artikel.", INTERESTED),
    ("Wir haben Interesse.", INTERESTED),
    ("Wir haben kein Interesse.", NOT_INTERESTED),
    ("Das interessiert uns nicht.", NOT_INTERESTED),
    ("Wir sind nicht interessiert.", NOT_INTERESTED),
    ("Nein danke.", NOT_INTERESTED),
    ("Bitte tragen Sie mich aus Ihrem Verteiler aus.", UNSUBSCRIBE),
    ("Bitte abmelden.", UNSUBSCRIBE),
    ("Bitte keine E-Mails mehr.", UNSUBSCRIBE),
    ("Was kostet das?", REPLIED),
    ("Ich bin bis 15.11. im Urlaub.", OOO),
    # French
    ("Oui, ça m'intéresse, envoyez-moi l'article.", INTERESTED),
    ("Volontiers pour un appel.", INTERESTED),
    ("Je ne suis pas intéressé.", NOT_INTERESTED),
    ("Pas intéressé.", NOT_INTERESTED),
    ("Cela ne nous intéresse pas.", NOT_INTERESTED),
    ("Non merci.", NOT_INTERESTED),
    ("Merci de me désinscrire.", UNSUBSCRIBE),
    ("Je veux me désabonner.", UNSUBSCRIBE),
    ("Quel est le tarif ?", REPLIED),
    ("Je suis absent du bureau jusqu'au 20.", OOO),
    # Spanish
    ("Me interesa, envíame el artículo.", INTERESTED),
    ("Suena bien, hablemos el martes.", INTERESTED),
    ("No me interesa.", NOT_INTERESTED),
    ("No estamos interesados.", NOT_INTERESTED),
    ("No, gracias.", NOT_INTERESTED),
    ("Quiero darme de baja.", UNSUBSCRIBE),
    ("Por favor, dejen de enviarme correos.", UNSUBSCRIBE),
    ("¿Cuánto cuesta?", REPLIED),
    ("Estoy fuera de la oficina hasta el lunes.", OOO),
    # Italian
    ("Mi interessa, mandami l'articolo.", INTERESTED),
    ("Volentieri, sentiamoci giovedì.", INTERESTED),
    ("Non mi interessa.", NOT_INTERESTED),
    ("Non siamo interessati.", NOT_INTERESTED),
    ("No grazie.", NOT_INTERESTED),
    ("Cancellami dalla lista.", UNSUBSCRIBE),
    ("Vorrei disiscrivermi.", UNSUBSCRIBE),
    ("Quanto costa?", REPLIED),
    ("Sono fuori ufficio fino a lunedì.", OOO),
    # Dutch
    ("Ik ben geïnteresseerd, stuur me het artikel.", INTERESTED),
    ("Klinkt goed, bel me volgende week.", INTERESTED),
    ("Geen interesse.", NOT_INTERESTED),
    ("Ik ben niet geïnteresseerd.", NOT_INTERESTED),
    ("Dit interesseert ons niet.", NOT_INTERESTED),
    ("Graag afmelden.", UNSUBSCRIBE),
    ("Schrijf me uit.", UNSUBSCRIBE),
    ("Wat kost het?", REPLIED),
    ("Ik ben afwezig tot maandag.", OOO),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_classify_reply_in_six_languages(text: str, expected: ReplyClass) -> None:
    assert classify_reply(text) is expected


NEGATED = [
    "not interested",
    "kein Interesse",
    "pas intéressé",
    "no me interesa",
    "non mi interessa",
    "geen interesse",
    "not really interested",
    "nicht interessiert",
    "ne m'intéresse pas",
    "no estoy interesada",
    "non sono interessato",
    "niet geïnteresseerd",
    "I am not keen",
]


@pytest.mark.parametrize("phrase", NEGATED)
def test_negation_never_classifies_as_interested(phrase: str) -> None:
    assert classify_reply(phrase) is NOT_INTERESTED
    assert classify_reply(phrase.upper()) is NOT_INTERESTED


_FILLER = st.lists(
    st.sampled_from(["thanks", "hello", "Anna", "today", "danke", "merci", "grazie", "the"]),
    max_size=6,
).map(" ".join)


@given(before=_FILLER, phrase=st.sampled_from(NEGATED), after=_FILLER)
def test_negated_phrase_in_any_context_is_never_interested(
    before: str, phrase: str, after: str
) -> None:
    assert classify_reply(f"{before} {phrase}. {after}") is not INTERESTED


def test_accent_free_spelling_still_matches() -> None:
    assert classify_reply("ca m'interesse") is INTERESTED
    assert classify_reply("niet geinteresseerd") is NOT_INTERESTED


def test_typographic_apostrophes_are_normalised() -> None:
    assert classify_reply("Oui, ça m’intéresse") is INTERESTED
    assert classify_reply("We don’t need this") is NOT_INTERESTED


def test_unsubscribe_wins_over_interested() -> None:
    assert classify_reply("Interesting, but please unsubscribe me.") is UNSUBSCRIBE


def test_footer_boilerplate_is_not_an_unsubscribe_request() -> None:
    text = "Which plan fits us? If you no longer wish to receive these emails, unsubscribe here."
    assert classify_reply(text) is REPLIED


def test_clicking_the_unsubscribe_link_is_still_a_request() -> None:
    assert classify_reply("I clicked the unsubscribe link twice already!") is UNSUBSCRIBE


def test_negation_does_not_cross_clause_boundaries() -> None:
    assert classify_reply("No problem, we are interested.") is INTERESTED


def test_empty_text_is_replied() -> None:
    assert classify_reply("") is REPLIED


def test_suppressing_classes_are_exactly_not_interested_and_unsubscribe() -> None:
    assert frozenset({NOT_INTERESTED, UNSUBSCRIBE}) == SUPPRESSING_REPLY_CLASSES
    assert OOO not in SUPPRESSING_REPLY_CLASSES


@given(st.text(max_size=400))
def test_classify_and_strip_are_total(text: str) -> None:
    assert classify_reply(strip_quoted_and_signature(text)) in set(ReplyClass)


def test_long_unpunctuated_text_is_classified_quickly() -> None:
    # A backtracking sentence regex took ~12 s for 8,000 words; the bound is generous on purpose.
    started = time.perf_counter()
    assert classify_reply("word " * 20000 + "click here to unsubscribe") is REPLIED
    assert strip_quoted_and_signature("Thanks\n" * 20000) is not None
    assert time.perf_counter() - started < 3.0


# --- polite refusals without the word "interested" ---------------------------------------------

REFUSALS = [
    "Thanks for reaching out, but we don't accept guest posts.",
    "We do not publish sponsored content on our site.",
    "Sorry, we don't do link insertions.",
    "This isn't a fit for us.",
    "Thanks, but we'll have to pass.",
    "No thank you.",
    "Thank you, but no.",
    "Unfortunately not.",
    "We no longer accept outside articles.",
    "Wir nehmen keine Gastbeiträge an.",
    "Gesponserte Artikel veröffentlichen wir nicht.",
    "Danke, aber nein.",
    "Das kommt für uns nicht in Frage.",
    "Nous n'acceptons pas d'articles invités.",
    "Malheureusement non.",
    "Cela ne nous convient pas.",
    "No aceptamos artículos de invitados.",
    "Lamentablemente no.",
    "No publicamos contenido patrocinado.",
    "Non accettiamo guest post.",
    "Purtroppo no.",
    "Non fa al caso nostro.",
    "Wij accepteren geen gastblogs.",
    "Helaas niet.",
    "Dat past niet bij ons.",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_polite_refusal_without_interest_word_is_not_interested(text: str) -> None:
    assert classify_reply(text) is NOT_INTERESTED


@pytest.mark.parametrize(
    "text",
    [
        "What's your price for a guest post?",
        "Do you not offer sponsored posts?",
        "Quel est le prix d'un article sponsorisé ?",
        "I'll pass this on to our marketing team.",
        "I'll pass it along to Jo.",
        "Sorry, no idea who handles that.",
        "Thursday doesn't suit me, what is the article about?",
        "Donnerstag passt leider nicht.",
        "Jeudi ne me convient pas, de quoi s'agit-il ?",
    ],
)
def test_questions_hand_offs_and_date_clashes_are_not_refusals(text: str) -> None:
    assert classify_reply(text) not in SUPPRESSING_REPLY_CLASSES


def test_offer_refusal_followed_by_but_and_interest_is_interested() -> None:
    text = "We don't usually take guest posts, but this sounds interesting."
    assert classify_reply(text) is INTERESTED


def test_interest_followed_by_but_and_offer_refusal_is_not_interested() -> None:
    assert classify_reply("Sounds interesting, but we don't accept guest posts.") is NOT_INTERESTED


_OFFERS = st.sampled_from(
    ["guest posts", "sponsored content", "link insertions", "paid links", "Gastbeiträge"]
)


@given(before=_FILLER, offer=_OFFERS, after=_FILLER)
def test_an_offer_named_in_a_question_is_never_a_refusal(
    before: str, offer: str, after: str
) -> None:
    assert classify_reply(f"{before} do you not take {offer} {after}?") is not NOT_INTERESTED


# --- data-protection requests --------------------------------------------------------------------

DATA_PROTECTION_REQUESTS = [
    "Please delete all my personal data.",
    "I request erasure of my personal data under Art. 17 GDPR.",
    "I object to the processing of my data.",
    "Where did you get my email address?",
    "I am exercising my right to be forgotten.",
    "Ich verlange die Löschung meiner Daten gemäß Art. 17 DSGVO.",
    "Hiermit lege ich Widerspruch gegen die Verarbeitung meiner Daten ein.",
    "Woher haben Sie meine E-Mail-Adresse?",
    "Merci de supprimer mes données.",
    "J'exerce mon droit d'opposition.",
    "Où avez-vous obtenu mon adresse ?",
    "Por favor, borren mis datos.",
    "Me opongo al tratamiento de mis datos.",
    "¿De dónde han sacado mi correo?",
    "Vi chiedo di cancellare i miei dati.",
    "Mi oppongo al trattamento dei miei dati.",
    "Dove avete trovato il mio indirizzo?",
    "Verwijder mijn gegevens.",
    "Ik maak bezwaar tegen de verwerking van mijn gegevens.",
    "Op grond van de AVG verzoek ik u mijn gegevens te verwijderen.",
    "Waar heeft u mijn e-mailadres vandaan?",
]


@pytest.mark.parametrize("text", DATA_PROTECTION_REQUESTS)
def test_data_protection_request_is_unsubscribe_request(text: str) -> None:
    assert classify_reply(text) is UNSUBSCRIBE


def test_data_protection_request_wins_over_a_positive_word() -> None:
    text = "Interesting offer, but I object to the processing of my personal data."
    assert classify_reply(text) is UNSUBSCRIBE


@pytest.mark.parametrize(
    "notice",
    [
        "You have the right to object to the processing of your data under the GDPR.",
        "Informationen zur Löschung Ihrer Daten gemäß DSGVO finden Sie unter example.com.",
        "Sie haben das Recht, der Verarbeitung jederzeit zu widersprechen.",
        "Vous disposez d'un droit d'accès, d'effacement et d'opposition.",
        "U kunt bezwaar maken tegen de verwerking van uw gegevens op grond van de AVG.",
        "We process and delete personal data in line with the GDPR.",
    ],
)
def test_privacy_notice_in_a_signature_does_not_suppress(notice: str) -> None:
    assert classify_reply(f"Which plan fits a team of five? {notice}") is REPLIED


# --- interest without the keyword ----------------------------------------------------------------

INTEREST_WITHOUT_KEYWORD = [
    "Sounds like a good idea.",
    "Happy to take a look.",
    "Let's talk on Thursday?",
    "Can we do a call on Thursday?",
    "We're definitely open to it.",
    "Sure, send it over - no rush.",
    "Hört sich gut an.",
    "Kein Problem, gerne.",
    "Ça me va.",
    "Bonne idée, on s'appelle jeudi ?",
    "Me parece una buena idea.",
    "¿Hablamos el jueves?",
    "Ci sentiamo giovedì?",
    "Mi sembra una buona idea.",
    "We staan zeker open voor een gesprek.",
    "Zullen we donderdag bellen?",
]


@pytest.mark.parametrize("text", INTEREST_WITHOUT_KEYWORD)
def test_interest_without_the_keyword_is_interested(text: str) -> None:
    assert classify_reply(text) is INTERESTED


@pytest.mark.parametrize(
    "text", ["What's your price?", "Wie viel kostet das?", "I can't talk on Thursday, who are you?"]
)
def test_neutral_questions_and_declined_dates_stay_replied(text: str) -> None:
    assert classify_reply(text) is REPLIED


def test_negation_idioms_do_not_negate() -> None:
    assert classify_reply("No problem send it over") is INTERESTED
    assert classify_reply("Pourquoi pas ça me va") is INTERESTED


def test_contracted_negation_is_recognised() -> None:
    assert classify_reply("We really don't think this sounds good") is NOT_INTERESTED
    assert classify_reply("Nous n'acceptons jamais les liens payants") is NOT_INTERESTED


def test_out_of_office_naming_a_call_day_stays_out_of_office() -> None:
    text = "I'm out of the office until Monday. For urgent matters call Sam on Thursday."
    assert classify_reply(text) is OOO


def test_long_adversarial_text_is_classified_quickly() -> None:
    started = time.perf_counter()
    classify_reply("we don't accept guest posts, but sounds good " * 5000)
    classify_reply("no guest posts call thursday delete my data gdpr " * 5000)
    assert time.perf_counter() - started < 3.0
