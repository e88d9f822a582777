"""Classify one failed recipient from ALL the evidence a report gives, not from one field.

Evidence, in order of trust:
1. The action and a success code: delivered/relayed/expanded or 2.x.x are never failures.
2. The most specific enhanced code: the diagnostic's own code wins over a Status field that
   disagrees with it (Status 5.1.1 over "550 5.7.1 IP blacklisted" is a block; over "552
   5.2.2 Over quota" a full mailbox). A permanent Status over a transient diagnostic (an
   expiry after retries) stays a transient failure.
3. The text: an address code (5.1.x, 5.2.1) whose text is about OUR sender address, our
   sending rate or reputation is sender-side; resolver trouble (5.4.4, "Name service error")
   is soft; a policy code (5.7.x) whose text says the user does not exist is hard; a generic
   code (X.0.0, none) is decided by the text, the human-readable part included.

==========================  ==============  ==================================================
code                        class           why
==========================  ==============  ==================================================
2.x.x / delivered, relayed  NOT_A_FAILURE
4.x.x / action delayed      SOFT            SENDER_BLOCK for 4.7.x or block/reputation text
5.1.x, 5.2.1                HARD            unless the text is about our sender, rate,
                                            reputation (SENDER_BLOCK), a full mailbox or DNS
5.1.7, 5.1.8                SENDER_BLOCK    they are about OUR sender address
5.2.2, 5.3.x, 5.4.x         SOFT            full mailbox, receiving system or routing trouble
5.4.4                       SOFT            no route: DNS trouble is not proof of a dead address
5.2.3, 5.3.4, 5.6.x         SENDER_BLOCK    our message (size, content) is the problem
5.7.x                       SENDER_BLOCK    HARD when the text says the user does not exist
5.0.0, 5.5.x, none          text            block words -> SENDER_BLOCK, quota/DNS -> SOFT,
                                            "user unknown"-like -> HARD, otherwise SOFT
==========================  ==============  ==================================================

An unexplained permanent failure is SOFT, not HARD: three soft bounces still suppress the
recipient, while one misread text never does.
"""

from __future__ import annotations

from sendwarden.inbound import bounce_phrases as phrases
from sendwarden.inbound.model import BounceClass
from sendwarden.mailformat import Code, all_codes, basic_reply_class, first_code

_NOT_FAILURE_ACTIONS = frozenset({"delivered", "relayed", "expanded"})


def pick_code(status: str | None, diagnostic: str | None) -> Code | None:
    """The most specific code: the diagnostic's own failure code beats a disagreeing Status."""
    declared = first_code(status)
    codes = all_codes(diagnostic)
    failures = [code for code in codes if code[0] != 2]
    detailed = [code for code in failures if code[1:] != (0, 0)]
    if declared is None:
        if detailed:
            return detailed[0]
        return failures[0] if failures else (codes[0] if codes else None)
    if declared[0] == 2:
        # A success Status is only overruled by a failure the diagnostic spells out.
        return detailed[0] if detailed else declared
    if not detailed:
        return declared
    own = detailed[0]
    if own[0] == 2:
        return declared
    # 5.4.7 (expired) over "451 4.7.0 try later": keep the diagnostic's transient class.
    return own


def _sender_side(text: str) -> bool:
    return bool(
        phrases.SENDER_ADDRESS.search(text)
        or phrases.RATE.search(text)
        or phrases.REPUTATION.search(text)
        or phrases.SENDER_BLOCK_MARKER.search(text)
    )


def _recipient_gone(text: str) -> bool:
    return bool(
        phrases.HARD.search(text)
        or phrases.HARD_DOMAIN.search(text)
        or phrases.HARD_JA.search(text)
    )


def _has_verdict(text: str) -> bool:
    return bool(
        phrases.STRONG_HARD.search(text)
        or _sender_side(text)
        or phrases.POLICY.search(text)
        or phrases.QUOTA.search(text)
        or phrases.DNS_TROUBLE.search(text)
        or phrases.GREYLIST.search(text)
        or _recipient_gone(text)
    )


def _classify_transient(code: Code | None, text: str) -> BounceClass:
    if phrases.GREYLIST.search(text):
        return BounceClass.SOFT
    if (
        (code is not None and code[1] == 7)
        or phrases.RATE.search(text)
        or phrases.REPUTATION.search(text)
        or phrases.SENDER_BLOCK_MARKER.search(text)
        or phrases.POLICY.search(text)
    ):
        return BounceClass.SENDER_BLOCK
    return BounceClass.SOFT


def _classify_by_text(text: str, default: BounceClass) -> BounceClass:
    if phrases.STRONG_HARD.search(text):
        return BounceClass.HARD
    if _sender_side(text) or phrases.POLICY.search(text):
        return BounceClass.SENDER_BLOCK
    if phrases.QUOTA.search(text) or phrases.DNS_TROUBLE.search(text):
        return BounceClass.SOFT
    if _recipient_gone(text):
        return BounceClass.HARD
    return default


