"""Doctor checks that connect: the database, the SMTP server and the IMAP mailbox."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiosmtplib
from sqlalchemy import text

from sendwarden.config import Settings
from sendwarden.inbound.imap import (
    ImapConfig,
    ImapConfigError,
    ImapError,
    ImapFolderMissing,
    ImapLoginRefused,
    check_mailbox,
)
from sendwarden.services.doctor import Check, fail, not_reached, ok, skip
from sendwarden.storage.db import Database
from sendwarden.transport.advice import cause_of_type
from sendwarden.transport.config import SmtpConfig
from sendwarden.transport.errors import TransportConfigError
from sendwarden.transport.pool import smtp_client

SMTP_STEPS = ("SMTP connect", "SMTP STARTTLS", "SMTP certificate", "SMTP AUTH")
CA_FIX = (
    "set SMTP_CA_FILE to the CA certificate that signed the server's certificate"
    " (`sendwarden dev-smtp` prints it for the local server)"
)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _head_revisions(url: str) -> set[str]:
    from alembic.script import ScriptDirectory

    from sendwarden.storage.migrate import alembic_config

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def check_database(settings: Settings) -> list[Check]:
    where = _safe_url(settings.database_url)
    sqlite_file = _sqlite_file(settings.database_url)
    if sqlite_file is not None and not sqlite_file.is_file():
        # Connecting would create an empty file: the doctor only looks.
        return [
            fail("Database", f"no database file at {sqlite_file}", "run `sendwarden init`"),
            *not_reached("Database schema"),
        ]
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            try:
                rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            except Exception:  # no alembic_version table: never initialised
                rows = None
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return [
            fail("Database", f"cannot open {where}: {reason}", "check DATABASE_URL"),
            *not_reached("Database schema"),
        ]
    finally:
        await db.dispose()
    reachable = ok("Database", f"{where} answers")
    heads = await asyncio.to_thread(_head_revisions, settings.database_url)
    if rows is None:
        return [reachable, fail("Database schema", "not initialised", "run `sendwarden init`")]
    current = {row[0] for row in rows}
    if current != heads:
        return [
            reachable,
            fail(
                "Database schema",
                f"at revision {', '.join(sorted(current)) or 'none'}, the code needs"
                f" {', '.join(sorted(heads))}",
                "run `sendwarden migrate`",
            ),
        ]
    return [
        reachable,
        ok("Database schema", f"migrated to the latest revision ({', '.join(heads)})"),
    ]


async def check_smtp(settings: Settings) -> list[Check]:
    if not settings.smtp_host:
        return [
            fail(
                "SMTP connect",
                "SMTP_HOST is not set: nothing can be sent",
                "set SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASS (or run `sendwarden dev-smtp`)",
            ),
            *not_reached(*SMTP_STEPS[1:]),
        ]
    try:
        config = SmtpConfig.from_settings(settings)
    except TransportConfigError as exc:
        return [fail("SMTP connect", str(exc), "correct the SMTP_* settings")]
    where = f"{config.host}:{config.port}"
    smtp = smtp_client(config)
    results: list[Check] = []
    try:
        return await _smtp_steps(smtp, config, where, results)
    finally:
        smtp.close()


async def _smtp_steps(
    smtp: aiosmtplib.SMTP, config: SmtpConfig, where: str, results: list[Check]
) -> list[Check]:
    def remaining() -> list[Check]:
        return results + not_reached(*SMTP_STEPS[len(results) :])

    tls_failure = _certificate_failure if config.verify_tls else _handshake_failure
    try:
        await smtp.connect()
    except Exception as exc:
        if config.uses_implicit_tls and cause_of_type(exc, ssl.SSLError):
            results += [ok("SMTP connect", f"{where} answers"), ok("SMTP STARTTLS", "implicit TLS")]
            results.append(tls_failure(exc))
            return remaining()
        results.append(
            fail(
                "SMTP connect",
                f"cannot connect to {where}: {type(exc).__name__}",
                "check SMTP_HOST and SMTP_PORT and that the server accepts connections",
            )
        )
        return remaining()
    results.append(ok("SMTP connect", f"{where} answers"))
    if config.uses_implicit_tls:
        results.append(ok("SMTP STARTTLS", "implicit TLS (port 465)"))
    else:
        await smtp.ehlo()
        if not smtp.supports_extension("starttls"):
            results.append(
                fail(
                    "SMTP STARTTLS",
                    f"{where} does not offer STARTTLS (Sendwarden never sends in plain text)",
                    "use the submission port: 587 (STARTTLS) or 465 (implicit TLS)",
                )
            )
            return remaining()
        results.append(ok("SMTP STARTTLS", "offered"))
        try:
            await smtp.starttls()
        except Exception as exc:
            results.append(tls_failure(exc))
            return remaining()
    if config.verify_tls:
        trusted = f"trusted ({config.ca_file or 'system CA store'})"
        results.append(ok("SMTP certificate", trusted))
    else:
        results.append(
            skip(
                "SMTP certificate",
                "not verified (SMTP_VERIFY_TLS=false)",
                f"for production, {CA_FIX}",
            )
        )
    if config.username is None:
        results.append(skip("SMTP AUTH", "SMTP_USER is not set: sending without AUTH"))
        return results
    try:
        await smtp.login(config.username, config.password or "")
    except aiosmtplib.SMTPAuthenticationError as exc:
        results.append(
            fail("SMTP AUTH", f"login refused ({exc.code})", "check SMTP_USER and SMTP_PASS")
        )
        return results
    except aiosmtplib.SMTPException as exc:
        results.append(
            fail(
                "SMTP AUTH",
                f"login failed: {type(exc).__name__}",
                "check that the server offers AUTH",
            )
        )
        return results
    results.append(ok("SMTP AUTH", f"logged in as {config.username}"))
    return results


def _certificate_failure(exc: BaseException) -> Check:
    verify = cause_of_type(exc, ssl.SSLCertVerificationError)
    if isinstance(verify, ssl.SSLCertVerificationError):
        return fail("SMTP certificate", f"not trusted ({verify.verify_message})", CA_FIX)
    return _handshake_failure(exc)


def _handshake_failure(exc: BaseException) -> Check:
    return fail(
        "SMTP certificate",
        f"TLS handshake failed: {type(exc).__name__}",
        "check that SMTP_PORT is 587 (STARTTLS) or 465 (implicit TLS)",
    )


async def check_imap(settings: Settings) -> list[Check]:
    if not settings.imap_host:
        return [
            skip(
                "IMAP login",
                "IMAP is not configured: bounces, complaints and replies are not read",
                "set IMAP_HOST, IMAP_USER and IMAP_PASS",
            ),
            skip("IMAP folder", "IMAP is not configured"),
        ]
    try:
        config = ImapConfig.from_settings(settings)
    except ImapConfigError as exc:
        return [fail("IMAP login", str(exc), "set the missing IMAP_* settings")]
    where = f"{config.username} at {config.host}:{config.port}"
    try:
        count = await asyncio.to_thread(check_mailbox, config)
    except ImapLoginRefused as exc:
        login = fail("IMAP login", f"refused for {where}: {exc}", "check IMAP_USER and IMAP_PASS")
        return [login, *not_reached("IMAP folder")]
    except ImapFolderMissing as exc:
        return [
            ok("IMAP login", where),
            fail(
                "IMAP folder",
                f"cannot open {config.folder!r}: {exc}",
                "set IMAP_FOLDER to an existing folder (INBOX by default)",
            ),
        ]
    except (ImapError, OSError, ssl.SSLError) as exc:
        fix = "check IMAP_HOST, IMAP_PORT (993 or STARTTLS on 143) and IMAP_CA_FILE"
        return [fail("IMAP login", f"{where}: {exc}", fix), *not_reached("IMAP folder")]
    return [ok("IMAP login", where), ok("IMAP folder", f"{config.folder} ({count} messages)")]
