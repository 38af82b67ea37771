# The one test harness of privacy: scripts/test.sh, demo.sh, bench*.sh and
# the script tests (test/scripts/*.sh) source it.  It installs what is
# missing, builds and installs the extension, and runs throwaway clusters
# (start_cluster / restart_cluster / stop_server / start_server /
# stop_cluster); it sets PGHOST/PGPORT/PGUSER for psql.
#
# Which PostgreSQL: PG_CONFIG=/path/to/bin/pg_config (make passes
# `make test PG_CONFIG=...` through); default Debian's PostgreSQL
# $PG_MAJOR (15), whose packages are installed when missing.  The PATH then
# starts with that installation's bin directory, so psql, pg_dump, pgbench
# and pg_prove's psql are the server's own version.
#
# PRIVACY_PG_ROOT=/some/dir: work on a private copy of that installation
# under /some/dir (made on first use, same absolute paths below it) instead
# of installing into it, so that several checkouts can test side by side.

PG_MAJOR=${PG_MAJOR:-15}
DEBIAN_PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PG_CONFIG=${PG_CONFIG:-$DEBIAN_PG_CONFIG}
ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_ROOT=${PRIVACY_PG_ROOT:-}

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Run a command as the cluster owner (postgres when we are root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Set PG_CONFIG (absolute), PG_VERSION_NUM, PG_MAJOR and PGBIN (the bin
# directory tests run from: in the private root when there is one), and put
# PGBIN first on the PATH.
resolve_pg() {
    local c
    c=$(command -v "$PG_CONFIG" 2>/dev/null) || { echo "pg_config not found: $PG_CONFIG" >&2; return 1; }
    PG_CONFIG=$c
    PG_VERSION_NUM=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+)\.([0-9]+).*/\1 \2/' |
                     awk '{ printf "%d%04d", $1, $2 }')
    PG_MAJOR=${PG_VERSION_NUM%????}
    PGBIN=$PG_ROOT$("$PG_CONFIG" --bindir)
    case ":$PATH:" in *":$PGBIN:"*) ;; *) PATH=$PGBIN:$PATH ;; esac
    export PG_CONFIG PG_VERSION_NUM PG_MAJOR PGBIN PATH
}

# Install the Debian packages we need when any is missing: the build and
# pg_prove always; the server, its headers and pgTAP when the chosen
# PostgreSQL is Debian's.
ensure_packages() {
    local pkgs="libssl-dev libtap-parser-sourcehandler-pgtap-perl make gcc"
    [ "$PG_CONFIG" = "$DEBIAN_PG_CONFIG" ] &&
        pkgs="$pkgs postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-contrib postgresql-$PG_MAJOR-pgtap"
    # shellcheck disable=SC2086 # one argument per package
    install_missing $pkgs
    resolve_pg || return 1
    if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/pgtap.control" ]; then
        echo "pgTAP is not installed in $("$PG_CONFIG" --sharedir) (scripts/build_pg.sh builds PostgreSQL with it)" >&2
        return 1
    fi
}

# Make the private root: a copy of the installation's bin, library and share
# directories at the same paths below $PG_ROOT (the binaries find the others
# relative to their own location).
make_private_root() {
    local d
    [ -n "$PG_ROOT" ] || return 0
    for d in "$("$PG_CONFIG" --bindir)" "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)"; do
        [ -d "$PG_ROOT$d" ] && continue
        mkdir -p "$(dirname "$PG_ROOT$d")"
        cp -a "$d" "$PG_ROOT$d"
    done
    chmod 755 "$PG_ROOT"
}

# Build with the project's warning flags and install into PostgreSQL (or
# into the private root).
# Objects built for another PostgreSQL than the chosen one are rebuilt (the
# file .build-pg names the one they were built for).
build_install() {
    local built_for
    built_for="$PG_CONFIG $("$PG_CONFIG" --version)"
    echo "== building and installing privacy for PostgreSQL $("$PG_CONFIG" --version | cut -d' ' -f2)"
    make_private_root
    if [ "$(cat "$ROOT_DIR/.build-pg" 2>/dev/null)" != "$built_for" ]; then
        make -C "$ROOT_DIR" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null || return 1
        echo "$built_for" > "$ROOT_DIR/.build-pg"
    fi
    make -C "$ROOT_DIR" -s PG_CONFIG="$PG_CONFIG" >/dev/null || return 1
    as_root make -C "$ROOT_DIR" -s PG_CONFIG="$PG_CONFIG" ${PG_ROOT:+DESTDIR=$PG_ROOT} install >/dev/null
}

# A free TCP port number (the cluster listens on a Unix socket only, but
# the port names the socket file).
free_port() {
    local p
    for p in $(seq 55432 55500); do
        [ -e "$CLUSTER_DIR/.s.PGSQL.$p" ] && continue
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && ! ls /tmp/.s.PGSQL.$p >/dev/null 2>&1 \
           && ! ls /var/run/postgresql/.s.PGSQL.$p >/dev/null 2>&1 \
           && ! grep -qs "port = $p$" /tmp/privacy-*/data/postgresql.auto.conf; then
            echo "$p"; return
        fi
    done
    echo "no free port" >&2; return 1
}

