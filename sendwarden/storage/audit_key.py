"""The key of the audit chain's HMACs, kept outside the database (product.md §3.6).

Anyone who can write to the database can rewrite rows and recompute plain
hashes; with a key they cannot read from the database, they cannot forge the
HMAC of a rewritten entry. Where the key comes from, first match wins:

1. `SENDWARDEN_AUDIT_KEY_FILE`: a file holding the key (created, mode 0600,
   on first use when missing);
2. `SENDWARDEN_SECRET_KEY`: the key is derived from it (a separate HMAC
   domain, so the audit key reveals nothing about unsubscribe tokens);
3. a SQLite database file: `<database file>.audit-key` next to it;
4. any other database: `./sendwarden-audit.key` in the working directory
   (every host must then share the file, or set one of the two above).

The secret that `instance.get_or_create_secret` keeps IN the database when
SENDWARDEN_SECRET_KEY is unset is deliberately never used here.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

DERIVATION_LABEL = b"sendwarden audit chain v2"
KEY_BYTES = 32
DEFAULT_KEY_FILE = Path("sendwarden-audit.key")


class AuditKeyError(RuntimeError):
    """The key file exists but cannot be read or holds no usable key."""


def derive_from_secret(secret: bytes) -> bytes:
    return hmac.new(secret, DERIVATION_LABEL, hashlib.sha256).digest()


def default_key_file(database_url: str) -> Path | None:
    """Where the key file lives when none is configured (None: an in-memory database)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            return None
        return Path(database).expanduser().with_name(Path(database).name + ".audit-key")
    return DEFAULT_KEY_FILE


def load_or_create_key_file(path: Path) -> bytes:
    """Read the hex key in `path`; create it (0600, atomically) when it does not exist."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = text.encode()
    if len(key) < 16:
        raise AuditKeyError(f"the audit key file {path} holds no key of at least 16 bytes")
    return key


class AuditKey:
    """Resolved lazily, once: processes that never touch the audit log create no file."""

    def __init__(
        self,
        database_url: str,
        *,
        secret: bytes | None = None,
        key_file: Path | None = None,
        key: bytes | None = None,
    ) -> None:
        self._url = database_url
        self._secret = secret
        self._file = key_file
        self._key = key
        self._lock = threading.Lock()

    @property
    def source(self) -> str:
        """Where the key comes from, for operators (never the key itself)."""
        if self._key is not None and self._file is None and self._secret is None:
            return "given"
        if self._file is not None:
            return f"key file {self._file}"
        if self._secret is not None:
            return "SENDWARDEN_SECRET_KEY"
        path = default_key_file(self._url)
        return f"key file {path}" if path else "ephemeral (in-memory database)"

    def value(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._resolve()
            return self._key

    def _resolve(self) -> bytes:
        if self._file is not None:
            return load_or_create_key_file(self._file)
        if self._secret is not None:
            return derive_from_secret(self._secret)
        path = default_key_file(self._url)
        if path is None:
            return secrets.token_bytes(KEY_BYTES)
        return load_or_create_key_file(path)
