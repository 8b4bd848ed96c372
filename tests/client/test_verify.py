"""NotificationVerifier: every rejection its own exception, keys from a real JWKS on loopback."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest

from tenantstatus.client import (
    AlgorithmNotAllowed,
    AsyncNotificationVerifier,
    ChangeTypeMismatch,
    ContextMismatch,
    DuplicateDelivery,
    FileVersionMismatch,
    InvalidSignature,
    KeySetUnavailable,
    MalformedNotification,
    NotificationRejected,
    NotificationVerifier,
    TokenExpired,
    TokenNotYetValid,
    UnknownSigningKey,
    WrongAudience,
    WrongIssuer,
)
from tenantstatus.model import ChangeType
from tests.client.conftest import closed_after_test, verifier_for
from tests.client.issuer import AUDIENCE, Issuer
from tests.support.clock import ManualClock as FakeClock
from tests.support.processes import free_port


def _rejected_by(issuer: Issuer, body: dict[str, Any], **options: Any) -> NotificationRejected:
    with pytest.raises(NotificationRejected) as caught:
        verifier_for(issuer, **options).verify(json.dumps(body))
    return caught.value


def test_a_genuine_rs256_notification_is_accepted(issuer: Issuer) -> None:
    body = issuer.notification("Cust36660", ChangeType.Move, PublicEndpoint="sod3.superoffice.com")
    verified = verifier_for(issuer).verify(json.dumps(body).encode())
    assert verified.context_identifier == "Cust36660"
    assert verified.change_type is ChangeType.Move
    assert verified.notification.public_endpoint == "sod3.superoffice.com"
    assert verified.key_id == "rsa-1"
    assert verified.claims["aud"] == AUDIENCE


def test_a_genuine_es256_notification_is_accepted(issuer: Issuer) -> None:
    verified = verifier_for(issuer).verify(issuer.notification(kid="ec-1"))
    assert verified.key_id == "ec-1"


def test_alg_none_is_refused(issuer: Issuer) -> None:
    body = issuer.notification(token=issuer.unsigned(issuer.claims()))
    assert type(_rejected_by(issuer, body)) is AlgorithmNotAllowed


def test_hs256_signed_with_the_public_key_is_refused(issuer: Issuer) -> None:
    body = issuer.notification(token=issuer.sign_hs256_with_public_key(issuer.claims()))
    assert type(_rejected_by(issuer, body)) is AlgorithmNotAllowed


def test_a_token_claiming_es256_for_an_rsa_key_is_refused(issuer: Issuer) -> None:
    token = jwt.encode(
        issuer.claims(), issuer.private["ec-1"], algorithm="ES256", headers={"kid": "rsa-1"}
    )
    body = issuer.notification(token=token)
    assert type(_rejected_by(issuer, body)) is AlgorithmNotAllowed


def test_an_expired_token_is_refused(issuer: Issuer) -> None:
    claims = {**issuer.claims(), "exp": issuer.claims()["iat"] - 120}
    body = issuer.notification(token=issuer.sign(claims))
    assert type(_rejected_by(issuer, body)) is TokenExpired


def test_a_token_expired_within_the_leeway_is_accepted(issuer: Issuer) -> None:
    claims = {**issuer.claims(), "exp": issuer.claims()["iat"] - 10}
    body = issuer.notification(token=issuer.sign(claims))
    verifier = verifier_for(issuer, leeway=timedelta(seconds=30))
    assert verifier.verify(body).delivery_id == claims["jti"]


def test_expiry_is_measured_on_the_clock_seam(issuer: Issuer, clock: FakeClock) -> None:
    verifier = verifier_for(issuer, clock=clock)
    verifier.verify(issuer.notification())
    clock.advance(301 + 30)
    with pytest.raises(TokenExpired):
        verifier.verify(issuer.notification())


def test_a_token_not_yet_valid_is_refused(issuer: Issuer) -> None:
    claims = {**issuer.claims(), "nbf": issuer.claims()["iat"] + 120}
    body = issuer.notification(token=issuer.sign(claims))
    assert type(_rejected_by(issuer, body)) is TokenNotYetValid


def test_a_wrong_issuer_is_refused(issuer: Issuer) -> None:
    claims = {**issuer.claims(), "iss": "https://evil.example.com"}
    body = issuer.notification(token=issuer.sign(claims))
    assert type(_rejected_by(issuer, body)) is WrongIssuer


def test_a_wrong_audience_is_refused(issuer: Issuer) -> None:
    claims = {**issuer.claims(), "aud": "another-app"}
    body = issuer.notification(token=issuer.sign(claims))
    assert type(_rejected_by(issuer, body)) is WrongAudience


def test_a_token_for_another_tenant_is_refused(issuer: Issuer) -> None:
    token = issuer.sign(issuer.claims(ctx="Cust99999"))
    body = issuer.notification("Cust12345", token=token)
    assert type(_rejected_by(issuer, body)) is ContextMismatch


def test_a_token_for_another_change_type_is_refused(issuer: Issuer) -> None:
    token = issuer.sign(issuer.claims(change_type=ChangeType.Resume))
    body = issuer.notification(change_type=ChangeType.Delete, token=token)
    assert type(_rejected_by(issuer, body)) is ChangeTypeMismatch


def test_a_tampered_body_is_refused(issuer: Issuer) -> None:
    body = issuer.notification()
    body["FileVersion"] = "9.9.9.9999"
    assert type(_rejected_by(issuer, body)) is FileVersionMismatch


def test_a_tampered_token_is_refused(issuer: Issuer) -> None:
    header, _, signature = issuer.sign(issuer.claims()).split(".")
    payload = _b64(json.dumps(issuer.claims(change_type=ChangeType.Resume)).encode())
    body = issuer.notification(
        change_type=ChangeType.Resume, token=f"{header}.{payload}.{signature}"
    )
    assert type(_rejected_by(issuer, body)) is InvalidSignature


def test_an_unknown_kid_is_refused_after_one_refetch(issuer: Issuer, clock: FakeClock) -> None:
    issuer.add_key("rsa-unpublished", "RS256", publish=False)
    verifier = verifier_for(issuer, clock=clock, refetch_interval=timedelta(seconds=30))
    verifier.verify(issuer.notification())
    clock.advance(31)
    before = issuer.jwks_fetches
    with pytest.raises(UnknownSigningKey):
        verifier.verify(issuer.notification(kid="rsa-unpublished"))
    with pytest.raises(UnknownSigningKey):
        verifier.verify(issuer.notification(kid="rsa-unpublished"))
    assert issuer.jwks_fetches == before + 1, "refetching is rate-limited"


def test_a_rotated_key_is_fetched_when_a_token_names_it(issuer: Issuer) -> None:
    verifier = verifier_for(issuer, refetch_interval=timedelta(0))
    verifier.verify(issuer.notification())
    issuer.add_key("rsa-2", "RS256")
    assert verifier.verify(issuer.notification(kid="rsa-2")).key_id == "rsa-2"


def test_a_replayed_delivery_id_is_refused(issuer: Issuer) -> None:
    verifier = verifier_for(issuer)
    body = issuer.notification()
    first = verifier.verify(body)
    with pytest.raises(DuplicateDelivery) as caught:
        verifier.verify(body)
    assert caught.value.delivery_id == first.delivery_id


def test_the_delivery_log_is_bounded(issuer: Issuer) -> None:
    verifier = verifier_for(issuer, max_deliveries=2)
    for _ in range(5):
        verifier.verify(issuer.notification())
    assert len(verifier.deliveries) == 2


def test_a_body_that_is_not_a_notification_is_malformed(issuer: Issuer) -> None:
    with pytest.raises(MalformedNotification) as caught:
        verifier_for(issuer).verify(b'{"ChangeType": "soon"}')
    assert caught.value.status_code == 400


def test_a_token_that_is_not_a_jwt_is_malformed(issuer: Issuer) -> None:
    body = issuer.notification(token="eyJ....")
    assert type(_rejected_by(issuer, body)) is MalformedNotification


def test_an_unreachable_jwks_is_not_blamed_on_the_notification(issuer: Issuer) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    verifier = NotificationVerifier(issuer.url, AUDIENCE, jwks_url=f"{dead}/jwks.json")
    closed_after_test(verifier)
    with pytest.raises(KeySetUnavailable):
        verifier.verify(issuer.notification())


def test_a_jwks_answering_500_is_unavailable(issuer: Issuer) -> None:
    issuer.jwks_status = 500
    with pytest.raises(KeySetUnavailable, match="answered 500"):
        verifier_for(issuer).verify(issuer.notification())


def test_a_discovery_document_for_another_issuer_is_refused(issuer: Issuer) -> None:
    verifier = NotificationVerifier(
        "https://status.example.com",
        AUDIENCE,
        discovery_url=f"{issuer.url}/.well-known/openid-configuration",
    )
    closed_after_test(verifier)
    with pytest.raises(KeySetUnavailable, match="names issuer"):
        verifier.verify(issuer.notification())


def test_remember_false_lets_a_failed_handling_be_retried(issuer: Issuer) -> None:
    verifier = verifier_for(issuer)
    body = issuer.notification()
    verified = verifier.verify(body, remember=False)
    verifier.verify(body, remember=False)
    verifier.remember(verified)
    with pytest.raises(DuplicateDelivery):
        verifier.verify(body)


def test_only_asymmetric_algorithms_can_be_allowed(issuer: Issuer) -> None:
    with pytest.raises(ValueError, match="HS256"):
        verifier_for(issuer, algorithms=("RS256", "HS256"))


def test_the_platform_preset_points_at_the_platforms_keys() -> None:
    verifier = NotificationVerifier.for_platform("online", AUDIENCE)
    closed_after_test(verifier)
    assert verifier.issuer == "https://online.superoffice.com"
    assert verifier.keys.jwks_url == "https://online.superoffice.com/login/.well-known/jwks"


@pytest.mark.anyio
async def test_the_async_verifier_accepts_and_refuses_like_the_sync_one(issuer: Issuer) -> None:
    async with AsyncNotificationVerifier.for_service(issuer.url, AUDIENCE) as verifier:
        body = issuer.notification(kid="ec-1")
        assert (await verifier.verify(body)).key_id == "ec-1"
        with pytest.raises(DuplicateDelivery):
            await verifier.verify(body)
        tampered = {**issuer.notification(), "ContextIdentifier": "Cust1"}
        with pytest.raises(ContextMismatch):
            await verifier.verify(tampered)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
