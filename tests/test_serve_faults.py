#!/usr/bin/env python3
"""test_serve_faults.py VETO_BINARY TESTDATA_DIR [--pg] - veto serve under
kill -9 and with damaged files.

What a crash may not do: lose a write that was acknowledged, leave half of
one behind, or break the change sequence. Four client threads POST random
PDQ hashes (each with a note) to /c/bank/B/signal as fast as the server
takes them; after about 2 s the server gets SIGKILL mid-stream. After the
restart, on the same data folder and database:
  - every acknowledged write (200) is there with exactly its hash and note
    (GET /c/bank/B/content/<id>?include_signals=true) and the index finds
    it (/m/raw_lookup);
  - every content the bank lists (/v1/banks/B/entries, or ids 1..max by
    GET when /v1 is missing) is whole: a valid PDQ hash that one of the
    clients sent, with the note sent with it (unacknowledged writes may or
    may not be there, but never in part);
  - the change feed (/v1/banks/B/changes?since=0, paged) has strictly
    increasing seqs and names every acknowledged id.
Three kills in a row (restart, write more, kill again). Then a kill -9
while the matcher snapshot is being written (a watcher process sends
SIGKILL the moment <data>/matcher.snap.tmp.* appears, until one kill
leaves a half-written temporary file behind): the restart must work and
the index answer every acknowledged hash. Then damaged files: veto.db
overwritten in the middle or truncated (SQLite only) must stop the start
with a non-zero exit and a message naming the file; matcher.snap with one
bit flipped, its header overwritten, truncated or emptied must stop it
with a message naming the snapshot and suggesting --rebuild-index, and
with --rebuild-index it starts, answers every hash and writes a snapshot
that the next start loads.

--pg: the store is PostgreSQL (a fresh database per scenario in the
cluster of tests/with_pg.sh); the SQLite-file damage cases are skipped.
Stdlib only, helpers in tests/serve_harness.py. One line per check; on the
first failure: expected and got, the server logs' tails, exit 1.
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_harness as H  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def short(v, n=300):
    s = json.dumps(v) if not isinstance(v, str) else v
    return s if len(s) <= n else s[:n] + "..."


# ------------------------------------------------------------ helpers


log_since, events = H.log_since, H.events


def start(srv, extra=()):
    """Start srv (with extra options this time only). Returns the offset in
    its log where this run begins."""
    off = len(srv.log_text())
    saved = srv.extra
    srv.extra = saved + list(extra)
    try:
        srv.start(timeout=120)
    finally:
        srv.extra = saved
    return off


def caught_up(srv, off):
    ev = events(log_since(srv, off), "caught up")
    return ev[-1] if ev else None


def lookup_ids(srv, h):
    r = srv.get("/m/raw_lookup?signal_type=pdq&signal=" + h, timeout=30)
    j = r.json()
    if r.status != 200 or not isinstance(j, dict):
        return None, r
    return j.get("matches", []), r


class Writes:
    """What the clients sent (hash -> note) and what was acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}          # hash -> note, every attempt
        self.acked = {}         # id -> (hash, note)
        self.errors = {}        # unexpected answers -> count
        self.bad_acks = []      # 200s whose body did not echo the hash

    def flood(self, srv, bank, seconds=None, stop=None, threads=4):
        """POST /c/bank/<bank>/signal from `threads` threads until `stop`
        is set (or `seconds` pass). Returns how many were acknowledged."""
        stop = stop or threading.Event()
        before = len(self.acked)
        port = srv.port

        def worker(k):
            while not stop.is_set():
                h = secrets.token_hex(32)
                n = "t%d-%s" % (k, secrets.token_hex(6))
                with self.lock:
                    self.sent[h] = n
                try:
                    r = H.http_request(port, "POST", "/c/bank/%s/signal" % bank,
                                       body=json.dumps({"pdq": h, "note": n}).encode(),
                                       headers={"Content-Type": "application/json"},
                                       timeout=30)
                except Exception:
                    if stop.is_set() or not srv.alive():
                        break
                    time.sleep(0.005)
                    continue
                j = r.json()
                with self.lock:
                    if r.status == 200 and isinstance(j, dict) and isinstance(j.get("id"), int):
                        if (j.get("signals") or {}).get("pdq") != h:
                            self.bad_acks.append((h, j))
                        self.acked[j["id"]] = (h, n)
                    else:
                        key = "%d %s" % (r.status, j.get("message") if isinstance(j, dict)
                                         else r.text[:80])
                        self.errors[key] = self.errors.get(key, 0) + 1

        ts = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(threads)]
        for t in ts:
            t.start()
        if seconds is not None:
            time.sleep(seconds)
            stop.set()
        for t in ts:
            t.join(60)
        return len(self.acked) - before


