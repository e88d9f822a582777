"""Every PostgreSQL test database is named after the configured one (issue 13 item 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy.engine import make_url


def names_under(configured: str) -> dict[str, str]:
    probe = (
        "import json\n"
        "from tests.support import databases, db_faults\n"
        "print(json.dumps({"
        "'main': databases.PG_URL,"
        " 'faults': databases.derived_postgres_url('faults'),"
        " 'admin': db_faults._admin_dsn(databases.PG_URL)[0]}))"
    )
    env = {**os.environ, "SENDWARDEN_TEST_POSTGRES_URL": configured}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return dict(json.loads(result.stdout))


def test_test_database_names_derive_from_the_configured_database() -> None:
    urls = names_under("postgresql+asyncpg://ci@db.internal:5433/team_ci")
    for purpose in ("main", "faults"):
        parsed = make_url(urls[purpose])
        assert parsed.database is not None and parsed.database.startswith("team_ci_"), urls
        assert (parsed.host, parsed.port, parsed.username) == ("db.internal", 5433, "ci")
    assert make_url(urls["faults"]).database != make_url(urls["main"]).database
    assert not any("sendwarden_faults" in url for url in urls.values())


def test_administration_connects_to_the_configured_database() -> None:
    urls = names_under("postgresql+asyncpg://ci@db.internal:5433/team_ci")
    assert make_url(urls["admin"]).database == "team_ci"
