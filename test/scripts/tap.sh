# Minimal TAP output for the script tests; source it.
TAP_N=0
TAP_FAILED=0

# ok <description> <command...>: one test line from a command's exit status.
ok() {
    local desc=$1; shift
    TAP_N=$((TAP_N + 1))
    if "$@" >/tmp/tap.$$.out 2>&1; then
        echo "ok $TAP_N - $desc"
    else
        echo "not ok $TAP_N - $desc"; sed 's/^/# /' /tmp/tap.$$.out | head -20
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
    rm -f /tmp/tap.$$.out
}

# is <description> <got> <expected>
is() {
    TAP_N=$((TAP_N + 1))
    if [ "$2" = "$3" ]; then
        echo "ok $TAP_N - $1"
    else
        echo "not ok $TAP_N - $1"; echo "#   got:      '$2'"; echo "#   expected: '$3'"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

# like <description> <got> <extended regex>
like() {
    TAP_N=$((TAP_N + 1))
    if grep -E -- "$3" <<<"$2" >/dev/null; then
        echo "ok $TAP_N - $1"
    else
        echo "not ok $TAP_N - $1"; echo "#   got:      '$2'"; echo "#   expected to match: '$3'"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

done_testing() {
    echo "1..$TAP_N"
    [ $TAP_FAILED -eq 0 ]
}
