"""A pytest plugin, loaded into stripe-python's own test run by ``bench/stripe_sdk_tests.py`` (``-p _sdk_probe``).

It needs only the standard library, since it runs in the SDK checkout's interpreter. On import — before
stripe-python's ``conftest.py`` reads ``STRIPE_MOCK_HOST``/``STRIPE_MOCK_PORT`` — it starts a small HTTP relay on
a free loopback port and points those variables at it. The relay forwards every request to the fake's HTTP face
(``REMIT_SDK_PROBE_UPSTREAM`` + ``/fake``: the SDK's tests assert the URL path, so the fake must appear at the
root as stripe-mock does).

The SDK's tests were written for stripe-mock, which answers any id (``cus_123``) with a fixture. A stateful
fake answers an id it does not know with Stripe's 404, so the relay gives each test a world of its own: the
first time a test names an id of a kind the fake keeps (``cus_123``, ``in_123``, ``card_123``…), the relay
creates such an object through the fake's public API (a customer with a card, a draft invoice…) and from then
on, for that test, rewrites the test's id to the fake's id in requests and back in answers. Ids of kinds the
fake does not keep (persons, files, Sources-API sources) pass unchanged and meet the fake's 404.
A call Stripe answers only for an object in some state (voiding an invoice, deleting a discount) first puts the
object the relay made for this test in that state (:data:`STATES`), as the test's own setup would against
Stripe. Nothing else is touched. A few objects are made once at the start, so that lists are not empty.

For each test it records its outcome, the requests that reached the fake (method, path, status and whether the
fake knows the route), the ids it aliased and the first line of a failure, and writes them as JSON to
``REMIT_SDK_PROBE_OUT``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

UPSTREAM = os.environ.get("REMIT_SDK_PROBE_UPSTREAM", "127.0.0.1:8000")
PREFIX = os.environ.get("REMIT_SDK_PROBE_PREFIX", "/fake")
OUT = os.environ.get("REMIT_SDK_PROBE_OUT", "sdk-probe.json")
KEY = "sk_test_probe"

_lock = threading.RLock()
_current: list[str | None] = [None]
_aliases: dict[str, str] = {}  # the current test's id → the fake's id
_requests: dict[str, list[dict[str, Any]]] = {}
_aliased: dict[str, dict[str, str]] = {}
_outcomes: dict[str, dict[str, Any]] = {}
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}
#: The made-up ids the SDK's tests use: ``cus_123`` (resource tests), ``cus_xxxxxxxxxxxxx`` (generated examples).
_TEST_ID = re.compile(r"\b([a-z][a-z_]*?)_(123|x{13}|xyz)\b")


def _call(method: str, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One call of the fake's API (form-encoded, as the SDK sends it)."""
    body = urllib.parse.urlencode(_flatten(params or {})) if method != "GET" else None
    query = "?" + urllib.parse.urlencode(_flatten(params or {})) if method == "GET" and params else ""
    connection = http.client.HTTPConnection(UPSTREAM, timeout=60)
    try:
        connection.request(
            method,
            PREFIX + path + query,
            body=body,
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        answer = connection.getresponse()
        payload: dict[str, Any] = json.loads(answer.read() or b"{}")
    finally:
        connection.close()
    if answer.status >= 400:
        raise RuntimeError(f"setting up the world: {method} {path} answered {answer.status}: {payload}")
    return payload


def _flatten(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs += _flatten(value, name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                pairs += (
                    _flatten({str(index): item}, name) if isinstance(item, dict) else [(f"{name}[{index}]", str(item))]
                )
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        else:
            pairs.append((name, str(value)))
    return pairs


# Factories: a fresh object of each kind the fake keeps, through its public API. -------------------------------


def _customer() -> str:
    made = _call(
        "POST",
        "/v1/customers",
        {
            "email": "probe@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        },
    )
    return str(made["id"])


def _need(prefix: str, test_id: str | None = None) -> str:
    """The fake's id for this test's ``{prefix}_123`` (or the other made-up id given; made now when the test
    has none yet). Objects a factory needs (a customer for an invoice) are the test's own of that kind."""
    test_id = test_id or _first_alias(prefix) or f"{prefix}_123"
    if test_id not in _aliases:
        _aliases[test_id] = FACTORIES[prefix]()
    return _aliases[test_id]


def _first_alias(prefix: str) -> str | None:
    return next(
        (test_id for test_id in _aliases if _TEST_ID.fullmatch(test_id) and test_id.rsplit("_", 1)[0] == prefix), None
    )


def _price() -> str:
    product = _call("POST", "/v1/products", {"name": "Probe"})
    price = _call(
        "POST",
        "/v1/prices",
        {"product": product["id"], "unit_amount": 1000, "currency": "usd", "recurring": {"interval": "month"}},
    )
    return str(price["id"])


def _subscription() -> str:
    sub = _call("POST", "/v1/subscriptions", {"customer": _need("cus"), "items": [{"price": _need("price")}]})
    return str(sub["id"])


def _invoice() -> str:
    customer = _need("cus")
    _call("POST", "/v1/invoiceitems", {"customer": customer, "amount": 1500, "currency": "usd"})
    invoice = _call(
        "POST", "/v1/invoices", {"customer": customer, "collection_method": "send_invoice", "days_until_due": 30}
    )
    return str(invoice["id"])


def _invoice_line() -> str:
    invoice = _call("GET", f"/v1/invoices/{_need('in')}")
    return str(invoice["lines"]["data"][0]["id"])


def _charge() -> str:
    pi = _call(
        "POST",
        "/v1/payment_intents",
        {
            "amount": 2000,
            "currency": "usd",
            "customer": _need("cus"),
            "payment_method": "pm_card_visa",
            "confirm": True,
        },
    )
    return str(pi["charges"]["data"][0]["id"])


def _payment_intent(payment_method: str = "pm_card_visa", *, confirm: bool = False) -> dict[str, Any]:
    return _call(
        "POST",
        "/v1/payment_intents",
        {
            "amount": 2000,
            "currency": "usd",
            "customer": _need("cus"),
            "payment_method": payment_method,
            "confirm": confirm,
        },
    )


def _dispute() -> str:
    pi = _payment_intent("pm_card_createDispute", confirm=True)
    disputes = _call("GET", "/v1/disputes", {"payment_intent": pi["id"]})
    return str(disputes["data"][0]["id"])


def _checkout_session() -> str:
    product = _call("POST", "/v1/products", {"name": "Probe"})
    price = _call("POST", "/v1/prices", {"product": product["id"], "unit_amount": 500, "currency": "usd"})
    session = _call(
        "POST",
        "/v1/checkout/sessions",
        {"mode": "payment", "success_url": "https://example.com/ok", "line_items": [{"price": price["id"]}]},
    )
    return str(session["id"])


def _credit_note() -> str:
    invoice = _need("in")
    _call("POST", f"/v1/invoices/{invoice}/finalize")
    note = _call("POST", "/v1/credit_notes", {"invoice": invoice, "amount": 100})
    return str(note["id"])


def _person() -> str:
    made = _call("POST", f"/v1/accounts/{_need('acct')}/persons", {"first_name": "Jenny", "last_name": "Rosen"})
    return str(made["id"])


def _quote() -> str:
    made = _call("POST", "/v1/quotes", {"customer": _need("cus"), "line_items": [{"price": _need("price")}]})
    return str(made["id"])


FACTORIES: dict[str, Callable[[], str]] = {
    "cus": _customer,
    "card": lambda: str(_call("POST", f"/v1/customers/{_need('cus')}/sources", {"source": "tok_visa"})["id"]),
    "ba": lambda: str(_call("POST", f"/v1/customers/{_need('cus')}/sources", {"source": "btok_us"})["id"]),
    "acct": lambda: str(_call("POST", "/v1/accounts", {"type": "express"})["id"]),
    # a capability's id is its name (stripe-mock's acap_123 names none)
    "acap": lambda: "card_payments",
    "person": _person,
    # the SDK's person test names its person trr_123
    "trr": _person,
    "txi": lambda: str(
        _call("POST", f"/v1/customers/{_need('cus')}/tax_ids", {"type": "us_ein", "value": "12-3456789"})["id"]
    ),
    "cbtxn": lambda: str(
        _call("POST", f"/v1/customers/{_need('cus')}/balance_transactions", {"amount": -100, "currency": "usd"})["id"]
    ),
    "pm": lambda: str(_call("POST", "/v1/payment_methods/pm_card_visa/attach", {"customer": _need("cus")})["id"]),
    "price": _price,
    "prod": lambda: str(_call("POST", "/v1/products", {"name": "Probe"})["id"]),
    "sub": _subscription,
    "in": _invoice,
    "il": _invoice_line,
    "ii": lambda: str(
        _call("POST", "/v1/invoiceitems", {"customer": _need("cus"), "amount": 700, "currency": "usd"})["id"]
    ),
    "ch": _charge,
    "re": lambda: str(_call("POST", "/v1/refunds", {"charge": _need("ch"), "amount": 100})["id"]),
    "po": lambda: str(_call("POST", "/v1/payouts", {"amount": 100, "currency": "usd"})["id"]),
    "pi": lambda: str(_payment_intent()["id"]),
    "dp": _dispute,
    "cs_test": _checkout_session,
    "sess": _checkout_session,
    "cn": _credit_note,
    # stripe-mock's account tax id (Stripe's are txi_…)
    "taxid": lambda: str(_call("POST", "/v1/tax_ids", {"type": "eu_vat", "value": "DE123456789"})["id"]),
    "qt": _quote,
    "shr": lambda: str(
        _call(
            "POST", "/v1/shipping_rates", {"display_name": "Ground", "fixed_amount": {"amount": 500, "currency": "usd"}}
        )["id"]
    ),
    "si": lambda: str(_call("GET", f"/v1/subscriptions/{_need('sub')}")["items"]["data"][0]["id"]),
    "txn": lambda: str(_call("GET", f"/v1/charges/{_need('ch')}")["balance_transaction"]),
    "evt": lambda: str(_call("GET", "/v1/events", {"limit": 1})["data"][0]["id"]),
    "we": lambda: str(
        _call("POST", "/v1/webhook_endpoints", {"url": "https://example.com/hook", "enabled_events": ["*"]})["id"]
    ),
    # test tokens: the fake takes Stripe's documented test tokens, not made-up ones
    "tok": lambda: "tok_visa",
    "btok": lambda: "btok_us",
}


#: Ids the generated examples take from Stripe's documentation (a coupon's id is chosen by its maker).
LITERAL_IDS: dict[str, Callable[[], str]] = {
    "Z4OV52SU": lambda: str(_call("POST", "/v1/coupons", {"percent_off": 25, "duration": "forever"})["id"]),
}


def _seed() -> None:
    """One of each, so that a list is not empty."""
    with _lock:
        _aliases.clear()
        for prefix in ("sub", "in", "ii", "ch", "txi", "cbtxn", "card", "po", "qt", "acct"):
            _need(prefix)
        _aliases.clear()
        _call("POST", "/v1/tax_ids", {"type": "eu_vat", "value": "DE123456789"})  # the account's own


# States: a call that Stripe answers only for an object in some state gets, when it names an object the relay made
# for this test, that object in that state first — what the test's own setup would do against Stripe, where
# stripe-mock answers any id in any state. ---------------------------------------------------------------------


def _open_invoice(invoice: str) -> None:
    if _call("GET", f"/v1/invoices/{invoice}")["status"] == "draft":
        _call("POST", f"/v1/invoices/{invoice}/finalize")


def _open_quote(quote: str) -> None:
    if _call("GET", f"/v1/quotes/{quote}")["status"] == "draft":
        _call("POST", f"/v1/quotes/{quote}/finalize")


def _with_person(account: str) -> None:
    if not _call("GET", f"/v1/accounts/{account}/persons")["data"]:
        _call("POST", f"/v1/accounts/{account}/persons", {"first_name": "Jenny", "last_name": "Rosen"})


def _not_the_default(account: str, bank_account: str) -> None:
    """Stripe deletes no currency's default payout account: another becomes the default first."""
    listed = _call("GET", f"/v1/accounts/{account}/external_accounts")["data"]
    if any(ba["id"] == bank_account and ba["default_for_currency"] for ba in listed):
        other = _call("POST", f"/v1/accounts/{account}/external_accounts", {"external_account": "btok_us"})
        _call("POST", f"/v1/accounts/{account}/external_accounts/{other['id']}", {"default_for_currency": True})


def _with_discount(kind: str) -> Callable[[str], None]:
    def prepare(owner: str) -> None:
        if _call("GET", f"/v1/{kind}/{owner}").get("discount") is None:
            coupon = _call("POST", "/v1/coupons", {"percent_off": 10, "duration": "forever"})
            _call("POST", f"/v1/{kind}/{owner}", {"coupon": coupon["id"]})

    return prepare


def _capturable(payment_intent: str) -> None:
    """A payment intent is captured once confirmed with manual capture, as the test's setup would make it."""
    if _call("GET", f"/v1/payment_intents/{payment_intent}")["status"] == "requires_confirmation":
        _call("POST", f"/v1/payment_intents/{payment_intent}", {"capture_method": "manual"})
        _call("POST", f"/v1/payment_intents/{payment_intent}/confirm")


#: ``(method, pattern) → what the object it names needs first``; the pattern is matched against the path, a
#: newline and the form body (a credit note names its invoice in the body).
STATES: tuple[tuple[str, re.Pattern[str], Callable[..., None]], ...] = (
    ("POST", re.compile(r"^/v1/invoices/([^/?\s]+)/(?:void|mark_uncollectible)\b"), _open_invoice),
    ("POST", re.compile(r"^/v1/quotes/([^/?\s]+)/accept\b"), _open_quote),
    ("POST", re.compile(r"^/v1/credit_notes\n(?:.*&)?invoice=([^&\s]+)"), _open_invoice),
    ("POST", re.compile(r"^/v1/payment_intents/([^/?\s]+)/capture\b"), _capturable),
    ("GET", re.compile(r"^/v1/accounts/([^/?\s]+)/persons(?:\?|\n)"), _with_person),
    ("DELETE", re.compile(r"^/v1/accounts/([^/?\s]+)/external_accounts/([^/?\s]+)"), _not_the_default),
    ("DELETE", re.compile(r"^/v1/customers/([^/?\s]+)/discount\b"), _with_discount("customers")),
    ("DELETE", re.compile(r"^/v1/subscriptions/([^/?\s]+)/discount\b"), _with_discount("subscriptions")),
)
_prepared: set[tuple[str, str]] = set()


def _prepare(method: str, path: str, body: str) -> None:
    """Put the object an (aliased) call names in the state the call needs, once per test and object."""
    made = set(_aliases.values())
    request = f"{path}\n{urllib.parse.unquote(body)}"
    for rule_method, pattern, prepare in STATES:
        found = pattern.match(request) if method == rule_method else None
        if found is not None and found.group(1) in made and (pattern.pattern, found.group(1)) not in _prepared:
            _prepared.add((pattern.pattern, found.group(1)))
            prepare(*found.groups())


def _external_account(token: str = "btok_us") -> str:
    made = _call("POST", f"/v1/accounts/{_need('acct')}/external_accounts", {"external_account": token})
    return str(made["id"])


#: Factories for ids named under a path where they are another kind of object than elsewhere (a ``ba_`` or
#: ``card_`` under ``/v1/accounts/…/external_accounts`` is the account's payout account, not a customer's source).
IN_CONTEXT: tuple[tuple[re.Pattern[str], str, Callable[[], str]], ...] = (
    (re.compile(r"/v1/accounts/[^/?]+/external_accounts/"), "ba", _external_account),
    (re.compile(r"/v1/accounts/[^/?]+/external_accounts/"), "card", lambda: _external_account("tok_visa_debit")),
)


def _alias_request(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        prefix = match.group(1)
        for context, kind, factory in IN_CONTEXT:
            if prefix == kind and context.search(text) and match.group(0) not in _aliases:
                _aliases[match.group(0)] = factory()
        if prefix not in FACTORIES:
            return match.group(0)
        return _need(prefix, match.group(0))

    text = _TEST_ID.sub(replace, text)
    for literal, factory in LITERAL_IDS.items():
        if re.search(rf"\b{literal}\b", text):
            if literal not in _aliases:
                _aliases[literal] = factory()
            text = re.sub(rf"\b{literal}\b", _aliases[literal], text)
    return text


def _unalias_answer(text: str) -> str:
    for test_id, fake_id in _aliases.items():
        if fake_id.startswith(("tok_", "pm_card_")):
            continue
        text = re.sub(rf"\b{re.escape(fake_id)}\b", test_id, text)
    return text


class _Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        with _lock:
            test = _current[0]
            if body:  # the body first: a customer it names is the one the path's objects belong to
                body = _alias_request(body.decode("utf-8")).encode("utf-8")
            path = _alias_request(self.path)
            _prepare(self.command, path, body.decode("utf-8"))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        upstream = http.client.HTTPConnection(UPSTREAM, timeout=60)
        try:
            upstream.request(self.command, PREFIX + path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            status, answer_headers = answer.status, answer.getheaders()
        finally:
            upstream.close()
        unknown_route = status == 404 and b"Unrecognized request URL" in payload
        with _lock:
            payload = _unalias_answer(payload.decode("utf-8")).encode("utf-8")
            if test is not None and self.path != "/":
                _requests.setdefault(test, []).append(
                    {
                        "request": f"{self.command} {self.path.split('?')[0]}",
                        "status": status,
                        "route": not unknown_route,
                    }
                )
        self.send_response(status)
        for name, value in answer_headers:
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        return


_server = ThreadingHTTPServer(("127.0.0.1", 0), _Relay)
_server.daemon_threads = True
threading.Thread(target=_server.serve_forever, daemon=True).start()
os.environ["STRIPE_MOCK_HOST"] = "127.0.0.1"
os.environ["STRIPE_MOCK_PORT"] = str(_server.server_address[1])
_seed()


def pytest_runtest_setup(item: Any) -> None:
    with _lock:
        _current[0] = item.nodeid
        _aliases.clear()
        _prepared.clear()


def pytest_runtest_teardown(item: Any) -> None:
    with _lock:
        if _aliases:
            _aliased[item.nodeid] = dict(_aliases)


def pytest_runtest_logreport(report: Any) -> None:
    entry = _outcomes.setdefault(report.nodeid, {"outcome": "passed", "failure": None})
    if report.failed:
        entry["outcome"] = "failed"
        if entry["failure"] is None:
            text = str(getattr(report, "longreprtext", "") or "")
            errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
            entry["failure"] = (errors[0] if errors else (text.strip().splitlines() or [""])[-1])[:300]
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: Any) -> None:
    with _lock:
        results = {
            nodeid: dict(entry, requests=_requests.get(nodeid, []), aliases=_aliased.get(nodeid, {}))
            for nodeid, entry in sorted(_outcomes.items())
        }
    with open(OUT, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
