"""serve_harness.py - shared helpers for the `veto serve` tests.

Standard library only (Debian 12's python3): no requests, no pytest.

Each test program is run as

    python3 tests/test_X.py VETO_BINARY TESTDATA_DIR [--pg]

and uses this module to
  - start and stop `veto serve` processes (port 0, --ready-file, a fresh
    data folder each; with --pg a fresh PostgreSQL database each, made in
    the cluster that tests/with_pg.sh describes in VETO_TEST_PG_URL);
  - talk HTTP to them (http.client, one connection per request) and send
    raw bytes when a test needs malformed requests;
  - encode multipart/form-data bodies;
  - create and revoke API keys with the CLI;
  - make test images and hash them with `veto hash --json`;
  - report checks: one line per check, and on the first failure a clear
    "expected ... got ..." message, the tail of the server logs, and a
    non-zero exit.
"""

import atexit
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

# ------------------------------------------------------------------ args


class Args:
    def __init__(self, veto, testdata, pg):
        self.veto = veto
        self.testdata = testdata
        self.pg = pg


def parse_args(prog):
    argv = sys.argv[1:]
    pg = "--pg" in argv
    rest = [a for a in argv if a != "--pg"]
    if len(rest) != 2:
        sys.stderr.write("usage: python3 %s VETO_BINARY TESTDATA_DIR [--pg]\n" % prog)
        sys.exit(2)
    veto = os.path.abspath(rest[0])
    testdata = os.path.abspath(rest[1])
    if not os.access(veto, os.X_OK):
        sys.stderr.write("%s: %s is not an executable\n" % (prog, veto))
        sys.exit(2)
    if not os.path.isdir(testdata):
        sys.stderr.write("%s: test data directory %s is missing\n" % (prog, testdata))
        sys.exit(2)
    if pg and not os.environ.get("VETO_TEST_PG_URL"):
        sys.stderr.write("%s: --pg needs VETO_TEST_PG_URL (run under tests/with_pg.sh)\n" % prog)
        sys.exit(2)
    return Args(veto, testdata, pg)


# --------------------------------------------------------------- checks

_servers = []
_tmp_root = None
_failed = False


def tmp_root():
    global _tmp_root
    if _tmp_root is None:
        _tmp_root = tempfile.mkdtemp(prefix="veto-serve-test-")
    return _tmp_root


def _cleanup():
    for s in list(_servers):
        try:
            s.kill()
        except Exception:
            pass
    if _tmp_root and os.path.isdir(_tmp_root):
        if _failed or os.environ.get("VETO_TEST_KEEP"):
            sys.stderr.write("(test files kept in %s)\n" % _tmp_root)
        else:
            shutil.rmtree(_tmp_root, ignore_errors=True)


atexit.register(_cleanup)


def _excepthook(kind, value, tb):
    """An unexpected exception is a failed check too: say so, show the
    server logs, exit non-zero."""
    global _failed
    if kind is SystemExit:
        return
    import traceback
    _failed = True
    print("FAIL %d - unexpected error in the test: %s: %s" % (_count[0] + 1, kind.__name__, value),
          flush=True)
    for line in "".join(traceback.format_exception(kind, value, tb)).rstrip().split("\n"):
        print("    " + line, flush=True)
    for srv in _servers:
        tail = srv.log_tail(25)
        if tail:
            print("    --- last lines of the log of server %s ---" % srv.name, flush=True)
            for line in tail:
                print("    " + line, flush=True)
    sys.stdout.flush()


sys.excepthook = _excepthook


def _short(v, limit=600):
    if isinstance(v, (bytes, bytearray)):
        v = bytes(v)
        s = repr(v[:limit])
        if len(v) > limit:
            s += "... (%d bytes)" % len(v)
        return s
    s = v if isinstance(v, str) else json.dumps(v, sort_keys=True) if _jsonable(v) else repr(v)
    if len(s) > limit:
        s = s[:limit] + "... (%d chars)" % len(s)
    return s


