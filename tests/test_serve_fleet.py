#!/usr/bin/env python3
"""test_serve_fleet.py VETO_BINARY TESTDATA_DIR --pg - a fleet of veto
serve processes on one PostgreSQL database.

One writer (default roles) and three `--role matcher --poll-ms 100`
processes, each with its own --data folder, all on the same --db:
  - every hash added through the writer is answered by /m/raw_lookup on
    every matcher (each matcher polled every 20 ms; the max and median lag
    are printed; asserted within VETO_FLEET_LAG_LIMIT s, default 30: see
    LIMIT below; bench/serve/fleet_lag.sh asserts 1 s);
  - a delete stops matching on every matcher; a disable (PUT content
    disable_until_ts=0) takes it out of /m/lookup on every matcher while
    /m/raw_lookup still answers it (as HMA);
  - matchers refuse writes: POST /c/banks and POST /c/bank/B/signal are
    403 with a JSON message (they do not serve the curator role);
  - a matcher stopped with SIGTERM while the writer adds 2000 hashes
    resumes from its snapshot: its "caught up" log line says from_seq =
    the seq it had when it stopped (> 0) and changes = 2000 (the changes
    since, not the total), and it answers all of them;
  - a matcher killed with -9 resumes from its periodic snapshot
    (--snapshot-seconds 1): from_seq > 0, changes = only the ones after it.

Needs PostgreSQL: run it under tests/with_pg.sh with --pg. Without --pg it
says so and exits 2. Stdlib only, helpers in tests/serve_harness.py.
"""
import json
import os
import random
import secrets
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_harness as H  # noqa: E402

POLL = 0.020        # how often the test asks each matcher
# Seconds a change may take to reach every matcher. The service aims at one
# poll (100 ms) and the issue asks for < 1 s, but a unit test must not
# time the machine: under ctest -j and sanitizers a loaded 2-core box can
# stall a process for seconds. So the test asserts that every change gets
# there (within 30 s) and prints the lags; VETO_FLEET_LAG_LIMIT=1 (what
# bench/serve/fleet_lag.sh sets, on a quiet machine) asserts the target.
LIMIT = float(os.environ.get("VETO_FLEET_LAG_LIMIT", "30"))
BANK = "FLEET"


log_since, events = H.log_since, H.events


def start(srv):
    off = len(srv.log_text())
    srv.start(timeout=120)
    return off


def raw_ids(srv, h):
    r = srv.get("/m/raw_lookup?signal_type=pdq&signal=" + h, timeout=10)
    j = r.json()
    if r.status != 200 or not isinstance(j, dict) or not isinstance(j.get("matches"), list):
        H.fail("%s answers /m/raw_lookup" % srv.name, "expected: 200 {\"matches\": [...]}\n"
               "got:      %s" % r.describe())
    return j["matches"]


def lookup_ids(srv, h):
    r = srv.get("/m/lookup?signal_type=pdq&bypass_coinflip=true&signal=" + h, timeout=10)
    j = r.json()
    if r.status != 200 or not isinstance(j, dict):
        H.fail("%s answers /m/lookup" % srv.name, "expected: 200 {bank: [...]}\n"
               "got:      %s" % r.describe())
    return [m.get("bank_content_id") for v in j.values() if isinstance(v, list) for m in v
            if isinstance(m, dict)]


def index_seq(srv):
    """The seq this process's index reflects (/metrics veto_index_seq)."""
    r = srv.get("/metrics")
    for line in r.text.splitlines():
        if line.startswith("veto_index_seq "):
            return int(float(line.split()[1]))
    H.fail("%s: /metrics has veto_index_seq" % srv.name, r.describe())


def add(writer, h):
    r = writer.post("/c/bank/%s/signal" % BANK, json_body={"pdq": h})
    j = r.json()
    if r.status != 200 or not isinstance(j, dict) or not isinstance(j.get("id"), int):
        H.fail("add a hash through the writer", "expected: 200 {\"id\": ...}\n"
               "got:      %s" % r.describe())
    return j["id"]


