"""The naive baseline for the state API benchmark: a framework route that reads SQLite.

This is what `GET /api/state/{ContextIdentifier}` looks like written the obvious way:
a FastAPI route that SELECTs the tenant's row from the database `tenantstatus serve`
wrote and lets the framework serialise a dict per request. `bench/state_api.py`
runs it with uvicorn, one worker:

    NAIVE_DB=/path/tenantstatus.db NAIVE_MODE=connect \\
        uvicorn naive_app:app --app-dir bench --workers 1

`NAIVE_MODE` picks one of two variants, both measured:

* `connect` (the textbook form): a sync route that FastAPI runs in its thread pool,
  opening a connection per request (what a `get_db()` dependency usually does).
* `shared`: one connection opened at start-up, queried inline on the event loop from
  an async route; no thread hop, no connect. A stronger baseline than most real code.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

DATABASE = os.environ.get("NAIVE_DB", "tenantstatus.db")
MODE = os.environ.get("NAIVE_MODE", "connect")
TTL = timedelta(seconds=60)

# The state names by numeric code, as the spec's table gives them.
STATE_NAMES = {
    0: "Unknown",
    1: "Provisioning",
    2: "Running",
    3: "Deleted",
    4: "Suspended",
    5: "OnlineMaintenance",
    6: "OfflineMaintenance",
    8: "ProvisioningFailed",
    10: "Deleting",
    11: "DeleteFailed",
    12: "MigrationPending",
}
RUNNING = {"Running", "OnlineMaintenance"}
QUERY = "SELECT endpoint, state, version_document FROM tenants WHERE context_identifier = ?"

app = FastAPI()


def _answer(context_identifier: str, row: tuple[str, int, str] | None) -> dict[str, Any]:
    valid_until = (datetime.now(UTC) + TTL).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    if row is None:
        return {
            "ContextIdentifier": context_identifier,
            "Endpoint": "",
            "State": "Unknown",
            "IsRunning": False,
            "ValidUntil": valid_until,
            "Api": "",
        }
    endpoint, code, version_document = row
    state = STATE_NAMES.get(code, "Unknown")
    answer: dict[str, Any] = {
        "ContextIdentifier": context_identifier,
        "Endpoint": endpoint,
        "State": state,
        "IsRunning": state in RUNNING,
        "ValidUntil": valid_until,
        "Api": endpoint.rstrip("/") + "/api",
    }
    label = json.loads(version_document).get("NetServerLabel")
    if label:
        answer["Version"] = label
    return answer


if MODE == "shared":
    _shared = sqlite3.connect(DATABASE, check_same_thread=False)

    @app.get("/api/state/{context_identifier}")
    async def state_shared(context_identifier: str) -> JSONResponse:
        row = _shared.execute(QUERY, (context_identifier,)).fetchone()
        return JSONResponse(_answer(context_identifier, row))

else:

    @app.get("/api/state/{context_identifier}")
    def state_connect(context_identifier: str) -> dict[str, Any]:
        connection = sqlite3.connect(DATABASE)
        try:
            row = connection.execute(QUERY, (context_identifier,)).fetchone()
        finally:
            connection.close()
        return _answer(context_identifier, row)
