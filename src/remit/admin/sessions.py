"""The admin's session: a signed, expiring cookie holding who is logged in and the session's CSRF token.

The cookie is signed with ``REMIT_ADMIN_SESSION_SECRET`` (itsdangerous, HMAC-SHA256 with a salt of its own)
and carries no customer data: the user name, a random session id and the CSRF token every form of that
session must echo. It is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page sends
it) and ``Secure`` with the ``__Host-`` prefix unless ``REMIT_ADMIN_COOKIE_SECURE=off`` (plain-HTTP
development), and it expires after ``REMIT_ADMIN_SESSION_HOURS``, enforced by the signature's timestamp, not
by the browser. Without a configured secret each process makes a random one: sessions then end at a restart
and are valid on that process only (production requires the secret).

The login form has a CSRF token too, held in a short pre-login cookie, so another site cannot log a browser
into an account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from remit.config import Settings

SESSION_SALT = "remit.admin.session"
LOGIN_SALT = "remit.admin.login"
#: How long a login form stays valid.
LOGIN_FORM_SECONDS = 30 * 60


@dataclass(frozen=True, slots=True)
class AdminSession:
    """A logged-in admin: ``user`` (audited as ``admin:<user>``), the session id and its CSRF token."""

    user: str
    sid: str
    csrf: str

    @property
    def actor(self) -> str:
        """The identity audit rows and ops events carry."""
        return f"admin:{self.user}"

    @classmethod
    def new(cls, user: str) -> AdminSession:
        return cls(user=user, sid=secrets.token_urlsafe(12), csrf=secrets.token_urlsafe(24))


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one (absent never matches)."""
    return bool(given) and hmac.compare_digest(str(given).encode("utf-8"), expected.encode("utf-8"))


class SessionCodec:
    """Turns sessions into cookie values and back, under one secret; knows the cookies' names and flags."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.admin_session_secret or secrets.token_urlsafe(32)
        self._sessions = URLSafeTimedSerializer(secret, salt=SESSION_SALT)
        self._logins = URLSafeTimedSerializer(secret, salt=LOGIN_SALT)
        self.max_age = int(settings.admin_session_hours * 3600)
        self.secure = settings.admin_cookie_secure
        prefix = "__Host-" if self.secure else ""
        self.session_cookie = f"{prefix}remit_admin"
        self.login_cookie = f"{prefix}remit_admin_login"

    def dumps(self, session: AdminSession) -> str:
        return self._sessions.dumps({"u": session.user, "s": session.sid, "c": session.csrf})

    def loads(self, value: str | None) -> AdminSession | None:
        """The session in a cookie value, or None when it is absent, forged, malformed or expired."""
        if not value:
            return None
        try:
            data = self._sessions.loads(value, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is one
            return None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("u", "s", "c")):
            return None
        return AdminSession(user=data["u"], sid=data["s"], csrf=data["c"])

    def login_token(self) -> tuple[str, str]:
        """A fresh login-form token and the cookie value that vouches for it."""
        token = secrets.token_urlsafe(24)
        return token, self._logins.dumps(token)

    def login_token_matches(self, cookie: str | None, submitted: str | None) -> bool:
        if not cookie:
            return False
        try:
            expected = self._logins.loads(cookie, max_age=LOGIN_FORM_SECONDS)
        except BadSignature:
            return False
        return isinstance(expected, str) and same_token(submitted, expected)

    def cookie_options(self) -> dict[str, object]:
        """The flags every admin cookie is set with."""
        return {"httponly": True, "samesite": "strict", "secure": self.secure, "path": "/"}


__all__ = ["AdminSession", "SessionCodec", "same_token"]
