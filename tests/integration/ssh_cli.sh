#!/bin/sh
# caplab ssh: a user's own commands, shell and OpenSSH client on the nodes of
# a lab that another caplab process runs.
. "$(dirname "$0")/../lib/testlib.sh"

# lab_up LABFILE TAG: runs the lab in the background until its nodes are up;
# its caplab's pid in LAB_PID.
lab_up() {
	"$CAPLAB" run -v "$1" "$LABS/long.cls" >"$TEST_TMP/$2.out" 2>"$TEST_TMP/$2.err" &
	LAB_PID=$!
	BG_PIDS="$BG_PIDS $LAB_PID"
	wait_for "$TEST_TMP/$2.err" "done: start" || { echo "# lab $2 did not start:"; tail -5 "$TEST_TMP/$2.err"; }
}

# cssh TAG ARGS...: caplab ssh with a time limit; status in RC, output in
# TAG.out / TAG.err.
cssh() {
	tag=$TEST_TMP/$1; shift
	timeout -k 5 60 "$CAPLAB" ssh "$@" >"$tag.out" 2>"$tag.err" </dev/null
	RC=$?
}

# The qemu of NODE in this test's labs (its command line names the runtime dir).
qemu_of() { pgrep -f "caplab-$1 .*$XDG_RUNTIME_DIR/caplab/$2-" | head -1; }

cssh none a true
check "no lab running: exit 255" [ "$RC" = 255 ]
check "no lab running: says how to start one" \
	grep -q "no running lab has a node named a (start one with caplab run or caplab)" "$TEST_TMP/none.err"

lab_up "$LABS/two.lab" two
TWO=two-$LAB_PID TWO_PID=$LAB_PID

cssh uname a uname -r
check "ssh a uname -r prints the guest's kernel, exit 0" \
	sh -c "[ $RC = 0 ] && grep -qx '6\.1\.0-.*cloud-amd64' '$TEST_TMP/uname.out'"
cssh host b hostname
check "ssh b hostname is b" sh -c "[ $RC = 0 ] && [ \"\$(cat '$TEST_TMP/host.out')\" = b ]"
cssh st a sh -c 'exit 7'
check "remote exit status 7 becomes caplab's" [ "$RC" = 7 ]
cssh streams a sh -c 'echo to-out; echo to-err >&2'
check "stdout and stderr arrive on ours, separately" sh -c \
	"[ \"\$(cat '$TEST_TMP/streams.out')\" = to-out ] && [ \"\$(cat '$TEST_TMP/streams.err')\" = to-err ]"
cssh words a printf '[%s]\n' "two words" "it's" '$HOME' 'a;b' '"q"'
printf '[%s]\n' "two words" "it's" '$HOME' 'a;b' '"q"' >"$TEST_TMP/words.want"
check "arguments with spaces, quotes, \$ and ; arrive verbatim" cmp -s "$TEST_TMP/words.out" "$TEST_TMP/words.want"
cssh big a sh -c 'head -c 20000000 /dev/urandom >/tmp/r; sha256sum </tmp/r | cut -d" " -f1 >&2; cat /tmp/r; rm /tmp/r'
check "20 MB of stdout arrive intact (sha256)" \
	sh -c "[ $RC = 0 ] && [ \"\$(sha256sum < '$TEST_TMP/big.out' | cut -d' ' -f1)\" = \"\$(cat '$TEST_TMP/big.err')\" ]"
echo hello | timeout 30 "$CAPLAB" ssh -n a cat >"$TEST_TMP/stdin.out" 2>&1
check "-n: the command's stdin is at EOF (cat ends at once, reads nothing)" \
	sh -c "[ $? = 0 ] && [ ! -s '$TEST_TMP/stdin.out' ]"
timeout -k 5 30 "$CAPLAB" ssh a sh -c 'cat; echo ok' <&- >"$TEST_TMP/closed.out" 2>&1
check "stdin closed by the caller: the command reads nothing, nothing else is read as stdin" \
	sh -c "[ $? = 0 ] && [ \"\$(cat '$TEST_TMP/closed.out')\" = ok ]"
head -c 8000000 /dev/urandom >"$TEST_TMP/in.bin"
timeout 60 "$CAPLAB" ssh a sh -c 'cat >/tmp/in; sha256sum </tmp/in; rm /tmp/in' <"$TEST_TMP/in.bin" >"$TEST_TMP/in.out" 2>&1
check "stdin goes to the command like ssh's: 8 MB arrive intact (sha256)" \
	sh -c "[ $? = 0 ] && [ \"\$(cut -d' ' -f1 '$TEST_TMP/in.out')\" = \"\$(sha256sum <'$TEST_TMP/in.bin' | cut -d' ' -f1)\" ]"
