#!/bin/sh
# The TUI on the default lab, driven through tmux like a user would:
# topology, a capture started by keys, the prompt rejecting a bad filter with
# libpcap's message, Wireshark display filters checked by tshark, resizing,
# the session script, the packet list, a node shell, quitting. Boots real
# VMs. Set SNAPSHOTS=1 to refresh tests/tui-snapshots/ (review the diff
# before keeping it).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
: "${CAPLAB:=$here/caplab}"
S=caplab-tui-$$
out=$(mktemp -d "${TMPDIR:-/tmp}/caplab-tui.XXXXXX")
command -v tmux >/dev/null || { echo "skip - tui tests: tmux is not installed (make deps)"; exit 0; }

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1"; sed 's/^/  | /' "$out/screen" 2>/dev/null | head -40; }
snap() { tmux capture-pane -p -t "$S" >"$out/screen"; cat "$out/screen"; }
has() { snap | grep -q -- "$1"; }
# waits up to $2 seconds for text $1 on the screen
wait_for() { i=0; while [ "$i" -lt $(($2 * 5)) ]; do has "$1" && return 0; sleep 0.2; i=$((i + 1)); done; return 1; }
keep() { [ "${SNAPSHOTS:-0}" = 1 ] && snap >"$here/tests/tui-snapshots/$1.txt"; return 0; }
check() { if "$@"; then ok "$what"; else nok "$what"; fi; }
cleanup() { tmux kill-session -t "$S" 2>/dev/null; rm -rf "$out"; }
trap cleanup EXIT

tmux new-session -d -s "$S" -x 100 -y 30 \
	"cd '$out' && LANG=C.UTF-8 TERM=xterm-256color '$CAPLAB' '$here/labs/default.lab'; echo EXIT=\$? >'$out/exit'; sleep 600"

what="the topology shows the default lab's nodes, switch and links, all ready"
check wait_for "ready.*ready" 120
has client && has server && has lan && has eth0 || nok "topology names client, server, lan, eth0"
keep main-100x30

what="the capture prompt rejects a bad filter with libpcap's message"
tmux send-keys -t "$S" F2; sleep 0.3; tmux send-keys -t "$S" 'icmp or'
check wait_for "syntax error" 5
tmux send-keys -t "$S" Enter; sleep 0.3
what="a bad filter never leaves the prompt"
check has "capture filter for client:eth0"
tmux send-keys -t "$S" C-u 'icmp' Enter

what="F2 with a filter starts a capture on the selected link"
check wait_for "ok: capture -f icmp client:eth0" 20

what="the : prompt shows the usage of the command being typed"
tmux send-keys -t "$S" ':' 'label'
check wait_for "label \[TEXT\]" 5
tmux send-keys -t "$S" ' ping' Enter
wait_for "ok: label ping" 10 || nok "label ran"

what="the : prompt completes node names"
tmux send-keys -t "$S" ':' 'exec cli' Tab
wait_for ":exec client" 5 || nok "completion shows the node"
tmux send-keys -t "$S" 'ping -c 3 10.0.1.2' Enter
check wait_for "exec client ping -c 3" 10

what="the packet list shows ICMP echo request out and reply in"
if wait_for "Echo (ping) reply" 30; then
	snap | grep -q "→.*ping.*ICMP.*Echo (ping) request" && snap | grep -q "←.*ping.*ICMP.*Echo (ping) reply" \
		&& ok "$what" || nok "$what"
	keep packets-100x30
else
	nok "$what"
fi

