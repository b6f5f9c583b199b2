#!/bin/sh
# kill -9 of caplab during a capture: the spool it leaves is a pcapng that
# tshark reads to its last packet, and no qemu or vde_switch survives.
. "$(dirname "$0")/../lib/testlib.sh"
# No timeout wrapper: the signal must reach caplab itself.
out=$TEST_TMP/kill9
"$CAPLAB" run -v "$LABS/capture-bulk.lab" "$LABS/capture-kill.cls" >"$out.out" 2>"$out.err" &
cl=$!
BG_PIDS="$BG_PIDS $cl"
spool_packets() { tshark -r "$1" 2>/dev/null | wc -l; }
spool="" before=0 i=0
while [ $i -lt 900 ] && [ "$before" -lt 20 ]; do
	spool=$(ls "$XDG_RUNTIME_DIR"/caplab/*/captures/*.spool 2>/dev/null | head -1)
	[ -n "$spool" ] && before=$(spool_packets "$spool")
	sleep 0.2; i=$((i + 1))
done
check "capture is spooling traffic ($before packets in ${spool:-no spool})" [ "$before" -ge 20 ]
pids=$(pgrep -f "$XDG_RUNTIME_DIR" | tr '\n' ' ')
check "lab was running (qemu and vde_switch)" [ -n "$pids" ]
kill -9 $cl
sleep 2
alive=""
for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
check "kill -9 caplab: qemu and vde_switch gone within 2 s" [ -z "$alive" ]
if [ -n "$spool" ]; then
	tshark -r "$spool" >"$TEST_TMP/spool.txt" 2>"$TEST_TMP/spool.err"
	trc=$?
	grep -v 'Running as user "root"' "$TEST_TMP/spool.err" >"$TEST_TMP/spool.warn"
	after=$(grep -c ICMP "$TEST_TMP/spool.txt")
	check "tshark reads the spool with no error (exit $trc)" \
		sh -c "[ $trc = 0 ] && [ ! -s '$TEST_TMP/spool.warn' ]"
	check "the spool holds every packet seen before the kill, and more ($after >= $before)" \
		[ "$after" -ge "$before" ]
	check "capinfos reads the cut spool" sh -c "capinfos '$spool' >/dev/null 2>&1"
else
	not_ok "no spool file under $XDG_RUNTIME_DIR/caplab/*/captures"
fi
check_no_leftovers capture_kill9
finish
