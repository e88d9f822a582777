"""Classify a reply's own (already stripped) text in en, de, fr, es, it and nl.

Order: unsubscribe_request > not_interested > interested > out_of_office > replied.
Text is casefolded, accents removed and apostrophes unified, so every phrase below is
written lower-case without accents ("interesse" matches "intéressé", "grusse" "Grüße").

* unsubscribe: "unsubscribe", "remove me", "take me off", "stop emailing", "opt out";
  "abmelden", "austragen", "abbestellen"; "(se) desabonner", "desinscrire"; "darse de baja",
  "borrarme"; "cancellami", "disiscrivimi"; "afmelden", "uitschrijven", "verwijder mij" …
  Footer boilerplate ("click here to unsubscribe", "if you no longer wish to receive …") is
  removed first: quoting our own footer must never suppress anyone.
* not interested: fixed phrases ("no thanks", "not for us", "kein Bedarf", "non merci",
  "no gracias", "no grazie", "nee bedankt" …) or ANY interest word / positive phrase with a
  negation within three words before it, or (de/fr/nl word order) right after it, in the
  same clause ("not interested", "interessiert mich nicht", "ne m'intéresse pas").
* interested: interest words and positive phrases ("sounds good", "gerne", "volontiers",
  "me interesa", "mi interessa", "graag" …), only when none is negated.
* out of office: absence phrasing ("out of the office", "im Urlaub", "en congé",
  "fuera de la oficina", "fuori ufficio", "afwezig" …).
"""

from __future__ import annotations

import re
import unicodedata

from sendwarden.inbound.model import ReplyClass


