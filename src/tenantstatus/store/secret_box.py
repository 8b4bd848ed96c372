"""Encryption at rest for the secrets the service must read back (webhook secrets, keys).

The key comes from `TENANTSTATUS_SECRET_KEY` or, by default, from `secret.key` in the
data directory, created with mode 0600 on first start.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["SecretBox", "SecretBoxError"]

_KEY_FILE = "secret.key"


class SecretBoxError(Exception):
    """A stored secret cannot be decrypted: wrong or missing key."""


class SecretBox:
    """Authenticated symmetric encryption (Fernet: AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_data_dir(cls, data_dir: Path, configured: str | None = None) -> SecretBox:
        """Use the configured key, or the data directory's key file, creating it once."""
        if configured:
            return cls(configured.encode())
        path = data_dir / _KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(Fernet.generate_key())
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return cls(path.read_bytes().strip())

    def seal(self, plaintext: str | bytes) -> str:
        """Encrypt; the result is ASCII, safe for a text column."""
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        return self._fernet.encrypt(data).decode()

    def open(self, sealed: str) -> bytes:
        """Decrypt what `seal` produced."""
        try:
            return self._fernet.decrypt(sealed.encode())
        except InvalidToken:
            raise SecretBoxError(
                "a stored secret cannot be decrypted: TENANTSTATUS_SECRET_KEY or "
                "secret.key in the data directory is not the one it was sealed with"
            ) from None
