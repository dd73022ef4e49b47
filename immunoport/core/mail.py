"""E-mails immunoport writes to people: a subject and a text template."""

from typing import Any

from django.core.mail import send_mail
from django.template.loader import render_to_string


def send_templated_mail(
    subject: str, template: str, context: dict[str, Any], recipients: list[str]
) -> None:
    """Send ``template`` rendered with ``context``; nothing when there is no recipient."""
    if recipients:
        send_mail(f"[immunoport] {subject}", render_to_string(template, context), None, recipients)