def add_many(writer, n, threads=4):
    """n random hashes through the writer from `threads` clients: [(id, hash)]."""
    out, lock = [], threading.Lock()
    left = [n]
    errors = []

    def worker():
        while True:
            with lock:
                if left[0] == 0 or errors:
                    return
                left[0] -= 1
            h = secrets.token_hex(32)
            try:
                cid = add(writer, h)
            except SystemExit:
                errors.append(h)
                return
            with lock:
                out.append((cid, h))

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        H.fail("add %d hashes through the writer" % n, "a write failed (see above)")
    return out


def wait_all(matchers, cond, timeout=None):
    """For each matcher, poll cond(srv) every POLL s until true. Returns
    {name: seconds from now until true, or None if never within timeout}."""
    if timeout is None:
        timeout = LIMIT + 5.0
    t0 = time.monotonic()
    res = {}

    def poll(m):
        end = t0 + timeout
        try:
            while True:
                if cond(m):
                    res[m.name] = time.monotonic() - t0
                    return
                if time.monotonic() > end:
                    res[m.name] = None
                    return
                time.sleep(POLL)
        except (SystemExit, Exception) as e:   # H.fail in a thread: report below
            res[m.name] = e

    ts = [threading.Thread(target=poll, args=(m,)) for m in matchers]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    bad = {k: v for k, v in res.items() if isinstance(v, BaseException)}
    if bad:
        H.fail("poll the matchers", "errors: %s" % {k: repr(v) for k, v in bad.items()})
    return res


def summary(lags):
    ok = [x for x in lags if x is not None]
    if not ok:
        return "none arrived"
    return "max %.0f ms, median %.0f ms, min %.0f ms over %d" % (
        max(ok) * 1000, statistics.median(ok) * 1000, min(ok) * 1000, len(ok))


def propagation(writer, matchers, n=50):
    H.note("== propagation: %d adds, then deletes and disables, each polled on every matcher "
           "every %d ms" % (n, POLL * 1000))
    per = {m.name: [] for m in matchers}
    late = []
    added = []
    for i in range(n):
        # a random pause, so adds do not fall at the same point of the
        # matchers' poll cycles (each add is sent right after the last was seen)
        time.sleep(random.uniform(0, 0.15))
        h = secrets.token_hex(32)
        cid = add(writer, h)
        added.append((cid, h))
        res = wait_all(matchers, lambda m: cid in raw_ids(m, h))
        for name, lag in res.items():
            per[name].append(lag)
            if lag is None or lag > LIMIT:
                late.append("add %d (%s) on %s: %s" % (cid, h, name, "never" if lag is None
                                                       else "%.3f s" % lag))
    every = [x for v in per.values() for x in v]
    for name, v in per.items():
        H.note("add -> visible on %s: %s" % (name, summary(v)))
    H.check("each of %d adds is answered by /m/raw_lookup on all %d matchers within %.1f s "
            "(%s)" % (n, len(matchers), LIMIT, summary(every)), not late,
            "expected: every lag <= %.1f s\ngot:      %s" % (LIMIT, "; ".join(late[:8])))

    # deletes
    dels = added[:10]
    lags, late = [], []
    for cid, h in dels:
        time.sleep(random.uniform(0, 0.15))
        r = writer.delete("/c/bank/%s/content/%d" % (BANK, cid))
        if (r.status, r.json()) != (200, {"deleted": 1}):
            H.fail("DELETE content %d through the writer" % cid,
                   "expected: 200 {\"deleted\": 1}\ngot:      %s" % r.describe())
        res = wait_all(matchers, lambda m: cid not in raw_ids(m, h))
        for name, lag in res.items():
            lags.append(lag)
            if lag is None or lag > LIMIT:
                late.append("delete %d on %s: %s" % (cid, name, lag))
    H.check("each of %d deletes stops matching on all matchers within %.1f s (%s)" % (
        len(dels), LIMIT, summary(lags)), not late,
        "expected: every lag <= %.1f s\ngot:      %s" % (LIMIT, "; ".join(late[:8])))

    # disables
    dis = added[10:20]
    before = [(m.name, cid) for cid, h in dis for m in matchers if cid not in lookup_ids(m, h)]
    H.check("before the disables, /m/lookup on every matcher returns the %d contents" % len(dis),
            not before, "expected: all found\ngot:      missing (matcher, id): %s" % before)
    lags, late = [], []
    for cid, h in dis:
        time.sleep(random.uniform(0, 0.15))
        r = writer.put("/c/bank/%s/content/%d" % (BANK, cid), json_body={"disable_until_ts": 0})
        j = r.json()
        if not (r.status == 200 and isinstance(j, dict) and j.get("disable_until_ts") == 0):
            H.fail("PUT content %d disable_until_ts=0 through the writer" % cid,
                   "expected: 200 with disable_until_ts 0\ngot:      %s" % r.describe())
        res = wait_all(matchers, lambda m: cid not in lookup_ids(m, h))
        for name, lag in res.items():
            lags.append(lag)
            if lag is None or lag > LIMIT:
                late.append("disable %d on %s: %s" % (cid, name, lag))
    H.check("each of %d disables leaves /m/lookup on all matchers within %.1f s (%s)" % (
        len(dis), LIMIT, summary(lags)), not late,
        "expected: every lag <= %.1f s\ngot:      %s" % (LIMIT, "; ".join(late[:8])))
    still = [(m.name, cid) for cid, h in dis for m in matchers if cid not in raw_ids(m, h)]
    H.check("the disabled contents are still answered by /m/raw_lookup on every matcher "
            "(as HMA)", not still, "missing from raw_lookup: %s" % still)
    return added, {cid for cid, _ in dels}


