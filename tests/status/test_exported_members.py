"""The status package's public surface is a decision, as for every package."""

from __future__ import annotations

import tenantstatus.service.status
import tenantstatus.store.status_sql


def test_status_exports() -> None:
    assert tenantstatus.service.status.__all__ == ["status_router"]


def test_status_sql_exports() -> None:
    assert sorted(tenantstatus.store.status_sql.__all__) == [
        "NOTICES_SHOWN",
        "RECENT_NOTICES",
        "StateChange",
        "StateWindow",
        "StatusSql",
        "TenantListing",
        "TenantPage",
        "TenantPageData",
    ]
    for name in tenantstatus.store.status_sql.__all__:
        assert hasattr(tenantstatus.store.status_sql, name)


def test_calendar_sql_exports() -> None:
    import tenantstatus.store.calendar_sql

    assert sorted(tenantstatus.store.calendar_sql.__all__) == [
        "CalendarData",
        "CalendarSql",
        "touch_schedule",
    ]
    for name in tenantstatus.store.calendar_sql.__all__:
        assert hasattr(tenantstatus.store.calendar_sql, name)
