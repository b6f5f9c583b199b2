#!/bin/sh
# A captured ping, exported and read back with tshark, capinfos and tcpdump.
. "$(dirname "$0")/../lib/testlib.sh"
d=$TEST_TMP/out
run_caplab "$TEST_TMP/run" run -o "$d" "$LABS/ping-later.lab" "$LABS/capture-ping.cls"
check "capture script runs to the end (exit 0)" [ "$RC" = 0 ]
[ "$RC" = 0 ] || tail -20 "$TEST_TMP/run.err"
f=$d/out.pcapng

tshark -r "$f" >/dev/null 2>"$TEST_TMP/tshark.err"
grep -v -e 'Running as user "root"' "$TEST_TMP/tshark.err" > "$TEST_TMP/tshark.warn"
check "tshark reads the export with no warning" sh -c "[ -s '$f' ] && [ ! -s '$TEST_TMP/tshark.warn' ]"

fields() { tshark -r "$f" -T fields -E separator=' ' "$@" 2>/dev/null; }
req_dir() { # IFACE: direction flags of echo requests on that link
	fields -Y "icmp.type == 8 && frame.interface_name == \"$1\"" -e frame.packet_flags_direction | sort -u
}
check "echo requests are outbound on a:eth0" [ "$(req_dir a:eth0)" = "0x00000002" ]
check "echo requests are inbound on b:eth0" [ "$(req_dir b:eth0)" = "0x00000001" ]
check "both links are in the file" [ "$(fields -e frame.interface_name | sort -u | tr '\n' ' ')" = "a:eth0 b:eth0 " ]
check "ICMP frames carry the label 'ping'" \
	[ "$(fields -Y icmp -e frame.comment | sort -u)" = "ping" ]
check "merged links are time-ordered" sh -c "tshark -r '$f' -T fields -e frame.time_epoch 2>/dev/null | sort -c -n"
check "capinfos reads it (2 interfaces)" sh -c "capinfos '$f' 2>/dev/null | grep -q 'Number of interfaces in file: 2'"
check "tcpdump -r reads it" sh -c "tcpdump -r '$f' -nn 2>/dev/null | grep -q 'ICMP echo request'"
sum=$(sha256sum "$f" | cut -d' ' -f1)
check "manifest has the pcapng's sha256" grep -q "$sum" "$f.json"
check "manifest has the label timeline" grep -q '"ping"' "$f.json"

# Filters keep exactly what tcpdump keeps from the same frames.
all=$d/all-a_eth0.pcap # -format pcap: one file per capture, FILE-CAPTURE.pcap
for pair in "a-icmp icmp" "a-not-arp not arp"; do
	name=${pair%% *}; filter=${pair#* }
	got=$d/all-$name.pcap
	want=$(tcpdump -r "$all" -nn "$filter" 2>/dev/null | wc -l)
	have=$(tcpdump -r "$got" -nn 2>/dev/null | wc -l)
	check "filter '$filter' keeps what tcpdump keeps ($have = $want)" \
		sh -c "[ -f '$got' ] && [ '$want' -gt 0 ] && [ '$have' = '$want' ]"
done
check_no_leftovers capture_ping
finish