def v1_pages(srv, path, cursor_name, list_name, next_of):
    """Every item of a paged /v1 listing (limit 10000), or None if this
    build has no such route (404 "no such endpoint")."""
    items, cursor = [], 0
    for _ in range(100000):
        r = srv.get("%s?%s=%d&limit=10000" % (path, cursor_name, cursor))
        body = r.json()
        if r.status == 404 and isinstance(body, dict) and "no such endpoint" in str(
                body.get("message", "")):
            return None
        if r.status != 200 or not isinstance(body, dict) or not isinstance(
                body.get(list_name), list):
            H.fail("GET %s pages" % path, "expected: 200 {\"%s\": [...], ...}\ngot:      %s" % (
                list_name, r.describe()))
        items += body[list_name]
        nxt = next_of(body)
        if nxt is None or nxt <= cursor or not body[list_name]:
            break
        cursor = nxt
    return items


def v1_entries(srv, bank):
    """GET /v1/banks/B/entries?after=A&limit=N: {"entries": [...], "next_after": id|null}"""
    return v1_pages(srv, "/v1/banks/%s/entries" % bank, "after", "entries",
                    lambda b: b.get("next_after") if isinstance(b.get("next_after"), int)
                    else None)


def v1_changes(srv, bank):
    """GET /v1/banks/B/changes?since=S&limit=N: {"changes": [...], "next_since": S,
    "more": bool}"""
    return v1_pages(srv, "/v1/banks/%s/changes" % bank, "since", "changes",
                    lambda b: b.get("next_since") if b.get("more") else None)


def signals_of(entry):
    """{type: value} from an entry, whether signals is an object or a list."""
    s = entry.get("signals")
    if isinstance(s, dict):
        return s
    out = {}
    for x in s if isinstance(s, list) else []:
        if isinstance(x, dict):
            t = x.get("type") or x.get("signal_type")
            if t:
                out[t] = x.get("value", x.get("signal"))
    return out


def check_acked_present(srv, bank, w, label):
    missing, wrong = [], []
    for cid, (h, n) in sorted(w.acked.items()):
        r = srv.get("/c/bank/%s/content/%d?include_signals=true" % (bank, cid))
        j = r.json()
        if r.status != 200 or not isinstance(j, dict):
            missing.append("%d: %s" % (cid, r.describe()))
            continue
        if j.get("signals") != {"pdq": h} or j.get("note") != n:
            wrong.append("%d: expected %s, got %s" % (
                cid, short({"signals": {"pdq": h}, "note": n}),
                short({"signals": j.get("signals"), "note": j.get("note")})))
    H.check("%s: all %d acknowledged writes are there with exactly their hash and note" % (
        label, len(w.acked)), not missing and not wrong,
        "missing %d, wrong %d; first ones:\n%s" % (
            len(missing), len(wrong), "\n".join((missing + wrong)[:5])))


def check_index_answers(srv, w, label):
    unmatched = []
    for cid, (h, _) in sorted(w.acked.items()):
        ids, r = lookup_ids(srv, h)
        if ids is None or cid not in ids:
            unmatched.append("%d (%s): %s" % (cid, h, r.describe()))
    H.check("%s: /m/raw_lookup finds each of the %d acknowledged hashes under its id" % (
        label, len(w.acked)), not unmatched,
        "%d not found; first ones:\n%s" % (len(unmatched), "\n".join(unmatched[:5])))


