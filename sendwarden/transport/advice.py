"""Why a delivery failed and what to change, in words a person can act on.

Built from the error's stage, reply code and the exception it was raised from,
never from the server's reply text (which may echo credentials): the result is
safe to store as the attempt's reason and to print.
"""

from __future__ import annotations

import ssl

from sendwarden.transport.errors import DeliveryError

_PORTS_HINT = "587 (STARTTLS) or 465 (implicit TLS)"


def cause_of_type(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of `kind` in the chain that led to `error` (itself included)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _codes(error: DeliveryError) -> str:
    parts = [str(error.code)] if error.code is not None else []
    if error.enhanced_status is not None:
        parts.append(error.enhanced_status)
    return f" ({' '.join(parts)})" if parts else ""


def _where(error: DeliveryError) -> str:
    endpoint = getattr(error, "endpoint", None)
    return f" {endpoint}" if endpoint else ""


def explain(error: DeliveryError) -> str:
    """One sentence: the cause, then the fix, e.g. "the SMTP server rejected the login
    (535 5.7.8): check SMTP_USER and SMTP_PASS"."""
    where = _where(error)
    if error.stage == "timeout":
        return (
            f"the SMTP server{where} did not answer within SMTP_SEND_TIMEOUT during"
            f" {error.during}: check SMTP_HOST and SMTP_PORT, or raise SMTP_SEND_TIMEOUT"
        )
    if error.stage == "connect":
        return (
            f"cannot connect to the SMTP server{where}: check SMTP_HOST and SMTP_PORT"
            " and that the server accepts connections from this host"
        )
    if error.stage == "tls":
        return _explain_tls(error, where)
    if error.stage == "auth":
        if error.code is not None:
            return (
                f"the SMTP server{where} rejected the login{_codes(error)}:"
                " check SMTP_USER and SMTP_PASS"
            )
        return (
            f"login to the SMTP server{where} failed (no common AUTH mechanism, or the"
            " connection dropped): check SMTP_USER, SMTP_PASS and that the server offers AUTH"
        )
    temporary = error.code is not None and 400 <= error.code < 500
    later = "; it is temporary, try again later" if temporary else ""
    if error.stage == "mail":
        return (
            f"the SMTP server refused the sender{_codes(error)}: check that"
            f" SMTP_FROM_EMAIL may send through SMTP_USER's account{later}"
        )
    if error.stage == "rcpt":
        return f"the SMTP server refused the recipient{_codes(error)}{later}"
    if error.stage == "data":
        if error.code is None:
            return f"{error.summary}: the message may or may not have been delivered"
        return f"the SMTP server refused the message{_codes(error)}{later}"
    return f"{error}: the SMTP server{where} did not follow the protocol as expected"


def _explain_tls(error: DeliveryError, where: str) -> str:
    if "STARTTLS" in error.summary:
        return (
            f"the SMTP server{where} does not offer STARTTLS, and Sendwarden never sends"
            f" in plain text: use the server's submission port, {_PORTS_HINT}"
        )
    verify = cause_of_type(error, ssl.SSLCertVerificationError)
    if isinstance(verify, ssl.SSLCertVerificationError):
        why = verify.verify_message or "verification failed"
        return (
            f"the certificate of the SMTP server{where} is not trusted ({why}): set SMTP_CA_FILE"
            " to the CA certificate that signed it (for a local test server only,"
            " SMTP_VERIFY_TLS=false)"
        )
    return (
        f"the TLS handshake with the SMTP server{where} failed: check that SMTP_PORT is"
        f" {_PORTS_HINT} and not a plain-text port"
    )