def _jsonable(v):
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


_count = [0]


def ok(name):
    _count[0] += 1
    print("ok %d - %s" % (_count[0], name), flush=True)


def note(text):
    print("# " + text, flush=True)


def fail(name, detail=""):
    global _failed
    _failed = True
    _count[0] += 1
    print("FAIL %d - %s" % (_count[0], name), flush=True)
    if detail:
        for line in detail.rstrip("\n").split("\n"):
            print("    " + line, flush=True)
    for s in _servers:
        tail = s.log_tail(25)
        if tail:
            print("    --- last lines of the log of server %s ---" % s.name, flush=True)
            for line in tail:
                print("    " + line, flush=True)
    sys.exit(1)


def check(name, cond, detail=""):
    if cond:
        ok(name)
    else:
        fail(name, detail)


def eq(name, got, expected):
    if got == expected and _same_types(got, expected):
        ok(name)
    else:
        fail(name, "expected: %s\ngot:      %s" % (_short(expected), _short(got)))


def done(prog):
    print("# %s: all %d checks passed" % (prog, _count[0]), flush=True)
    for s in list(_servers):
        s.stop()
    sys.exit(0)


# ------------------------------------------------------------------ HTTP


class Response:
    def __init__(self, status, headers, body, reason=""):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        self.reason = reason

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return _NotJSON(self.body)

    def describe(self):
        return "HTTP %d, Content-Type %s, body %s" % (
            self.status, self.headers.get("content-type"), _short(self.body))


class _NotJSON:
    def __init__(self, body):
        self.body = body

    def __repr__(self):
        return "<not JSON: %r>" % (self.body[:300],)

    def __eq__(self, other):
        return False

    def get(self, key, default=None):
        return default

    def __contains__(self, key):
        return False

    def __iter__(self):
        return iter(())


def http_request(port, method, path, body=None, headers=None, timeout=120, host="127.0.0.1"):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return Response(r.status, hdrs, data, r.reason)
    finally:
        conn.close()


