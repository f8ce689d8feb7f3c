#!/usr/bin/env python3
"""test_serve_authz.py - API keys, roles, bank scopes and rate limits of
`veto serve` (auth on).

    python3 tests/test_serve_authz.py VETO_BINARY TESTDATA_DIR [--pg]

Keys are made with `veto keys create` before the server starts (and one
after, to see that a running server picks it up). Checks:
  - every route x every role (no key, hasher, matcher, curator, admin) gets
    the expected 2xx, or 401 (no/bad key, JSON + WWW-Authenticate) / 403;
  - malformed, unknown and wrong-secret tokens are 401;
  - a key scoped to --banks BANK_A sees only BANK_A (lookups drop other
    banks' matches; other banks are 404, as if they did not exist);
  - a revoked key stops working (about a second later); a rate-limited key gets 429
    with Retry-After and a JSON message, then works again;
  - `--no-auth` refuses a non-loopback --listen;
  - `veto keys list`, the database and the server log never hold a secret.
"""

import glob
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_harness as H  # noqa: E402

PROG = "test_serve_authz.py"
h = H.parse_args(PROG)
work = H.tmp_root()

with open(os.path.join(h.testdata, "pdq", "misc-images", "wee.jpg"), "rb") as f:
    JPEG = f.read()
SIG = H.PDQ_EXAMPLES[0]

srv = H.Server(h, "authz", no_auth=False)
store = srv.store_args()
admin = H.create_key(h, store, "admin", name="the admin")
curator = H.create_key(h, store, "curator")
matcher = H.create_key(h, store, "matcher")
hasher = H.create_key(h, store, "hasher")
scoped_cur = H.create_key(h, store, "curator", banks="BANK_A")
scoped_match = H.create_key(h, store, "matcher", banks="BANK_A")
limited = H.create_key(h, store, "matcher", rate=5)
revokee = H.create_key(h, store, "matcher", name="to be revoked")
ALL_KEYS = [admin, curator, matcher, hasher, scoped_cur, scoped_match, limited, revokee]
srv.start()
H.note("server on port %d" % srv.port)

# ------------------------------------------------------------------ data
for b in ("BANK_A", "BANK_B"):
    r = srv.post("/c/banks", json_body={"name": b}, token=admin.token)
    H.eq("admin creates %s" % b, r.status, 201)
for i, b in enumerate(("BANK_A", "BANK_B")):
    r = srv.post("/c/bank/%s/signal" % b, json_body={"pdq": SIG}, token=admin.token)
    H.expect_json("admin banks the same PDQ in %s -> id %d" % (b, i + 1), r, 200,
                  {"id": i + 1, "signals": {"pdq": SIG}})

# ---------------------------------------------------------- missing/bad keys
LOOKUP = "/m/lookup?signal_type=pdq&signal=" + SIG


def expect_401(label, headers):
    r = srv.get(LOOKUP, headers=headers)
    H.expect_error(label, r, 401)
    H.check("... with WWW-Authenticate: Bearer",
            r.headers.get("www-authenticate", "").lower().startswith("bearer"), r.describe())


expect_401("no Authorization header -> 401", {})
expect_401("Bearer garbage -> 401", {"Authorization": "Bearer garbage"})
expect_401("right key id, wrong secret -> 401",
           {"Authorization": "Bearer veto_%s_%s" % (matcher.key_id, "A" * len(matcher.secret))})
expect_401("right key id, another key's secret -> 401",
           {"Authorization": "Bearer veto_%s_%s" % (matcher.key_id, curator.secret)})
expect_401("right key id, secret with a byte cut -> 401",
           {"Authorization": "Bearer " + matcher.token[:-1]})
expect_401("right key id, empty secret -> 401",
           {"Authorization": "Bearer veto_%s_" % matcher.key_id})
expect_401("unknown key id -> 401",
           {"Authorization": "Bearer veto_000000000000_" + matcher.secret})
