"""Every failure the CLI foresees is one line, `error: ...`, with its documented exit code.

Each case runs the installed `tenantstatus` script as a user would and asserts the exit
code, the one line, and that no traceback reached the terminal.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from cryptography.fernet import Fernet

from tests.cli.running import error_line, json_error, last_error_line, run_cli
from tests.support.processes import ServiceProcess, free_port

REPOSITORY = Path(__file__).resolve().parents[2]
USAGE, NEGATIVE, UNREACHABLE = 2, 1, 3


def test_an_import_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        b'{"ContextIdentifier": "Cust1", "Endpoint": "https://h/Cust1"}\n'
        b'{"ContextIdentifier": "Cust2", "Endpoint": "https://h/M\xfcnchen"}\n'
    )
    line = error_line(run_cli("tenant", "import", str(path)), USAGE)
    assert f"{path}:2: not UTF-8" in line and "save the file as UTF-8" in line
    document = json_error(run_cli("tenant", "import", str(path), "--json"), USAGE)
    assert f"{path}:2: not UTF-8" in document["error"]


def test_a_url_with_a_bad_port_is_a_usage_error_for_operator_and_vendor_commands() -> None:
    bad = "http://127.0.0.1:abc"
    line = error_line(run_cli("--url", bad, "tenant", "list"), USAGE)
    assert "is not a valid URL" in line and "http://127.0.0.1:8080" in line
    # `check` exits 1 for "not running": a bad URL must not look like an answer.
    error_line(run_cli("--url", bad, "check", "Cust1"), USAGE)
    error_line(run_cli("check", "Cust1", "--url", bad), USAGE)
    json_error(run_cli("check", "Cust1", "--url", bad, "--json"), USAGE)
    error_line(run_cli("--url", "ftp://x", "tenant", "list"), USAGE)


def test_a_service_that_does_not_answer_exits_3() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = error_line(run_cli("--url", url, "tenant", "list"), UNREACHABLE)
    assert f"cannot reach the service at {url}" in line and "TENANTSTATUS_URL" in line
    json_error(run_cli("--url", url, "app", "list", "--json"), UNREACHABLE)
    error_line(run_cli("check", "Cust1", "--url", url), UNREACHABLE)


def test_an_unreachable_postgresql_is_one_line_for_migrate_and_serve(tmp_path: Path) -> None:
    url = f"postgresql://u@127.0.0.1:{free_port()}/db"
    line = error_line(run_cli("migrate", "--database-url", url), UNREACHABLE)
    assert "cannot reach the database" in line and "--database-url" in line
    served = run_cli(
        *("serve", "--database-url", url, "--data-dir", str(tmp_path / "data")),
        *("--port", str(free_port()), "--log-level", "warning"),
    )
    assert "--database-url" in last_error_line(served, UNREACHABLE)


def test_a_worker_that_cannot_start_is_the_same_one_line_as_a_single_serve(
    tmp_path: Path,
) -> None:
    url = f"postgresql://u@127.0.0.1:{free_port()}/db"
    served = run_cli(
        *("serve", "--workers", "2", "--database-url", url, "--data-dir", str(tmp_path)),
        *("--port", str(free_port()), "--log-level", "warning"),
    )
    line = last_error_line(served, UNREACHABLE)
    assert "cannot reach the database" in line and "--database-url" in line


def test_a_database_tenantstatus_cannot_use_is_named_without_its_password(
    tmp_path: Path,
) -> None:
    url = "mysql://x:hunter2@127.0.0.1/db"
    for command in ("migrate", "serve"):
        line = error_line(
            run_cli(command, "--database-url", url, "--data-dir", str(tmp_path)), USAGE
        )
        assert "PostgreSQL or SQLite" in line and "postgresql://" in line
        assert "hunter2" not in line and "MySQLdb" not in line


def test_a_sandbox_notify_url_it_refuses_is_a_usage_error(tmp_path: Path) -> None:
    args = ("sandbox", "--notify", "ftp://x", "--port", str(free_port()))
    line = error_line(run_cli(*args, "--data-dir", str(tmp_path / "data")), USAGE)
    assert "--notify" in line and "ftp://x" in line and "http or https" in line
    # The sandbox allows http itself: no advice to set what it does not need.
    assert "TENANTSTATUS_ALLOW_HTTP" not in line
    json_error(run_cli(*args, "--json"), USAGE)


def test_server_commands_on_a_client_only_install_say_which_extra_to_install(
    client_only: Path, tmp_path: Path
) -> None:
    """`pip install tenantstatus` without the server extra: the installed script."""
    command = (str(client_only / "bin" / "tenantstatus"),)
    probe = run_cli("-c", "import uvicorn", command=(str(client_only / "bin" / "python"),))
    assert probe.returncode != 0 and "No module named 'uvicorn'" in probe.stderr
    for args in (("serve",), ("migrate",), ("sandbox",)):
        result = run_cli(*args, "--data-dir", str(tmp_path), command=command)
        line = error_line(result, USAGE)
        assert "pip install 'tenantstatus[server]'" in line, args
    # The client half still works there, and fails as the rest of the CLI does.
    url = f"http://127.0.0.1:{free_port()}"
    error_line(run_cli("check", "Cust1", "--url", url, command=command), UNREACHABLE)


def test_serve_with_another_secret_key_than_the_data_was_sealed_with(tmp_path: Path) -> None:
    first = ServiceProcess(tmp_path / "data").start()  # seals its signing key with secret.key
    first.stop()
    result = run_cli(
        *("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port())),
        *("--log-level", "warning"),
        env={"TENANTSTATUS_SECRET_KEY": Fernet.generate_key().decode()},
    )
    line = last_error_line(result, USAGE)
    assert "cannot be decrypted" in line and "TENANTSTATUS_SECRET_KEY" in line
    garbled = run_cli(
        *("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port())),
        env={"TENANTSTATUS_SECRET_KEY": "not-a-key"},
    )
    assert "is not a Fernet key" in error_line(garbled, USAGE)


def test_serve_logs_a_startup_failure_nobody_foresaw_once_with_its_traceback(
    tmp_path: Path,
) -> None:
    service = ServiceProcess(tmp_path / "data").start()
    service.stop()
    # A database from a newer tenantstatus: a schema revision this one does not know.
    with sqlite3.connect(tmp_path / "data" / "tenantstatus.db") as database:
        database.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    result = run_cli(
        *("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port())),
        *("--log-level", "warning"),
        env={"TENANTSTATUS_OPERATOR_TOKEN": "tsop_x"},
    )
    assert result.returncode == NEGATIVE, result.stderr
    lines = result.stderr.splitlines()
    logged = [
        line for line in lines if "ERROR tenantstatus.serve: the service could not start" in line
    ]
    assert len(logged) == 1, result.stderr
    assert "Can't locate revision identified by 'ffffffffffff'" in result.stderr
    assert lines[-1].startswith("error: the service could not start: ")
    assert "the log above has the traceback" in lines[-1]
    # Not also uvicorn's own report of the same failure.
    assert "Exception in 'lifespan' protocol" not in result.stderr
    assert result.stderr.count("Can't locate revision identified by 'ffffffffffff'\n") == 1


def test_usage_errors_are_one_line_with_the_usage_and_json_with_json() -> None:
    line = error_line(run_cli("tenant", "op", "OnlyOneArgument"), USAGE)
    assert "missing argument 'OPERATION'" in line
    assert "usage: tenantstatus tenant op [OPTIONS]" in line
    assert "'tenantstatus tenant op --help'" in line
    document = json_error(run_cli("tenant", "list", "--bogus", "--json"), USAGE)
    assert "no such option: --bogus" in document["error"]
    # A value the command cannot read is a usage error too, before anything is sent.
    at = error_line(run_cli("tenant", "op", "Cust1", "suspend", "--at", "tomorrow"), USAGE)
    assert "ISO-8601" in at
    since = run_cli("deliveries", "recover", "app_x", "--since", "yesterday")
    assert "ISO-8601" in error_line(since, USAGE)


def test_a_refusal_from_the_service_is_json_with_json(service: ServiceProcess) -> None:
    service.cli("tenant", "add", "ErrJson", "--endpoint", "https://h/x", "--state", "Suspended")
    result = service.cli("tenant", "op", "ErrJson", "suspend", "--json", check=False)
    document = json_error(result, NEGATIVE)
    assert document["error"].startswith("Operation not allowed (409)")
    assert result.stdout == ""


def test_a_wrong_or_missing_token_names_the_flag_and_the_variable(
    service: ServiceProcess,
) -> None:
    env = {"TENANTSTATUS_URL": service.url, "TENANTSTATUS_TOKEN": ""}
    for args, which in ((("--token", "wrong"), "was refused"), ((), "is missing")):
        line = error_line(run_cli(*args, "tenant", "list", env=env), NEGATIVE)
        assert "Unauthorized (401)" in line and which in line
        assert "--token" in line and "TENANTSTATUS_TOKEN" in line


def test_serve_refuses_an_open_data_directory_of_another_user_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    os.chown(data, 65534, 65534)  # nobody's: not ours to tighten
    result = run_cli(
        *("serve", "--data-dir", str(data), "--port", str(free_port())),
        *("--log-level", "warning"),
        env={"TENANTSTATUS_OPERATOR_TOKEN": "tsop_x"},
    )
    line = last_error_line(result, USAGE)
    assert "belongs to another user" in line and str(data) in line
