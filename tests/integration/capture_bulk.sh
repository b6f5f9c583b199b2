#!/bin/sh
# A transfer at full speed through captured links loses nothing: per node
# and direction, the export holds exactly the frames the guest's interface
# counters say it sent and accepted, and the captures dropped nothing.
. "$(dirname "$0")/../lib/testlib.sh"
d=$TEST_TMP/out
run_caplab "$TEST_TMP/run" run -v -o "$d" "$LABS/capture-bulk.lab" "$LABS/capture-bulk.cls"
check "bulk script runs to the end (exit 0)" [ "$RC" = 0 ]
[ "$RC" = 0 ] || tail -20 "$TEST_TMP/run.err"
f=$d/bulk.pcapng
log=$TEST_TMP/run.err
counter() { # NODE WHEN FIELD(2=tx 3=rx)
	sed -n "s/.*counters-$1-$2 \([0-9]*\) \([0-9]*\).*/\1 \2/p" "$log" | cut -d' ' -f$(($3 - 1))
}
frames() { # LINK FILTER
	tshark -r "$f" -Y "frame.interface_name == \"$1\" && ($2)" 2>/dev/null | wc -l
}
for n in a b; do
	mac=52:54:00:00:03:0$([ $n = a ] && echo 1 || echo 2)
	tx=$(( $(counter $n after 2) - $(counter $n before 2) ))
	rx=$(( $(counter $n after 3) - $(counter $n before 3) ))
	out=$(frames $n:eth0 "frame.packet_flags_direction == 2")
	# Inbound frames the NIC accepts: to its MAC or broadcast (QEMU's
	# virtio-net drops the rest — flooded unicast — before the guest counts).
	in=$(frames $n:eth0 "frame.packet_flags_direction == 1 && (eth.dst == $mac || eth.dst == ff:ff:ff:ff:ff:ff)")
	check "node $n: frames sent = export's outbound frames ($tx = $out)" \
		sh -c "[ '$tx' -gt 1000 ] && [ '$tx' = '$out' ]"
	check "node $n: frames received = export's inbound frames ($rx = $in)" \
		sh -c "[ '$rx' -gt 1000 ] && [ '$rx' = '$in' ]"
done
drops=$(grep -o '"dropped": [0-9]*' "$f.json" | sort -u | tr '\n' ' ')
check "manifest: nothing dropped ($drops)" [ "$drops" = '"dropped": 0 ' ]
check "stop-capture reports 0 dropped for both links" \
	sh -c "[ \$(grep -c 'stopped: .* 0 dropped' '$log') = 2 ]"
check_no_leftovers capture_bulk
finish