def check_whole(srv, bank, w, label):
    entries = v1_entries(srv, bank)
    how = "/v1/banks/%s/entries" % bank
    if entries is None:
        # no /v1: ids 1..max by GET (ids are global: 404 for other banks)
        how = "GET content of ids 1..max"
        entries = []
        top = max(w.acked) if w.acked else 0
        cid, misses = 1, 0
        while cid <= top or misses < 64:
            r = srv.get("/c/bank/%s/content/%d?include_signals=true" % (bank, cid))
            if r.status == 200:
                entries.append(r.json())
                misses = 0
            else:
                misses += 1
            cid += 1
    bad, ids = [], set()
    for e in entries:
        cid = e.get("id") if isinstance(e, dict) else None
        ids.add(cid)
        sig = signals_of(e) if isinstance(e, dict) else {}
        h = sig.get("pdq")
        if set(sig) != {"pdq"} or not isinstance(h, str) or not HEX64.match(h):
            bad.append("%s: signals %s" % (cid, short(sig)))
        elif h not in w.sent:
            bad.append("%s: hash %s that no client sent" % (cid, h))
        elif e.get("note") != w.sent[h]:
            bad.append("%s: note %r, but %r was sent with its hash" % (
                cid, e.get("note"), w.sent[h]))
        elif cid in w.acked and w.acked[cid][0] != h:
            bad.append("%s: hash of another write" % cid)
    lost = sorted(set(w.acked) - ids)
    H.check("%s: the %d contents listed (%s) are whole, %d of them unacknowledged writes" % (
        label, len(entries), how, len(ids - set(w.acked))), not bad and not lost,
        "every content a hash that was sent, with its note; every acknowledged id listed\n"
        "bad %d: %s\nacknowledged but not listed %d: %s" % (
            len(bad), "; ".join(bad[:4]), len(lost), lost[:8]))


def check_changes(srv, bank, w, label):
    changes = v1_changes(srv, bank)
    if changes is None:
        H.note("%s: this build has no /v1/banks/%s/changes: seq order not checked" % (
            label, bank))
        return
    seqs = [c.get("seq") if isinstance(c, dict) else None for c in changes]
    brk = next(((i, a, b) for i, (a, b) in enumerate(zip(seqs, seqs[1:]))
                if not (isinstance(a, int) and isinstance(b, int) and a < b)), None)
    H.check("%s: the bank's change feed (%d changes, seq %s..%s) is strictly increasing" % (
        label, len(seqs), seqs[0] if seqs else "-", seqs[-1] if seqs else "-"),
        brk is None and all(isinstance(s, int) for s in seqs),
        "strictly increasing integer seqs; first break at %s" % (brk,))
    named = set()
    for c in changes:
        if not isinstance(c, dict):
            continue
        for k in ("content_id", "id"):
            if isinstance(c.get(k), int):
                named.add(c[k])
                break
        inner = c.get("content") or c.get("entry")
        if isinstance(inner, dict) and isinstance(inner.get("id"), int):
            named.add(inner["id"])
    missing = sorted(set(w.acked) - named)
    H.check("%s: the change feed names every acknowledged id" % label, not missing,
            "%d missing, first: %s; a change looks like %s" % (
                len(missing), missing[:8], short(changes[-1] if changes else None)))


def verify(srv, bank, w, label):
    check_acked_present(srv, bank, w, label)
    check_index_answers(srv, w, label)
    check_whole(srv, bank, w, label)
    check_changes(srv, bank, w, label)


def create_bank(srv, bank):
    r = srv.post("/c/banks", json_body={"name": bank})
    H.check("create bank %s" % bank, r.status == 201, "expected: 201\ngot:      %s" %
            r.describe())


# ------------------------------------------------------------ scenarios


def kill_loop(h):
    H.note("== kill -9 in the middle of a stream of writes, three times in a row")
    srv = H.Server(h, "kill", ["--snapshot-seconds", "1"])
    start(srv)
    bank = "KILL_LOOP"
    create_bank(srv, bank)
    w = Writes()
    for rnd in (1, 2, 3):
        stop = threading.Event()
        before = len(w.acked)
        t = threading.Thread(target=w.flood, args=(srv, bank), kwargs={"stop": stop})
        t.start()
        time.sleep(2.0)
        srv.kill()
        stop.set()
        t.join(60)
        got = len(w.acked) - before
        H.check("round %d: %d writes acknowledged in ~2 s, then kill -9 (%d sent in all)" % (
            rnd, got, len(w.sent)), got > 0, "no write was acknowledged: %s" % w.errors)
        if w.errors:
            H.note("answers other than 200 to writes so far: %s" % w.errors)
        H.check("round %d: every 200 echoed the hash it stored" % rnd, not w.bad_acks,
                str(w.bad_acks[:3]))
        off = start(srv)
        H.note("restart %d: %s" % (rnd, short(caught_up(srv, off))))
        verify(srv, bank, w, "after kill %d" % rnd)
    srv.stop()