expect_401("the token without 'Bearer ' -> 401", {"Authorization": matcher.token})
expect_401("Basic auth -> 401", {"Authorization": "Basic dmV0bzp2ZXRv"})
r = srv.get(LOOKUP, headers={"Authorization": "bearer " + matcher.token})
H.eq("the scheme is case-insensitive ('bearer ...' works)", r.status, 200)
r = srv.get("/status")
H.eq("GET /status needs no key", (r.status, r.body), (200, b"I-AM-ALIVE"))
r = srv.get("/status/live")
H.eq("GET /status/live needs no key", r.status, 200)

# ------------------------------------------------------------ role matrix
ROLES = ["none", "hasher", "matcher", "curator", "admin"]
KEY_OF = {"hasher": hasher, "matcher": matcher, "curator": curator, "admin": admin}


def upload(path, field="photo"):
    body, ct = H.multipart([(field, "wee.jpg", "image/jpeg", JPEG)])
    return ("POST", path, body, {"Content-Type": ct})


def jbody(method, path, obj):
    return (method, path, json.dumps(obj).encode(), {"Content-Type": "application/json"})


ROUTES = [
    # (request builder (role -> (method, path, body, headers)), minimum role, success)
    (lambda role: upload("/h/hash"), "hasher", 200),
    (lambda role: ("GET", "/c/signal_type", None, {}), "hasher", 200),
    (lambda role: ("GET", "/c/content_type", None, {}), "hasher", 200),
    (lambda role: ("GET", LOOKUP, None, {}), "matcher", 200),
    (lambda role: ("GET", "/m/raw_lookup?signal_type=pdq&signal=" + SIG, None, {}),
     "matcher", 200),
    (lambda role: upload("/m/lookup"), "matcher", 200),
    (lambda role: jbody("POST", "/m/compare", {"pdq": [SIG, SIG]}), "matcher", 200),
    (lambda role: ("GET", "/m/index/status", None, {}), "matcher", 200),
    (lambda role: ("GET", "/c/banks", None, {}), "curator", 200),
    (lambda role: ("GET", "/c/bank/BANK_A", None, {}), "curator", 200),
    (lambda role: ("GET", "/c/bank/BANK_A/content/1", None, {}), "curator", 200),
    (lambda role: ("GET", "/c/signal_type/index", None, {}), "curator", 200),
    (lambda role: jbody("POST", "/c/banks", {"name": "BANK_OF_" + role.upper()}), "curator", 201),
    (lambda role: jbody("PUT", "/c/bank/BANK_A", {"enabled_ratio": 1.0}), "curator", 200),
    (lambda role: jbody("POST", "/c/bank/BANK_B/signal", {"pdq": "7" * 64}), "curator", 200),
    (lambda role: jbody("PUT", "/c/bank/BANK_A/content/1", {"disable_until_ts": 1}),
     "curator", 200),
    (lambda role: ("GET", "/metrics", None, {}), "admin", 200),
    (lambda role: jbody("PUT", "/c/signal_type/pdq", {"enabled_ratio": 1.0}), "admin", 204),
]

for build, need, success in ROUTES:
    for role in ROLES:
        method, path, body, headers = build(role)
        hdrs = dict(headers)
        if role != "none":
            hdrs["Authorization"] = "Bearer " + KEY_OF[role].token
        r = srv.req(method, path, body=body, headers=hdrs)
        if role == "none":
            want = 401
        elif ROLES.index(role) >= ROLES.index(need):
            want = success
        else:
            want = 403
        label = "%-7s %s %s -> %d" % (role, method, path.split("?")[0], want)
        if want in (401, 403):
            j = r.json()
            if r.status != want or not isinstance(j, dict) or "message" not in j:
                H.fail(label, "expected: %d with a JSON message\ngot:      %s"
                       % (want, r.describe()))
        elif r.status != want:
            H.fail(label, "expected: %d\ngot:      %s" % (want, r.describe()))
        H.ok(label)

r = srv.get("/metrics", token=admin.token)
H.check("admin's /metrics is Prometheus text",
        r.status == 200 and b"veto_http_requests_total" in r.body
        and b"veto_auth_rejected_total" in r.body, r.describe())

