"""Where the embedded Postgres comes from on machines with and without PostgreSQL installed."""

from __future__ import annotations

import pytest

from seqpulse.common import devstack


def test_machines_without_postgresql_use_the_binaries_of_the_pgserver_wheel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SEQPULSE_PG_BIN", raising=False)
    monkeypatch.setattr(devstack.shutil, "which", lambda _name: None)
    monkeypatch.setattr(devstack.glob, "glob", lambda _pattern: [])
    found = devstack.postgres_bin_dir()
    assert found.parts[-3:] == ("pgserver", "pginstall", "bin")
    assert (found / "initdb").exists() and (found / "postgres").exists()


def test_an_explicit_postgres_directory_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQPULSE_PG_BIN", "/opt/pg/bin")
    assert str(devstack.postgres_bin_dir()) == "/opt/pg/bin"
