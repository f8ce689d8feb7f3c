#!/usr/bin/env bash
# with_pg.sh CMD [ARGS...] - run CMD with a private, throwaway PostgreSQL.
#
# Starts a fresh PostgreSQL 15 cluster (Debian's package `postgresql`:
# binaries in /usr/lib/postgresql/15/bin, or $VETO_PG_BIN) in a new temp
# directory, listening only on a Unix socket in that directory, creates a
# superuser `veto` and a database `veto`, runs CMD with
#
#   VETO_TEST_PG_URL     postgresql://veto@/veto?host=SOCKETDIR&port=PORT
#   VETO_TEST_PG_SOCKET  the socket directory
#   VETO_TEST_PG_PORT    the port (it names the socket file)
#   VETO_TEST_PG_DATA    the data directory
#   VETO_TEST_PG_CTL     a pg_ctl for this cluster, already run as the right
#                        user with -D set: "$VETO_TEST_PG_CTL" restart -m fast
#                        (for tests of reconnection); `-w` is implied
#   VETO_PG_BIN          the PostgreSQL binaries
#
# then stops the cluster, removes the directory (also on Ctrl-C or a
# failure) and exits with CMD's status. Other test scripts use it as
# `with_pg.sh bash their_test.sh ARGS...`.
#
# initdb refuses to run as root: as root the cluster belongs to the
# `postgres` system user (created by the Debian package) and initdb/pg_ctl
# run through `runuser -u postgres --`; otherwise they run as the caller.
# Each run has its own directory, socket and port, so several may run at
# once (ctest -j). The cluster runs with fsync=off: it is thrown away at the
# end, and fsync only matters if the machine itself crashes (killing
# postgres or veto is still safe). Extra server options: $VETO_PG_OPTS
# (e.g. VETO_PG_OPTS="-c fsync=on" to measure with real flushes).
set -uo pipefail

usage() {
	echo "usage: with_pg.sh CMD [ARGS...]  (runs CMD with VETO_TEST_PG_URL set)" >&2
	exit 2
}
[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac

PGBIN=${VETO_PG_BIN:-/usr/lib/postgresql/15/bin}
for b in initdb pg_ctl createdb; do
	if [ ! -x "$PGBIN/$b" ]; then
		echo "with_pg.sh: $PGBIN/$b not found: install the Debian package postgresql" \
		     "(or set VETO_PG_BIN)" >&2
		exit 2
	fi
done

as_pg=()
if [ "$(id -u)" = 0 ]; then
	if ! id -u postgres >/dev/null 2>&1; then
		echo "with_pg.sh: running as root but there is no 'postgres' user to own the cluster" >&2
		exit 2
	fi
	as_pg=(runuser -u postgres --)
fi

# A short base directory: the socket path (DIR/s/.s.PGSQL.PORT) must fit in
# 107 bytes, and as root the postgres user must be able to reach it.
base=${TMPDIR:-/tmp}
if [ ${#base} -gt 60 ] || [ ! -d "$base" ] || [ ! -w "$base" ]; then
	base=/tmp
fi
tmp=$(mktemp -d "$base/veto-pg-XXXXXX") || { echo "with_pg.sh: mktemp failed in $base" >&2; exit 2; }
chmod 755 "$tmp"
if [ ${#as_pg[@]} -gt 0 ] && ! "${as_pg[@]}" test -x "$tmp"; then
	rm -rf "$tmp"
	base=/tmp
	tmp=$(mktemp -d "$base/veto-pg-XXXXXX") || exit 2
	chmod 755 "$tmp"
fi
data=$tmp/data
sock=$tmp/s
log=$tmp/postgres.log
mkdir "$data" "$sock"
: >"$log"
chmod 700 "$data"
chmod 755 "$sock"
if [ ${#as_pg[@]} -gt 0 ]; then
	chown postgres: "$data" "$sock" "$log"
fi

started=0
child=
stop_cluster() {
	[ -d "$data" ] || return 0
	(cd "$tmp" && "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$data" -m immediate -w -t 60 stop \
		>/dev/null 2>&1)
	return 0
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null && wait "$child" 2>/dev/null
	fi
	[ "$started" = 1 ] && stop_cluster
	rm -rf "$tmp"
	return $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# If this script is killed outright (SIGKILL, e.g. a test runner's
# timeout), the traps never run: a watchdog, deaf to the usual signals,
# stops the cluster and removes the directory once this shell is gone.
# Its output goes nowhere, so it never holds a caller's pipe open.
(
	trap '' INT TERM HUP
	while kill -0 $$ 2>/dev/null; do sleep 1; done
	stop_cluster
	rm -rf "$tmp"
) </dev/null >/dev/null 2>&1 &

fail() {
	echo "with_pg.sh: $*" >&2
	if [ -s "$log" ]; then
		echo "with_pg.sh: last lines of the server log:" >&2
		tail -n 20 "$log" >&2
	fi
	exit 2
}

# initdb and pg_ctl must not start in a directory the postgres user cannot
# read (e.g. /root), hence the cd.
if ! (cd "$tmp" && "${as_pg[@]}" "$PGBIN/initdb" -D "$data" -U veto --auth=trust \
		-E UTF8 --locale=C.UTF-8 --no-sync >"$tmp/initdb.log" 2>&1); then
	cat "$tmp/initdb.log" >&2
	fail "initdb failed"
fi

# The server listens on the Unix socket only (listen_addresses=''), so the
# port only names the socket file; a free TCP port is still chosen so that a
# caller who enables TCP gets no clash.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
ok=0
for attempt in 1 2 3 4 5; do
	port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
	port_in_use "$port" && continue
	# shellcheck disable=SC2086
	if (cd "$tmp" && "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 60 \
			-o "-p $port -k $sock -c listen_addresses= -c fsync=off -c unix_socket_permissions=0777 ${VETO_PG_OPTS:-}" \
			start >/dev/null 2>&1); then
		ok=1
		started=1
		break
	fi
	started=1 # a half-started server is stopped by the trap
	(cd "$tmp" && "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1)
	started=0
	echo "with_pg.sh: the server did not start on port $port (attempt $attempt)" >&2
done
[ "$ok" = 1 ] || fail "could not start PostgreSQL"

if ! "$PGBIN/createdb" -h "$sock" -p "$port" -U veto veto >"$tmp/createdb.log" 2>&1; then
	cat "$tmp/createdb.log" >&2
	fail "createdb failed"
fi

# A pg_ctl bound to this cluster, for tests that restart or kill the server.
cat >"$tmp/pg_ctl" <<EOF
#!/usr/bin/env bash
cd "$tmp" || exit 2
exec ${as_pg[*]} "$PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 60 \\
	-o "-p $port -k $sock -c listen_addresses= -c fsync=off -c unix_socket_permissions=0777 ${VETO_PG_OPTS:-}" "\$@"
EOF
chmod 755 "$tmp/pg_ctl"

export VETO_TEST_PG_URL="postgresql://veto@/veto?host=$sock&port=$port"
export VETO_TEST_PG_SOCKET="$sock"
export VETO_TEST_PG_PORT="$port"
export VETO_TEST_PG_DATA="$data"
export VETO_TEST_PG_CTL="$tmp/pg_ctl"
export VETO_PG_BIN="$PGBIN"

# CMD runs in the background (stdin kept) so that a signal to this script
# is handled at once, not after CMD ends: the trap stops CMD, then the
# cluster.
"$@" <&0 &
child=$!
wait "$child"
status=$?
child=
exit $status
