"""Reading the admin's HTML forms: URL-encoded bodies, bounded in size, one value per field.

The admin's forms are few and small, so they are parsed here with the standard library instead of pulling in
a multipart parser; a body over :data:`MAX_FORM_BYTES` or of another content type is refused.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

MAX_FORM_BYTES = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


class FormRefused(Exception):
    """The body is not a form the admin page reads (too large, wrong type, not UTF-8)."""


def parse_form(body: bytes) -> dict[str, str]:
    """The fields of a URL-encoded ``body``, the first value of each (pure)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormRefused("the form is not UTF-8") from None
    fields = parse_qs(text, keep_blank_values=True, max_num_fields=100)
    return {name: values[0] for name, values in fields.items() if values}


async def read_form(request: Request) -> dict[str, str]:
    """The submitted form of ``request``; :class:`FormRefused` when it is not one the admin page reads."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise FormRefused(f"expected {FORM_TYPE}")
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise FormRefused("the form is too large")
        chunks.append(chunk)
    try:
        return parse_form(b"".join(chunks))
    except ValueError as exc:  # parse_qs past max_num_fields
        raise FormRefused("the form has too many fields") from exc


__all__ = ["FORM_TYPE", "MAX_FORM_BYTES", "FormRefused", "parse_form", "read_form"]
