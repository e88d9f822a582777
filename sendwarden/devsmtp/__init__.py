"""Built-in local SMTP capture server (STARTTLS + AUTH) for the demo and tests."""

from sendwarden.devsmtp.certs import CertPaths, generate_self_signed_cert
from sendwarden.devsmtp.server import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    CapturedMessage,
    CaptureHandler,
    CaptureServer,
)

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "CaptureHandler",
    "CaptureServer",
    "CapturedMessage",
    "CertPaths",
    "generate_self_signed_cert",
]
