# Shared by scripts/test.sh, demo.sh and bench.sh: install what is missing,
# build and install the extension, run a throwaway cluster.
# Source it; it defines functions and sets PGHOST/PGPORT/PGUSER for psql.

PG_MAJOR=${PG_MAJOR:-15}
ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# PRIVACY_PG_ROOT=/some/dir: work on a private copy of the PostgreSQL
# installation under that directory (made on first use) instead of the
# system one, so that several checkouts can be tested side by side.
PG_ROOT=${PRIVACY_PG_ROOT:-}
PGBIN=$PG_ROOT/usr/lib/postgresql/$PG_MAJOR/bin

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install the Debian packages we need when any is missing.
ensure_packages() {
    local pkgs="postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-contrib libssl-dev
                postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl make gcc"
    local missing="" p
    for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "== installing:$missing"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
}

# Build with the project's warning flags and install into PostgreSQL.
build_install() {
    echo "== building and installing privacy"
    if [ -n "$PG_ROOT" ] && [ ! -x "$PGBIN/postgres" ]; then
        mkdir -p "$PG_ROOT/usr/lib/postgresql" "$PG_ROOT/usr/share/postgresql"
        cp -a /usr/lib/postgresql/$PG_MAJOR "$PG_ROOT/usr/lib/postgresql/"
        cp -a /usr/share/postgresql/$PG_MAJOR "$PG_ROOT/usr/share/postgresql/"
        chmod 755 "$PG_ROOT"
    fi
    make -C "$ROOT_DIR" -s PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config >/dev/null
    as_root make -C "$ROOT_DIR" -s PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config \
        ${PG_ROOT:+DESTDIR=$PG_ROOT} install >/dev/null
}

# Run a command as the cluster owner (postgres when we are root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
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

# Start a throwaway cluster in a new temp directory.  Extra settings: "$@".
start_cluster() {
    CLUSTER_DIR=$(mktemp -d /tmp/privacy-XXXXXX)
    chmod 755 "$CLUSTER_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres "$CLUSTER_DIR"
    PGPORT=$(free_port)
    as_pg $PGBIN/initdb -D "$CLUSTER_DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$CLUSTER_DIR'"
        echo "port = $PGPORT"
        echo "shared_preload_libraries = 'privacy'"
        echo "max_parallel_workers_per_gather = 0"
        echo "fsync = off"
        for s in "$@"; do echo "$s"; done
    } | as_pg tee -a "$CLUSTER_DIR/data/postgresql.auto.conf" >/dev/null
    as_pg $PGBIN/pg_ctl -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w start >/dev/null
    export PGHOST=$CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=postgres
    trap stop_cluster EXIT
    echo "== cluster started in $CLUSTER_DIR (socket, port $PGPORT)"
}

# Restart the cluster we started with other privacy settings: every privacy.*
# and shared_preload_libraries line of postgresql.auto.conf replaced by "$@".
restart_cluster_with() {
    as_pg $PGBIN/pg_ctl -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1
    as_pg sed -i '/^privacy\./d;/^shared_preload_libraries/d' "$CLUSTER_DIR/data/postgresql.auto.conf"
    for s in "$@"; do echo "$s" | as_pg tee -a "$CLUSTER_DIR/data/postgresql.auto.conf" >/dev/null; done
    as_pg $PGBIN/pg_ctl -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w start >/dev/null
}

# Stop the cluster we started and remove it (the log is kept on failure).
stop_cluster() {
    [ -n "${CLUSTER_DIR:-}" ] || return 0
    as_pg $PGBIN/pg_ctl -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    if [ "${KEEP_LOG:-0}" = 1 ]; then
        cp "$CLUSTER_DIR/server.log" "$ROOT_DIR/server.log" 2>/dev/null || true
    fi
    rm -rf "$CLUSTER_DIR"
    CLUSTER_DIR=
}
