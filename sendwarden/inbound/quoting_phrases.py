"""Phrase tables for finding where a reply's own text ends (data; logic in quoting.py).

Mail clients mark quoted history in their user's language. Each table names the client
wording it covers; words are matched case-insensitively on the raw (not normalised) line.
"""

from __future__ import annotations

import re

# "wrote" in the attribution line of each language (Gmail, Apple Mail, Outlook, Thunderbird).
_LATIN_VERBS = (
    r"wrote|schrieb|a\s+[ée]crit|escribi[óo]|ha\s+scritto|schreef|het volgende geschreven"
    r"|skrev|skriver|pisze|napisa[łl](?:\(a\)|a)?|написал(?:\(а\)|а)?|пишет"
    r"|đã viết|escreveu|yazd[ıi]|napsal(?:\(a\)|a)?|kirjoitti|[íi]rta|a scris|έγραψε"
)
_CJK_VERBS = r"写道|寫道|書きました|작성"
ATTRIBUTION = re.compile(
    r"^\s*.{0,300}?(?:\b(?:" + _LATIN_VERBS + r")(?!\w)|(?:" + _CJK_VERBS + r")).{0,200}?[:：]\s*$",
    re.IGNORECASE | re.DOTALL,
)
# Words an attribution may start with when it wraps over lines or follows the reply's own
# text on the same line ("Sounds good. On Mon, 12 Oct 2026 … wrote:").
ATTRIBUTION_STARTS = r"on|am|le|el|il|op|den|w dniu|dnia|em|v[àa]o|dne|在"
OWN_TEXT_THEN_ATTRIBUTION = re.compile(
    r"^(?P<own>[^\n]*?[.!?…)])\s+(?P<attribution>(?:" + ATTRIBUTION_STARTS + r")\s.*)$",
    re.IGNORECASE,
)
# Date-first attributions without a verb: Gmail in several locales writes
#   "2026-10-12 10:00 GMT+02:00 Anna <anna@x>:", "пн, 12 окт. 2026 г. в 10:00, Anna <a@x>:",
#   "2026年10月12日(月) 10:00 Anna <a@x>:".
DATE_FIRST_ATTRIBUTION = re.compile(
    r"^\s*\S.{0,120}?\d{1,2}[:.]\d{2}.{0,160}?<\s?[^<>\s@]+@[^<>\s]+\s?>\s*[:：]\s*$"
)
_SEPARATOR_WORDS = (
    r"original message|original e-?mail|reply message|forwarded message|message d'origine"
    r"|message original|message transf[ée]r[ée]|ursprüngliche nachricht|urspr[üu]ngliche nachricht"
    r"|originalnachricht|antwort nachricht|weitergeleitete nachricht|mensaje original"
    r"|mensaje reenviado|messaggio originale|messaggio inoltrato|oorspronkelijk bericht"
    r"|origineel bericht|doorgestuurd bericht|originalmeddelande|ursprungligt meddelande"
    r"|oprindelig meddelelse|original meddelelse|opprinnelig melding|originalmelding"
    r"|wiadomo[śs][ćc] oryginalna|oryginalna wiadomo[śs][ćc]|исходное сообщение"
    r"|пересланное сообщение|mensagem original|mensagem encaminhada|orijinal mesaj"
    r"|p[ůu]vodn[íi] zpr[áa]va|alkuper[äa]inen viesti|eredeti [üu]zenet|mesaj original"
    r"|原始邮件|原始郵件|元のメッセージ"
)
# "-----Original Message-----", "-------- Message d'origine --------", "--- Reply Message ---".
SEPARATOR = re.compile(
    r"^\s*[-_=*]{2,}\s*(?:" + _SEPARATOR_WORDS + r")\s*[-_=*]*\s*$", re.IGNORECASE
)
# "------ On Mon, 12 Oct 2026 Anna <a@x> wrote ------" (Zoho, some webmails).
DASHED_ATTRIBUTION = re.compile(
    r"^\s*-{2,}\s*(?:" + ATTRIBUTION_STARTS + r")\b.{0,300}\b(?:" + _LATIN_VERBS
    + r")\s*:?\s*-{2,}\s*$",
    re.IGNORECASE,
)  # fmt: skip
FORWARD_INTRO = re.compile(
    r"^\s*(?:begin forwarded message|anfang der weitergeleiteten nachricht"
    r"|d[ée]but du message r[ée]exp[ée]di[ée]|inicio del mensaje reenviado"
    r"|inizio messaggio inoltrato|begin doorgestuurd bericht|vidarebefordrat meddelande"
    r"|videresendt meddelelse|videresendt melding|pocz[ąa]tek przekazywanej wiadomo[śs]ci"
    r"|in[íi]cio da mensagem encaminhada)\s*:\s*$",
    re.IGNORECASE,
)
# Header blocks of quoted messages (Outlook, Hotmail, Yahoo, Apple Mail forwards), localised.
HEADER_FROM = re.compile(
    r"^\s*\*?(?:from|von|de|da|van|fr[åa]n|fra|od|от|de la|kimden|l[äa]hett[äa]j[äa]|felad[óo]"
    r"|寄件者|发件人|差出人)\s*\*?\s*[:：]\*?\s*\S",
    re.IGNORECASE,
)
HEADER_OTHER = re.compile(
    r"^\s*\*?(?:sent|date|to|cc|bcc|subject|reply-to"
    r"|gesendet|datum|an|betreff|kopie"
    r"|envoy[ée]|[àa]|objet|cc"
    r"|enviado el|enviado em|enviada em|enviado|enviada|fecha|para|asunto|assunto|data"
    r"|inviato|a|oggetto"
    r"|verzonden|aan|onderwerp"
    r"|skickat|till|[äa]mne|kopia"
    r"|sendt|til|emne|dato"
    r"|wys[łl]ano|do|temat|dw"
    r"|отправлено|дата|кому|тема|копия"
    r"|g[öo]nderildi|tarih|kime|konu"
    r"|odesl[áa]no|komu|p[řr]edm[ěe]t"
    r"|l[äa]hetetty|vastaanottaja|aihe"
    r"|发送时间|收件人|主题|日時|宛先|件名|送信日時)\s*\*?\s*[:：]\*?",
    re.IGNORECASE,
)
SIGNATURE_DELIMITER = re.compile(r"^--\s*$")
_DEVICES = (
    r"i ?phone|i ?pad|ipod|android|mobile|smartphone|phone|tablet|samsung|galaxy|blackberry"
    r"|huawei|pixel|xiaomi|nokia|oneplus|motorola|sony|apple watch|windows phone|handy"
    r"|portable|appareil|m[óo]vil|movil|cellulare|dispositivo|telefoon|mobiel|telefon"
)
# Only real mobile and app footers: "Sent from my desk, ..." is the author's own sentence.
MOBILE_FOOTER = re.compile(
    r"^\s*(?:"
    r"sent from my (?:[\w'’-]+ ){0,3}?(?:" + _DEVICES + r")\b"
    r"|sent from (?:outlook|mail|yahoo mail|gmail|my samsung|aol|proton ?mail|zoho mail)"
    r"(?: for (?:ios|android|windows|iphone|mac))?\s*$"
    r"|sent (?:from|with|via) (?:outlook|yahoo mail|gmail|aol|proton ?mail|spark|blue ?mail"
    r"|airmail|newton|edison mail)\b(?: for \w+)?"
    r"|get outlook for (?:ios|android)"
    r"|von meinem (?:[\w'’-]+ ){0,3}?(?:" + _DEVICES + r")\b(?: \w+)? gesendet"
    r"|gesendet (?:von|mit|vom) (?:meinem )?(?:[\w'’-]+ ){0,3}?(?:" + _DEVICES
    + r"|outlook|gmx|web\.de|mail)\b"
    r"|envoy[ée] (?:de|depuis) (?:mon |ma )?(?:[\w'’-]+ ){0,3}?(?:" + _DEVICES
    + r"|outlook|yahoo)\b"
    r"|enviado (?:desde|do|de) (?:mi |meu |o meu )?(?:[\w'’-]+ ){0,3}?(?:" + _DEVICES
    + r"|outlook|yahoo)\b"
    r"|inviato da (?:il mio |mio )?(?:[\w'’-]+ ){0,3}?(?:" + _DEVICES + r"|outlook)\b"
    r"|(?:verzonden|verstuurd) (?:vanaf|met|van) (?:mijn )?(?:[\w'’-]+ ){0,3}?(?:"
    + _DEVICES + r"|outlook)\b"
    r"|skickat fr[åa]n min (?:[\w'’-]+ )?(?:" + _DEVICES + r")\b"
    r"|sendt fra min (?:[\w'’-]+ )?(?:" + _DEVICES + r")\b"
    r"|wys[łl]ane z (?:mojego )?(?:[\w'’-]+ )?(?:" + _DEVICES + r")"
    r"|отправлено с (?:моего )?(?:[\w'’-]+ )?(?:iphone|ipad|android|samsung|телефона)"
    r"|(?:iphone|ipad|android)から送信|发自我的(?:iphone|ipad|手机)|從我的 ?iphone 傳送"
    r")",
    re.IGNORECASE,
)  # fmt: skip
SIGN_OFF = re.compile(
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
    r"|med v[äa]nlig h[äa]lsning|v[äa]nliga h[äa]lsningar|mvh|med venlig hilsen|venlig hilsen"
    r"|med vennlig hilsen|vennlig hilsen|hilsen|pozdrawiam|z powa[żz]aniem|с уважением"
    r"|atenciosamente|abra[çc]os|saygılarımla|t[ri]ân trọng"
    r")\s*[,.!]?\s*$",
    re.IGNORECASE,
)
# A mailing-list or provider footer under a rule of underscores.
LIST_FOOTER = re.compile(
    r"mailing list|listinfo|unsubscribe|subscribed to|google groups|groups\.io|list-?serv"
    r"|mailman|abmelden|d[ée]sinscri|darse de baja|cancellarti|afmelden|https?://",
    re.IGNORECASE,
)