def refuse_writes(matchers):
    H.note("== matchers refuse writes")
    for m in matchers:
        H.expect_error("%s: POST /c/banks" % m.name,
                       m.post("/c/banks", json_body={"name": "NOT_HERE"}), 403)
        H.expect_error("%s: POST /c/bank/%s/signal" % (m.name, BANK),
                       m.post("/c/bank/%s/signal" % BANK,
                              json_body={"pdq": secrets.token_hex(32)}), 403)
        H.expect_error("%s: DELETE /c/bank/%s" % (m.name, BANK),
                       m.delete("/c/bank/%s" % BANK), 403)


def answers_all(m, live, gone, label):
    miss = [(cid, h) for cid, h in live if cid not in raw_ids(m, h)]
    extra = [(cid, h) for cid, h in gone if cid in raw_ids(m, h)]
    H.check("%s: %s answers all %d live hashes and none of the %d deleted" % (
        label, m.name, len(live), len(gone)), not miss and not extra,
        "missing %d (first %s); deleted but answered %d (first %s)" % (
            len(miss), miss[:3], len(extra), extra[:3]))


def restarts(writer, matchers, added, deleted):
    m1, m2, m3 = matchers
    live = [(c, h) for c, h in added if c not in deleted]
    gone = [(c, h) for c, h in added if c in deleted]

    H.note("== %s: SIGTERM, 2000 adds while it is down, restart" % m1.name)
    seq_before = index_seq(writer)
    H.eq("%s has applied everything the writer has (seq %d) before it stops" % (
        m1.name, seq_before), index_seq(m1), seq_before)
    off = len(m1.log_text())
    H.eq("%s stops on SIGTERM with exit 0" % m1.name, m1.stop(), 0)
    saved = events(log_since(m1, off), "snapshot saved")
    H.note("%s's snapshots before it stopped: %s" % (
        m1.name, [(e.get("seq"), e.get("why")) for e in events(m1.log_text(), "snapshot saved")
                  ][-3:]))
    t = time.monotonic()
    new = add_many(writer, 2000)
    H.note("2000 adds through the writer in %.1f s" % (time.monotonic() - t))
    last_cid, last_h = new[-1]
    res = wait_all([m2, m3], lambda m: all(cid in raw_ids(m, h) for cid, h in new[-20:]))
    H.note("the last of the 2000 visible on %s" % ", ".join(
        "%s after %s" % (k, "%.0f ms" % (v * 1000) if v is not None else "never")
        for k, v in sorted(res.items())))
    seq_after = index_seq(writer)
    off = start(m1)
    cu = events(log_since(m1, off), "caught up")
    cu = cu[-1] if cu else None
    H.check("%s restarted: caught up %s" % (m1.name, json.dumps(cu)), cu is not None,
            "expected: a \"caught up\" log line\ngot:      %s" % log_since(m1, off)[-800:])
    H.eq("%s resumed from its snapshot's seq, not 0 (from_seq)" % m1.name, cu.get("from_seq"),
         seq_before)
    H.check("from_seq %s > 0" % cu.get("from_seq"), cu.get("from_seq", 0) > 0, "")
    H.eq("%s applied only the changes since (changes)" % m1.name, cu.get("changes"), 2000)
    H.eq("%s caught up to the writer's seq" % m1.name, cu.get("seq"), seq_after)
    if not saved:
        H.note("(no \"snapshot saved\" line at exit: the periodic one already had that seq)")
    live += new
    answers_all(m1, live, gone, "after the restart")

    H.note("== %s: kill -9 after a periodic snapshot, 100 adds, restart" % m2.name)
    seq_now = index_seq(writer)
    t0 = time.monotonic()
    snap = None
    while time.monotonic() - t0 < 10:
        ev = [e for e in events(m2.log_text(), "snapshot saved") if e.get("seq") == seq_now]
        if ev and index_seq(m2) == seq_now:
            snap = ev[-1]
            break
        time.sleep(0.05)
    H.check("%s saved a periodic snapshot at seq %d (%s)" % (m2.name, seq_now, json.dumps(snap)),
            snap is not None, "expected: a \"snapshot saved\" line with seq %d within 10 s\n"
            "got:      %s" % (seq_now, events(m2.log_text(), "snapshot saved")[-3:]))
    m2.kill()
    more = add_many(writer, 100)
    seq_after = index_seq(writer)
    off = start(m2)
    cu = events(log_since(m2, off), "caught up")
    cu = cu[-1] if cu else None
    H.check("%s restarted after kill -9: caught up %s" % (m2.name, json.dumps(cu)),
            cu is not None, "expected: a \"caught up\" log line")
    H.eq("%s resumed from its periodic snapshot (from_seq)" % m2.name, cu.get("from_seq"),
         seq_now)
    H.check("from_seq %s > 0" % cu.get("from_seq"), cu.get("from_seq", 0) > 0, "")
    H.eq("%s applied only the 100 changes since (changes)" % m2.name, cu.get("changes"), 100)
    H.eq("%s caught up to the writer's seq" % m2.name, cu.get("seq"), seq_after)
    live += more
    answers_all(m2, live, gone, "after kill -9 and restart")
    res = wait_all([m1, m3], lambda m: all(cid in raw_ids(m, h) for cid, h in more[-20:]))
    H.check("the 100 adds reached the other matchers too (%s)" % res,
            all(v is not None and v <= LIMIT for v in res.values()), "")


