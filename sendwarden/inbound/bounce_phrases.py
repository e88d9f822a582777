"""Phrase tables read by the bounce rules (data only; the logic is in bounce_rules.py)."""

from __future__ import annotations

import re


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.IGNORECASE)


# Office 365 answers unknown recipients with "5.4.1 Recipient address rejected: Access denied"
# (directory based edge blocking); it must win over the generic "access denied" block text.
STRONG_HARD = _words(r"recipient address rejected: access denied")

# --- about OUR side: these never count against the recipient ----------------------------
# The rejected address is our envelope sender ("our bounce address ... does not exist").
SENDER_ADDRESS = _words(
    r"sender address rejected",
    r"sender (?:address |domain )?(?:is )?(?:rejected|refused|denied|blocked|unknown|invalid"
    r"|not (?:allowed|permitted|authori[sz]ed|accepted))",
    r"(?:bounce|return|envelope|reverse[- ]path|mail from|sender'?s?|from) address\b.{0,80}?"
    r"(?:does ?n[o']?t exist|rejected|unknown|invalid|not (?:found|allowed|verified))",
    r"(?:in reply to|after) mail from",
    r"domain of sender address",
    r"sender (?:verify|verification) (?:failed|failure)",
    r"(?:could|can) ?not verify (?:the )?sender",
    r"unverified sender",
    r"unable to verify (?:the )?sender",
)
# The rejection came at the MAIL FROM stage: it is about our envelope sender.
MAIL_FROM_STAGE = _words(r"(?:in reply to|after) mail from")
RATE = _words(
    r"rate limit(?:ed|ing)?",
    r"rate[- ]?limited",
    r"ratelimit(?:ed)?",
    r"throttl\w*",
    r"too many (?:messages|mails|e-?mails|connections|recipients|rcpts?)",
    r"receiving (?:mail|messages) at a rate",
    r"at a rate that prevents",
    r"(?:sending|message|hourly|daily) (?:rate|limit)",
    r"exceeded (?:the |its |your )?(?:sending|message|recipient|rate|hourly|daily) limit",
)
REPUTATION = _words(
    r"block ?list(?:ed)?",
    r"black ?list(?:ed)?",
    r"deny ?list(?:ed)?",
    r"reputation",
    r"spam\w*",
    r"spamhaus",
    r"spamcop",
    r"barracuda\w*",
    r"sorbs",
    r"uceprotect",
    r"abuseat",
    r"senderscore",
    r"(?:dns|uri|sur)?rbl",
    r"(?:dns|uri|sur)bls?",
    r"(?:is|are|been|currently) (?:black|block|deny)?listed",
    r"(?<!not )listed (?:at|on|in|by)",
    r"(?:your|sending|client|connecting) (?:ip|host|server)",
    r"ip address \S+ (?:is |has been )?(?:blocked|listed|banned|rejected)",
    r"client host \S+ blocked",
)
# Blocklist markers: T-Online's "(BL)", "[BL21]"-style codes, "IP=192.0.2.1" rejections.
SENDER_BLOCK_MARKER = re.compile(
    r"\(\s*bl\s*\)|\[bl\d*\]|\bip=\s*\d{1,3}(?:\.\d{1,3}){3}\b", re.IGNORECASE
)
# Policy words: enough for a generic code, not enough to overrule an address code.
POLICY = _words(
    r"block(?:ed|ing)?",
    r"policy",
    r"polic(?:ies)",
    r"banned",
    r"unsolicited",
    r"complaints",
    r"dmarc",
    r"spf",
    r"dkim",
    r"unauthenticated",
    r"not authenticated",
    r"access denied",
    r"not accepted from this ip",
    r"content rejected",
    r"relay(?:ing)? (?:denied|not permitted|access denied)",
)

# --- about the recipient --------------------------------------------------------------------
GREYLIST = _words(r"gr[ae]y ?list(?:ed|ing)?")
QUOTA = _words(
    r"mailbox (?:is )?full",
    r"over ?quota",
    r"quota (?:exceeded|full)",
    r"exceeded (?:the |its |their )?(?:storage )?quota",
    r"insufficient (?:system )?storage",
    r"out of storage",
    r"mailbox size limit exceeded",
)
# Resolver trouble says nothing about the recipient: a broken or slow DNS answers like this.
DNS_TROUBLE = _words(
    r"name service error",
    r"dns (?:error|failure|lookup|timeout|problem|server failure)",
    r"servfail",
    r"temporary failure in name resolution",
    r"host not found, try again",
    r"try again later",
    r"lookup (?:error|failed|timed out)",
    r"(?:connection|dns query) timed out",
    r"no route to host",
    r"connection refused",
)
HARD = _words(
    r"user unknown",
    r"unknown user",
    r"unknown recipient",
    r"no such (?:user|mailbox|recipient|address|account|person)",
    r"mailbox (?:unavailable|not found|disabled|is disabled|does not exist)",
    r"(?:does not|doesn't|doesnt) exist",
    r"recipient ?not ?found",
    r"user not found",
    r"address not found",
    r"(?:could not|couldn't|cannot|can't) be found",
    r"invalid (?:recipient|mailbox|address)",
    r"no mailbox(?: here)?",
    r"(?:doesn't|does not|doesnt) have an? (?:[\w.-]+ )?(?:e-?mail )?account",
    r"mailbox (?:name )?(?:is )?(?:unknown|invalid|not available|not allowed)",
    r"(?:mailbox|account|user) (?:has been )?(?:removed|deleted|terminated|expired)",
    r"not a valid (?:mailbox|user|recipient|address)",
    r"(?:unknown|invalid) (?:local ?part|account)",
    r"unknown or illegal alias",
    r"no valid recipients?",
    r"not our customer",
    r"not listed in (?:the |our |a )?(?:\w+ )?director(?:y|ies)",
    r"account (?:has been |is )?(?:disabled|deactivated|inactive|closed|suspended)",
    r"unroutable address",
    r"unrouteable address",
    r"bad destination mailbox",
    r"no longer (?:active|available|in use|valid)",
    r"address (?:does not|doesn't) exist",
)
# The recipient's domain does not exist (Sendmail "Host unknown", "no such domain").
HARD_DOMAIN = _words(
    r"no such domain",
    r"host unknown",
    r"unknown (?:host|domain)",
    r"domain (?:does not exist|not found|is not valid)",
    r"nxdomain",
)
# Japanese carriers and providers (docomo, au, SoftBank, Biglobe) in their own words.
HARD_JA = re.compile(
    r"宛先不明|存在しません|見つかりません|ユーザ(?:ー)?(?:名)?が(?:存在|見つかり)"
)
DELAY = _words(
    r"delayed",
    r"(?:has|have) not yet been delivered",
    r"delivery attempts will continue",
    r"will (?:continue|keep) (?:to )?try(?:ing)?",
    r"will retry",
    r"still trying",
    r"deferred",
)
