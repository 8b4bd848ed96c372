"""JSON Schemas of the Statuspage v2 documents, for the OpenAPI document.

The value sets are Statuspage's own; `tests/status/test_statuspage_client.py` reads the
documents with a real Statuspage client.
"""

from __future__ import annotations

from typing import Any

__all__ = ["document_schema"]

_STAMP: dict[str, Any] = {"type": "string", "examples": ["2026-11-25T21:04:05.123Z"]}
_MAYBE_STAMP: dict[str, Any] = {"type": ["string", "null"]}
_TEXT: dict[str, Any] = {"type": "string"}
INDICATORS = ["none", "minor", "major", "critical", "maintenance"]
COMPONENT_STATUSES = [
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
]
INCIDENT_STATUSES = ["investigating", "identified", "monitoring", "resolved", "postmortem"]
MAINTENANCE_STATUSES = ["scheduled", "in_progress", "verifying", "completed"]


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": sorted(properties), "properties": properties}


PAGE = _object({"id": _TEXT, "name": _TEXT, "url": _TEXT, "time_zone": _TEXT, "updated_at": _STAMP})
STATUS = _object({"indicator": {"enum": INDICATORS}, "description": _TEXT})
COMPONENT = _object(
    {
        "id": _TEXT,
        "name": _TEXT,
        "status": {"enum": COMPONENT_STATUSES},
        "created_at": _STAMP,
        "updated_at": _STAMP,
        "position": {"type": "integer"},
        "description": {"type": ["string", "null"]},
        "showcase": {"type": "boolean"},
        "start_date": {"type": ["string", "null"]},
        "group_id": {"type": ["string", "null"]},
        "page_id": _TEXT,
        "group": {"type": "boolean"},
        "only_show_if_degraded": {"type": "boolean"},
    }
)
UPDATE = _object(
    {
        "id": _TEXT,
        "status": {"enum": INCIDENT_STATUSES + MAINTENANCE_STATUSES},
        "body": _TEXT,
        "incident_id": _TEXT,
        "created_at": _STAMP,
        "updated_at": _STAMP,
        "display_at": _STAMP,
        "affected_components": {"type": "array"},
        "deliver_notifications": {"type": "boolean"},
        "custom_tweet": {"type": ["string", "null"]},
        "tweet_id": {"type": ["string", "null"]},
    }
)


def _incident(statuses: list[str], **extra: Any) -> dict[str, Any]:
    return _object(
        {
            "id": _TEXT,
            "name": _TEXT,
            "status": {"enum": statuses},
            "created_at": _STAMP,
            "updated_at": _STAMP,
            "monitoring_at": _MAYBE_STAMP,
            "resolved_at": _MAYBE_STAMP,
            "impact": {"enum": INDICATORS},
            "shortlink": _TEXT,
            "started_at": _STAMP,
            "page_id": _TEXT,
            "incident_updates": {"type": "array", "items": UPDATE},
            "components": {"type": "array", "items": COMPONENT},
            **extra,
        }
    )


INCIDENT = _incident(INCIDENT_STATUSES)
MAINTENANCE = _incident(MAINTENANCE_STATUSES, scheduled_for=_STAMP, scheduled_until=_MAYBE_STAMP)
_PARTS: dict[str, dict[str, Any]] = {
    "page": PAGE,
    "status": STATUS,
    "components": {"type": "array", "items": COMPONENT},
    "incidents": {"type": "array", "items": INCIDENT},
    "scheduled_maintenances": {"type": "array", "items": MAINTENANCE},
}


def document_schema(*keys: str) -> dict[str, Any]:
    """The schema of a document with these top-level keys (`page`, `status`, ...)."""
    return _object({key: _PARTS[key] for key in keys})
