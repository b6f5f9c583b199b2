# testlib.sh: sourced by tests/integration/*.sh (git t/ style, simplified).
# Each check prints "ok - what" or "not ok - what"; skips print
# "skip - what: why". Every test runs caplab with its own runtime dir, so
# leftover processes can be found by that path and must not exist.
set -u
: "${CAPLAB:?CAPLAB must point at the caplab binary}"
TEST_NAME=$(basename "$0" .sh)
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/caplab-$TEST_NAME.XXXXXX")
chmod 755 "$TEST_TMP"
export XDG_RUNTIME_DIR="$TEST_TMP/run"
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
LABS="$(cd "$(dirname "$0")" && pwd)/labs"
FAILED=0
BG_PIDS="" # caplab processes a test started in the background

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; FAILED=1; }
skip() { echo "skip - $*"; }

# check "what" command...: ok when the command succeeds.
check() {
	what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# Processes (qemu, vde_switch, wirefilter) started for this test, by the
# runtime path in their command lines.
leftovers() {
	pgrep -a -f "$XDG_RUNTIME_DIR" 2>/dev/null | grep -v -e pgrep -e "$$" || true
}

check_no_leftovers() {
	i=0
	while [ -n "$(leftovers)" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	left=$(leftovers)
	if [ -z "$left" ]; then
		ok "no qemu/vde_switch/wirefilter left running ($1)"
	else
		not_ok "no qemu/vde_switch/wirefilter left running ($1): $left"
		pkill -9 -f "$XDG_RUNTIME_DIR" 2>/dev/null
	fi
}

# wait_for FILE TEXT [TENTHS]: until FILE contains TEXT (default 90 s).
wait_for() { # FILE TEXT [TENTHS]
	i=0
	while [ $i -lt "${3:-900}" ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# run_caplab OUT ARGS...: runs caplab with a time limit; exit code in $RC,
# stderr in OUT.err, stdout in OUT.out.
run_caplab() {
	out=$1; shift
	timeout -k 5 "${CAPLAB_TIMEOUT:-300}" "$CAPLAB" "$@" >"$out.out" 2>"$out.err"
	RC=$?
}

finish() {
	for p in $BG_PIDS; do kill -9 "$p" 2>/dev/null; done
	pkill -9 -f "$XDG_RUNTIME_DIR" 2>/dev/null
	if [ "$FAILED" = 0 ]; then rm -rf "$TEST_TMP"; else echo "(kept $TEST_TMP)"; fi
	exit $FAILED
}
