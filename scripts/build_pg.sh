#!/usr/bin/env bash
# Build PostgreSQL from a vendored release archive (with OpenSSL; the contrib
# modules the tests and benchmarks use: pgcrypto, pg_stat_statements,
# pg_prewarm; and pgTAP) into a cache outside the clone, or reuse the cached build, and print
# the path of its pg_config on the last line of stdout.
#
#   scripts/build_pg.sh [MAJOR]            (default 18)
#
# PRIVACY_VENDOR  folder with postgresql-MAJOR_*.orig.tar.bz2 and pgtap_*.orig.tar.gz
#                 (default: ../shared/vendor relative to the clone)
# PRIVACY_CACHE   cache root (default /var/cache/privacy); the build goes to
#                 $PRIVACY_CACHE/pg-<version>, e.g. /var/cache/privacy/pg-18.6
#
# Runs as root (through sudo otherwise); the result is world-readable so that
# the `postgres` OS user can run initdb and the server from it.  Concurrent
# callers wait for one another (flock), and a build that did not finish is
# thrown away and redone.
set -euo pipefail

MAJOR=${1:-18}
ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENDOR=${PRIVACY_VENDOR:-$ROOT_DIR/../shared/vendor}
CACHE=${PRIVACY_CACHE:-/var/cache/privacy}

if [ "$(id -u)" -ne 0 ]; then
    exec sudo PRIVACY_VENDOR="$VENDOR" PRIVACY_CACHE="$CACHE" bash "$0" "$@"
fi

archive=$(ls "$VENDOR"/postgresql-"$MAJOR"_*.orig.tar.bz2 2>/dev/null | sort -V | tail -1 || true)
pgtap=$(ls "$VENDOR"/pgtap_*.orig.tar.gz 2>/dev/null | sort -V | tail -1 || true)
[ -n "$archive" ] || { echo "build_pg.sh: no postgresql-${MAJOR}_*.orig.tar.bz2 in $VENDOR" >&2; exit 1; }
[ -n "$pgtap" ] || { echo "build_pg.sh: no pgtap_*.orig.tar.gz in $VENDOR" >&2; exit 1; }
version=$(basename "$archive" | sed -E 's/^postgresql-[0-9]+_(.*)\.orig\.tar\.bz2$/\1/')
PREFIX=$CACHE/pg-$version
STAMP=$PREFIX/.privacy-build-complete
# what the stamp records: a change of archive or options means a rebuild
want="postgresql=$(basename "$archive") pgtap=$(basename "$pgtap") configure=--with-openssl"

mkdir -p "$CACHE"
chmod 755 "$CACHE"
exec 9>"$CACHE/.lock-pg-$version"
flock 9

# contrib modules make test / make bench use
CONTRIB="pgcrypto pg_stat_statements pg_prewarm"

# Build and install the contrib modules that are missing, from the source
# tree at $1, against the installed server (PGXS).
add_contrib() {
    local c
    for c in $CONTRIB; do
        [ -f "$("$PREFIX/bin/pg_config" --sharedir)/extension/$c.control" ] && continue
        make -C "$1/contrib/$c" USE_PGXS=1 PG_CONFIG="$PREFIX/bin/pg_config" install || return 1
    done
}

# A fresh work folder, removed on exit.
work=
trap '[ -z "$work" ] || rm -rf "$work"' EXIT
new_work() {
    work=$(mktemp -d "$CACHE/build-$version-XXXXXX")
    log=$work/build.log
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$PREFIX/bin/pg_config" ]; then
    missing=""
    for c in $CONTRIB; do
        [ -f "$("$PREFIX/bin/pg_config" --sharedir)/extension/$c.control" ] || missing="$missing $c"
    done
    if [ -n "$missing" ]; then
        echo "== adding contrib modules to PostgreSQL $version:$missing" >&2
        new_work
        if ! { tar -xjf "$archive" -C "$work" && add_contrib "$(echo "$work"/postgresql-*/)"; } >"$log" 2>&1; then
            tail -40 "$log" >&2; echo "build_pg.sh: contrib build failed" >&2; exit 1
        fi
        chmod -R a+rX "$PREFIX"
    fi
    echo "== reusing PostgreSQL $version in $PREFIX" >&2
    echo "$PREFIX/bin/pg_config"
    exit 0
fi

# packages the build needs (Debian; 18 wants bison and flex even from a
# release archive)
need=""
for p in gcc make perl bison flex libssl-dev libreadline-dev zlib1g-dev libicu-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
    echo "== installing:$need" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi

echo "== building PostgreSQL $version into $PREFIX (about 5 minutes)" >&2
rm -rf "$PREFIX"
new_work
jobs=$(nproc 2>/dev/null || echo 2)
# (steps chained with &&: set -e does not apply inside a command list)
build() {
    tar -xjf "$archive" -C "$work" &&
    cd "$work"/postgresql-*/ &&
    ./configure --prefix="$PREFIX" --with-openssl &&
    make -j"$jobs" &&
    make install &&
    add_contrib "$work"/postgresql-*/ &&
    tar -xzf "$pgtap" -C "$work" &&
    cd "$work"/pgtap-*/ &&
    make PG_CONFIG="$PREFIX/bin/pg_config" &&
    make PG_CONFIG="$PREFIX/bin/pg_config" install
}
if ! build >"$log" 2>&1; then
    cp "$log" "$CACHE/build-$version.log"
    tail -40 "$log" >&2
    echo "build_pg.sh: build failed (log: $CACHE/build-$version.log)" >&2
    exit 1
fi

chmod -R a+rX "$PREFIX"
echo "$want" >"$STAMP"
echo "== PostgreSQL $version built in $PREFIX" >&2
echo "$PREFIX/bin/pg_config"
