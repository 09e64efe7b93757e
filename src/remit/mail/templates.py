"""Mail templates: a subject, a plain-text part and an HTML part per kind, in Jinja2.

remit's own templates live in ``remit/mail/templates``: ``<kind>.subject.txt``, ``<kind>.txt`` and
``<kind>.html`` (HTML autoescaped, text not), sharing ``_layout.txt`` and ``_layout.html``. A host overrides
any of them by path: with ``REMIT_TEMPLATE_DIR=/srv/billing/templates``, the file
``/srv/billing/templates/mail/receipt.html`` replaces remit's ``receipt.html`` (and ``mail/_layout.html`` the
layout of every HTML part); whatever it does not override comes from remit. A template that refers to a
variable it was not given fails the render (and the send job retries), rather than mailing a blank.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from remit.mail.kinds import MailKind

if TYPE_CHECKING:
    import jinja2


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@functools.cache
def template_environment(template_dir: str | None = None) -> jinja2.Environment:
    """The mail templates: ``template_dir``/mail first (the host's overrides), then remit's."""
    import jinja2  # here: the runtime imports this module, and most processes never render a template

    loaders: list[jinja2.BaseLoader] = []
    if template_dir:
        loaders.append(jinja2.FileSystemLoader(os.path.join(template_dir, "mail")))
    loaders.append(jinja2.PackageLoader("remit.mail", "templates"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def template_names(kind: MailKind) -> tuple[str, str, str]:
    """The subject, text and HTML templates of ``kind``."""
    return f"{kind.value}.subject.txt", f"{kind.value}.txt", f"{kind.value}.html"


def render_mail(kind: MailKind, context: Mapping[str, Any], template_dir: str | None = None) -> RenderedMail:
    """Render the three templates of ``kind``; the subject becomes one line."""
    env = template_environment(template_dir)
    subject_name, text_name, html_name = template_names(kind)
    subject = " ".join(env.get_template(subject_name).render(context).split())
    return RenderedMail(
        subject=subject,
        text=env.get_template(text_name).render(context),
        html=env.get_template(html_name).render(context),
    )


__all__ = ["RenderedMail", "render_mail", "template_environment", "template_names"]
