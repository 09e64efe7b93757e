"""Who is asking: the admin behind a request (a session cookie, or a user named by a trusted proxy), and the
limit on password guesses.

Two ways in, chosen by configuration (docs/admin.md):

- **Password**: ``REMIT_ADMIN_PASSWORD_HASH`` (argon2 or bcrypt) for the user ``REMIT_ADMIN_USER``; a login
  sets the signed session cookie of :mod:`remit.admin.sessions`.
- **SSO at a proxy**: ``REMIT_ADMIN_PROXY_USER_HEADER`` names the header in which an authenticating proxy
  (oauth2-proxy, Cloudflare Access, …) passes the user. It is believed only from a peer inside
  ``REMIT_ADMIN_PROXY_NETWORKS`` (loopback by default), since anyone reaching remit directly could send it.
  The session cookie is still set, to carry the CSRF token; it is valid only while the proxy keeps naming the
  same user.

Failed logins are limited per client address (``REMIT_ADMIN_LOGIN_ATTEMPTS`` in a moving window of
``REMIT_ADMIN_LOGIN_WINDOW_SECONDS``, the ``limits`` library in memory, so per process): a guess beyond the
limit is refused before the password is even checked, with ``Retry-After``.
"""

from __future__ import annotations

import ipaddress
import math
import time
from functools import cached_property

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from remit.admin.sessions import AdminSession, SessionCodec
from remit.config import Settings

#: The longest user name a proxy header may carry (longer is refused, not cut).
MAX_USER_LENGTH = 200


class LoginLimiter:
    """Failed password attempts per client address in a moving window."""

    def __init__(self, attempts: int, window_seconds: float) -> None:
        self._item = RateLimitItemPerSecond(attempts, max(1, math.ceil(window_seconds)))
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def allowed(self, client: str) -> bool:
        """Whether ``client`` may try a password now."""
        return bool(self._limiter.test(self._item, "admin-login", client))

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        self._limiter.hit(self._item, "admin-login", client)

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (at least 1)."""
        reset = self._limiter.get_window_stats(self._item, "admin-login", client).reset_time
        return max(1, math.ceil(reset - time.time()))


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Gate:
    """The admin page's access decisions for one app: its session codec, login limiter and proxy trust."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.codec = SessionCodec(settings)
        self.limiter = LoginLimiter(settings.admin_login_attempts, settings.admin_login_window_seconds)

    @cached_property
    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(net, strict=False) for net in self.settings.admin_proxy_networks]

    @property
    def password_login(self) -> bool:
        return bool(self.settings.admin_password_hash)

    def proxy_user(self, request: Request) -> str | None:
        """The user a trusted proxy names, or None (no header configured, absent, or from an untrusted peer)."""
        header = self.settings.admin_proxy_user_header
        if not header:
            return None
        value = (request.headers.get(header) or "").strip()
        if not value or len(value) > MAX_USER_LENGTH or not value.isprintable():
            return None
        try:
            peer = ipaddress.ip_address(client_address(request))
        except ValueError:
            return None
        return value if any(peer in net for net in self._networks) else None

    def session(self, request: Request) -> AdminSession | None:
        """The logged-in admin of ``request``, or None."""
        session = self.codec.loads(request.cookies.get(self.codec.session_cookie))
        if self.settings.admin_proxy_user_header:
            user = self.proxy_user(request)
            if user is None:
                return None
            if session is None or session.user != user:
                return AdminSession.new(user)  # a fresh CSRF token; the response sets its cookie
            return session
        if session is None or not self.password_login or session.user != self.settings.admin_user:
            return None
        return session


__all__ = ["MAX_USER_LENGTH", "Gate", "LoginLimiter", "client_address"]