def raw_exchange(port, data, read_timeout=15, source=None, shutdown_write=False):
    """Send raw bytes, read until the server closes or a whole response
    (headers + Content-Length body) arrived. Returns (status or None, bytes)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    s.settimeout(read_timeout)
    s.connect(("127.0.0.1", port))
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if shutdown_write:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        buf = b""
        deadline = time.time() + read_timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
            st, complete = _parse_raw(buf)
            if complete:
                break
        st, _ = _parse_raw(buf)
        return st, buf
    finally:
        s.close()


def _parse_raw(buf):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
    if not m:
        return None, False
    status = int(m.group(1))
    he = buf.find(b"\r\n\r\n")
    if he < 0:
        return status, False
    head = buf[:he].decode("latin-1")
    cl = re.search(r"(?im)^content-length:\s*(\d+)", head)
    if cl and len(buf) - he - 4 >= int(cl.group(1)):
        return status, True
    return status, False


def raw_body(buf):
    he = buf.find(b"\r\n\r\n")
    return buf[he + 4:] if he >= 0 else b""


def raw_headers(buf):
    he = buf.find(b"\r\n\r\n")
    head = buf[:he if he >= 0 else len(buf)].decode("latin-1")
    out = {}
    for line in head.split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


def multipart(fields, boundary=None):
    """fields: list of (name, filename or None, content_type or None, bytes).
    Returns (body, content_type)."""
    boundary = boundary or ("vetoTestBoundary" + uuid.uuid4().hex)
    out = bytearray()
    for name, filename, ctype, data in fields:
        if isinstance(data, str):
            data = data.encode("utf-8")
        out += b"--" + boundary.encode() + b"\r\n"
        disp = 'Content-Disposition: form-data; name="%s"' % name
        if filename is not None:
            disp += '; filename="%s"' % filename
        out += disp.encode() + b"\r\n"
        if ctype:
            out += ("Content-Type: %s\r\n" % ctype).encode()
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return bytes(out), "multipart/form-data; boundary=" + boundary


def q(params):
    return urllib.parse.urlencode(params)


# --------------------------------------------------------------- servers

_db_counter = [0]


def new_pg_url():
    """A fresh database in the test cluster (tests/with_pg.sh)."""
    base = os.environ["VETO_TEST_PG_URL"]
    u = urllib.parse.urlsplit(base)
    qs = urllib.parse.parse_qs(u.query)
    host = qs.get("host", [os.environ.get("VETO_TEST_PG_SOCKET", "")])[0]
    port = qs.get("port", [os.environ.get("VETO_TEST_PG_PORT", "5432")])[0]
    user = u.username or "veto"
    _db_counter[0] += 1
    name = "vt_%d_%d_%d" % (os.getpid(), int(time.time()) % 100000, _db_counter[0])
    pgbin = os.environ.get("VETO_PG_BIN", "/usr/lib/postgresql/15/bin")
    createdb = os.path.join(pgbin, "createdb")
    if not os.access(createdb, os.X_OK):
        createdb = shutil.which("createdb") or createdb
    r = subprocess.run([createdb, "-h", host, "-p", str(port), "-U", user, name],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("create a PostgreSQL database for this server",
             "%s failed: %s" % (createdb, r.stderr.strip()))
    return urllib.parse.urlunsplit((u.scheme, u.netloc.split("/")[0], "/" + name, u.query, "")), name


class Server:
    """One `veto serve` process with its own data folder (and database)."""

    def __init__(self, h, name, extra=(), no_auth=True, db_url=None, data_dir=None,
                 listen="127.0.0.1:0"):
        self.h = h
        self.name = name
        self.extra = list(extra)
        self.no_auth = no_auth
        self.listen = listen
        self.data_dir = data_dir or os.path.join(tmp_root(), "data-" + name)
        self.db_name = None
        if db_url is None and h.pg:
            db_url, self.db_name = new_pg_url()
        self.db_url = db_url
        self.log_path = os.path.join(tmp_root(), "log-%s.txt" % name)
        self.proc = None
        self.port = None

    def store_args(self):
        a = ["--data", self.data_dir]
        if self.db_url:
            a += ["--db", self.db_url]
        return a

    def command(self):
        ready = os.path.join(tmp_root(), "ready-" + self.name)
        self.ready_file = ready
        cmd = [self.h.veto, "serve", "--listen", self.listen, "--ready-file", ready]
        cmd += self.store_args()
        if self.no_auth:
            cmd.append("--no-auth")
        return cmd + self.extra

    def start(self, timeout=60):
        cmd = self.command()
        if os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf)
        if self not in _servers:
            _servers.append(self)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail("server %s starts" % self.name,
                     "veto serve exited with status %d before it was ready\ncommand: %s"
                     % (self.proc.returncode, " ".join(cmd)))
            if os.path.exists(self.ready_file):
                txt = open(self.ready_file).read().strip()
                if txt.isdigit():
                    self.port = int(txt)
                    break
            time.sleep(0.02)
        else:
            fail("server %s starts" % self.name, "no ready file after %d s" % timeout)
        return self

    def req(self, method, path, body=None, headers=None, json_body=None, token=None,
            timeout=120):
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if token:
            hdrs["Authorization"] = "Bearer " + token
        return http_request(self.port, method, path, body=body, headers=hdrs, timeout=timeout)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, **kw):
        return self.req("POST", path, **kw)

    def put(self, path, **kw):
        return self.req("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)

    def upload(self, path, field, filename, data, ctype="application/octet-stream",
               token=None, extra_fields=()):
        body, ct = multipart([(field, filename, ctype, data)] + list(extra_fields))
        return self.req("POST", path, body=body, headers={"Content-Type": ct}, token=token)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n):
        return self.log_text().splitlines()[-n:]

    def stop(self, check_clean=True):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                if check_clean:
                    fail("server %s stops on SIGTERM" % self.name, "still running after 30 s")
        rc = self.proc.returncode
        if self in _servers:
            _servers.remove(self)
        if not self.logf.closed:
            self.logf.close()
        if check_clean and rc != 0:
            fail("server %s stops cleanly" % self.name, "exit status %s" % rc)
        return rc

    def kill(self):
        """SIGKILL (no clean stop); the Server may be started again."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self in _servers:
            _servers.remove(self)
        if getattr(self, "logf", None) and not self.logf.closed:
            self.logf.close()



