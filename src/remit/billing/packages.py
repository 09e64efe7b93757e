"""Packages: what a host sells — a slug, the processor price, the token quota a tenant is provisioned with.

They come from configuration (``REMIT_PACKAGES``: a JSON object, or the path of a JSON or TOML file holding
one; its ``meters`` key, if any, declares usage meters instead — see :attr:`remit.config.Settings.meters`)::

    {"starter": {"price": "price_123", "tokens_quota": 100000, "name": "Starter"}}

Unset on the fake processor, :data:`DEMO_PACKAGES` are declared so a development checkout provisions at once;
unset on Stripe, none are (production sells nothing by accident). Parsing is pure and names the problem
without quoting values. Provisioning resolves a checkout's package here, by slug from remit's own metadata or
by price for a checkout made outside remit — and never guesses: no match is an answer too.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remit.config import PACKAGES_METERS_KEY, Settings, read_packages_document
from remit.errors import ConfigurationError, RemitError


class UnknownPackage(RemitError):
    """A package slug that configuration does not declare."""


@dataclass(frozen=True, slots=True)
class Package:
    slug: str
    price: str | None
    tokens_quota: int
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "price": self.price, "tokens_quota": self.tokens_quota, "name": self.name}


#: The fake processor's demo catalogue when nothing is configured: ``remit demo`` and ``remit fake trigger``
#: provision one of these.
DEMO_PACKAGES: dict[str, Package] = {
    "starter": Package("starter", None, 100_000, "Starter"),
    "pro": Package("pro", None, 1_100_000, "Pro"),
}


def _slug_ok(slug: str) -> bool:
    return 0 < len(slug) <= 64 and all(c.isalnum() or c in "-_" for c in slug)


def parse_packages(document: Mapping[str, Any]) -> dict[str, Package]:
    """Packages from a mapping of slug → ``{price, tokens_quota, name}``; :class:`ValueError` names the slug
    at fault (slugs are not secret) and never a price."""
    packages: dict[str, Package] = {}
    for slug, spec in document.items():
        if not isinstance(slug, str) or not _slug_ok(slug):
            raise ValueError("a package slug must be 1-64 letters, digits, - or _")
        if not isinstance(spec, Mapping):
            raise ValueError(f"package {slug!r} must be an object with price, tokens_quota and name")
        quota = spec.get("tokens_quota")
        if not isinstance(quota, int) or isinstance(quota, bool) or quota <= 0:
            raise ValueError(f"package {slug!r} needs a positive whole tokens_quota")
        price = spec.get("price")
        if price is not None and (not isinstance(price, str) or not price):
            raise ValueError(f"package {slug!r} has a price that is not a processor price id")
        name = spec.get("name", slug)
        if not isinstance(name, str) or not name:
            raise ValueError(f"package {slug!r} has a name that is not text")
        packages[slug] = Package(slug, price, quota, name)
    prices = [p.price for p in packages.values() if p.price]
    if len(prices) != len(set(prices)):
        raise ValueError("two packages share one price")
    return packages


def load_packages(spec: str | None, *, processor: str) -> dict[str, Package]:
    """The packages ``REMIT_PACKAGES`` declares (inline JSON, or a ``.json``/``.toml`` file), or the defaults."""
    if spec is None:
        return dict(DEMO_PACKAGES) if processor == "fake" else {}
    try:
        document = read_packages_document(spec)
        # The document's ``meters`` table declares usage meters (Settings.meters), not a package.
        return parse_packages({k: v for k, v in document.items() if k != PACKAGES_METERS_KEY})
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) and "package" in str(exc) else type(exc).__name__
        raise ConfigurationError([f"REMIT_PACKAGES: {reason}"]) from None


def packages_for(settings: Settings) -> dict[str, Package]:
    return load_packages(settings.packages_spec, processor=settings.processor)


def get_package(packages: Mapping[str, Package], slug: str) -> Package:
    """The package ``slug`` names, or :class:`UnknownPackage` listing the ones that exist."""
    found = packages.get(slug)
    if found is None:
        raise UnknownPackage(f"unknown package {slug!r}; declared: {', '.join(sorted(packages)) or 'none'}")
    return found


def package_for_price(packages: Mapping[str, Package], price: str | None) -> Package | None:
    """The package sold at ``price``, or None (never a guess)."""
    if not price:
        return None
    return next((p for p in packages.values() if p.price == price), None)


__all__ = [
    "DEMO_PACKAGES",
    "Package",
    "UnknownPackage",
    "get_package",
    "load_packages",
    "package_for_price",
    "packages_for",
    "parse_packages",
]
