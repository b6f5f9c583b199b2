#!/bin/sh
# Link impairments go through vde2's wirefilter: -delay slows, -loss drops.
. "$(dirname "$0")/../lib/testlib.sh"
d=$TEST_TMP/out
run_caplab "$TEST_TMP/run" run -v -o "$d" "$LABS/impaired.lab" "$LABS/impaired.cls"
check "impaired lab runs (exit 0)" [ "$RC" = 0 ]
[ "$RC" = 0 ] || tail -10 "$TEST_TMP/run.err"
check "-delay: pings from a still get through" grep -q "3 packets received" "$TEST_TMP/run.err"
# Round trip as seen on a's netdev (host clock): request and reply each cross a's wirefilter.
rtt=$(tshark -r "$d/delay.pcapng" -Y 'icmp.type == 0' -T fields -e icmp.resptime 2>/dev/null | sort -n | head -1)
check "-delay 50: every echo round trip takes >= 100 ms (min $rtt ms)" \
	awk -v r="$rtt" 'BEGIN { exit !(r != "" && r + 0 >= 100) }'
check "-loss 100: c's pings get no reply" grep -q "c ping -c 2 -W 1 10.0.1.2: exit status 1 (ignored: -i)" "$TEST_TMP/run.err"
check_no_leftovers engine_links
finish
