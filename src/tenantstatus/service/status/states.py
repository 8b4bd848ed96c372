"""What each tenant state means for a person, in one table; no I/O.

The words follow the spec's state table: what the state means for the customer and
whether the tenant's API is usable. `severity` orders states from best to worst, so a
day of the uptime bar can show the worst state it saw; `tone` picks the colour *and*
the icon, so colour is never the only signal.

    >>> describe(TenantState.Suspended).api_usable
    False
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType

from tenantstatus.model import TenantState

__all__ = [
    "DESCRIPTIONS",
    "ComponentStatus",
    "StateDescription",
    "Tone",
    "describe",
    "describe_operation",
    "describe_plan",
    "operation_heading",
    "worst",
]


class Tone(enum.StrEnum):
    """How serious a state looks on the page: a colour, an icon and a word together."""

    OK = "ok"
    MAINTENANCE = "maintenance"
    PENDING = "pending"
    PAUSED = "paused"
    GONE = "gone"
    DOWN = "down"


class ComponentStatus(enum.StrEnum):
    """A Statuspage v2 component status."""

    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    MAJOR_OUTAGE = "major_outage"


@dataclass(frozen=True, slots=True)
class StateDescription:
    """A state in words, for people and for tools that read Statuspage."""

    state: TenantState
    label: str
    badge: str
    meaning: str
    api_usable: bool
    severity: int
    tone: Tone
    component_status: ComponentStatus

    @property
    def name(self) -> str:
        """The state's wire name."""
        return self.state.name

    @property
    def icon(self) -> str:
        """The symbol shown next to the colour, so colour is never the only signal."""
        return _ICONS[self.tone]


_ICONS = MappingProxyType(
    {
        Tone.OK: "\u2714",  # heavy check mark
        Tone.MAINTENANCE: "\u2692",  # hammer and pick
        Tone.PENDING: "\u25d4",  # circle with a quarter filled: on its way
        Tone.PAUSED: "\u2016",  # double vertical line: paused
        Tone.GONE: "\u2205",  # empty set
        Tone.DOWN: "\u2716",  # heavy multiplication x
    }
)


S = TenantState
C = ComponentStatus

DESCRIPTIONS: MappingProxyType[TenantState, StateDescription] = MappingProxyType(
    {
        d.state: d
        for d in (
            StateDescription(
                S.Running,
                "Running",
                "running",
                "All is good: the installation runs and its API answers.",
                True,
                0,
                Tone.OK,
                C.OPERATIONAL,
            ),
            StateDescription(
                S.OnlineMaintenance,
                "Online maintenance",
                "online maintenance",
                "Background maintenance tasks run; normal work continues and the API answers.",
                True,
                1,
                Tone.MAINTENANCE,
                C.UNDER_MAINTENANCE,
            ),
            StateDescription(
                S.Provisioning,
                "Provisioning",
                "provisioning",
                "The installation is being created and will be ready soon.",
                False,
                2,
                Tone.PENDING,
                C.UNDER_MAINTENANCE,
            ),
            StateDescription(
                S.MigrationPending,
                "Migration pending",
                "migration pending",
                "The migration to online is not complete yet; this can last days or weeks.",
                False,
                3,
                Tone.PENDING,
                C.UNDER_MAINTENANCE,
            ),
            StateDescription(
                S.OfflineMaintenance,
                "Offline maintenance",
                "offline maintenance",
                "Offline for maintenance, typically an upgrade; usually back within minutes.",
                False,
                4,
                Tone.MAINTENANCE,
                C.UNDER_MAINTENANCE,
            ),
            StateDescription(
                S.Suspended,
                "Suspended",
                "suspended",
                "Suspended, on the way to termination; the customer can still reactivate it.",
                False,
                5,
                Tone.PAUSED,
                C.MAJOR_OUTAGE,
            ),
            StateDescription(
                S.Deleting,
                "Deleting",
                "deleting",
                "The installation is being deleted.",
                False,
                6,
                Tone.GONE,
                C.MAJOR_OUTAGE,
            ),
            StateDescription(
                S.Deleted,
                "Deleted",
                "deleted",
                "The installation is gone for good.",
                False,
                7,
                Tone.GONE,
                C.MAJOR_OUTAGE,
            ),
            StateDescription(
                S.DeleteFailed,
                "Deletion failed",
                "deletion failed",
                "The deletion failed; it will be retried.",
                False,
                8,
                Tone.DOWN,
                C.MAJOR_OUTAGE,
            ),
            StateDescription(
                S.ProvisioningFailed,
                "Provisioning failed",
                "provisioning failed",
                "Creating the installation failed.",
                False,
                9,
                Tone.DOWN,
                C.MAJOR_OUTAGE,
            ),
            StateDescription(
                S.Unknown,
                "Unknown",
                "unknown",
                "The state cannot be told: the environment has a problem. "
                "For a tenant that was known, this signals an incident.",
                False,
                10,
                Tone.DOWN,
                C.MAJOR_OUTAGE,
            ),
        )
    }
)