# ------------------------------------------------------------ bank scopes
r = srv.get(LOOKUP, token=admin.token)
H.expect_json("an unscoped key's lookup finds the hash in BANK_A and BANK_B", r, 200,
              {"BANK_A": [{"bank_content_id": 1, "distance": "0"}],
               "BANK_B": [{"bank_content_id": 2, "distance": "0"}]})
for k in (scoped_match, scoped_cur):
    who = "%s scoped to BANK_A" % k.role
    H.expect_json("%s: /m/lookup returns only BANK_A's match" % who,
                  srv.get(LOOKUP, token=k.token), 200,
                  {"BANK_A": [{"bank_content_id": 1, "distance": "0"}]})
    H.expect_json("%s: /m/raw_lookup returns only BANK_A's id" % who,
                  srv.get("/m/raw_lookup?signal_type=pdq&signal=" + SIG, token=k.token), 200,
                  {"matches": [1]})
    H.expect_json("%s: /m/lookup?banks=BANK_B -> {}" % who,
                  srv.get(LOOKUP + "&banks=BANK_B", token=k.token), 200, {})
    r = srv.upload("/m/lookup?bypass_coinflip=true", "photo", "wee.jpg", JPEG, "image/jpeg",
                   token=k.token)
    H.eq("%s: POST /m/lookup works" % who, r.status, 200)
sc = scoped_cur.token
H.expect_json("scoped curator: GET /c/banks lists only BANK_A", srv.get("/c/banks", token=sc),
              200, [{"name": "BANK_A", "matching_enabled_ratio": 1.0}])
H.eq("scoped curator: GET /c/bank/BANK_A -> 200", srv.get("/c/bank/BANK_A", token=sc).status, 200)
H.expect_error("scoped curator: GET /c/bank/BANK_B -> 404", srv.get("/c/bank/BANK_B", token=sc),
               404)
H.expect_error("scoped curator: POST /c/bank/BANK_B/signal -> 404",
               srv.post("/c/bank/BANK_B/signal", json_body={"pdq": "8" * 64}, token=sc), 404)
H.expect_error("scoped curator: POST /c/bank/BANK_B/content (upload) -> 404",
               srv.upload("/c/bank/BANK_B/content", "photo", "wee.jpg", JPEG, "image/jpeg",
                          token=sc), 404)
H.expect_error("scoped curator: GET /c/bank/BANK_B/content/2 -> 404",
               srv.get("/c/bank/BANK_B/content/2", token=sc), 404)
H.expect_error("scoped curator: PUT /c/bank/BANK_B/content/2 -> 404",
               srv.put("/c/bank/BANK_B/content/2", json_body={"disable_until_ts": 0}, token=sc),
               404)
H.expect_error("scoped curator: GET content 2 (BANK_B's) under BANK_A -> 404",
               srv.get("/c/bank/BANK_A/content/2", token=sc), 404)
H.expect_error("scoped curator: PUT /c/bank/BANK_B -> 404",
               srv.put("/c/bank/BANK_B", json_body={"enabled_ratio": 0}, token=sc), 404)
H.expect_error("scoped curator: DELETE /c/bank/BANK_B -> 404",
               srv.delete("/c/bank/BANK_B", token=sc), 404)
r = srv.delete("/c/bank/BANK_B/content/2", token=sc)
H.check("scoped curator: DELETE /c/bank/BANK_B/content/2 -> 404",
        r.status == 404, r.describe())
r = srv.post("/c/banks", json_body={"name": "BANK_Z"}, token=sc)
H.check("scoped curator: POST /c/banks BANK_Z (outside its scope) -> 403",
        r.status == 403 and "message" in r.json(), r.describe())
r = srv.put("/c/bank/BANK_A", json_body={"name": "BANK_Z"}, token=sc)
H.check("scoped curator: renaming BANK_A out of its scope -> 403",
        r.status == 403 and "message" in r.json(), r.describe())