WATCH = r'''
import os, signal, sys, time
d, pid, end = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while time.time() < end:
    for n in os.listdir(d):
        if n.startswith("matcher.snap.tmp"):
            os.kill(pid, signal.SIGKILL)
            print(n)
            sys.exit(0)
sys.exit(1)
'''


def snapshot_kill(h):
    H.note("== kill -9 while the snapshot is being written")
    srv = H.Server(h, "snapkill", ["--snapshot-seconds", "1"])
    start(srv)
    bank = "SNAP_KILL"
    create_bank(srv, bank)
    w = Writes()
    n = w.flood(srv, bank, seconds=4)   # a bigger index takes longer to save
    H.note("preloaded %d hashes" % n)
    data = srv.data_dir
    caught = False
    leftover = []
    for attempt in range(1, 11):
        stop = threading.Event()
        t = threading.Thread(target=w.flood, args=(srv, bank), kwargs={"stop": stop})
        t.start()
        watcher = subprocess.run([sys.executable, "-c", WATCH, data, str(srv.proc.pid), "15"],
                                 stdout=subprocess.PIPE, text=True)
        stop.set()
        srv.kill()
        t.join(60)
        left = sorted(x for x in os.listdir(data) if x.startswith("matcher.snap.tmp"))
        if watcher.returncode != 0:
            H.note("attempt %d: no snapshot was started within 15 s" % attempt)
        elif left:
            caught = True
            leftover = left
            H.note("attempt %d: SIGKILL while %s was being written (left behind: %s, %d "
                   "bytes; matcher.snap %s)" % (
                       attempt, watcher.stdout.strip(), ", ".join(left),
                       os.path.getsize(os.path.join(data, left[-1])),
                       "%d bytes" % os.path.getsize(os.path.join(data, "matcher.snap"))
                       if os.path.exists(os.path.join(data, "matcher.snap")) else "absent"))
        else:
            H.note("attempt %d: the snapshot was renamed before the kill landed" % attempt)
        off = start(srv)
        H.check("attempt %d: the restart after kill -9 works (%s)" % (
            attempt, short(caught_up(srv, off))), srv.alive(), "")
        if caught:
            break
    H.check("one kill landed while a snapshot was half written", caught,
            "expected: a matcher.snap.tmp.* left behind\ngot:      none in 10 attempts")
    check_index_answers(srv, w, "after the kill mid-snapshot")
    check_acked_present(srv, bank, w, "after the kill mid-snapshot")
    still = [x for x in leftover if os.path.exists(os.path.join(data, x))]
    H.check("the restart removed the half-written %s" % ", ".join(leftover), not still,
            "expected: gone (each crash mid-snapshot would otherwise leave up to a whole "
            "snapshot's worth of bank hashes on disk, forever)\ngot:      %s still there" %
            ", ".join(still))
    srv.stop()
    off = start(srv)
    cu = caught_up(srv, off)
    H.check("the next clean start loads the exit snapshot (%s)" % short(cu),
            cu is not None and cu.get("from_seq", 0) > 0, "expected: from_seq > 0")
    check_index_answers(srv, w, "after a clean restart")
    srv.stop()


def flip_bit(path, where):
    with open(path, "r+b") as f:
        f.seek(where)
        b = f.read(1)
        f.seek(where)
        f.write(bytes([b[0] ^ 0x10]))


def overwrite(path, where, data):
    with open(path, "r+b") as f:
        f.seek(where)
        f.write(data)


def truncate(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)


def expect_refusal(srv, what, names, also=None):
    """srv must exit non-zero before it is ready, saying one of `names`
    (and `also`)."""
    off = len(srv.log_text())
    cmd = srv.command()
    if os.path.exists(srv.ready_file):
        os.unlink(srv.ready_file)
    with open(srv.log_path, "ab") as log:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        rc = p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        H.fail("%s: refused at start" % what, "expected: a non-zero exit\ngot:      still "
               "running after 60 s%s" % (" (it serves)" if os.path.exists(srv.ready_file)
                                         else ""))
    text = log_since(srv, off)
    said = [l for l in text.splitlines() if l.startswith("veto serve:")]
    named = any(n in text for n in names)
    H.check("%s: start refused, exit %d: %s" % (what, rc, said[-1] if said else text.strip()),
            rc != 0 and named and (also is None or also in text),
            "expected: a non-zero exit and a message naming %s%s\ngot:      exit %d, %r" % (
                names[0], " and saying %s" % also if also else "", rc, text.strip()[-500:]))