def main():
    if "--pg" not in sys.argv[1:]:
        sys.stderr.write("test_serve_fleet.py: needs PostgreSQL: run it as\n"
                         "  tests/with_pg.sh python3 tests/test_serve_fleet.py VETO_BINARY "
                         "TESTDATA_DIR --pg\n")
        sys.exit(2)
    h = H.parse_args("test_serve_fleet.py")
    db, name = H.new_pg_url()
    H.note("fleet database %s" % name)
    writer = H.Server(h, "writer", ["--snapshot-seconds", "1"], db_url=db)
    writer.start()
    r = writer.post("/c/banks", json_body={"name": BANK})
    H.check("create bank %s through the writer" % BANK, r.status == 201, r.describe())
    matchers = [H.Server(h, "matcher%d" % i, ["--role", "matcher", "--poll-ms", "100",
                                               "--snapshot-seconds", "1"], db_url=db)
                for i in (1, 2, 3)]
    for m in matchers:
        off = start(m)
        ls = events(log_since(m, off), "store open")
        H.check("%s started (%s)" % (m.name, json.dumps(ls[-1]) if ls else "?"), m.alive(), "")
    refuse_writes(matchers)
    added, deleted = propagation(writer, matchers)
    restarts(writer, matchers, added, deleted)
    H.done("test_serve_fleet.py")


if __name__ == "__main__":
    main()