r = srv.get("/c/bank/BANK_B/content/2", token=admin.token)
H.check("... BANK_B and its content are untouched (admin sees them, enabled)",
        r.status == 200 and r.json().get("disable_until_ts") == 1, r.describe())
H.expect_json("... and BANK_B still matches for the admin", srv.get(LOOKUP, token=admin.token),
              200, {"BANK_A": [{"bank_content_id": 1, "distance": "0"}],
                    "BANK_B": [{"bank_content_id": 2, "distance": "0"}]})
H.expect_error("scoped matcher: GET /c/bank/BANK_A -> 403 (role)",
               srv.get("/c/bank/BANK_A", token=scoped_match.token), 403)

# ------------------------------------------------------- keys made later
late = H.create_key(h, store, "curator", name="made while serving")
t0 = time.time()
while time.time() - t0 < 30:
    r = srv.get("/c/banks", token=late.token)
    if r.status == 200:
        break
    time.sleep(0.1)
# the follower refreshes keys every second; the bound is generous because a
# unit test must not time a loaded machine (the figure is printed)
H.check("a key made while the server runs starts working (after %.1f s; ~1 s expected)"
        % (time.time() - t0), r.status == 200, r.describe())
ALL_KEYS.append(late)

# ------------------------------------------------------------------ revoke
r = srv.get(LOOKUP, token=revokee.token)
H.eq("the key to revoke works", r.status, 200)
res = H.keys_cli(h, store, ["revoke", revokee.key_id])
H.check("veto keys revoke %s -> exit 0" % revokee.key_id, res.returncode == 0,
        "exit %d: %s" % (res.returncode, res.stderr))
t0 = time.time()
while time.time() - t0 < 30:
    r = srv.get(LOOKUP, token=revokee.token)
    if r.status == 401:
        break
    time.sleep(0.1)
took = time.time() - t0
H.check("the revoked key gets 401 (after %.2f s; ~1 s expected)" % took, r.status == 401,
        "after %.2f s: %s" % (took, r.describe()))
H.expect_error("... and stays revoked", srv.get(LOOKUP, token=revokee.token), 401)
H.eq("other keys still work", srv.get(LOOKUP, token=matcher.token).status, 200)

# ---------------------------------------------------------------- rate limit
codes = []
retry_ok = True
bad = None
burst = []


def one_request():
    burst.append(srv.get("/m/raw_lookup?signal_type=pdq&signal=" + SIG, token=limited.token))


