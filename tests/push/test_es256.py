"""ES256 signing by configuration, verified by a stock JWT library."""

from __future__ import annotations

import json
from pathlib import Path

import jwt

from tests.push.conftest import PUSH_ENV, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


def test_es256_tokens_verify_against_the_jwks(tmp_path: Path, receiver: Receiver) -> None:
    env = {**PUSH_ENV, "TENANTSTATUS_SIGNING_ALG": "ES256"}
    service = ServiceProcess(tmp_path / "data", env=env).start()
    try:
        app = register(service, f"{receiver.url}/ok/es256")
        tenant(service, "EsTenant", app)
        with service.admin() as admin:
            admin.post("/admin/tenants/EsTenant/operations", json={"Operation": "suspend"})
        (got,) = receiver.wait_for("es256", 1)
        token = json.loads(got.body)["Token"]
        assert jwt.get_unverified_header(token)["alg"] == "ES256"
        key = jwt.PyJWKClient(f"{service.url}/.well-known/jwks.json").get_signing_key_from_jwt(
            token
        )
        claims = jwt.decode(
            token, key.key, algorithms=["ES256"], audience=app.id, issuer=service.url
        )
        assert claims["ctx"] == "EsTenant"
        assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o777 == 0o600
        database = (tmp_path / "data" / "tenantstatus.db").read_bytes()
        assert b"PRIVATE KEY" not in database and app.secret.encode() not in database
        assert app.token.encode() not in database
        assert app.secret not in service.log() and app.token not in service.log()
    finally:
        service.stop()