# A reader that does not read: caplab ssh stops taking output (the node's
# writes block) instead of queueing 64 MB in memory; then all of it arrives.
mkfifo "$TEST_TMP/slow"
timeout 60 "$CAPLAB" ssh a sh -c 'head -c 67108864 /dev/zero' >"$TEST_TMP/slow" 2>"$TEST_TMP/slow.err" &
SLOW=$!
BG_PIDS="$BG_PIDS $SLOW"
exec 7<"$TEST_TMP/slow"
sleep 4
rss=$(awk '/^VmRSS/ {print $2}' /proc/"$(pgrep -P $SLOW | head -1)"/status 2>/dev/null)
n=$(wc -c <&7)
exec 7<&-
wait $SLOW
check "a stalled reader: caplab ssh holds little (RSS ${rss:-?} kB), then 64 MiB arrive, exit 0" \
	sh -c "[ $? = 0 ] && [ '$n' = 67108864 ] && [ '${rss:-999999}' -lt 49152 ]"
cssh nonode nosuch true
check "unknown node: exit 255 and a clear error" sh -c \
	"[ $RC = 255 ] && grep -q 'no running lab has a node named nosuch' '$TEST_TMP/nonode.err'"

# --proxy speaks raw SSH: sshd's banner; stdin at EOF ends it cleanly.
timeout 30 "$CAPLAB" ssh --proxy a </dev/null >"$TEST_TMP/proxy.out" 2>"$TEST_TMP/proxy.err"
check "--proxy: sshd's banner comes through, exit 0 after EOF" \
	sh -c "[ $? = 0 ] && head -c 8 '$TEST_TMP/proxy.out' | grep -q '^SSH-2.0-'"

# OpenSSH's own client through the printed stanza (ProxyCommand caplab ssh --proxy).
if command -v ssh >/dev/null 2>&1; then
	cssh config --config a
	check "--config: a stanza for Host caplab-a pinned to this lab" sh -c "[ $RC = 0 ] && \
		grep -q '^Host caplab-a\$' '$TEST_TMP/config.out' && grep -q 'StrictHostKeyChecking yes' '$TEST_TMP/config.out' && \
		grep -q 'ProxyCommand .* ssh --proxy -l $TWO a\$' '$TEST_TMP/config.out'"
	timeout 60 ssh -F "$TEST_TMP/config.out" caplab-a 'hostname; exit 4' >"$TEST_TMP/ossh.out" 2>"$TEST_TMP/ossh.err" </dev/null
	rc=$?
	check "OpenSSH ssh -F <(caplab ssh --config a) caplab-a reaches node a (exit 4 kept)" \
		sh -c "[ $rc = 4 ] && [ \"\$(cat '$TEST_TMP/ossh.out')\" = a ]"
	[ "$rc" = 4 ] || cat "$TEST_TMP/ossh.err"
else
	skip "OpenSSH client through --proxy: no ssh client on this host (apt-get install openssh-client)"
fi

# An interactive shell in a real terminal (tmux): pty of the terminal's size,
# resizes forwarded, the shell's exit status is caplab's.
if command -v tmux >/dev/null 2>&1; then
	T="tmux -L caplab-sshcli-$$ -f /dev/null"
	pane_has() { # SESSION TEXT: wait up to 15 s for the pane to show TEXT
		i=0
		while [ $i -lt 150 ]; do
			$T capture-pane -p -t "$1" 2>/dev/null | grep -q "$2" && return 0
			sleep 0.1; i=$((i + 1))
		done
		$T capture-pane -p -t "$1" | grep -v '^$' | tail -5 | sed 's/^/# /'
		return 1
	}
	# (The status is printed by a wrapper: tmux 3.3 sometimes never reaps a
	# dead pane's process, so #{pane_dead_status} can stay empty.)
	$T new-session -d -s sh -x 100 -y 30 \
		"env XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR' sh -c '\"\$0\" ssh a; echo caplab-exit=\$?; sleep 60' '$CAPLAB'"
	pane_has sh 'a:~#'
	$T send-keys -t sh 'stty size' Enter
	check "shell: the pty has the terminal's size (30 100)" pane_has sh '^30 100$'
	$T resize-window -t sh -x 90 -y 20
	$T send-keys -t sh 'stty size' Enter
	check "shell: a resize reaches the pty (20 90)" pane_has sh '^20 90$'
	$T send-keys -t sh 'exit 3' Enter
	check "shell: exit 3 in the shell ends caplab ssh with status 3" pane_has sh '^caplab-exit=3$'

	# SIGTERM to caplab ssh in raw mode: the terminal is cooked again.
	$T new-session -d -s sh2 -x 100 -y 30 "env XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR' PS1='$ ' sh"
	$T send-keys -t sh2 "'$CAPLAB' ssh a; echo caplab-exit=\$?" Enter
	pane_has sh2 'a:~#'
	kill -TERM $(pgrep -P "$($T display -p -t sh2 '#{pane_pid}')" -f 'ssh a$')
	check "SIGTERM: caplab ssh exits 143" pane_has sh2 'caplab-exit=143'
	$T send-keys -t sh2 "stty -a | grep -o -- '-\\?icanon' | sed 's/^/mode:/'" Enter
	check "SIGTERM: the terminal is back in cooked mode" pane_has sh2 '^mode:icanon$'
	$T kill-server
