"""Provider events are hash-chained, verified with the cases and the directory, and each
one gets a leaf of the verifiable log; ``yishi token create --provider`` makes a provider's
credential."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from api.cli import main
from api.credentials import Credentials
from domain.application import Cases
from domain.providers.model import provider_id
from projections import tlog_store as ls
from tests.district import DISTRICT_CSV
from tests.providers.helpers import PROVIDERS_CSV, STREET, register_providers


def test_a_provider_event_gets_a_leaf_and_its_chain_verifies(
    app_factory: Callable[[str], Cases], sqlite_url: str,
) -> None:
    app = register_providers(app_factory(sqlite_url))
    recorded = app.providers.record("LC", "ProviderRated", {"month": "2026-03", "score": 92},
                                    STREET)
    ls.ensure_tables(app.db)
    ls.LogFollower(app).catch_up()
    refs = {r.position: r for r in ls.read_events(app, 0, 10**6)}
    assert ls.read_state(app.db).size == app.head_position()
    leaf = refs[recorded.position]
    assert leaf.stream_id == str(provider_id("LC"))
    assert leaf.version == 2
    reports = [r for r in app.verify_all() if r.stream == "provider"]
    assert [(r.case_id, r.events, r.valid) for r in reports] == [(provider_id("LC"), 2, True)]
    assert app.verify(provider_id("LC")).valid


def test_the_log_reads_every_stream_of_the_events_table(
    app_factory: Callable[[str], Cases], sqlite_url: str,
) -> None:
    """Cases, units and providers alike: every row of the events table is one leaf."""
    app = register_providers(app_factory(sqlite_url))
    app.providers.record("GD", "ProviderSummoned", {"date": "2026-03-05", "reason": "约谈"},
                         STREET)
    refs = ls.read_events(app, 0, 10**6)
    assert [r.position for r in refs] == list(range(1, app.head_position() + 1))


def run(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    status = main(["--database-url", url, *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_token_create_names_a_provider_of_the_tokens_kind(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path,
    app_factory: Callable[[str], Cases],
) -> None:
    for n, text in enumerate((DISTRICT_CSV, PROVIDERS_CSV)):
        district = tmp_path / f"district-{n}.csv"
        district.write_text(text, encoding="utf-8")
        assert run(capsys, sqlite_url, "directory", "import", str(district))[0] == 0
    status, out, _ = run(capsys, sqlite_url, "token", "create", "--role", "property_company",
                         "--provider", "LC")
    assert status == 0
    app = app_factory(sqlite_url)
    actor = Credentials(app.db).authenticate(out.strip())
    assert actor is not None
    assert actor.provider == "LC"
    assert not actor.is_district_wide
    assert app.directory.resolve(actor).compounds == frozenset({"JX"})
    assert run(capsys, sqlite_url, "token", "create", "--role", "owners_committee",
               "--provider", "YW")[0] == 0
    for argv, message in (
        (("--role", "owners_committee", "--provider", "LC"), "is a property_company"),
        (("--role", "community", "--provider", "LC"), "--provider goes with"),
        (("--role", "property_company", "--provider", "NOPE"), "not a registered provider"),
    ):
        status, out, err = run(capsys, sqlite_url, "token", "create", *argv)
        assert status == 2
        assert out == ""
        assert message in err
    status, out, _ = run(capsys, sqlite_url, "token", "list")
    assert "provider:LC" in out
    assert "provider:YW" in out