def _phrases(*parts: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b")


def normalize(text: str) -> str:
    """Casefold, drop accents, unify apostrophes and whitespace."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    stripped = re.sub(r"[\u2018\u2019\u02bc`´]", "'", stripped)
    return " ".join(stripped.split())


_FOOTER_PHRASE = re.compile(
    r"\b(?:"
    r"click here to unsubscribe|unsubscribe here|to unsubscribe,? (?:click|reply|visit|use)"
    r"|if you (?:no longer |do not |don't )?(?:wish|want|would like|prefer)(?: not)? to "
    r"(?:receive|hear|get|be contacted|unsubscribe)"
    r"|one-click unsubscribe|unsubscribe link below|manage your preferences"
    r"|zum abmelden (?:klicken|hier)|hier abmelden|pour vous desabonner,? cliquez"
    r"|pour ne plus recevoir[^.!?]{0,120}cliquez|para darse de baja,? haga clic"
    r"|per annullare l'iscrizione,? clicca"
    r"|klik hier om (?:je|u) af te melden"
    r")"
)
_SENTENCE_END = re.compile(r"[.!?]")


def _without_footer_sentences(text: str) -> str:
    """Drop whole sentences of unsubscribe boilerplate (linear: no backtracking regex)."""
    pieces: list[str] = []
    position = 0
    for match in _FOOTER_PHRASE.finditer(text):
        if match.start() < position:
            continue
        start = max(position, *(text.rfind(mark, position, match.start()) + 1 for mark in ".!?"))
        end_match = _SENTENCE_END.search(text, match.end())
        end = end_match.end() if end_match else len(text)
        pieces += [text[position:start], " "]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


_UNSUBSCRIBE = _phrases(
    # en
    r"unsubscribe[ds]?",
    r"unsubscribing",
    r"opt(?:ed|ing)?[ -]?out",
    r"remove (?:me|us)",
    r"remove my (?:email|e-mail|address|name|details|data)",
    r"take (?:me|us) off",
    r"off (?:your|the) (?:mailing |e-?mail |contact )?(?:list|database|records)",
    r"stop (?:e-?mailing|mailing|"
    r"contacting|sending|writing|messaging|spamming)",
    r"(?:do not|don't|dont|never) "
    r"(?:e-?mail|contact|write to|message) (?:me|us)",
    r"no more e-?mails",
    r"delete my (?:data|e-?mail|address|details|contact)",
    r"leave (?:me|us) alone",
    r"this is spam",
    # de
    r"abmelden",
    r"abmeldung",
    r"abbestellen",
    r"austragen",
    r"tragen sie (?:mich|uns) aus",
    r"entfernen sie (?:mich|uns|meine)",
    r"(?:von|aus) (?:ihrer|ihrem|der|dem|eurer|eurem) "
    r"(?:liste|verteiler|mailingliste|e-?mail-?liste)",
    r"keine weiteren (?:e-?mails|mails|nachrichten)",
    r"keine (?:e-?mails|mails|nachrichten|werbung) mehr",
    r"nicht mehr (?:kontaktieren|anschreiben|schreiben|"
    r"anmailen)",
    r"kontaktieren sie (?:mich|uns) nicht",
    r"schreiben sie (?:mir|uns) nicht",
    r"loschen sie meine (?:daten|adresse|e-?mail)",
    # fr
    r"(?:se |me |nous )?desabonn\w*",
    r"desinscri\w*",
    r"retirez[- ](?:moi|nous)",
    r"supprimez[- ](?:moi|nous|mon adresse|mes donnees)",
    r"ne (?:plus|pas) recevoir",
    r"ne (?:me|nous) (?:contactez|ecrivez|envoyez) plus",
    r"arretez de (?:m|nous)'?"
    r"(?: ?envoyer| ?ecrire| ?contacter)",
    r"(?:de|sur) votre liste",
    # es
    r"dar(?:se|me|nos) de baja",
    r"(?:dadme|denme|deme) de baja",
    r"baja de (?:la|su|vuestra) "
    r"lista",
    r"eliminar(?:me|nos)",
    r"eliminadme",
    r"borrar(?:me|nos)",
    r"borradme",
    r"quitar(?:me|nos) de",
    r"sacar(?:me|nos) de",
    r"no (?:me|nos) (?:envien|envies|escriban|"
    r"contacten|manden) mas",
    r"dejen de (?:enviar|escribir|contactar)\w*",
    r"no quiero recibir",
    # it
    r"cancellami",
    r"cancellatemi",
    r"cancellarmi",
    r"disiscriv\w*",
    r"disiscrizione",
    r"rimuovimi",
    r"rimuovetemi",
    r"toglietemi",
    r"non voglio (?:piu )?ricevere",
    r"smettete(?:la)? di (?:scrivere|inviare|contattare|mandare)",
    r"non (?:mi )?contattatemi",
    r"non scrivetemi",
    r"non (?:mi )?scrivete piu",
    r"dalla vostra lista",
    # nl
    r"afmelden",
    r"afmelding",
    r"uitschrijven",
    r"schrijf (?:me|mij|ons) uit",
    r"verwijder (?:me|mij|ons|mijn)",
    r"van (?:jullie|uw|de) (?:mailing ?)?lijst",
    r"geen (?:e-?mails|mails|berichten) meer",
    r"stop met (?:mailen|e-mailen|sturen|mailen)",
    r"niet meer (?:mailen|benaderen|contacteren)",
    r"neem geen contact (?:meer )?op",
)
_UNSUBSCRIBE_ALONE = re.compile(r"^\W*(?:stop|unsubscribe|remove|abmelden|stopp)\W*$")

_NOT_INTERESTED = _phrases(
    # en
    r"no,? thanks?(?: you)?",
    r"not (?:a |the right |a good )?(?:fit|priority|relevant)",
    r"(?:isn't|is not|aren't|are not) (?:really )?relevant",
    r"not now",
    r"no need for (?:this|it|that|your)",
    r"not for (?:us|me)",
    r"not at (?:this|the moment|the present)",
    r"not right now",
    r"(?:we're|we are|i'm|i am) all set",
    r"uninterest(?:ed|ing)",
    r"(?:don't|do not|dont) need",
    r"not looking",
    r"we(?:'ll| will) pass",
    r"i(?:'ll| will) pass",
    r"pass on this",
    r"no interest",
    r"not something we need",
    # de
    r"nein,? danke",
    r"kein(?:en)? bedarf",
    r"brauchen wir nicht",
    r"uninteressant",
    r"nicht relevant",
    r"passt nicht zu uns",
    r"leider nein",
    r"kein interesse",
    # fr
    r"non,? merci",
    r"pas (?:pour (?:nous|moi)|pertinent)",
    r"n'en (?:avons|ai) pas besoin",
    r"pas d'interet",
    r"aucun interet",
    r"inutile pour nous",
    # es
    r"no,? gracias",
    r"no es para (?:nosotros|mi)",
    r"no (?:lo )?necesit\w+",
    r"ningun interes",
    r"sin interes",
    # it
    r"no,? grazie",
    r"non fa per (?:noi|me)",
    r"non (?:ne )?abbiamo bisogno",
    r"nessun interesse",
    r"non ci serve",
    r"non mi serve",
    # nl
    r"nee,? (?:dank(?:je|u)?(?: wel)?|bedankt)",
    r"geen (?:interesse|behoefte)",
    r"hebben (?:we|wij|ik) niet nodig",
    r"oninteressant",
)

_INTEREST_WORD = _phrases(
    r"interest(?:ed|ing)",
    r"interesse\w*",
    r"interessa\w*",
    r"interesa\w*",
    r"interessier\w*",
    r"interessant\w*",
    r"geinteresseerd",
    r"interesseert",
)
_NEGATION = _phrases(
    r"not",
    r"no",
    r"never",
    r"n't",
    r"nor",
    r"isn't",
    r"aren't",
    r"don't",
    r"doesn't",
    r"nicht",
    r"kein\w*",
    r"nie",
    r"niemals",
    r"ne",
    r"n'",
    r"pas",
    r"jamais",
    r"nunca",
    r"tampoco",
    r"non",
    r"mai",
    r"niet",
    r"geen",
    r"nooit",
)
_CLAUSE_BREAK = re.compile(r"[.!?;,:\n()]|\b(?:but|aber|mais|pero|ma|maar|however)\b")
_NEGATION_WINDOW_BEFORE = 3
_NEGATION_WINDOW_AFTER = 3
_CONTEXT_CHARS = 120

_INTERESTED = _phrases(
    # en
    r"sounds (?:good|great|interesting|perfect)",
    r"let's (?:talk|chat|connect|do it|meet)",
    r"happy to (?:chat|talk|learn|hear|connect)",
    r"tell me more",
    r"keen",
    r"send (?:me|us|it|them|over)\b(?: the| more| some| it)?",
    r"please send",
    r"(?:i'd|i would|we'd|we would) (?:like|love) to (?:learn|know|see|hear|read|talk|chat)",
    r"(?:schedule|set up|book) a (?:call|meeting|demo|chat)",
    r"yes,? please",
    r"count me in",
    # de
    r"gerne?",
    r"klingt (?:gut|interessant|spannend)",
    r"(?:schicken|senden) sie (?:mir|uns)",
    r"schick(?:en)? (?:mir|uns)",
    r"mehr (?:infos?|informationen|details) (?:bitte|gerne)",
    r"lassen sie uns (?:sprechen|telefonieren|reden)",
    # fr
    r"volontiers",
    r"avec plaisir",
    r"envoyez[- ](?:moi|nous)",
    r"je veux bien",
    r"ca me plait",
    r"(?:parlons|discutons)[- ]en",
    # es
    r"(?:envieme|enviame|mandame|envienme|enviadme|mandeme)",
    r"me gustaria (?:saber|recibir|"
    r"ver|hablar|conocer)",
    r"suena bien",
    r"con gusto",
    r"hablemos",
    # it
    r"mandami",
    r"inviami",
    r"inviatemi",
    r"mandatemi",
    r"mi mandi",
    r"volentieri",
    r"mi piacerebbe",
    r"sembra interessante",
    r"sentiamoci",
    # nl
    r"stuur (?:me|mij|ons)",
    r"klinkt goed",
    r"lijkt me (?:goed|interessant|leuk)",
    r"graag",
)

_OUT_OF_OFFICE = _phrases(
    # en
    r"out of (?:the )?office",
    r"on (?:annual |parental |maternity |paternity )?leave",
    r"on (?:vacation|holiday|holidays)",
    r"away from (?:the|my) (?:office|desk)",
    r"limited access to (?:my )?e-?mail",
    r"(?:i will|i'll) be back",
    r"returning on",
    r"back in the office",
    r"currently (?:away|travell?ing)",
    r"automatic reply",
    r"auto-?reply",
    # de
    r"abwesend",
    r"abwesenheit\w*",
    r"nicht im buro",
    r"ausser haus",
    r"im urlaub",
    r"wieder (?:im buro|erreichbar|da)",
    r"keinen zugriff auf (?:meine )?e-?mails",
    r"in elternzeit",
    r"automatische antwort",
    # fr
    r"absente?",
    r"en conges?",
    r"en vacances",
    r"hors du bureau",
    r"de retour (?:le|au bureau)",
    r"reponse automatique",
    r"acces limite",
    # es
    r"fuera de la oficina",
    r"de vacaciones",
    r"ausente",
    r"estare de vuelta",
    r"regresare",
    r"volvere el",
    r"respuesta automatica",
    r"acceso limitado",
    # it
    r"fuori (?:ufficio|sede)",
    r"in ferie",
    r"in vacanza",
    r"assente",
    r"saro di ritorno",
    r"rientrero",
    r"risposta automatica",
    # nl
    r"afwezig",
    r"buiten kantoor",
    r"(?:met|op) vakantie",
    r"weer (?:aanwezig|bereikbaar)",
    r"terug op",
    r"automatisch antwoord",
)


def _clause_tokens(text: str, start: int, end: int) -> tuple[list[str], list[str]]:
    """Words before and after [start, end) within the same clause."""
    # Three words either side are all that matter; a bounded slice keeps this linear.
    before = text[max(0, start - _CONTEXT_CHARS) : start]
    after = text[end : end + _CONTEXT_CHARS]
    breaks_before = list(_CLAUSE_BREAK.finditer(before))
    if breaks_before:
        before = before[breaks_before[-1].end() :]
    break_after = _CLAUSE_BREAK.search(after)
    if break_after:
        after = after[: break_after.start()]
    before = before.replace("n't", " n't").replace("n'", "n' ")
    return before.split(), after.split()


def _is_negated(text: str, match: re.Match[str]) -> bool:
    before, after = _clause_tokens(text, match.start(), match.end())
    window = before[-_NEGATION_WINDOW_BEFORE:] + after[:_NEGATION_WINDOW_AFTER]
    return any(_NEGATION.fullmatch(word.strip("\"'")) for word in window) or any(
        word.endswith("n't") for word in window
    )


def classify_reply(text: str) -> ReplyClass:
    """Classify the new text of a reply (quotes and signature must already be stripped)."""
    normalized = normalize(text)
    without_footer = _without_footer_sentences(normalized)
    if _UNSUBSCRIBE.search(without_footer) or _UNSUBSCRIBE_ALONE.match(without_footer):
        return ReplyClass.UNSUBSCRIBE_REQUEST
    positives = [
        *_INTEREST_WORD.finditer(without_footer),
        *_INTERESTED.finditer(without_footer),
    ]
    if _NOT_INTERESTED.search(without_footer) or any(
        _is_negated(without_footer, match) for match in positives
    ):
        return ReplyClass.NOT_INTERESTED
    if positives:
        return ReplyClass.INTERESTED
    if _OUT_OF_OFFICE.search(without_footer):
        return ReplyClass.OUT_OF_OFFICE
    return ReplyClass.REPLIED


def looks_out_of_office(text: str) -> bool:
    """Absence phrasing anywhere in the text (used with Precedence: bulk auto-replies)."""
    return _OUT_OF_OFFICE.search(normalize(text)) is not None