# Set configuration parameters of the cluster ("name = value" each),
# replacing earlier settings of the same names; effective at the next start.
cluster_set() {
    local s name conf=$CLUSTER_DIR/data/postgresql.auto.conf
    for s in "$@"; do
        name=$(printf '%s' "$s" | sed -E 's/^[[:space:]]*([A-Za-z0-9_.]+).*/\1/')
        as_pg sed -i "/^[[:space:]]*${name//./\\.}[[:space:]]*=/d" "$conf"
        printf '%s\n' "$s" | as_pg tee -a "$conf" >/dev/null
    done
}

# Remove the settings whose names match any of the extended regexes given
# (anchored at the start of the name); effective at the next start.
cluster_unset() {
    local re
    for re in "$@"; do
        as_pg sed -E -i "/^[[:space:]]*($re)/d" "$CLUSTER_DIR/data/postgresql.auto.conf"
    done
}

# Start the server of the current cluster (it must be stopped).
start_server() {
    as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w start >/dev/null
}

# Stop the server of the current cluster: mode fast (default), smart or
# immediate (a crash: recovery runs at the next start).  The cluster stays.
stop_server() {
    as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m "${1:-fast}" -w stop >/dev/null 2>&1
}

# Stop the server, apply the settings given (as cluster_set), start again.
restart_cluster() {
    stop_server
    cluster_set "$@"
    start_server
}

# Start a throwaway cluster in a new temp directory (also its socket
# directory); extra settings: "$@".  It is stopped and removed on exit.
start_cluster() {
    [ -n "${PGBIN:-}" ] || resolve_pg || return 1
    CLUSTER_DIR=$(mktemp -d /tmp/privacy-XXXXXX)
    chmod 755 "$CLUSTER_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres "$CLUSTER_DIR"
    PGPORT=$(free_port)
    as_pg "$PGBIN/initdb" -D "$CLUSTER_DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    cluster_set "listen_addresses = ''" "unix_socket_directories = '$CLUSTER_DIR'" "port = $PGPORT" \
                "shared_preload_libraries = 'privacy'" \
                "fsync = off" "$@"
    start_server
    export PGHOST=$CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=postgres
    trap stop_cluster EXIT
    echo "== cluster started in $CLUSTER_DIR (socket, port $PGPORT, PostgreSQL $PG_MAJOR)"
}

# Stop the cluster we started and remove it (KEEP_LOG=1 keeps its log).
stop_cluster() {
    [ -n "${CLUSTER_DIR:-}" ] || return 0
    stop_server
    if [ "${KEEP_LOG:-0}" = 1 ]; then
        cp "$CLUSTER_DIR/server.log" "$ROOT_DIR/server.log" 2>/dev/null || true
    fi
    rm -rf "$CLUSTER_DIR"
    CLUSTER_DIR=
}

# Sourced by a script test or bench inside a run: the installation is known.
if command -v "$PG_CONFIG" >/dev/null 2>&1; then
    resolve_pg
fi

# Install those of the given Debian packages that are missing.
install_missing() {
    local missing="" p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "== installing:$missing"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
}

# Count TAP-style "ok"/"not ok" lines of a file into $passed / $failed.
count_tap() {
    local p f
    p=$(grep -c -E '^\s*ok [0-9]+' "$1" || true)
    f=$(grep -c -E '^\s*not ok [0-9]+' "$1" || true)
    passed=$((passed + p)); failed=$((failed + f))
}

# Run every script test of a directory ($1/*.sh, logs in $2), print its TAP
# lines and count them; a script that fails without a "not ok" counts as one.
run_script_tests() {
    local t out rc
    for t in "$1"/*.sh; do
        [ -e "$t" ] || continue
        out="$2/$(basename "$t").log"
        bash "$t" > "$out" 2>&1
        rc=$?
        grep -E '^(ok|not ok|#)' "$out"
        count_tap "$out"
        if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out"; then
            failed=$((failed + 1)); echo "not ok - $t exited with $rc"; tail -20 "$out"
        fi
    done
}

# Run pgTAP files ($3...) with pg_prove against database $2 (connection from
# PGHOST/PGPORT/PGUSER), log in $1; print failures and count the TAP lines.
# A file that dies before its plan counts as one failure.
run_pgtap() {
    local log=$1 db=$2 rc
    shift 2
    [ $# -gt 0 ] || return 0
    pg_prove -v -d "$db" "$@" > "$log" 2>&1
    rc=$?
    grep -E '^(test/|not ok|# )|Failed|Result|^psql:.*ERROR' "$log" | grep -v '^ok' | head -100
    count_tap "$log"
    if [ $rc -ne 0 ] && ! grep -q -E '^\s*not ok' "$log"; then
        failed=$((failed + 1)); tail -30 "$log"
    fi
}
