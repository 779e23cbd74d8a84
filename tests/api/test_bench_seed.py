"""bench/seed_leads.py fills a workspace as its description says: about 2%
of the contacts hot (score 80 or more), an email for each contact scoring 60
or more, and the same rows for the same seed. Run against a database that
`leadflow migrate` made (SQLite here; the script's PostgreSQL branch inserts
the same rows)."""
import os
import subprocess
import sys

import pytest

import tenantutil as tu
from conftest import Launcher

SEED = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "seed_leads.py")
N = 5000


@pytest.fixture
def seeded(bin_path, tmp_path_factory, web_dir):
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    srv = lx.start()
    try:
        t = tu.new_tenant(srv, session=False, token=False)
        r = subprocess.run([sys.executable, SEED, srv.db_path, t.workspace_id, str(N)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        yield srv, t, r.stdout
    finally:
        failures = lx.stop_all()
        assert not failures, "\n".join(failures)


def test_about_two_percent_are_hot(seeded):
    srv, t, out = seeded
    ((n, hot, warm),) = tu.db_query(
        srv, "SELECT COUNT(*), SUM(ai_score >= 80), SUM(ai_score >= 60 AND ai_score < 80)"
             " FROM contacts WHERE workspace_id = ?", (t.workspace_id,))
    assert n == N
    assert 0.015 * N <= hot <= 0.025 * N, f"{hot} hot of {N}"
    assert warm > 0
    assert f"{hot} hot" in out
    ((with_mail,),) = tu.db_query(
        srv, "SELECT COUNT(DISTINCT contact_id) FROM emails WHERE workspace_id = ?",
        (t.workspace_id,))
    assert with_mail == hot + warm
