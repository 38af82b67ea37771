# Sourced by scripts/test_citus.sh (after lib.sh): build Citus from the source
# archive $CITUS_SRC once, cache the built tree outside the clone, and install
# it into the PostgreSQL that lib.sh uses (the PRIVACY_PG_ROOT copy when set).

CITUS_BUILD_DEPS="libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev libicu-dev libselinux1-dev
                  libpam0g-dev libxml2-dev libxslt1-dev libreadline-dev autoconf flex bison"

# Build Citus from $CITUS_SRC against $1 (a pg_config) unless the cache holds
# a finished build, then install it (into $PG_ROOT when set).
citus_build_install() {
    local pg_config=$1 src major version cache dir
    src=${CITUS_SRC:?CITUS_SRC must name a Citus source archive (e.g. ../shared/vendor/citus-13.0.5.tar.gz)}
    [ -f "$src" ] || { echo "CITUS_SRC=$src: no such file" >&2; return 1; }
    src=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")
    major=$("$pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
    version=$(basename "$src" | sed -E 's/^citus-(.*)\.tar\.gz$/\1/')
    cache=${PRIVACY_CACHE:-/var/cache/privacy}
    dir=$cache/citus-$version-pg$major
    if [ ! -f "$dir/.built" ]; then
        install_missing $CITUS_BUILD_DEPS
        echo "== building Citus $version against PostgreSQL $major in $dir (a few minutes, once)"
        as_root mkdir -p "$cache"
        # configure records absolute paths: build in place; .built marks a finished build
        as_root rm -rf "$dir"
        as_root mkdir -p "$dir"
        as_root tar -xzf "$src" -C "$dir" --strip-components=1 || return 1
        ( cd "$dir" && as_root ./configure PG_CONFIG="$pg_config" >../citus-$version-pg$major.log 2>&1 &&
          as_root make -j2 with_llvm=no >>../citus-$version-pg$major.log 2>&1 ) ||
            { echo "Citus build failed: see $cache/citus-$version-pg$major.log" >&2; tail -20 "$cache/citus-$version-pg$major.log" >&2; return 1; }
        as_root touch "$dir/.built"
    fi
    echo "== installing Citus $version from $dir"
    as_root make -C "$dir" -s PG_CONFIG="$pg_config" with_llvm=no ${PG_ROOT:+DESTDIR=$PG_ROOT} install >/dev/null
}