def describe(state: TenantState) -> StateDescription:
    """The description of `state`."""
    return DESCRIPTIONS[state]


def worst(states: set[TenantState] | frozenset[TenantState]) -> TenantState | None:
    """The most severe of `states`, or None when there are none."""
    if not states:
        return None
    return max(states, key=lambda s: DESCRIPTIONS[s].severity)


_OPERATIONS = MappingProxyType(
    {
        "provision": "Provisioned",
        "provision-done": "Provisioning finished",
        "provision-failed": "Provisioning failed",
        "provision-retry": "Provisioning retried",
        "upgrade": "Upgrade started",
        "upgrade-done": "Upgrade finished",
        "restore": "Restore from backup started",
        "restore-done": "Restored from backup",
        "suspend": "Suspended",
        "resume": "Resumed",
        "delete": "Deletion started",
        "delete-done": "Deleted",
        "delete-failed": "Deletion failed",
        "maintenance-online": "Online maintenance started",
        "maintenance-offline": "Offline maintenance started",
        "maintenance-done": "Maintenance finished",
        "migration-pending": "Migration pending",
        "migration-done": "Migration finished",
        "move": "Moved to a new endpoint",
        "set-version": "Version changed",
        "incident": "Incident: state unknown",
        "incident-done": "Incident over",
    }
)


def describe_operation(operation: str) -> str:
    """An operation's name as a short sentence for people."""
    return _OPERATIONS.get(operation, operation.replace("-", " ").capitalize())


# What a planned operation will do, in the future tense, without its subject.
_PLANS = MappingProxyType(
    {
        "provision": "will be provisioned",
        "provision-done": "provisioning will finish",
        "provision-failed": "provisioning will be marked failed",
        "provision-retry": "provisioning will be retried",
        "upgrade": "will be upgraded",
        "upgrade-done": "the upgrade will finish",
        "restore": "will be restored from a backup",
        "restore-done": "the restore from backup will finish",
        "suspend": "will be suspended",
        "resume": "will resume",
        "delete": "will be deleted",
        "delete-done": "the deletion will finish",
        "delete-failed": "the deletion will be marked failed",
        "maintenance-online": "online maintenance will begin",
        "maintenance-offline": "offline maintenance will begin",
        "maintenance-done": "maintenance will end",
        "migration-pending": "will wait for a migration",
        "migration-done": "the migration will finish",
        "move": "will move to a new endpoint",
        "set-version": "its version will change",
        "incident": "will be marked in an incident",
        "incident-done": "the incident will end",
    }
)

_HEADINGS = MappingProxyType(
    {
        "upgrade": "Upgrade",
        "restore": "Restore from backup",
        "maintenance-offline": "Offline maintenance",
        "maintenance-online": "Online maintenance",
        "suspend": "Suspension",
        "resume": "Resumption",
        "delete": "Deletion",
        "move": "Move to a new endpoint",
        "incident": "Incident",
        "provision": "Provisioning",
        "migration-pending": "Migration",
    }
)


def describe_plan(operation: str, version_name: str | None = None) -> str:
    """What a planned operation will do, without its subject: `will be upgraded to R11`."""
    text = _PLANS.get(operation, f"{operation.replace('-', ' ')} will run")
    if operation == "upgrade" and version_name:
        text += f" to {version_name}"
    return text


def operation_heading(operation: str, version_name: str | None = None) -> str:
    """An operation as a heading: `Upgrade to Release 11.12`, `Offline maintenance`."""
    heading = _HEADINGS.get(operation, describe_operation(operation))
    if operation == "upgrade" and version_name:
        heading += f" to {version_name}"
    return heading