def _classify_address_code(text: str) -> BounceClass:
    """5.1.x / 5.2.1: hard, unless the words say the trouble is elsewhere."""
    if phrases.STRONG_HARD.search(text):
        return BounceClass.HARD
    if _sender_side(text):
        return BounceClass.SENDER_BLOCK
    if phrases.QUOTA.search(text):
        return BounceClass.SOFT
    if phrases.DNS_TROUBLE.search(text) and not _recipient_gone(text):
        return BounceClass.SOFT
    return BounceClass.HARD


def _classify_policy_code(text: str) -> BounceClass:
    """5.7.x: a block on our side, unless the text plainly says the user does not exist
    (and says nothing about policy: "Recipient address rejected: Access denied" under 5.7.1
    is a Postfix access rule, not a verdict on the mailbox)."""
    if _sender_side(text) or phrases.POLICY.search(text):
        return BounceClass.SENDER_BLOCK
    if _recipient_gone(text):
        return BounceClass.HARD
    return BounceClass.SENDER_BLOCK


def _classify_permanent(code: Code | None, text: str) -> BounceClass:
    if code is None:
        return _classify_by_text(text, BounceClass.SOFT)
    _, subject, detail = code
    if subject == 1:
        if detail in (7, 8):
            return BounceClass.SENDER_BLOCK
        if detail == 0:
            return _classify_by_text(text, BounceClass.HARD)
        return _classify_address_code(text)
    if subject == 2:
        if detail == 1:
            return _classify_address_code(text)
        if detail == 3:
            return BounceClass.SENDER_BLOCK
        if detail == 0:
            return _classify_by_text(text, BounceClass.SOFT)
        return BounceClass.SOFT
    if subject == 3:
        if detail == 4:
            return BounceClass.SENDER_BLOCK
        return _classify_by_text(text, BounceClass.SOFT)
    if subject == 4:
        return _classify_by_text(text, BounceClass.SOFT) if detail != 4 else _dns_route(text)
    if subject == 6:
        return BounceClass.SENDER_BLOCK
    if subject == 7:
        return _classify_policy_code(text)
    return _classify_by_text(text, BounceClass.SOFT)


def _dns_route(text: str) -> BounceClass:
    """5.4.4: the domain could not be routed. Soft by itself (a resolver failure looks the
    same); hard only when the text also gives a mailbox verdict."""
    if phrases.DNS_TROUBLE.search(text) or _sender_side(text):
        return BounceClass.SOFT
    return BounceClass.HARD if phrases.HARD.search(text) else BounceClass.SOFT


def classify_status(
    status: str | None,
    diagnostic: str | None,
    action: str | None = None,
    context: str | None = None,
) -> BounceClass:
    """Classify one recipient of a DSN (or one SMTP rejection) by code, then by text.

    `context` is the report's human-readable text about this recipient: read for a generic
    or missing code, and for sender-side evidence ("in reply to MAIL FROM command").
    """
    act = (action or "").strip().lower()
    if act in _NOT_FAILURE_ACTIONS:
        return BounceClass.NOT_A_FAILURE
    diag = " ".join((diagnostic or "").split())
    extra = " ".join((context or "").split())
    code = pick_code(status, diag)
    if code is None and not diag and extra:
        code = pick_code(None, extra)
    if code is not None:
        status_class = code[0]
    else:
        basic = basic_reply_class(diag or extra)
        status_class = basic if basic is not None else 5
    if status_class == 2:
        return BounceClass.NOT_A_FAILURE
    # The report's own words about this recipient count when the diagnostic says nothing
    # usable (a generic code and no verdict in its text), and for a MAIL FROM stage rejection.
    generic = code is None or code[1:] == (0, 0)
    from_stage = phrases.MAIL_FROM_STAGE.search(extra) is not None
    silent = generic and not _has_verdict(diag)
    text = f"{diag} {extra}".strip() if (silent or from_stage) else diag
    if act == "delayed" or status_class == 4:
        return _classify_transient(code, text)
    return _classify_permanent(code, text)


def classify_smtp_reply(code: int, enhanced_status: str | None, text: str) -> BounceClass:
    """A rejection at send time (e.g. 550 at RCPT TO) counts exactly like a returned bounce."""
    if 200 <= code < 400:
        return BounceClass.NOT_A_FAILURE
    reply_class = 4 if 400 <= code < 500 else 5
    parsed = first_code(enhanced_status) or first_code(text)
    status: str | None = None
    if parsed is not None:
        status = f"{reply_class}.{parsed[1]}.{parsed[2]}"
    action = "delayed" if reply_class == 4 else "failed"
    return classify_status(status, text, action)
