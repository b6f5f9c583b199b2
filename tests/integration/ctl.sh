#!/bin/sh
# caplab ctl: commands to a lab that another caplab process runs, through
# the lab's control socket, as if typed at its TUI prompt.
. "$(dirname "$0")/../lib/testlib.sh"

# ctl TAG ARGS...: caplab ctl with a time limit, run from $TEST_TMP/client
# (not the lab's directory); status in RC, output in TAG.out / TAG.err.
mkdir -p "$TEST_TMP/client" "$TEST_TMP/labdir"
ctl() {
	tag=$TEST_TMP/$1; shift
	(cd "$TEST_TMP/client" && timeout -k 5 60 "$CAPLAB" ctl "$@" >"$tag.out" 2>"$tag.err" </dev/null)
	RC=$?
	return $RC
}
# checks TAG "what" command...: check, and on failure show ctl's TAG output.
checks() {
	tag=$1 what=$2; shift 2
	if "$@"; then ok "$what"; else not_ok "$what"; sed 's/^/# /' "$TEST_TMP/$tag.out" "$TEST_TMP/$tag.err"; fi
}

ctl none label x
check "no lab running: exit 255, says how to start one" sh -c \
	"[ $RC = 255 ] && grep -q 'no running lab (start one with caplab run or caplab)' '$TEST_TMP/none.err'"
ctl badnolab frobnicate x
check "a line that does not parse: exit 2 even with no lab (nothing is sent)" [ "$RC" = 2 ]

# The lab runs in its own directory: relative paths in commands are its.
(cd "$TEST_TMP/labdir" && exec "$CAPLAB" run -v "$LABS/two.lab" "$LABS/long.cls") \
	>"$TEST_TMP/lab.out" 2>"$TEST_TMP/lab.err" &
LAB_PID=$!
BG_PIDS="$BG_PIDS $LAB_PID"
wait_for "$TEST_TMP/lab.err" "done: start" || { echo "# lab did not start:"; tail -5 "$TEST_TMP/lab.err"; }
SOCK=$(ls -d "$XDG_RUNTIME_DIR"/caplab/two-*/control 2>/dev/null)
check "the lab has RUNDIR/control, a socket of mode 600" sh -c \
	"[ -S '$SOCK' ] && [ \"\$(stat -c %a '$SOCK')\" = 600 ]"

ctl cap capture a:eth0
checks cap "ctl capture a:eth0: exit 0" [ "$RC" = 0 ]
ctl ping exec a ping -c 2 10.0.1.2
checks ping "ctl exec a ping -c 2: the node's output on stdout, 2 received, exit 0" sh -c "[ $RC = 0 ] && \
	grep -qx '2 packets transmitted, 2 packets received, 0% packet loss' '$TEST_TMP/ping.out'"
ctl streams exec b sh -c 'echo to-out; echo to-err >&2; printf no-newline'
printf 'to-out\nno-newline\n' >"$TEST_TMP/streams.want"
checks streams "exec output: stdout and stderr apart, a last line without newline kept" sh -c "[ $RC = 0 ] && \
	cmp -s '$TEST_TMP/streams.out' '$TEST_TMP/streams.want' && [ \"\$(cat '$TEST_TMP/streams.err')\" = to-err ]"
ctl words exec a printf '[%s]\n' "two words" "it's" 'a;b' '#x' '-n'
printf '[%s]\n' "two words" "it's" 'a;b' '#x' '-n' >"$TEST_TMP/words.want"
checks words "arguments with spaces, quotes, ; and # arrive as one word each" \
	cmp -s "$TEST_TMP/words.out" "$TEST_TMP/words.want"
ctl exp expect a:eth0 icmp
checks exp "ctl expect a:eth0 icmp: exit 0" [ "$RC" = 0 ]
ctl noexp expect -t 1 a:eth0 'tcp port 9'
checks noexp "an expectation that does not hold: exit 1 with the lab's message" sh -c \
	"[ $RC = 1 ] && grep -q '^caplab: error: .*expect' '$TEST_TMP/noexp.err'"
ctl save save out.pcapng
checks save "ctl save out.pcapng: exit 0, the file is in the lab's directory, not the client's" sh -c \
	"[ $RC = 0 ] && [ -s '$TEST_TMP/labdir/out.pcapng' ] && [ ! -e '$TEST_TMP/client/out.pcapng' ]"
n=$(tshark -r "$TEST_TMP/labdir/out.pcapng" -Y icmp 2>/dev/null | wc -l)
check "tshark reads the saved file: the 4 ICMP packets of the ping ($n)" [ "$n" -ge 4 ]

ctl bad frobnicate x
checks bad "unknown command: exit 2, <control>:1:1 and the error" sh -c "[ $RC = 2 ] && \
	grep -q \"^<control>:1:1: error: unknown command 'frobnicate'\" '$TEST_TMP/bad.err'"
ctl badflag capture -zz a:eth0
checks badflag "unknown flag: exit 2" [ "$RC" = 2 ]
ctl nonode exec nosuch true
checks nonode "unknown node: exit 1 with the lab's message (position in <control>)" sh -c "[ $RC = 1 ] && \
	grep -q \"caplab: error: <control>:1:6: unknown node 'nosuch'\" '$TEST_TMP/nonode.err'"
