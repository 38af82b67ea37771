#!/usr/bin/env bash
# Fuzz the parsers of untrusted bytes outside the server: one libFuzzer
# target per parser (test/fuzz/<target>.c), built with clang
# -fsanitize=fuzzer,address,undefined against the same backend-free sources
# the extension links (src/*_parse.c).  Each target runs FUZZ_SECONDS
# seconds (15 under make test, 4 targets in a row: one minute; make fuzz:
# 300), starting from its committed seeds (test/fuzz/corpus/<target>, which
# hold the regression inputs) plus the corpus earlier runs grew in
# test/fuzz/build/.  One TAP line per target: executions and crashes.
# A crash leaves its input in test/fuzz/build/<target>-crash-*: fix the
# parser and commit the input to test/fuzz/corpus/<target>/ as regress-*.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
. "$HERE/../../scripts/lib.sh"
cd "$ROOT_DIR"

SECONDS_EACH=${FUZZ_SECONDS:-15}
BUILD=${FUZZ_BUILD_DIR:-$ROOT_DIR/test/fuzz/build}
CC_FUZZ=${CC_FUZZ:-clang}
FLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Wall -Wextra -Werror -Isrc -Itest/fuzz"

# The backend-free source each target fuzzes.
sources_of() {
    case $1 in
        crypto_header|protected_text) echo src/crypto_parse.c ;;
        token_input) echo src/token_parse.c ;;
        label_text) echo src/label_parse.c ;;
    esac
}
TARGETS="crypto_header protected_text token_input label_text"

# Can clang build and link a libFuzzer binary?
fuzzer_toolchain_works() {
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n > 99; }\n' \
        > "$BUILD/probe.c" &&
    $CC_FUZZ -fsanitize=fuzzer,address,undefined "$BUILD/probe.c" -o "$BUILD/probe" >/dev/null 2>&1
}

mkdir -p "$BUILD"
if ! fuzzer_toolchain_works; then
    # a fresh Debian 12 machine: clang and its runtime libraries (libFuzzer, sanitizers)
    echo "# installing clang and libclang-rt-14-dev"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi
ok "clang builds libFuzzer binaries with ASan and UBSan" fuzzer_toolchain_works

for t in $TARGETS; do
    bin="$BUILD/$t"
    log="$BUILD/$t.log"
    if ! $CC_FUZZ $FLAGS "test/fuzz/$t.c" $(sources_of "$t") -o "$bin" > "$log" 2>&1; then
        TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
        echo "not ok $TAP_N - fuzz $t: does not build"; sed 's/^/# /' "$log" | head -20
        continue
    fi
    mkdir -p "$BUILD/corpus/$t"
    rm -f "$BUILD/$t"-crash-* "$BUILD/$t"-leak-* "$BUILD/$t"-timeout-* "$BUILD/$t"-oom-*
    dict=()
    [ -f "test/fuzz/$t.dict" ] && dict=(-dict="test/fuzz/$t.dict")
    # new inputs go to the first corpus directory, never into the committed seeds
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$BUILD/$t-" "${dict[@]}" "$BUILD/corpus/$t" "test/fuzz/corpus/$t" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    crashes=$(ls "$BUILD/$t"-crash-* "$BUILD/$t"-leak-* "$BUILD/$t"-timeout-* "$BUILD/$t"-oom-* 2>/dev/null | wc -l)
    TAP_N=$((TAP_N + 1))
    if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] && [ -n "$execs" ]; then
        echo "ok $TAP_N - fuzz $t: ${execs} execs, 0 crashes (${rate} execs/s, ${SECONDS_EACH}s)"
    else
        TAP_FAILED=$((TAP_FAILED + 1))
        echo "not ok $TAP_N - fuzz $t: ${execs:-?} execs, $crashes crashes (exit $rc)"
        ls "$BUILD/$t"-crash-* "$BUILD/$t"-leak-* "$BUILD/$t"-timeout-* "$BUILD/$t"-oom-* 2>/dev/null | sed 's/^/# input: /'
        grep -E 'property failed|ERROR:|SUMMARY|runtime error|#[0-9]+ 0x' "$log" | head -20 | sed 's/^/# /'
    fi
done
done_testing