def log_since(srv, offset):
    """The server's log written after byte `offset` of it."""
    return srv.log_text()[offset:]


def events(text, msg):
    """The JSON log lines of `text` whose "msg" is `msg`, as dicts."""
    out = []
    for line in text.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if isinstance(o, dict) and o.get("msg") == msg:
            out.append(o)
    return out


def expect_status_alive(srv, label):
    """The server process is up and /status answers I-AM-ALIVE."""
    if not srv.alive():
        fail("server still running after %s" % label,
             "veto serve exited with status %s" % srv.proc.returncode)
    try:
        r = srv.get("/status", timeout=10)
    except OSError as e:
        fail("server answers /status after %s" % label, "error: %s" % e)
    if r.status != 200 or r.body != b"I-AM-ALIVE":
        fail("server answers /status after %s" % label,
             "expected: 200 I-AM-ALIVE\ngot:      %s" % r.describe())


def expect_error(name, r, status, msg_contains=None):
    """An HMA-style error: the status and a JSON object with a string message."""
    j = r.json()
    allowed = status if isinstance(status, tuple) else (status,)
    good = (r.status in allowed and isinstance(j, dict) and isinstance(j.get("message"), str)
            and (r.headers.get("content-type", "").startswith("application/json")))
    if good and msg_contains is not None and msg_contains.lower() not in j["message"].lower():
        good = False
    if not good:
        exp = "%s with a JSON {\"message\": ...}" % " or ".join(str(a) for a in allowed)
        if msg_contains:
            exp += " mentioning %r" % msg_contains
        fail(name, "expected: %s\ngot:      %s" % (exp, r.describe()))
    label = name if str(r.status) in name else "%s -> %d" % (name, r.status)
    ok("%s: %s" % (label, _short(j["message"], 90)))


def expect_json(name, r, status, expected):
    j = r.json()
    if r.status != status or j != expected or not _same_types(j, expected):
        fail(name, "expected: %d %s\ngot:      %s" % (status, _short(expected), r.describe()))
    ok(name)


