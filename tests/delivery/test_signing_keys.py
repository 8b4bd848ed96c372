"""KeyService over a real SQLite store: whatever the rotations, a key is published first."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import anyio
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantstatus.delivery.signing_keys import KeyService
from tenantstatus.store import SqlStore
from tenantstatus.store.secret_box import SecretBox
from tests.support.clock import ManualClock as FakeClock

DELAY = timedelta(minutes=10)
STEP = 120  # seconds between the instants checked

# Each rotation: seconds after the one before, and whether it skips the publish delay.
rotations = st.lists(
    st.tuples(st.integers(min_value=0, max_value=1200), st.booleans()), min_size=1, max_size=4
)


@settings(max_examples=15, deadline=None)
@given(rotations)
def test_a_key_signs_only_after_it_was_published_for_the_delay(
    plan: list[tuple[int, bool]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        anyio.run(_check, Path(directory), plan)


async def _check(directory: Path, plan: list[tuple[int, bool]]) -> None:
    store = SqlStore(f"sqlite+aiosqlite:///{directory / 'keys.db'}")
    await store.open()
    clock = FakeClock()
    keys = KeyService(store, SecretBox(Fernet.generate_key()), clock, "ES256", DELAY)
    await keys.load()
    immediate = {keys.ring.active.kid}  # the first key has nobody to wait for
    signed: list[str] = []

    def check_now() -> None:
        now = clock.now()
        active = keys.ring.active
        assert active.kid in {k["kid"] for k in keys.jwks(now)["keys"]}
        if active.kid not in immediate:
            assert active.created_at is not None
            assert now - active.created_at >= DELAY, "signing before it was published long enough"
        for key in keys.ring.keys:
            if key.kid != active.kid and key.created_at is not None:
                # every key that will sign later is in the JWKS already
                assert key.retired_at is not None or key.kid in {
                    k["kid"] for k in keys.jwks(now)["keys"]
                }
        if not signed or signed[-1] != active.kid:
            assert active.kid not in signed, "a key signed again after another took over"
            signed.append(active.kid)

    try:
        for wait, at_once in plan:
            for _ in range(wait // STEP):
                clock.advance(STEP)
                check_now()
            clock.advance(wait % STEP)
            ring = await keys.rotate(immediately=at_once)
            newest = ring.keys[-1]
            if at_once:
                immediate.add(newest.kid)
                assert ring.active.kid == newest.kid
            check_now()
        for _ in range(2 * int(DELAY.total_seconds()) // STEP):
            clock.advance(STEP)
            check_now()
        assert signed[-1] == keys.ring.keys[-1].kid, "the last key rotated in signs in the end"
    finally:
        await store.close()