threads = [threading.Thread(target=one_request) for i in range(30)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for r in burst:
    codes.append(r.status)
    if r.status == 429:
        ra = r.headers.get("retry-after", "")
        j = r.json()
        if not ra.isdigit() or int(ra) < 1 or not isinstance(j, dict) or \
                not isinstance(j.get("message"), str):
            retry_ok = False
            bad = r
n200, n429 = codes.count(200), codes.count(429)
H.check("a burst of 30 concurrent requests on a --rate 5 key: %d x 200, %d x 429"
        % (n200, n429), 5 <= n200 <= 15 and n429 >= 10 and n200 + n429 == 30,
        "statuses: %s" % codes)
H.check("every 429 has Retry-After (seconds >= 1) and a JSON message", retry_ok,
        bad.describe() if bad else "")
H.eq("another key is not throttled meanwhile", srv.get(LOOKUP, token=matcher.token).status, 200)
time.sleep(1.5)
r = srv.get("/m/raw_lookup?signal_type=pdq&signal=" + SIG, token=limited.token)
H.eq("after a pause the rate-limited key works again", r.status, 200)
r = srv.get("/metrics", token=admin.token)
rl = [line for line in r.text.splitlines() if line.startswith("veto_rate_limited_total")]
H.check("/metrics counts the 429s", rl and float(rl[0].split()[-1]) >= n429, "%s" % rl)

# ------------------------------------------------------------- keys list
res = H.keys_cli(h, store, ["list"])
out = res.stdout + res.stderr
H.check("veto keys list -> exit 0", res.returncode == 0, out)
H.check("veto keys list shows every key id",
        all(k.key_id in res.stdout for k in ALL_KEYS), res.stdout)
line = [ln for ln in res.stdout.splitlines() if revokee.key_id in ln]
H.check("veto keys list shows the revoked key as revoked",
        line and "revoked" in line[0], res.stdout)
H.check("veto keys list never shows a secret",
        not any(k.secret in out for k in ALL_KEYS), out)
res = H.keys_cli(h, store, ["list", "--json"])
out = res.stdout + res.stderr
try:
    listed = json.loads(res.stdout)
except ValueError:
    listed = None
H.check("veto keys list --json: one object per key, with key_id and role",
        isinstance(listed, list) and {x.get("key_id") for x in listed}
        >= {k.key_id for k in ALL_KEYS}, out)
H.check("veto keys list --json never shows a secret",
        not any(k.secret in out for k in ALL_KEYS), out)

# ------------------------------------------------------ secrets at rest
if srv.db_url:
    pgbin = os.environ.get("VETO_PG_BIN", "/usr/lib/postgresql/15/bin")
    u = urllib.parse.urlsplit(srv.db_url)
    qs = urllib.parse.parse_qs(u.query)
    dump = subprocess.run([os.path.join(pgbin, "pg_dump"), "-h", qs["host"][0], "-p",
                           qs["port"][0], "-U", u.username or "veto", srv.db_name],
                          capture_output=True, timeout=120)
    H.check("pg_dump of the server's database", dump.returncode == 0, dump.stderr.decode())
    blobs = {"pg_dump": dump.stdout}
    H.check("the dump holds the key ids (sanity)",
            all(k.key_id.encode() in dump.stdout for k in ALL_KEYS), "")
else:
    blobs = {}
    for p in glob.glob(os.path.join(srv.data_dir, "*")):
        if os.path.isfile(p):
            with open(p, "rb") as f:
                blobs[os.path.basename(p)] = f.read()
    H.check("the data folder holds the SQLite database", "veto.db" in blobs, str(list(blobs)))
    allb = b"".join(blobs.values())
    H.check("the database holds the key ids (sanity)",
            all(k.key_id.encode() in allb for k in ALL_KEYS), "")
for name, data in blobs.items():
    leaked = [k.key_id for k in ALL_KEYS if k.secret.encode() in data]
    H.check("%s holds no key secret" % name, not leaked, "secrets of keys %s found" % leaked)
if not srv.db_url:
    modes = {}
    for p in [srv.data_dir] + glob.glob(os.path.join(srv.data_dir, "*")):
        modes[os.path.basename(p) or p] = os.stat(p).st_mode & 0o777
    H.check("the data folder is mode 0700 (docs/serve.md)",
            modes[os.path.basename(srv.data_dir)] == 0o700, "modes: %s" % {
                k: oct(v) for k, v in modes.items()})
    H.check("the files in it are 0600 (bank contents and keys are secrets)",
            all(v & 0o077 == 0 for k, v in modes.items()
                if k != os.path.basename(srv.data_dir)),
            "modes: %s" % {k: oct(v) for k, v in modes.items()})
log = srv.log_text()
H.check("the server log names keys by id (%s)" % admin.key_id, admin.key_id in log, "")
H.check("the server log holds no key secret",
        not any(k.secret in log for k in ALL_KEYS), "")

# ----------------------------------------------------- --no-auth off loopback
for listen in ("0.0.0.0:0", "[::]:0"):
    d = os.path.join(work, "noauth-" + listen.replace(":", "_").replace("[", "").replace("]", ""))
    cmd = [h.veto, "serve", "--no-auth", "--listen", listen, "--data", d,
           "--ready-file", os.path.join(work, "noauth-ready")]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        rc, out = res.returncode, res.stdout + res.stderr
    except subprocess.TimeoutExpired:
        rc, out = None, "still running after 20 s (it served!)"
    H.check("veto serve --no-auth --listen %s refuses to start (exit %s)" % (listen, rc),
            rc not in (None, 0) and "loopback" in out.lower(), out[-800:])

srv.stop()
H.done(PROG)
