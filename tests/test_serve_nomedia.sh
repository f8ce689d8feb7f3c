#!/usr/bin/env bash
# test_serve_nomedia.sh - media bytes never touch disk, logs or the database.
#
# Usage: test_serve_nomedia.sh VETO_BINARY TESTDATA_DIR
#
# veto serve promises that uploads are hashed in memory and never written
# anywhere. Proof by tracing: two uploads carry a unique random 64-byte
# marker that decoders ignore - a real JPEG with the marker after its
# end-of-image marker, and a real MP4 with the marker in a trailing 'free'
# box - and each is sent to POST /h/hash, POST /m/lookup and
# POST /c/bank/B/content (multipart), to a server running under
#   strace -f -xx -s 8000000 -e trace=<opens, renames, unlinks, mkdirs,
#          write/pwrite64/writev/pwritev, memfd_create>
# with --log LOGFILE and its own --data folder. The uploads must still hash
# as the originals (so the bytes reached the decoders) and then, after a
# clean stop:
#   - the marker (raw bytes, hex in either case, base64 at any alignment)
#     is in no file under the data folder (SQLite db, snapshot), nor in the
#     log, nor in any buffer the server passed to a write-family syscall
#     (strace -xx prints every buffer in hex: they are decoded and searched;
#     the first 16 bytes as strace prints them are also grepped for);
#   - no file was opened for writing (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC,
#     O_APPEND, O_TMPFILE, creat), renamed, unlinked or created as a
#     directory outside the data folder, the log and the ready file;
#   - no temporary file at all: nothing under /tmp, /var/tmp, /dev/shm or
#     $TMPDIR opened outside those same paths, no O_TMPFILE, no memfd.
# Needs strace and python3 (stdlib) and curl.
set -u

