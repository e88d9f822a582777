"""Phrase tables of the reply classifier, per class and language (data only; the logic and
the rules for using them are in replies.py). Every phrase is written lower-case without
accents: the classifier matches on normalize()d text.
"""

from __future__ import annotations

import re


def _phrases(*parts: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b")


FOOTER_PHRASE = re.compile(
    r"\b(?:"
    r"click here to unsubscribe|unsubscribe here|to unsubscribe,? (?:click|reply|visit|use)"
    r"|if you (?:no longer |do not |don't )?(?:wish|want|would like|prefer)(?: not)? to "
    r"(?:receive|hear|get|be contacted|unsubscribe)"
    r"|one-click unsubscribe|unsubscribe link below|manage your preferences"
    r"|zum abmelden (?:klicken|hier)|hier abmelden|pour vous desabonner,? cliquez"
    r"|pour ne plus recevoir[^.!?]{0,120}cliquez|para darse de baja,? haga clic"
    r"|per annullare l'iscrizione,? clicca"
    r"|klik hier om (?:je|u) af te melden"
    # Privacy notices tell the reader about THEIR rights; a request is written in first person.
    r"|you (?:have|may exercise|can exercise) (?:the|your|a) rights?"
    r"|you (?:may|can) (?:at any time )?(?:object|withdraw your consent|request (?:the )?"
    r"(?:erasure|deletion|access))"
    r"|sie haben (?:jederzeit )?(?:das|ein) recht"
    r"|(?:sie konnen|konnen sie) (?:\w+ ){0,3}(?:widersprechen|widerrufen)"
    r"|vous (?:disposez|beneficiez) d'un droit|vous pouvez (?:\w+ ){0,2}(?:exercer|vous opposer)"
    r"|(?:usted )?tiene (?:el )?derecho|puede ejercer (?:sus|el|los) derechos?"
    r"|(?:ha|avete) (?:il )?diritto|(?:puo|potete) esercitare"
    r"|u (?:heeft|hebt) (?:het )?recht"
    r"|(?:u kunt|kunt u) (?:\w+ ){0,2}(?:bezwaar|uw rechten|verzoeken)"
    r")"
)
UNSUBSCRIBE = _phrases(
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
# Erasure / objection requests and "where did you get my address": the sender must stop.
DATA_PROTECTION_REQUEST = _phrases(
    # en
    r"(?:delete|erase|remove|purge|destroy|wipe) (?:all |any )?(?:of )?(?:my|our) (?:personal )?"
    r"(?:data|information|info|details|contact details|e-?mail(?: address)?|address|records?)",
    r"(?:delete|erase|remove|purge) (?:all |any )?(?:personal )?(?:data|information) (?:that )?"
    r"(?:you (?:hold|have|store|keep)|(?:held |stored )?(?:about|on|of|regarding) (?:me|us))",
    r"(?:erasure|deletion|removal) of (?:all )?(?:of )?(?:my|our) (?:personal )?"
    r"(?:data|information|details)",
    r"(?:i|we) (?:hereby |strongly )?object to (?:the |any |your )?(?:further )?(?:processing|use|"
    r"storage)",
    r"(?:ich|wir) widersprech\w*|widerspreche (?:ich )?(?:hiermit|ausdrucklich)",
    r"(?:where|how) (?:did|do|have) you (?:get|got|obtain|obtained|find|found|source|sourced|"
    r"acquire|acquired|receive|received) (?:my|our|this) (?:e-?mail|address|contact|details|"
    r"data|information|info|name|number)",
    # de
    r"loschung (?:meiner|unserer) (?:\w+ )?(?:daten|adresse|"
    r"e-?mail-?adresse|kontaktdaten)",
    r"(?:meine|unsere) (?:\w+ )?(?:daten|e-?mail-?adresse|adresse|kontaktdaten) "
    r"(?:\w+ ){0,3}(?:zu )?(?:loschen|entfernen)",
    r"loschen sie (?:\w+ ){0,2}(?:meine|unsere|alle|samtliche)",
    r"woher (?:haben sie|hast du|habt ihr|stammen) (?:meine|unsere|diese) (?:\w+ )?(?:daten|"
    r"adresse|e-?mail|e-?mail-?adresse|kontaktdaten|nummer)",
    # fr
    r"supprim\w* (?:toutes )?(?:mes|nos) (?:\w+ )?(?:donnees|coordonnees|informations|adresse)",
    r"(?:suppression|effacement) (?:de )?(?:toutes )?(?:mes|nos) (?:donnees|coordonnees|"
    r"informations)",
    r"effac\w* (?:toutes )?(?:mes|nos) (?:donnees|coordonnees|informations)",
    r"(?:je|nous) (?:m'|nous )?oppose?\w* (?:formellement )?(?:au|a tout|a toute|a la|a l') ?"
    r"(?:\w+ )?(?:traitement|utilisation|prospection)",
    r"(?:ou|comment) (?:avez[- ]vous|as-tu) (?:eu|obtenu|trouve|recupere) (?:mon|mes|notre|nos|"
    r"cette) (?:adresse|e-?mail|mail|coordonnees|contact|donnees)",
    # es
    r"(?:borr(?:ar|en|ad|e)|elimin(?:ar|en|e)|supri(?:mir|man|ma)|cancel(?:ar|en|e)) "
    r"(?:todos )?(?:mis|nuestros) (?:datos|correo|direccion|informacion)",
    r"(?:supresion|eliminacion|borrado|cancelacion) de (?:todos )?(?:mis|nuestros) (?:datos|"
    r"correo|direccion)",
    r"(?:me opongo|nos oponemos) a(?:l| todo| cualquier) (?:\w+ )?tratamiento",
    r"(?:de donde|como) (?:han|ha|habeis|has|hemos) (?:sacado|obtenido|conseguido|encontrado) "
    r"(?:mi|mis|nuestro|este|esta) (?:correo|direccion|email|e-mail|contacto|datos)",
    # it
    r"(?:cancell(?:are|ate|i)|elimin(?:are|ate|i)|rimuov(?:ere|ete|a)) (?:tutti )?"
    r"(?:i |il )?(?:miei|nostri|mio|nostro) (?:dati|indirizzo|contatto)",
    r"(?:cancellazione|rimozione|eliminazione) (?:di tutti )?(?:dei )?(?:miei|nostri) dati",
    r"(?:mi oppongo|ci opponiamo) al (?:\w+ )?trattamento",
    r"(?:dove|come) avete (?:preso|trovato|ottenuto|avuto|reperito) (?:il mio|i miei|questo|"
    r"il nostro) (?:indirizzo|contatto|email|e-mail|dati|recapito)",
    # nl
    r"(?:mijn|onze) (?:persoons)?gegevens (?:\w+ ){0,3}(?:te )?(?:verwijderen|wissen)",
    r"(?:verwijdering|wissing) van (?:al )?(?:mijn|onze) (?:persoons)?gegevens",
    r"waar (?:heeft u|hebben jullie|heb je|hebt u|hebt je) (?:mijn|ons|dit|deze) (?:\w+ )?"
    r"(?:e-?mailadres|adres|gegevens|contactgegevens|nummer) vandaan",
)
# Rights and legal terms: a request only in a sentence written in the first person (a privacy
# notice in a signature names the same rights and laws).
DATA_PROTECTION_TERM = _phrases(
    r"right (?:to|of) (?:erasure|be forgotten|object|objection|deletion)",
    r"objection to (?:the |any )?(?:further )?processing",
    r"(?:data subject|subject access|gdpr|dsgvo|rgpd|avg|erasure|deletion) request",
    r"widerspruch gegen (?:die|jede|jegliche) (?:\w+ )?(?:verarbeitung|nutzung|verwendung|"
    r"speicherung)",
    r"recht auf (?:loschung|vergessenwerden|widerspruch)",
    r"opposition (?:au|a tout|a la) (?:\w+ )?(?:traitement|prospection)",
    r"droit (?:d'opposition|a l'oubli|a l'effacement|de suppression|d'effacement)",
    r"oposicion al tratamiento",
    r"derecho (?:al olvido|de supresion|de oposicion|de cancelacion)",
    r"opposizione al trattamento",
    r"diritto (?:all'oblio|alla cancellazione|di opposizione|di cancellazione)",
    r"bezwaar (?:\w+ ){0,2}tegen (?:de |het |elke )?(?:\w+ )?(?:verwerking|gebruik)",
    r"recht op (?:vergetelheid|verwijdering|bezwaar|gegevenswissing)",
)
DATA_PROTECTION_LAW = _phrases(
    r"gdpr", r"uk gdpr", r"dsgvo", r"ds-gvo", r"rgpd", r"avg", r"lopd", r"ccpa", r"bdsg",
    r"art(?:icle|ikel|icolo|iculo|\.)? ?(?:17|21)",
)  # fmt: skip
FIRST_PERSON = _phrases(
    r"i", r"me", r"my", r"our", r"ich", r"mich", r"mir", r"mein\w*", r"unser\w*", r"je", r"j(?=')",
    r"m(?=')", r"moi", r"mon", r"ma", r"mes", r"nos", r"notre", r"yo", r"mi", r"mis", r"nuestr\w+",
    r"io", r"mio", r"miei", r"mie", r"mia", r"nostr\w+", r"ik", r"mij", r"mijn", r"onze",
)  # fmt: skip
DATA_PROTECTION_ACTION = _phrases(
    r"delet\w*", r"erase[ds]?", r"erasure", r"remov\w*", r"object(?:s|ed|ing|ion)?",
    r"losch\w*", r"loesch\w*", r"widerspr\w*", r"supprim\w*", r"effac\w*",
    r"opposition", r"oppose", r"opongo", r"oponemos", r"oposicion", r"borr(?:ar|en|ad|ado)",
    r"elimin\w*", r"supresion", r"suprim\w*", r"cancellazione", r"cancellare", r"cancellate",
    r"oppongo", r"opponiamo", r"opposizione", r"verwijder\w*", r"bezwaar",
)  # fmt: skip
UNSUBSCRIBE_ALONE = re.compile(r"^\W*(?:stop|unsubscribe|remove|abmelden|stopp)\W*$")

# A refusal word closing its clause: "unfortunately not." but not "unfortunately not today".
CLAUSE_END = r"(?= ?[.!,;)]|$)"
REFUSING_SUBJECT = (
    r"(?:we|i)(?:'ll|'d|'m|'re| will| would| must| have to| need to| going to| are| am| shall)*"
    r" (?:respectfully |politely |kindly |unfortunately |sadly |have to |will )*"
)
NOT_INTERESTED = _phrases(
    # en
    r"no,? thanks?(?: you)?",
    r"(?:thanks|thank you)(?: (?:so much|anyway|again))?,? (?:but )?no" + CLAUSE_END,
    r"not (?:really |quite |exactly )?(?:a |the right |a good |a great )?(?:fit|priority|relevant)",
    r"(?:isn't|is not|aren't|are not|wouldn't be|would not be|won't be) (?:really |quite )?"
    r"(?:a |the right |a good |a great )?(?:fit|match|relevant)",
    r"(?:doesn't|does not|don't|do not) (?:really )?(?:fit|suit)",
    r"not now",
    r"no need for (?:this|it|that|your)",
    r"not for (?:us|me)",
    r"nothing for (?:us|me)",
    r"not at (?:this|the moment|the present)",
    r"not right now",
    r"(?:we're|we are|i'm|i am) all set",
    r"uninterest(?:ed|ing)",
    r"(?:don't|do not|dont) need",
    r"not looking",
    REFUSING_SUBJECT + r"pass(?: for now| this time| for the moment)?" + CLAUSE_END,
    REFUSING_SUBJECT + r"pass on (?:this|that|it|your offer|the offer)(?! to)",
    REFUSING_SUBJECT + r"decline",
    r"no interest",
    r"not something (?:we|i)(?:'re| are)? (?:need|do|offer|accept|want|looking for|pursue)",
    r"not what (?:we're|we are|i'm|i am) looking for",
    r"(?:we're|we are|i'm|i am) not (?:accepting|taking|buying|in the market)",
    r"no longer (?:accept|accepting|publish|publishing|offer|offering)",
    r"(?:unfortunately|sadly|regrettably|sorry),? (?:no|not)" + CLAUSE_END,
    r"no,? sorry",
    # de
    r"nein,? danke",
    r"(?:danke|vielen dank),? (?:aber )?nein" + CLAUSE_END,
    r"kein(?:en)? bedarf",
    r"brauchen wir nicht",
    r"uninteressant",
    r"nicht relevant",
    r"passt (?:\w+ ){0,2}nicht (?:zu uns|fur uns|zu unserem|in unser\w*)",
    r"kommt (?:\w+ ){0,3}nicht in frage",
    r"nichts fur (?:uns|mich)",
    r"verzichten (?:\w+ )?(?:dankend|darauf)",
    r"(?:mussen|muss|mochten|werden) (?:wir |ich )?(?:\w+ )?(?:dankend )?ablehnen",
    r"lehnen (?:wir|ich) (?:\w+ )?(?:dankend )?ab",
    r"leider (?:nein|nicht)" + CLAUSE_END,
    r"kein interesse",
    # fr
    r"non,? merci",
    r"merci,? (?:mais )?non" + CLAUSE_END,
    r"pas (?:pour (?:nous|moi)|pertinent)",
    r"n'en (?:avons|ai) pas besoin",
    r"pas d'interet",
    r"aucun interet",
    r"inutile pour nous",
    r"ne (?:nous|me) (?:convient|correspond) pas",
    r"(?:passer|passons|passe|passerons|passerai) (?:notre|mon) tour",
    r"(?:nous declinons|je decline|devons decliner|dois decliner)",
    r"(?:malheureusement|helas|desole),? (?:non|pas)" + CLAUSE_END,
    # es
    r"no,? gracias",
    r"gracias,? (?:pero )?no" + CLAUSE_END,
    r"no es para (?:nosotros|mi)",
    r"no (?:lo )?necesit\w+",
    r"ningun interes",
    r"sin interes",
    r"no (?:nos |me )?encaja",
    r"no es lo que (?:buscamos|busco|estamos buscando)",
    r"(?:paso|pasamos),? gracias",
    r"(?:declinamos|declino|tenemos que declinar|debemos declinar|rechazamos)",
    r"(?:lamentablemente|desafortunadamente|por desgracia|desgraciadamente|lo siento),? no"
    + CLAUSE_END,
    # it
    r"no,? grazie",
    r"grazie,? (?:ma )?no" + CLAUSE_END,
    r"non fa (?:per|al caso) (?:noi|me|nostro|mio)",
    r"non e per noi",
    r"non (?:ne )?abbiamo bisogno",
    r"nessun interesse",
    r"non ci serve",
    r"non mi serve",
    r"(?:passo|passiamo),? grazie",
    r"(?:declino|decliniamo|dobbiamo declinare)",
    r"(?:purtroppo|sfortunatamente|mi dispiace),? non?" + CLAUSE_END,
    # nl
    r"nee,? (?:dank(?:je|u)?(?: wel)?|bedankt)",
    r"(?:bedankt|dank je|dank u),? (?:maar )?nee" + CLAUSE_END,
    r"geen (?:interesse|behoefte)",
    r"hebben (?:we|wij|ik) niet nodig",
    r"oninteressant",
    r"past (?:\w+ ){0,2}niet (?:bij (?:ons|mij|onze)|in (?:ons|onze))",
    r"niets voor (?:ons|mij)",
    r"niet voor (?:ons|mij)",
    r"(?:we|wij|ik) (?:slaan|sla) (?:dit|het|deze|dat) (?:\w+ )?over",
    r"(?:bedanken|bedank) (?:\w+ )?(?:ervoor|hiervoor)",
    r"zien (?:er|hier)van af",
    r"(?:helaas|jammer genoeg|spijtig genoeg),? (?:nee|niet)" + CLAUSE_END,
)

# What cold outreach offers; a negated, non-question clause naming one is a refusal
# ("we don't accept guest posts", "wij accepteren geen gastblogs").
OFFER_NOUN = _phrases(
    # en
    r"guest[ -]?(?:posts?|posting|articles?|blogs?|blogging|contributions?|authors?)",
    r"sponsored (?:content|posts?|articles?|links?|reviews?|placements?)",
    r"link (?:insertions?|placements?|exchanges?|swaps?|building)",
    r"paid (?:links?|posts?|placements?|content|articles?|guest posts?|backlinks?)",
    r"(?:do-?follow )?backlinks?",
    r"do-?follow links?",
    r"advertorials?",
    r"(?:third-party|external|outside) (?:content|articles?|authors?|contributors?|submissions?)",
    r"(?:sell|buy|place|insert|add) (?:\w+ )?links",
    # de
    r"gast(?:beitr(?:ag|age|agen)|artikel[ns]?|posts?|autor(?:en)?)",
    r"gesponsert\w* (?:inhalte?|beitr\w+|artikel\w*|links?|posts?)",
    r"bezahlt\w* (?:links?|beitr\w+|artikel\w*|inhalte?|posts?)",
    r"link(?:platzierung(?:en)?|einfugung(?:en)?|tausch|kauf|verkauf)",
    r"links? (?:verkaufen|kaufen|setzen|platzieren|einfugen)",
    r"werbeartikel|werbebeitr\w+",
    # fr
    r"articles? (?:invites?|sponsorises?|d'invites?|de blog invites?)",
    r"(?:contenus?|publications?|posts?) sponsorises?",
    r"liens? (?:payants?|sponsorises?|retour|entrants?|dofollow)",
    r"(?:insertions?|achat|vente|echange)s? de liens?",
    r"publi-?redactionnels?|redactionnels? sponsorises?",
    # es
    r"articulos? (?:de |como )?invitad[oa]s?",
    r"(?:articulos?|contenidos?|publicaciones|posts?) patrocinad[oa]s?",
    r"enlaces? (?:pagados?|de pago|patrocinados?|dofollow)",
    r"(?:insercion(?:es)?|colocacion(?:es)?|compra|venta|intercambio) de enlaces?",
    r"publirreportajes?",
    # it
    r"articol[oi] (?:ospit[ie]|sponsorizzat[oi]|a pagamento)",
    r"(?:contenut[oi]|post) sponsorizzat[oi]",
    r"link (?:a pagamento|sponsorizzati|dofollow)",
    r"(?:inseriment[oi]|compravendita|scambio|vendita|acquisto) di link",
    r"redazionali",
    # nl
    r"gast(?:blogs?|artikel(?:en|s)?|bijdragen?|posts?|auteurs?)",
    r"gesponsorde (?:artikelen|content|berichten|blogs?|posts?|links?)",
    r"betaalde (?:links?|artikelen|berichten|posts?|content|plaatsingen?)",
    r"link(?:plaatsing(?:en)?|ruil)",
    r"links? (?:plaatsen|verkopen|kopen)",
)

# Idioms that contain a negation word but are not negative ("no problem, send it over").
NEUTRAL_IDIOMS = _phrases(
    r"no (?:problem|worries|rush|hurry|pressure|doubt|obligation)",
    r"not a problem",
    r"not bad",
    r"why not",
    r"kein(?:e)? (?:problem|eile|stress|frage)",
    r"nicht schlecht",
    r"warum (?:auch )?nicht",
    r"pas de (?:probleme|souci|soucis|stress)",
    r"(?:il )?n'y a pas de (?:probleme|souci)",
    r"pas mal",
    r"pourquoi pas",
    r"(?:ningun|sin) problema",
    r"no hay (?:problema|prisa)",
    r"por que no",
    r"nessun problema",
    r"non c'e problema",
    r"non (?:e )?male",
    r"perche no",
    r"geen (?:probleem|haast|punt)",
    r"niet slecht",
    r"waarom niet",
)

INTEREST_WORD = _phrases(
    r"interest(?:ed|ing)",
    r"interesse\w*",
    r"interessa\w*",
    r"interesa\w*",
    r"interessier\w*",
    r"interessant\w*",
    r"geinteresseerd",
    r"interesseert",
)
NEGATION = _phrases(
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
# German, French and Dutch also negate after the verb ("interessiert uns nicht").
TRAILING_NEGATION = _phrases(
    r"nicht", r"kein\w*", r"nie", r"niemals", r"pas", r"jamais", r"niet", r"geen", r"nooit"
)
INTERESTED = _phrases(
    # en
    r"sounds (?:like )?(?:a |an )?(?:really |very )?(?:good|great|interesting|perfect|promising|"
    r"fine|reasonable|nice|excellent|fantastic|cool|plan)",
    r"(?:good|great|nice|excellent) idea",
    r"let's (?:talk|chat|connect|do it|meet|speak|set up|schedule|book|hop|jump|find a time|go)",
    r"(?:happy|glad|keen|delighted|pleased|willing) to (?:take|have|look|review|read|consider|"
    r"discuss|chat|talk|learn|hear|connect|see|receive|explore|set|hop|jump|schedule|meet|check|"
    r"give it|try|test|publish|help)",
    r"open to (?:it|this|that|the idea|an? (?:call|chat|conversation|discussion|meeting)|"
    r"discussing|exploring|hearing|learning|talking|chatting|collaborat\w+|a partnership)",
    r"(?:definitely|certainly|absolutely) (?:open|up for|keen)",
    r"up for (?:it|a (?:call|chat))",
    r"works for (?:me|us)",
    r"go ahead",
    r"please do",
    r"feel free to send",
    r"tell me more",
    r"keen",
    r"send (?:me|us|it|them|over)\b(?: the| more| some| it)?",
    r"please send",
    r"(?:i'd|i would|we'd|we would) (?:like|love) to (?:learn|know|see|hear|read|talk|chat|try)",
    r"(?:i'd|i would|we'd|we would) (?:love|be (?:happy|glad|delighted))",
    r"(?:schedule|set up|book) a (?:call|meeting|demo|chat)",
    r"yes,? please",
    r"count (?:me|us) in",
    # de
    r"gerne?",
    r"(?:klingt|hort sich|hoert sich) (?:\w+ )?(?:gut|interessant|spannend|vielversprechend|super|"
    r"toll|prima|nach einer guten idee)",
    r"gute idee",
    r"(?:wir sind|ich bin|sind wir|bin ich) (?:\w+ )?offen(?: dafur| fur)?",
    r"offen dafur",
    r"(?:schicken|senden) sie (?:mir|uns)",
    r"(?:schicken|senden) sie (?:es|ihn|sie|das|den \w+|die \w+) (?:\w+ )?(?:ruber|heruber|zu)",
    r"schick(?:en)? (?:mir|uns)",
    r"mehr (?:infos?|informationen|details) (?:bitte|gerne)",
    r"lassen sie uns (?:sprechen|telefonieren|reden)",
    r"(?:schaue?|schauen) (?:ich|wir) (?:mir|uns) (?:das |es |den \w+ )?(?:\w+ )?an",
    r"einverstanden",
    r"(?:bin|sind) dabei",
    # fr
    r"volontiers",
    r"avec plaisir",
    r"envoyez[- ](?:moi|nous|le|la|les)",
    r"je veux bien",
    r"(?:ca|cela) me (?:va|convient|plait)",
    r"(?:ca|cela) nous (?:va|convient|plait)",
    r"ca marche",
    r"(?:bonne|excellente) idee",
    r"(?:ca|cela) (?:a l'air|semble|me semble|nous semble) (?:\w+ )?(?:interessant|bien|"
    r"prometteur|pertinent|une bonne idee)",
    r"(?:nous sommes|je suis) (?:\w+ )?(?:ouverts?|ouvertes?|partants?|partantes?)",
    r"(?:parlons|discutons)[- ]en",
    r"(?:on peut|nous pouvons|pouvons-nous|peut-on|on pourrait) (?:en )?(?:parler|discuter|"
    r"echanger|s'appeler|se parler)",
    r"on (?:s'appelle|se parle|en parle)",
    r"(?:je|j') ?(?:vais|veux) (?:bien )?(?:y )?(?:jeter un (?:oeil|coup d'oeil)|regarder)",
    # es
    r"(?:envieme|enviame|mandame|envienme|enviadme|mandeme|envialo|mandalo|enviamelo|mandamelo|"
    r"envianoslo|mandanoslo|enviadlo|envielo)",
    r"me gustaria (?:saber|recibir|ver|hablar|conocer)",
    r"(?:me|nos) parece (?:una |muy )?(?:buena idea|bien|interesante|genial|perfecto|estupendo|"
    r"gran idea)",
    r"(?:buena|gran|excelente) idea",
    r"suena (?:muy )?(?:bien|genial|interesante)",
    r"con gusto",
    r"encantad[oa]s? de",
    r"hablemos",
    r"(?:estamos|estoy) (?:\w+ )?abiert[oa]s?",
    r"(?:podemos|podriamos) (?:hablar|llamarnos|quedar|charlar|tener una llamada|agendar)",
    r"(?:me apunto|nos apuntamos)",
    # it
    r"mandami",
    r"inviami",
    r"inviatemi",
    r"mandatemi",
    r"mi mandi",
    r"(?:mandalo|invialo|mandatelo|inviatelo|mandamelo|inviamelo|mandacelo|inviacelo)",
    r"volentieri",
    r"con piacere",
    r"mi piacerebbe",
    r"(?:mi|ci) sembra (?:una |un'|molto )?(?:buona idea|ottima idea|interessante|ottim[oa]|"
    r"perfetto|bello)",
    r"(?:buona|ottima|bella) idea",
    r"sembra interessante",
    r"sentiamoci",
    r"(?:possiamo|potremmo) (?:sentirci|parlarne|fare una (?:call|chiamata)|fissare)",
    r"(?:siamo|sono) (?:\w+ )?apert[io]",
    r"(?:per me|mi|ci|per noi) va (?:bene|benissimo)",
    r"ci sto",
    r"(?:daro|do|diamo|daremo) (?:volentieri )?un'occhiata",
    # nl
    r"stuur (?:me|mij|ons)",
    r"stuur (?:het|maar|gerust|het even|die|ze)(?: maar| gerust)?(?: door| op)?",
    r"klinkt (?:\w+ )?(?:goed|prima|interessant|leuk|als een goed idee)",
    r"lijkt me (?:goed|interessant|leuk|een goed idee|prima)",
    r"(?:goed|prima|leuk) idee",
    r"(?:we|wij|ik) (?:staan|sta) (?:er )?(?:\w+ )?open",
    r"staan (?:er )?(?:\w+ )?open voor",
    r"(?:zullen|kunnen) we (?:\w+ ){0,2}(?:bellen|afspreken|praten|een call)",
    r"bel (?:me|mij|ons)",
    r"graag",
    r"akkoord",
    r"doe maar",
)

# A call or meeting proposed for a named day ("can we talk on Thursday?"). Only when nothing
# stronger decided: an out-of-office saying "back on Monday, call my colleague" stays OOO.
CALL_VERB = _phrases(
    r"call", r"talk", r"chat", r"speak", r"meet", r"catch up", r"hop on",
    r"telefonieren", r"sprechen", r"reden", r"treffen", r"telefonat",
    r"appeler", r"appel", r"parler", r"discuter", r"echanger", r"rendez-vous", r"s'appelle",
    r"llamar\w*", r"llamada", r"hablar", r"hablamos", r"quedar\w*", r"charlar",
    r"sentir(?:ci|si)", r"sentiamo", r"chiamata", r"chiamarci", r"parlar\w*", r"incontrarci",
    r"bellen", r"spreken", r"praten", r"afspreken", r"belafspraak",
)  # fmt: skip
DAY = _phrases(
    r"monday", r"tuesday", r"wednesday", r"thursday", r"friday", r"tomorrow", r"next week",
    r"montag", r"dienstag", r"mittwoch", r"donnerstag", r"freitag", r"(?<!guten )morgen",
    r"nachste woche",
    r"lundi", r"mardi", r"mercredi", r"jeudi", r"vendredi", r"demain", r"semaine prochaine",
    r"lunes", r"martes", r"miercoles", r"jueves", r"viernes", r"manana", r"proxima semana",
    r"semana que viene",
    r"lunedi", r"martedi", r"mercoledi", r"giovedi", r"venerdi", r"domani", r"settimana prossima",
    r"prossima settimana",
    r"maandag", r"dinsdag", r"woensdag", r"donderdag", r"vrijdag", r"volgende week",
)  # fmt: skip

OUT_OF_OFFICE = _phrases(
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