def damaged_files(h):
    H.note("== damaged files")
    srv = H.Server(h, "damage", ["--snapshot-seconds", "1"])
    start(srv)
    bank = "DAMAGED"
    create_bank(srv, bank)
    w = Writes()
    w.flood(srv, bank, seconds=3)
    H.check("%d hashes stored, then a clean stop" % len(w.acked), srv.stop() == 0, "")
    data = srv.data_dir
    dbfile = os.path.join(data, "veto.db")
    snap = os.path.join(data, "matcher.snap")
    H.check("the exit snapshot %s exists" % snap, os.path.exists(snap), "")
    saved = data + "-saved"
    shutil.copytree(data, saved)

    def restore():
        shutil.rmtree(data)
        shutil.copytree(saved, data)

    if not h.pg:
        size = os.path.getsize(dbfile)
        wal = dbfile + "-wal"
        H.note("veto.db is %d bytes; %s" % (size, "veto.db-wal %d bytes" % os.path.getsize(wal)
                                             if os.path.exists(wal) else "no -wal file left"))
        names = [dbfile, os.path.realpath(dbfile)]
        page = 4096
        mid = (size // 2) // page * page
        cases = [
            ("veto.db with 3 pages of random bytes in the middle",
             lambda: overwrite(dbfile, mid, os.urandom(3 * page))),
            ("veto.db with a page's header zeroed in the middle",
             lambda: overwrite(dbfile, mid, bytes(16))),
            ("veto.db truncated to half", lambda: truncate(dbfile, size // 2)),
            ("veto.db truncated to 1000 bytes", lambda: truncate(dbfile, 1000)),
            ("veto.db with its 100-byte header overwritten",
             lambda: overwrite(dbfile, 0, os.urandom(100))),
        ]
        for what, damage in cases:
            damage()
            expect_refusal(srv, what, names)
            restore()
        start(srv)
        check_index_answers(srv, w, "with veto.db restored")
        srv.stop()
        restore()
    else:
        H.note("--pg: the SQLite file damage cases do not apply")

    ssize = os.path.getsize(snap)
    H.note("matcher.snap is %d bytes" % ssize)
    snames = [snap, os.path.realpath(snap)]
    cases = [
        ("matcher.snap with one bit flipped in the middle", lambda: flip_bit(snap, ssize // 2)),
        ("matcher.snap with one bit flipped in its last byte",
         lambda: flip_bit(snap, ssize - 1)),
        ("matcher.snap with its first 64 bytes overwritten",
         lambda: overwrite(snap, 0, os.urandom(64))),
        ("matcher.snap truncated to half", lambda: truncate(snap, ssize // 2)),
        ("matcher.snap one byte short", lambda: truncate(snap, ssize - 1)),
        ("matcher.snap emptied (0 bytes)", lambda: truncate(snap, 0)),
    ]
    for i, (what, damage) in enumerate(cases):
        damage()
        expect_refusal(srv, what, snames, "--rebuild-index")
        if i in (0, 3, 5):
            off = start(srv, ["--rebuild-index"])
            cu = caught_up(srv, off)
            H.check("%s, --rebuild-index: starts and replays from seq 0 (%s)" % (
                what, short(cu)), cu is not None and cu.get("from_seq") == 0,
                "expected: caught up from_seq 0")
            check_index_answers(srv, w, "%s, --rebuild-index" % what)
            srv.stop()
            off = start(srv)
            cu = caught_up(srv, off)
            H.check("the snapshot --rebuild-index wrote loads at the next start (%s)" % short(cu),
                    cu is not None and cu.get("from_seq", 0) > 0, "expected: from_seq > 0")
            srv.stop()
        restore()


def main():
    h = H.parse_args("test_serve_faults.py")
    H.note("backend: %s" % ("PostgreSQL (a fresh database per scenario)" if h.pg else "SQLite"))
    kill_loop(h)
    snapshot_kill(h)
    damaged_files(h)
    H.done("test_serve_faults.py")


if __name__ == "__main__":
    main()
