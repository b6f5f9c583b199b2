#!/bin/sh
# capture -d shows the compiled BPF program in `caplab run` output, the same
# program tcpdump -d prints for the same filter on Ethernet.
. "$(dirname "$0")/../lib/testlib.sh"
run_caplab "$TEST_TMP/run" run -v "$LABS/capture-bulk.lab" "$LABS/capture-bpf.cls"
check "bpf script runs to the end (exit 0)" [ "$RC" = 0 ]
# An empty Ethernet pcap (snaplen 262144) gives tcpdump the link type.
printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\000\000\004\000\001\000\000\000' \
	>"$TEST_TMP/empty.pcap"
shown() { # NAME: the program caplab printed for that capture
	sed -n "/capture $1: filter '.*' compiles to:/,/done: capture/p" "$TEST_TMP/run.err" |
		sed -e '1d' -e '/done: capture/d' -e 's/^caplab: //'
}
set -f # filters are words for tcpdump, not globs
while read -r name filter; do
	tcpdump -d -r "$TEST_TMP/empty.pcap" $filter >"$TEST_TMP/want.$name" 2>/dev/null
	shown "$name" >"$TEST_TMP/got.$name"
	check "capture -d -f '$filter' prints what tcpdump -d prints ($(wc -l <"$TEST_TMP/want.$name") lines)" \
		sh -c "[ -s '$TEST_TMP/want.$name' ] && cmp -s '$TEST_TMP/want.$name' '$TEST_TMP/got.$name'"
done <<'LIST'
web tcp port 80
pings icmp[icmptype] = icmp-echo or arp
vlan vlan 10 and udp dst port 53
all
LIST
check_no_leftovers capture_bpf
finish