# The display filter is Wireshark's, checked and applied by tshark:
# `icmp.type == 0` is no tcpdump expression, and it must hide the requests.
pkts() { snap | sed -n '/Packets/,/└/p'; }
what="the display filter prompt shows tshark's message for a bad filter"
tmux send-keys -t "$S" /; sleep 0.3; tmux send-keys -t "$S" -l 'icmpx'
check wait_for "icmpx is neither a field nor a protocol name" 15
what="a bad display filter never leaves the prompt"
tmux send-keys -t "$S" Enter; sleep 0.5
check has "display filter (empty shows all): icmpx"
what="tshark accepts a Wireshark display filter libpcap would reject"
tmux send-keys -t "$S" C-u; tmux send-keys -t "$S" -l 'icmp.type == 0'
check wait_for "filter ok (Wireshark display filter)" 15
tmux send-keys -t "$S" Enter
what="display filter icmp.type == 0 shows the echo replies and no request"
if wait_for "display filter: icmp.type == 0" 5 && wait_for "Echo (ping) reply" 10; then
	sleep 1
	pkts | grep -q "Echo (ping) reply" && ! pkts | grep -q "Echo (ping) request" && ok "$what" || nok "$what"
	keep packets-dfilter-100x30
else
	nok "$what"
fi
what="a filter tshark rejects, set with the filter command, shows tshark's message in the list"
tmux send-keys -t "$S" ':' 'filter icmpx' Enter
check wait_for "tshark: icmpx is neither a field nor a protocol name" 15
what="an empty display filter shows every frame again"
tmux send-keys -t "$S" /; sleep 0.3; tmux send-keys -t "$S" Enter
if wait_for "Echo (ping) request" 10; then ok "$what"; else nok "$what"; fi

what="resized to 80x24, panels stack and every panel is still there"
tmux resize-window -t "$S" -x 80 -y 24 2>/dev/null || tmux resize-pane -t "$S" -x 80 -y 24
sleep 1
check sh -c "tmux capture-pane -p -t '$S' | grep -q Topology && tmux capture-pane -p -t '$S' | grep -q Captures && tmux capture-pane -p -t '$S' | grep -q Packets && tmux capture-pane -p -t '$S' | grep -q 'client:eth0'"
keep main-80x24
what="at 80x24 no line is wider than the terminal"
check sh -c "tmux capture-pane -p -t '$S' | perl -CS -ne 'exit 1 if length(\$_) > 81'"

what="resized to 200x60, the diagram is back"
tmux resize-window -t "$S" -x 200 -y 60 2>/dev/null || tmux resize-pane -t "$S" -x 200 -y 60
sleep 1
check sh -c "tmux capture-pane -p -t '$S' | grep -q '║ lan'"
keep main-200x60
tmux resize-window -t "$S" -x 100 -y 30 2>/dev/null

what="F1 lists key bindings and, further down, the command table"
tmux send-keys -t "$S" F1
wait_for "bind KEY COMMAND" 5 || nok "help shows the key table"
tmux send-keys -t "$S" NPage NPage NPage
check wait_for "capture \[-n NAME\]" 5
keep help-100x30
tmux send-keys -t "$S" Escape

what="save-script writes the session as a replayable script"
tmux send-keys -t "$S" ':' "save-script $out/session.cls" Enter
if wait_for "session script saved" 10 && grep -q "^capture -f icmp client:eth0$" "$out/session.cls" &&
	grep -q "^label ping$" "$out/session.cls" && grep -q "^exec client ping -c 3 10.0.1.2$" "$out/session.cls" &&
	grep -q "^# lab: .*default.lab" "$out/session.cls"; then ok "$what"; else nok "$what"; cat "$out/session.cls"; fi

what="caplab check accepts the saved script with the lab"
check "$CAPLAB" check "$here/labs/default.lab" "$out/session.cls"

what="F4 opens a shell on the node and uname -r shows the guest kernel"
tmux send-keys -t "$S" F4
sleep 1
tmux send-keys -t "$S" 'uname -r' Enter
check wait_for "cloud-amd64" 20
keep shell-100x30
tmux send-keys -t "$S" C-]

what="q quits (asking first when packets are unsaved) and caplab exits 0"
tmux send-keys -t "$S" q
wait_for "unsaved packets" 5 && tmux send-keys -t "$S" y
i=0; while [ ! -f "$out/exit" ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
check grep -q "EXIT=0" "$out/exit"

what="nothing is left running after quitting"
sleep 1
check sh -c "! pgrep -f 'qemu-system.*/defaul[t]-' >/dev/null"