else
	skip "interactive shell: tmux is not installed (make deps)"
fi

# Two labs with a node a: -l chooses, each reaches only its own node. The
# second one is caught while it boots: a short -t gives up, the default waits.
printf 'node a\nstart\n' >"$TEST_TMP/one.lab"
"$CAPLAB" run -v "$TEST_TMP/one.lab" "$LABS/long.cls" >"$TEST_TMP/one.out" 2>"$TEST_TMP/one.err" &
ONE_PID=$!
ONE=one-$ONE_PID
BG_PIDS="$BG_PIDS $ONE_PID"
i=0
while [ ! -S "$XDG_RUNTIME_DIR/caplab/$ONE/a.vsock" ] && [ $i -lt 900 ]; do sleep 0.05; i=$((i + 1)); done
cssh early -l one -t 0.5 a true
check "node still booting: -t 0.5 gives up with 'ssh not ready', exit 255" sh -c \
	"[ $RC = 255 ] && grep -q 'node a: ssh not ready after 0.5 s' '$TEST_TMP/early.err'"
[ "$RC" = 255 ] || { cat "$TEST_TMP/early.err"; grep 'node a' "$TEST_TMP/one.err"; }
cssh wait -l one a hostname
check "node still booting: caplab ssh waits for it (hostname a, exit 0)" sh -c \
	"[ $RC = 0 ] && [ \"\$(cat '$TEST_TMP/wait.out')\" = a ]"
wait_for "$TEST_TMP/one.err" "done: start"
cssh both a true
check "two labs with node a: exit 255, both named, -l asked for" sh -c "[ $RC = 255 ] && \
	grep -q 'node a is in 2 running labs' '$TEST_TMP/both.err' && grep -q '$ONE' '$TEST_TMP/both.err' && \
	grep -q '$TWO' '$TEST_TMP/both.err' && grep -q 'choose one with -l LAB' '$TEST_TMP/both.err'"
cssh mark -l one a sh -c 'echo lab-one > /tmp/who'
cssh who1 -l one a cat /tmp/who
cssh who2 -l "$TWO" a cat /tmp/who
check "-l one and -l $TWO reach different nodes named a" sh -c \
	"[ \"\$(cat '$TEST_TMP/who1.out')\" = lab-one ] && [ ! -s '$TEST_TMP/who2.out' ]"
cssh b1 -l one b true
check "-l one b: lab one is running but has no node b up (exit 255)" sh -c \
	"[ $RC = 255 ] && grep -q \"lab 'one' is running but has no node b up\" '$TEST_TMP/b1.err'"

# A node that dies under a running command: a clear error, exit 255, no hang.
timeout -k 5 60 "$CAPLAB" ssh -l one a sleep 60 >"$TEST_TMP/lost.out" 2>"$TEST_TMP/lost.err" &
sp=$!
sleep 2
kill -9 "$(qemu_of a one)" 2>/dev/null
wait $sp
rc=$?
check "node killed under caplab ssh: exit 255 and 'connection ... lost'" sh -c \
	"[ $rc = 255 ] && grep -q 'caplab ssh: .*node a.*lost' '$TEST_TMP/lost.err'"
[ "$rc" = 255 ] || cat "$TEST_TMP/lost.err"
cssh dead -l one a true
check "node down, lab running: exit 255, 'has no node a up'" sh -c \
	"[ $RC = 255 ] && grep -q \"lab 'one' is running but has no node a up\" '$TEST_TMP/dead.err'"

# The lab gone (its caplab killed): nothing to reach any more.
kill -9 "$ONE_PID"
wait "$ONE_PID" 2>/dev/null
cssh gone -l one a true
check "lab killed: exit 255, 'no running lab'" sh -c \
	"[ $RC = 255 ] && grep -q \"no running lab 'one' has a node named a\" '$TEST_TMP/gone.err'"
cssh after a hostname
check "with lab one gone, caplab ssh a finds lab two's again" sh -c \
	"[ $RC = 0 ] && [ \"\$(cat '$TEST_TMP/after.out')\" = a ]"

kill -TERM "$TWO_PID"
wait "$TWO_PID" 2>/dev/null
check_no_leftovers ssh_cli
finish
