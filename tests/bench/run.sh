#!/bin/sh
# make bench: figures for the targets the issues name, printed, never asserted.
# Usage: tests/bench/run.sh [NAME...]  (engine image pcapng vsock ssh capture)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
: "${CAPLAB:=$root/caplab}"
export CAPLAB_ASSETS="${CAPLAB_ASSETS:-$root/assets}"
BIN=$root/build/bench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/caplab-bench.XXXXXX")
export XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
want() { [ $# -eq 0 ] || [ -z "$SEL" ] && return 0; for s in $SEL; do [ "$s" = "$1" ] && return 0; done; return 1; }
SEL="$*"

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }

bench_engine() {
	echo "== engine (TCG; targets: <= 3 s per node, 8 nodes <= 16 s, <= 300 MB RSS per node)"
	"$CAPLAB" run "$here/labs-one.lab" >/dev/null 2>&1 # warm the image cache
	for i in 1 2 3 4 5; do
		"$CAPLAB" run "$here/labs-one.lab" 2>&1 | sed -n 's/.*node n1 ready in \([0-9.]*\) s.*/\1/p'
	done > "$tmp/boot"
	echo "node boot to ready, median of 5: $(median < "$tmp/boot") s (each: $(tr '\n' ' ' < "$tmp/boot"))"
	printf 'sleep 3\n' > "$tmp/hold.cls"
	"$CAPLAB" run -v "$here/labs-eight.lab" "$tmp/hold.cls" > "$tmp/eight.out" 2>&1 &
	pid=$!
	i=0
	while ! grep -q 'done: start' "$tmp/eight.out" && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 1
	rss=$(for p in $(pgrep -f "caplab-n[0-9] .*$XDG_RUNTIME_DIR"); do awk '/VmRSS/ {print $2}' /proc/$p/status; done | median)
	wait $pid
	echo "8-node lab, start to all ready: $(sed -n 's/.*done: start (\([0-9.]*\) s).*/\1/p' "$tmp/eight.out") s"
	echo "RSS per node (median of 8 qemu processes): $((${rss:-0} / 1024)) MB"
}

# Capture on a real lab: the same transfer without and with captures on both
# ends, frames/s and MB/s the captures took, drops, and the save's time.
bench_capture_lab() {
	echo "== capture (real lab, TCG; goals: 0 dropped, throughput with capture >= 90 % of without)"
	out=$tmp/capture
	"$CAPLAB" run -v -o "$out" "$here/capture.lab" "$here/capture.cls" > "$tmp/capture.log" 2>&1 ||
		{ echo "capture lab failed:"; tail -5 "$tmp/capture.log"; return; }
	phase() { # best time of a phase
		sed -n "s/.*done: exec a sh -c ': $1;.*(\([0-9.]*\) s)\$/\1/p" "$tmp/capture.log" | sort -n | head -1
	}
	t0=$(phase nocapture) t1=$(phase capture)
	t_save=$(sed -n 's/.*done: save bench.pcapng[^(]*(\([0-9.]*\) s).*/\1/p' "$tmp/capture.log")
	f=$out/bench.pcapng
	pkts=$(capinfos -M -c "$f" 2>/dev/null | sed -n 's/.*Number of packets: *//p')
	bytes=$(capinfos -M -d "$f" 2>/dev/null | sed -n 's/.*Data size: *\([0-9]*\).*/\1/p')
	drops=$(grep -o '"dropped": [0-9]*' "$f.json" | awk '{s += $2} END {print s + 0}')
	mb=52.4 # 800 x 64 KiB
	awk -v t0="$t0" -v t1="$t1" -v p="$pkts" -v b="$bytes" -v d="$drops" -v mb="$mb" -v ts="$t_save" \
	    -v fs="$(stat -c %s "$f")" 'BEGIN {
		printf "transfer %.1f MB without capture (best of 2): %.2f s (%.1f MB/s)\n", mb, t0, mb / t0
		printf "same with capture on both ends (best of 2): %.2f s (%.1f MB/s) = %.0f %% of without\n", t1, mb / t1, 100 * t0 / t1
		printf "captured: %d frames, %.1f MB over both links: %.0f frames/s, %.1f MB/s; dropped %d\n", p, b / 1e6, p / t1, b / 1e6 / t1, d
		printf "save of the %.0f MB capture: %.2f s\n", fs / 1e6, ts }'
}

# SSH on a real TCG node (the bench_ssh above uses sshd on a socketpair, no VM).
bench_ssh_node() {
	echo "== ssh on a real node (TCG; targets: first exec <= 20 ms, repeated <= 2 ms, copy >= 20 MB/s)"
	printf 'sleep 300\n' > "$tmp/hold-ssh.cls"
	"$CAPLAB" run -v "$here/labs-one.lab" "$tmp/hold-ssh.cls" > "$tmp/ssh.out" 2>&1 &
	pid=$!
	i=0
	while ! grep -q 'done: start' "$tmp/ssh.out" && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
	rd=$(ls -d "$XDG_RUNTIME_DIR"/caplab/labs-one-$pid 2>/dev/null)
	if [ -n "$rd" ] && [ -x "$BIN/bench_ssh" ]; then
		"$BIN/bench_ssh" vsock "$rd/n1.vsock" "$rd" 2>&1
	else
		echo "ssh on a node: lab did not start or bench_ssh not built"
	fi
	kill -INT $pid; wait $pid
}

bench_bin() { # NAME: a bench program, when built
	if [ -x "$BIN/bench_$1" ]; then
		echo "== $1"
		"$BIN/bench_$1" 2>&1
	else
		echo "== $1: not built ($BIN/bench_$1)"
	fi
}

want engine && bench_engine
want image && bench_bin image
want pcapng && bench_bin pcapng
want vsock && [ -x "$here/../integration/vsock_guest.sh" ] && { echo "== vsock"; sh "$here/../integration/vsock_guest.sh" "$BIN/bench_vsock" 2>&1 | grep -v '^ok - '; }
want ssh && bench_bin ssh
want ssh && bench_ssh_node
want capture && bench_capture_lab
want capture && [ -n "${CAPTURE_BENCH_KERNEL:-}" ] && bench_bin capture
pkill -9 -f "$XDG_RUNTIME_DIR" 2>/dev/null
rm -rf "$tmp"
