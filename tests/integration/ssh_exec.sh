#!/bin/sh
# exec and copy over vsock SSH against real nodes.
. "$(dirname "$0")/../lib/testlib.sh"
d=$TEST_TMP/out
mkdir -p "$d"
head -c 52428800 /dev/urandom > "$d/big.bin"
run_caplab "$TEST_TMP/run" run -v -o "$d" "$LABS/two.lab" "$LABS/ssh.cls"
out=$TEST_TMP/run.err
check "ssh script runs to the end (exit 0)" [ "$RC" = 0 ]
[ "$RC" = 0 ] || tail -15 "$out"
check "exit status 3 is reported (and -i lets it pass)" grep -q "exec a sh -c 'exit 3': exit status 3 (ignored: -i)" "$out"
check "a missing command gives exit status 127" grep -q "no-such-command-here: exit status 127 (ignored: -i)" "$out"
check "stdout and stderr arrive separately" sh -c "grep -q '^\[a stdout\] to-stdout' '$out' && grep -q '^\[a stderr\] to-stderr' '$out'"
check "arguments with spaces, quotes, \$ and ; arrive verbatim" sh -c \
	"grep -q '^\[a stdout\] \[two words\]' '$out' && grep -q \"\\[it's\\]\" '$out' && grep -q '\[\$HOME\]' '$out' && grep -q '\[a;b\]' '$out' && grep -q '\[\"q\"\]' '$out'"
# 10 MB through one exec, intact: the exec log holds the bytes cat sent.
want=$(sed -n 's/^\[a stdout\] \([0-9a-f]\{64\}\)  \/tmp\/big$/\1/p' "$out")
have=$(sed -n '/\/tmp\/big$/,$p' "$d/a.exec.log" | tail -c +$((65 + 11 + 1)) | head -c 10485760 | sha256sum | cut -d' ' -f1)
check "10 MB of exec output arrive intact (sha256)" [ -n "$want" ] && [ "$want" = "$have" ]
check "a timeout fails the exec with a clear message" grep -q "timed out after 1 s" "$out"
check "a timeout kills the remote command" grep -q '^\[a stdout\] sleep-gone' "$out"
up=$(sha256sum "$d/big.bin" | cut -d' ' -f1)
check "copy of 50 MB to a node arrives intact" grep -q "^\[a stdout\] $up  /tmp/up.bin" "$out"
check "copy of 50 MB from a node arrives intact" [ "$(sha256sum < "$d/down.bin" | cut -d' ' -f1)" = "$up" ]
check "20 concurrent execs on two nodes all finish" [ "$(grep -c '^\[[ab] stdout\] bg-' "$out")" = 20 ]

run_caplab "$TEST_TMP/fail" run "$LABS/two.lab" "$LABS/exec-fail.cls"
check "a failing exec fails the run (exit 1) and stops the script" sh -c \
	"[ $RC = 1 ] && grep -q 'exit status 3' '$TEST_TMP/fail.err' && ! grep -q never-runs '$TEST_TMP/fail.err'"
check "... with file:line:col" grep -q "exec-fail.cls:1:1: exec a sh -c 'exit 3': exit status 3" "$TEST_TMP/fail.err"

# A node killed mid-exec: a clear error, no hang.
"$CAPLAB" run -v "$LABS/two.lab" "$LABS/kill-mid-exec.cls" >"$TEST_TMP/kill.out" 2>"$TEST_TMP/kill.err" &
cl=$!
BG_PIDS="$BG_PIDS $cl"
i=0
while ! grep -q "done: start" "$TEST_TMP/kill.err" && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
pkill -9 -f "caplab-a .*$XDG_RUNTIME_DIR"
i=0
while kill -0 $cl 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "node killed mid-exec: caplab ends (no hang)" sh -c "! kill -0 $cl 2>/dev/null"
wait $cl
check "node killed mid-exec: exit 1 and a clear error" sh -c "[ $? = 1 ] && grep -q 'exec a sleep 60: connection to node a' '$TEST_TMP/kill.err'"
# Two labs at once, same node names: each reaches only its own nodes.
for l in X Y; do
	printf "exec a sh -c 'echo $l > /tmp/who; sleep 3; cat /tmp/who'\n" > "$TEST_TMP/$l.cls"
	"$CAPLAB" run -v "$LABS/two.lab" "$TEST_TMP/$l.cls" >"$TEST_TMP/$l.out" 2>"$TEST_TMP/$l.err" &
	BG_PIDS="$BG_PIDS $!"
done
wait
check "two labs at once do not see each other's nodes" sh -c \
	"grep -q '^\[a stdout\] X$' '$TEST_TMP/X.err' && grep -q '^\[a stdout\] Y$' '$TEST_TMP/Y.err'"
check_no_leftovers ssh_exec
finish
