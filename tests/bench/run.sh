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
want vsock && [ -x "$here/../integration/vsock_guest.sh" ] && { echo "== vsock"; sh "$here/../integration/vsock_guest.sh" BENCH 2>&1 | grep -v '^ok - '; }
want ssh && bench_bin ssh
want capture && bench_bin capture
pkill -9 -f "$XDG_RUNTIME_DIR" 2>/dev/null
rm -rf "$tmp"
