#!/bin/sh
# Crashes and signals: a killed node is an event and can be started again;
# kill -9 of caplab or SIGINT leave nothing running.
. "$(dirname "$0")/../lib/testlib.sh"
# caplab runs in the background here (no timeout wrapper: the signals must
# reach caplab itself); finish kills any that are left.

# pid of the qemu of NODE in this test's runtime dir, waiting for it to exist.
qemu_pid() {
	i=0
	while [ $i -lt 600 ]; do
		p=$(pgrep -f "caplab-$1 .*$XDG_RUNTIME_DIR" | head -1)
		[ -n "$p" ] && { echo "$p"; return; }
		sleep 0.1; i=$((i + 1))
	done
}

# kill -9 of one node's qemu: an event, the rest keeps running, start b boots it again.
out=$TEST_TMP/crash
"$CAPLAB" run -v "$LABS/two.lab" "$LABS/restart-b.cls" >"$out.out" 2>"$out.err" &
cl=$!
BG_PIDS="$BG_PIDS $cl"
wait_for "$out.err" "node b: ready" && pb=$(qemu_pid b)
pa=$(qemu_pid a)
kill -9 "$pb" 2>/dev/null
wait $cl
RC=$?
check "killed node: run still exits 0" [ "$RC" = 0 ]
check "killed node: event 'node b exited: signal 9'" grep -q "node b exited: signal 9" "$out.err"
check "killed node: b is ready again after start b" sh -c "[ \$(grep -c 'node b: ready' '$out.err') -ge 2 ]"
check "killed node: a kept running meanwhile" sh -c "! grep -q 'node a exited' '$out.err'"
check_no_leftovers "after a killed node"

# kill -9 of caplab itself: every child goes with it (PR_SET_PDEATHSIG).
out=$TEST_TMP/kill9
"$CAPLAB" run -v "$LABS/two.lab" "$LABS/long.cls" >"$out.out" 2>"$out.err" &
cl=$!
BG_PIDS="$BG_PIDS $cl"
wait_for "$out.err" "node b: ready"
pids=$(pgrep -f "$XDG_RUNTIME_DIR" | tr '\n' ' ')
check "kill -9: lab was running (qemu and vde_switch)" [ -n "$pids" ]
kill -9 $cl
sleep 2
alive=""
for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
check "kill -9 caplab: all its children gone within 2 s" [ -z "$alive" ]
check_no_leftovers "after kill -9 caplab"
rm -rf "$XDG_RUNTIME_DIR"/caplab

# SIGINT: clean shutdown, exit 130, nothing left, runtime dir removed.
out=$TEST_TMP/sigint
"$CAPLAB" run -v "$LABS/two.lab" "$LABS/long.cls" >"$out.out" 2>"$out.err" &
cl=$!
BG_PIDS="$BG_PIDS $cl"
wait_for "$out.err" "node b: ready"
kill -INT $cl
wait $cl
RC=$?
check "SIGINT: exit status 130" [ "$RC" = 130 ]
check "SIGINT: runtime dir removed" sh -c "[ -z \"\$(ls -A '$XDG_RUNTIME_DIR/caplab' 2>/dev/null)\" ]"
check_no_leftovers "after SIGINT"
finish
