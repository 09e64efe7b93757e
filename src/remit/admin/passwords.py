"""Admin password hashes: argon2 (argon2-cffi) or bcrypt, recognised by their prefix.

``REMIT_ADMIN_PASSWORD_HASH`` holds a hash, never a password, so the environment of a leaked process listing
gives nothing away directly. Verifying is deliberately slow (that is the point of these schemes), so callers
run :func:`verify` in a thread. :func:`hash_password` is what ``remit admin hash-password`` prints: argon2id
with argon2-cffi's defaults.
"""

from __future__ import annotations

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_ARGON2 = PasswordHasher()
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
#: bcrypt reads at most 72 bytes of a password; a longer one is refused rather than silently cut.
BCRYPT_MAX_BYTES = 72


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _ARGON2.hash(password)


def verify(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (argon2 or bcrypt); an unknown or broken hash is False."""
    if password_hash.startswith("$argon2"):
        try:
            return _ARGON2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    if password_hash.startswith(BCRYPT_PREFIXES):
        given = password.encode("utf-8")
        if len(given) > BCRYPT_MAX_BYTES:
            return False
        try:
            return bcrypt.checkpw(given, password_hash.encode("ascii"))
        except ValueError:
            return False
    return False


__all__ = ["hash_password", "verify"]
