"""The portal's form bodies: URL-encoded, small, every field bounded.

A form that breaks a rule raises `FormError`, whose message is the one line the page
shows above the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.requests import Request

__all__ = ["FORM_MAX_BYTES", "FormError", "read_form"]

FORM_MAX_BYTES = 16_384
_MAX_FIELDS = 16
_MAX_FIELD = 4096
_URLENCODED = "application/x-www-form-urlencoded"


class FormError(ValueError):
    """A form the portal cannot use; the message is one line for the page."""


async def read_form(request: Request) -> Mapping[str, str]:
    """The form's fields (the last value of each), or `FormError`.

    The body limit in front of the app refuses more than `FORM_MAX_BYTES` before
    this reads it; this checks again, for an app composed without it.
    """
    body = await request.body()
    if not body:
        return {}
    if len(body) > FORM_MAX_BYTES:
        raise FormError(f"The form is too large: at most {FORM_MAX_BYTES} bytes.")
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != _URLENCODED:
        raise FormError("Send the form as the page does (application/x-www-form-urlencoded).")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=_MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError("The form could not be read: not UTF-8 text, or too many fields.") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if len(value) > _MAX_FIELD:
            raise FormError(
                f"The field {name[:40]!r} is too long: at most {_MAX_FIELD} characters."
            )
        fields[name] = value
    return fields
