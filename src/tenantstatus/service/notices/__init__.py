"""Notices: messages a person writes on a tenant, every tenant of a host, or a list.

An operation carries its own (`Message` and `Until` on `/admin/tenants/.../operations`);
`routes` is `/admin/notices` for the rest, and notes on a tenant's current notice.
"""

from __future__ import annotations

from tenantstatus.service.notices.schemas import MessageText, NoticeOut, UntilInstant

__all__ = ["MessageText", "NoticeOut", "UntilInstant"]
