#!/bin/sh
# Runs every test: C unit tests (cmocka) and shell integration tests that boot
# real labs. Prints one line per test and ends with "N passed, N failed, N skipped".
# Usage: tests/run.sh [PATTERN...]   (only tests whose name contains a pattern)
# Env: CAPLAB (binary under test), UNITDIR (built unit tests).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${CAPLAB:=$here/../caplab}"
: "${UNITDIR:=$here/../build/tests}"
export CAPLAB
export CAPLAB_ASSETS="${CAPLAB_ASSETS:-$here/../assets}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
logdir=$(mktemp -d "${TMPDIR:-/tmp}/caplab-tests.XXXXXX")
passed=0 failed=0 skipped=0
failures=""

wanted() {
	[ $# -eq 0 ] && return 0
	name=$1; shift
	[ -z "${PATTERNS:-}" ] && return 0
	for p in $PATTERNS; do case "$name" in *"$p"*) return 0 ;; esac; done
	return 1
}
PATTERNS="$*"

# A test prints "ok - what", "not ok - what" or "skip - what: why" lines;
# each counts. A unit program counts its cmocka cases.
count_output() {
	name=$1 log=$2 rc=$3
	p=$(grep -c '^ok - ' "$log"); f=$(grep -c '^not ok - ' "$log"); s=$(grep -c '^skip - ' "$log")
	cp=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	cf=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=$((p + ${cp:-0})); f=$((f + ${cf:-0}))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	grep '^skip - ' "$log" | sed "s|^|  $name: |"
	if [ "$f" -gt 0 ]; then
		failures="$failures $name"
		echo "FAIL $name ($p passed, $f failed) — log:"
		grep -E '^not ok|^\[  (FAILED|ERROR) |ERROR|error|Sanitizer|runtime error' "$log" | head -40 | sed 's/^/  | /'
		echo "  (full log: $log)"
	else
		echo "PASS $name ($p passed${s:+, $s skipped})"
	fi
}

for t in "$UNITDIR"/test_*; do
	[ -x "$t" ] || continue
	name=unit/$(basename "$t")
	wanted "$name" || continue
	log="$logdir/$(basename "$t").log"
	(cd "$here/.." && "$t") >"$log" 2>&1
	count_output "$name" "$log" $?
done

for t in "$here"/integration/*.sh; do
	[ -f "$t" ] || continue
	name=integration/$(basename "$t" .sh)
	wanted "$name" || continue
	log="$logdir/$(basename "$t" .sh).log"
	(cd "$here/.." && sh "$t") >"$log" 2>&1
	count_output "$name" "$log" $?
done

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
