"""An import in one process while others read: readers get data (after a wait line) or one busy line,
a second writer gets one busy line, the dashboard answers from the last committed data, and nobody
prints a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

CLI = [sys.executable, "-c", "import sys; from digimeter.cli import main; main()"]


def _big_csv(path: Path, units: list[str], rows: int) -> int:
    years = list(range(1960, 2025))
    n_ind = -(-rows // (len(units) * len(years)))
    Path(str(path) + ".indicators.csv").write_text(
        "code,name,unit,higher_is_better,min_value,max_value\n"
        + "".join(f"conc_{j:03d},Concurrency test {j},index,true,0,1000\n" for j in range(n_ind)))
    with path.open("w") as f:
        f.write("unit,indicator,year,value\n")
        n = 0
        for j in range(n_ind):
            for u in units:
                for y in years:
                    if n < rows:
                        f.write(f"{u},conc_{j:03d},{y},{(n * 7919) % 1000 / 10}\n")
                        n += 1
    return n


def _cli(args, home: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DIGIMETER_HOME": str(home), "COLUMNS": "200", **env})


def test_import_while_others_read(digimeter_home, tmp_path):
    from digimeter.store import Store, store_holder
    from digimeter.web.app import Service

    db = digimeter_home / "digimeter.duckdb"
    with Store(db, read_only=True) as s:
        units = [r[0] for r in s.con.execute("SELECT code FROM units WHERE kind = 'country' ORDER BY code")
                 .fetchall()]
        n_before = s.con.execute("SELECT count(*) FROM observations").fetchone()[0]
    big = tmp_path / "big.csv"
    _big_csv(big, units, 300_000)
    small = tmp_path / "small.csv"
    small.write_text("unit,indicator,year,value\nKAZ,internet_users_pct,2024,88.8\n")
    service = Service(db)                     # the dashboard, started before the import

    writer = subprocess.Popen(CLI + ["data", "import", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "DIGIMETER_HOME": str(digimeter_home)})
    try:
        for _ in range(400):
            if store_holder(db) is not None or writer.poll() is not None:
                break
            time.sleep(0.05)
        held = store_holder(db) is not None
        assert held, "the import never took the store"

        def during(fn, *, at_start=False):   # fn(), and whether the import held the store all the while
            start = writer.poll() is None
            r = fn()
            return r, start if at_start else (start and writer.poll() is None)

        quick, q_held = during(lambda: _cli(["data", "vintages"], digimeter_home, DIGIMETER_STORE_WAIT="0"))
        second, s_held = during(lambda: _cli(["data", "import", str(small)], digimeter_home))   # a second writer

        def served_count():
            service.refresh()                                                       # the dashboard: no error
            with Store(service.read_path, read_only=True) as s:
                return s.con.execute("SELECT count(*) FROM observations").fetchone()[0]

        served, v_held = during(served_count)
        patient, p_held = during(lambda: _cli(["data", "vintages"], digimeter_home), at_start=True)   # waits
    finally:
        out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0 and "Traceback" not in err, err[-2000:]
    for r in (quick, second, patient):
        assert "Traceback" not in r.stderr + r.stdout, r.stderr[-2000:]
    assert q_held, "the import ended before the first reader did; make the file bigger"
    assert quick.returncode == 1 and quick.stderr.strip().count("\n") == 0       # one line
    assert "the store is busy with an import started at" in quick.stderr and "--wait" in quick.stderr
    if s_held:
        assert second.returncode == 1 and "busy with an import started at" in second.stderr
        assert second.stderr.strip().count("\n") == 0
    if v_held:
        assert served == n_before                      # the last committed data, not a half-written import
    assert patient.returncode == 0 and "import of big.csv" in patient.stdout, patient.stdout[-2000:]
    if p_held:   # started while the import ran: it said it waits (unless the import ended before it looked)
        lines = [x for x in patient.stderr.splitlines() if x.strip()]
        assert len(lines) <= 1 and all("the store is busy with an import" in x and "waiting up to" in x
                                       for x in lines), patient.stderr
    r = _cli(["data", "import", str(small), "--wait", "30"], digimeter_home)
    assert r.returncode == 0, r.stderr


def test_busy_store_one_line_and_reader_grace(store_path):
    """A writer's note names it in the one busy line; a store held only by a reader (the dashboard copying
    it) is waited for briefly even by a writer that does not wait."""
    import pytest

    from digimeter.store import Store, StoreBusyError

    hold = ("import sys, time\nfrom digimeter.store import Store\n"
            "s = Store(sys.argv[1], read_only=sys.argv[2] == 'ro'); print('held', flush=True)\n"
            "time.sleep(float(sys.argv[3])); s.close()\n")
    w = subprocess.Popen([sys.executable, "-c", hold, str(store_path), "rw", "3"], stdout=subprocess.PIPE, text=True)
    try:
        assert w.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusyError) as e:
            Store(store_path, read_only=True, wait=0)
        msg = str(e.value)
        assert "\n" not in msg and "busy with another command" in msg and "started at" in msg
        assert f"(pid {w.pid})" in msg and "--wait" in msg
    finally:
        w.wait(30)
    r = subprocess.Popen([sys.executable, "-c", hold, str(store_path), "ro", "1"], stdout=subprocess.PIPE, text=True)
    try:
        assert r.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        s = Store(store_path, wait=0)      # a writer that does not wait: the reader is waited for (< 3 s)
        s.close()
        assert 0.1 < time.monotonic() - t0 < 3.5
    finally:
        r.wait(30)