ctl false exec a false
checks false "a failing exec: exit 1, 'exit status 1'" sh -c \
	"[ $RC = 1 ] && grep -q 'exec a false: exit status 1' '$TEST_TMP/false.err'"

# Two clients at once: both commands run together, each gets its own output.
t0=$(date +%s%N)
ctl two1 exec a sh -c 'sleep 2; echo one' &
p1=$!
ctl two2 exec b sh -c 'sleep 2; echo two' &
p2=$!
wait $p1; wait $p2
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "two clients at once: each its own output (one / two)" sh -c \
	"[ \"\$(cat '$TEST_TMP/two1.out')\" = one ] && [ \"\$(cat '$TEST_TMP/two2.out')\" = two ]"
check "two clients at once: the commands ran side by side (${ms} ms < 3500)" [ "$ms" -lt 3500 ]

# Two clients, one node: each gets its own command's output only.
ctl same1 exec a sh -c 'sleep 1; echo first' &
p1=$!
ctl same2 exec a sh -c 'sleep 1; echo second' &
p2=$!
wait $p1; wait $p2
check "two clients exec on the same node: each gets only its own output" sh -c \
	"[ \"\$(cat '$TEST_TMP/same1.out')\" = first ] && [ \"\$(cat '$TEST_TMP/same2.out')\" = second ]"

# Lines from stdin: one reply per command, in order; a bad line is not sent.
printf 'label hello\n\n# a comment\nexec a echo hi; exec b echo ho\nbogus x\nexec a false\n' |
	(cd "$TEST_TMP/client" && timeout 60 "$CAPLAB" ctl --raw - >"$TEST_TMP/stdin.out" 2>"$TEST_TMP/stdin.err")
rc=$?
printf 'ok\nout a stdout hi\nok\nout b stdout ho\nok\nerror exec a false: exit status 1\n' >"$TEST_TMP/stdin.want"
grep -v -e '^msg ' -e '^warn ' -e '^state ' -e '^progress ' "$TEST_TMP/stdin.out" >"$TEST_TMP/stdin.got"
checks stdin "ctl -: replies in order (ok, out, ok, out, ok, error)" cmp -s "$TEST_TMP/stdin.got" "$TEST_TMP/stdin.want"
check "ctl -: the line that does not parse is reported, exit 2" sh -c \
	"[ $rc = 2 ] && grep -q \"unknown command 'bogus'\" '$TEST_TMP/stdin.err'"

# A client that goes away mid-command: the command goes on, the lab too.
(cd "$TEST_TMP/client" && timeout 1 "$CAPLAB" ctl exec a sh -c 'sleep 2; echo late >/tmp/late') >/dev/null 2>&1
sleep 2.5
ctl late exec a cat /tmp/late
checks late "client killed mid-command: the command finished, the lab still answers" sh -c \
	"[ $RC = 0 ] && [ \"\$(cat '$TEST_TMP/late.out')\" = late ]"
ctl lab -l two label after
check "-l two reaches the lab" [ "$RC" = 0 ]
ctl nolab -l nope label x
check "-l nope: exit 255, 'no running lab 'nope''" sh -c \
	"[ $RC = 255 ] && grep -q \"no running lab 'nope'\" '$TEST_TMP/nolab.err'"

# The lab stops under a running command: an answer (error), no hang.
ctl stopping exec a sleep 30 &
cp=$!
sleep 1
kill -INT "$LAB_PID"
wait $cp
RC=$?
checks stopping "lab stopped under ctl exec: ctl ends with an error, not a hang (exit $RC)" sh -c \
	"[ $RC = 1 ] || [ $RC = 255 ]"
wait "$LAB_PID" 2>/dev/null
check "the lab's control socket is gone" [ ! -e "$SOCK" ]
ctl after label x
check "after the lab stopped: exit 255" [ "$RC" = 255 ]

# The TUI's lab has the same socket: a command from outside reaches it.
if command -v tmux >/dev/null 2>&1; then
	T="tmux -L caplab-ctl-$$ -f /dev/null"
	$T new-session -d -s tui -x 120 -y 40 \
		"env XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR' '$CAPLAB' '$LABS/two.lab' 2>'$TEST_TMP/tui.err'"
	i=0
	while [ $i -lt 300 ] && ! ctl tuih exec a hostname; do sleep 0.3; i=$((i + 1)); done
	checks tuih "the TUI's lab: ctl exec a hostname prints a" [ "$(cat "$TEST_TMP/tuih.out")" = a ]
	$T send-keys -t tui ':quit' Enter
	i=0
	while [ $i -lt 100 ] && $T has-session -t tui 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
	$T kill-server 2>/dev/null
else
	skip "ctl to the TUI's lab: tmux is not installed (make deps)"
fi
check "no sanitizer report from the lab or any caplab ctl" sh -c "! grep -l Sanitizer '$TEST_TMP'/*.err"
check_no_leftovers ctl
finish
