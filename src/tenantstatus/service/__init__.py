"""The service half: the ASGI app the platform runs, and the parts it is built from.

    >>> app = create_app(Settings.from_env())

`state` answers the public state API, `tenants` changes tenants (now or on a schedule),
`push` administers applications, deliveries and signing keys, and `status` renders
pages for people. This module is the front door: the app factory, operator auth, the
exception tree, problem documents, limits, metrics and the OpenAPI document.
"""

from __future__ import annotations

from tenantstatus.service.app import ServiceApp, app_from_environment, compose_app, create_app
from tenantstatus.service.services import Services

__all__ = ["ServiceApp", "Services", "app_from_environment", "compose_app", "create_app"]