VETO=${1:?usage: test_serve_nomedia.sh VETO_BINARY TESTDATA_DIR}
TD=${2:?usage: test_serve_nomedia.sh VETO_BINARY TESTDATA_DIR}
case $VETO in /*) ;; *) VETO=$PWD/$VETO ;; esac
TD=$(cd "$TD" && pwd) || { echo "FATAL: no test data directory $TD" >&2; exit 2; }
[ -x "$VETO" ] || { echo "FATAL: $VETO is not an executable" >&2; exit 2; }
for tool in strace python3 curl; do
	command -v $tool >/dev/null || {
		echo "FATAL: $tool is needed (apt-get install -y $tool)" >&2
		exit 2
	}
done
JPEG=$TD/pdq/reg-test-input/dih/bridge-1-original.jpg
VIDEO=$TD/video/samples/test-padded-dimensions.mp4
for f in "$JPEG" "$VIDEO"; do
	[ -f "$f" ] || { echo "FATAL: no $f" >&2; exit 2; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/veto-nomedia-XXXXXX") || exit 2
T=$(cd "$T" && pwd -P)
SPID=
cleanup() {
	local rc=$?
	if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
		kill -9 "$SPID" 2>/dev/null
	fi
	if [ $rc -eq 0 ] && [ -z "${VETO_TEST_KEEP:-}" ]; then
		rm -rf "$T"
	else
		echo "(files kept in $T)" >&2
	fi
	exit $rc
}
trap cleanup EXIT
export LC_ALL=C

DATA=$T/data
LOG=$T/serve.log
READY=$T/ready
TRACE=$T/trace
fail=0
ok() { echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# ---------------------------------------------------------------- uploads
python3 - "$JPEG" "$VIDEO" "$T" <<'EOF' || { echo "FATAL: cannot make the uploads" >&2; exit 2; }
import os, struct, sys
jpeg, video, t = sys.argv[1:4]
marker = os.urandom(64)
open(os.path.join(t, "marker.bin"), "wb").write(marker)
j = open(jpeg, "rb").read()
assert j[:2] == b"\xff\xd8" and j.rstrip(b"\0")[-2:] == b"\xff\xd9", "not a whole JPEG"
open(os.path.join(t, "upload.jpg"), "wb").write(j + marker)
v = open(video, "rb").read()
assert v[4:8] == b"ftyp", "not an MP4"
open(os.path.join(t, "upload.mp4"), "wb").write(v + struct.pack(">I", 8 + len(marker)) + b"free" + marker)
EOF
MARKER_HEX=$(od -An -tx1 -v "$T/marker.bin" | tr -d ' \n')
echo "marker: 64 random bytes, ${MARKER_HEX:0:32}..."

# ---------------------------------------------------------------- server
mkdir -p "$DATA"
# LeakSanitizer cannot run under ptrace (it exits 1 with "does not work under
# ptrace"): in the ASan build the traced server runs without leak checking,
# which every other serve test does.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
(cd "$T" && exec strace -f -qq -xx -s 8000000 -o "$TRACE" \
	-e trace=openat,open,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,write,pwrite64,writev,pwritev,pwritev2,memfd_create \
	"$VETO" serve --listen 127.0.0.1:0 --ready-file "$READY" --data "$DATA" --no-auth \
	--log "$LOG" --snapshot-seconds 1) >"$T/stderr" 2>&1 &
SPID=$!
for _ in $(seq 600); do
	[ -s "$READY" ] && break
	kill -0 "$SPID" 2>/dev/null || break
	sleep 0.1
done
[ -s "$READY" ] || { echo "FATAL: veto serve did not start under strace:" >&2; cat "$T/stderr" "$LOG" >&2; exit 1; }
PORT=$(cat "$READY")
VPID=$(ps -o pid= --ppid "$SPID" | tr -d ' ' | head -1)
[ -n "$VPID" ] || { echo "FATAL: cannot find veto serve's pid under strace $SPID" >&2; exit 1; }
echo "veto serve (pid $VPID) on port $PORT under strace (pid $SPID)"
URL=http://127.0.0.1:$PORT

req() { # METHOD PATH [curl args...] -> body in $T/body, status echoed
	local m=$1 p=$2
	shift 2
	curl -sS -o "$T/body" -w '%{http_code}' -X "$m" "$@" "$URL$p"
}
st=$(req POST /c/banks -H 'Content-Type: application/json' -d '{"name":"NOMEDIA"}')
if [ "$st" = 201 ]; then ok "create bank NOMEDIA"; else bad "create bank NOMEDIA: expected 201, got $st $(cat "$T/body")"; fi

expect_pdq=$("$VETO" hash --json "$JPEG" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pdq"])')
expect_md5=$(md5sum "$T/upload.mp4" | cut -d' ' -f1)
for kind in photo video; do
	if [ $kind = photo ]; then f=$T/upload.jpg; else f=$T/upload.mp4; fi
	for route in /h/hash /m/lookup /c/bank/NOMEDIA/content; do
		st=$(req POST $route -F "$kind=@$f")
		if [ "$st" != 200 ]; then
			bad "POST $route with the $kind: expected 200, got $st $(head -c 300 "$T/body")"
			continue
		fi
		got=$(python3 - "$T/body" $kind $route "$expect_pdq" "$expect_md5" <<'EOF'
import json, sys
body, kind, route, pdq, md5 = sys.argv[1:6]
j = json.load(open(body))
if route == "/h/hash":
    if kind == "photo":
        print("ok" if j.get("pdq") == pdq else "pdq %s, expected %s" % (j.get("pdq"), pdq))
    else:
        good = j.get("video_md5") == md5 and str(j.get("vpdq", "")).startswith("[")
        print("ok" if good else "video_md5 %s (expected %s), vpdq %s" % (
            j.get("video_md5"), md5, str(j.get("vpdq"))[:40]))
elif route == "/m/lookup":
    print("ok" if isinstance(j, dict) else "not an object: %s" % j)
else:
    sig = j.get("signals") or {}
    if kind == "photo":
        print("ok" if sig.get("pdq") == pdq else "signals %s" % sig)
    else:
        print("ok" if sig.get("video_md5") == md5 else "signals %s" % str(sig)[:200])
EOF
)
		if [ "$got" = ok ]; then
			if [ $route = /m/lookup ]; then
				ok "POST $route with the marked $kind: 200"
			else
				ok "POST $route with the marked $kind: 200, hashed as the original"
			fi
		else
			bad "POST $route with the marked $kind: $got"
		fi
	done
done
# the content is in the bank and the index: a lookup by the hash finds it
st=$(req GET "/m/lookup?signal_type=pdq&bypass_coinflip=true&signal=$expect_pdq")
if grep -q NOMEDIA "$T/body"; then
	ok "the banked photo matches by its hash"
else
	bad "lookup by the photo's hash: expected a match in bank NOMEDIA, got $st $(cat "$T/body")"
fi
sleep 1.5 # let a periodic snapshot happen with the new content in it

kill -TERM "$VPID"
wait "$SPID"
src=$?
if [ $src = 0 ]; then ok "clean stop (exit 0)"; else bad "veto serve under strace exited with $src"; fi
if [ -f "$DATA/veto.db" ] && [ -f "$DATA/matcher.snap" ]; then
	ok "the data folder has veto.db and matcher.snap"
else
	bad "expected veto.db and matcher.snap in $DATA, got: $(echo "$DATA"/*)"
fi

# ---------------------------------------------------------------- checks
python3 - "$T" "$DATA" "$LOG" "$READY" "$TRACE" "${TMPDIR:-/tmp}" <<'EOF'
import base64, os, re, sys
t, data, log, ready, trace, tmpdir = sys.argv[1:7]
marker = open(os.path.join(t, "marker.bin"), "rb").read()
fails = 0


def ok(msg):
    print("ok   " + msg)


def bad(msg):
    global fails
    fails += 1
    print("FAIL " + msg)


# every form the marker could take
needles = {"raw": marker, "hex": marker.hex().encode(), "HEX": marker.hex().upper().encode()}
for a in range(3):     # base64 of the marker at each alignment, edges dropped
    b = base64.b64encode(b"\0" * a + marker)[4:-4]
    needles["base64/%d" % a] = b
    needles["base64url/%d" % a] = b.replace(b"+", b"-").replace(b"/", b"_")


def find(buf):
    return [k for k, n in needles.items() if n in buf]


# 1. files under the data folder, and the log
nfiles, before = 0, fails
for root, dirs, files in os.walk(data):
    for f in files:
        p = os.path.join(root, f)
        nfiles += 1
        hit = find(open(p, "rb").read())
        if hit:
            bad("the marker (%s) is in %s" % (", ".join(hit), p))
if fails == before:
    ok("the marker (raw, hex, base64) is in none of the %d files under the data folder (%s)" % (
        nfiles, ", ".join(sorted(os.listdir(data)))))
hit = find(open(log, "rb").read())
(bad if hit else ok)("the marker is %sin the log (%d bytes)" % (
    "(%s) " % ", ".join(hit) if hit else "not ", os.path.getsize(log)))

# 2. the trace
esc = re.compile(rb'\\x([0-9a-fA-F]{2})|\\(.)', re.S)
strre = re.compile(rb'"((?:[^"\\]|\\.)*)"')


def unescape(s):
    def one(m):
        if m.group(1) is not None:
            return bytes([int(m.group(1), 16)])
        c = m.group(2)
        return {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"v": b"\v", b"f": b"\f",
                b"0": b"\0"}.get(c, c)
    return esc.sub(one, s)


raw = open(trace, "rb").read()
first16 = "".join("\\x%02x" % b for b in marker[:16]).encode()
write_calls = re.compile(rb"^\d+\s+(write|pwrite64|writev|pwritev2?)\(")
open_calls = re.compile(rb"^\d+\s+(openat|open|creat|rename|renameat2?|unlink|unlinkat|mkdir|mkdirat|memfd_create)\(")
nwrites = wbytes = 0
in_writes = []
opens = []
for line in raw.split(b"\n"):
    line = line.replace(b"<unfinished ...>", b"")
    m = write_calls.match(line)
    if m:
        nwrites += 1
        buf = b"".join(unescape(s) for s in strre.findall(line))
        wbytes += len(buf)
        h = find(buf)
        if h or first16 in line:
            in_writes.append((h or ["first 16 bytes as strace prints them"], line[:160]))
        continue
    m = open_calls.match(line)
    if m:
        opens.append((m.group(1).decode(), line))
if in_writes:
    for h, l in in_writes[:5]:
        bad("the marker (%s) was written: %r" % (", ".join(h), l))
else:
    ok("the marker is in none of the %d write-family syscalls (%d bytes of buffers decoded "
       "from strace -xx; its first 16 bytes as strace prints them do not occur either)" % (
           nwrites, wbytes))
if first16 in raw and not in_writes:
    bad("the marker's first 16 bytes occur in the trace (outside writes?)")

# 3. files opened for writing, renamed, unlinked, created
allowed = [os.path.realpath(data)]
exact = {os.path.realpath(log), os.path.realpath(ready), os.path.realpath(ready) + ".tmp",
         "/dev/null"}
temp_roots = sorted({os.path.realpath(p) for p in ("/tmp", "/var/tmp", "/dev/shm", tmpdir)})
WFLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND", "O_TMPFILE")


def inside(p):
    return p in exact or any(p == a or p.startswith(a + "/") for a in allowed)


def resolve(dirfd, p):
    if p.startswith("/"):
        return os.path.normpath(p)
    if dirfd in (None, "AT_FDCWD"):
        return os.path.normpath(os.path.join(t, p))   # the server's cwd
    return None


def fate(line):
    m = re.search(rb"\)\s+=\s+(-?\d+)", line)
    return int(m.group(1)) if m else None


writes_outside, temps, seen = [], [], 0
for call, line in opens:
    args = line[line.index(b"(") + 1:]
    strs = [unescape(s).decode("utf-8", "replace") for s in strre.findall(args)]
    rc = fate(line)
    if call == "memfd_create":
        temps.append("memfd_create: %s" % line[:160])
        continue
    dirfd = None
    if call in ("openat", "unlinkat", "mkdirat", "renameat", "renameat2"):
        dirfd = args.split(b",")[0].strip().decode()
    paths = [resolve(dirfd, s) for s in strs]
    seen += 1
    if call in ("openat", "open"):
        flags = args.split(b'"')[-1].decode("latin-1")
        writing = any(f in flags for f in WFLAGS)
    else:
        writing = True     # creat, rename, unlink, mkdir change the filesystem
    if "O_TMPFILE" in line.decode("latin-1"):
        temps.append("O_TMPFILE: %s" % line[:200])
    for p in paths:
        if p is None:
            if writing:
                writes_outside.append("%s relative to a directory fd: %s" % (call, line[:200]))
            continue
        if writing and not inside(p):
            writes_outside.append("%s %s (%s)" % (call, p, "ok" if rc is not None and rc >= 0
                                                    else "failed"))
        if not inside(p) and any(p == r or p.startswith(r + "/") for r in temp_roots):
            temps.append("%s %s" % (call, p))
if writes_outside:
    for w in writes_outside[:10]:
        bad("written outside the data folder and the log: %s" % w)
else:
    ok("of %d opens/renames/unlinks/mkdirs, none writes outside the data folder, the log "
       "and the ready file" % seen)
if temps:
    for w in temps[:10]:
        bad("a temporary file: %s" % w)
else:
    ok("no temporary file: nothing opened under %s outside those, no O_TMPFILE, no memfd" %
       ", ".join(temp_roots))
sys.exit(min(fails, 100))
EOF
fail=$((fail + $?))
if [ $fail -eq 0 ]; then
	echo "test_serve_nomedia.sh: all checks passed"
else
	echo "test_serve_nomedia.sh: $fail check(s) failed"
fi
[ $fail -eq 0 ]