def _same_types(a, b):
    """JSON equality that also tells 1 from 1.0 from true."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(
            _same_types(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)):
        return type(a) is type(b)
    return True


# ------------------------------------------------------------------ keys

TOKEN_RE = re.compile(r"^veto_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")


class Key:
    def __init__(self, token, key_id, secret, role, banks):
        self.token = token
        self.key_id = key_id
        self.secret = secret
        self.role = role
        self.banks = banks


def keys_cli(h, store_args, args):
    return subprocess.run([h.veto, "keys"] + list(args) + list(store_args),
                          capture_output=True, text=True, timeout=60)


def create_key(h, store_args, role, banks=None, rate=None, name=None):
    args = ["create", "--role", role]
    if banks:
        args += ["--banks", banks]
    if rate is not None:
        args += ["--rate", str(rate)]
    if name:
        args += ["--name", name]
    r = keys_cli(h, store_args, args)
    tok = r.stdout.strip()
    m = TOKEN_RE.match(tok)
    if r.returncode != 0 or not m:
        fail("veto keys create --role %s%s" % (role, " --banks " + banks if banks else ""),
             "exit %d\nstdout: %r\nstderr: %r" % (r.returncode, r.stdout, r.stderr))
    ok("veto keys create --role %s%s%s prints a veto_<id>_<secret> token" % (
        role, " --banks " + banks if banks else "", " --rate %s" % rate if rate else ""))
    return Key(tok, m.group(1), m.group(2), role, banks)


# ----------------------------------------------------------------- media


def make_checkerboards(h, outdir):
    """HMA's tests/utils.py images: 128x128 black/white checkerboards with
    8 and 16 pixel cells, as JPEG (via ImageMagick's convert)."""
    os.makedirs(outdir, exist_ok=True)
    paths = []
    convert = shutil.which("convert")
    for i, cell in ((1, 8), (2, 16)):
        ppm = os.path.join(outdir, "image%d.ppm" % i)
        jpg = os.path.join(outdir, "image%d.jpg" % i)
        rows = bytearray()
        for y in range(128):
            for x in range(128):
                v = 255 if (x // cell + y // cell) % 2 else 0
                rows += bytes((v, v, v))
        with open(ppm, "wb") as f:
            f.write(b"P6\n128 128\n255\n" + bytes(rows))
        if convert:
            r = subprocess.run([convert, ppm, "-quality", "75", jpg], capture_output=True)
            os.unlink(ppm)
            if r.returncode != 0:
                fail("make the checkerboard JPEGs", r.stderr.decode("utf-8", "replace"))
        else:
            # no ImageMagick: fall back on two different JPEGs of the test data
            src = [os.path.join(h.testdata, "pdq", "misc-images", "wee.jpg"),
                   os.path.join(h.testdata, "pdq", "misc-images", "small.jpg")][i - 1]
            shutil.copyfile(src, jpg)
            os.unlink(ppm)
        paths.append(jpg)
    return paths


def hash_file(h, path):
    """`veto hash --json FILE` -> the JSON object."""
    r = subprocess.run([h.veto, "hash", "--json", path], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        fail("veto hash --json %s" % path, "exit %d: %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout.strip().splitlines()[0])


def pdq_of(h, path):
    j = hash_file(h, path)
    return j["pdq"] if j.get("quality", 0) >= 50 else ""


def hamming(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass


class FileServer:
    """A local HTTP server for ?url= fetches (HMA's image_server fixture)."""

    def __init__(self, directory):
        handler = lambda *a, **kw: _QuietHandler(*a, directory=directory, **kw)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# PdqSignal.get_examples() of python-threatexchange (the last one is the
# GitHub octocat, far from the bridge photos before it).
PDQ_EXAMPLES = [
    "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22",
    "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22",
    "f8f8f0cee0f4a84f06370a2a068f67f0b36e26d596621e1d33e6339c4e9c9b22",
    "f8f8f0cee0f4a84f06370a22038f67f0b36e2ed596221e1d33e6b39c4e9c9b22",
    "f8f8f0cee0f4a84f0e370a22038f67f0b36e2ed596221e1d33e6b39c4a9c9b22",
    "d8f8f0cec0f4a84f8e370a22038f67f0b36a2ed597231e1d72e6b39c4a9c9b22",
    "f8f8f0cee0f4a84f06370a22038f67f0b36e2ed596621e1d33e6339c4e9c9b22",
    "d0f8f1ccc0f4a84d0a370a3a228f67f0b36e2ed5b6623e1d33e6339c4e9c9b22",
    "d8f8f1eec0f4a84f0e37022a078f63f0b36e2ed596621e1d33e6239c4e9c9b22",
    "d8f8f0cec4f4a84f0637022a078f67f0b36e2ee5b6621e1d33e6239c4e9c9b22",
    "d8f8f0cec0f4a84f0637022a278f67f0b36e2ed596621e1d33e6339c4e9c9b22",
    "e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064",
    "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d",
    "c186f9619659658c4b6916daf934496985f4259c72c39676ab9edb631c3c349c",
    "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c",
]

# VideoMD5Signal.get_examples()
MD5_EXAMPLES = ["cab08b36195edb1a1231d2d09fa450e0", "d41d8cd98f00b204e9800998ecf8427e"]

# HMA's /m/compare specimens (test_api.py: distance 9)
SPECIMEN1 = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318"
SPECIMEN2 = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318"
