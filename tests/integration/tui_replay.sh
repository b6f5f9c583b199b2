#!/bin/sh
# A session built in the TUI by keys is a fixture: capture a link (F2), label
# (F3), two execs at the : prompt, a display filter, stop (s), save (F5),
# save-script, quit. `caplab run` of the saved script must then give an
# export with the same links, labels and packet types. Boots real VMs twice.
# The script needs no `expect` to be deterministic: exec waits for the
# command's end in the TUI as in the replay, and `label` first drains the
# frames already captured, so each exchange keeps its own label.
# LAB=FILE runs it on another lab with the same nodes (default: default.lab).
. "$(dirname "$0")/../lib/testlib.sh"
command -v tmux >/dev/null || { skip "tui replay: tmux is not installed (make deps)"; finish; }
command -v tshark >/dev/null || { skip "tui replay: tshark is not installed (make deps)"; finish; }
here=$(cd "$(dirname "$0")/../.." && pwd)
: "${LAB:=$here/labs/default.lab}"
S=caplab-replay-$$
tm() { tmux -L "$S" "$@"; } # a private tmux server: its own environment
tui=$TEST_TMP/tui # the TUI's working directory: save and save-script land here
mkdir -p "$tui"

snap() { tm capture-pane -p -t "$S" >"$TEST_TMP/screen"; cat "$TEST_TMP/screen"; }
has() { snap | grep -q -- "$1"; }
# waits up to $2 seconds for text $1 on the screen (testlib's wait_for reads files)
wait_screen() { i=0; while [ "$i" -lt $(($2 * 5)) ]; do has "$1" && return 0; sleep 0.2; i=$((i + 1)); done; return 1; }
shows() { # "what" TEXT SECONDS
	what=$1; shift
	if wait_screen "$@"; then ok "$what"; else not_ok "$what"; sed 's/^/  | /' "$TEST_TMP/screen"; fi
}
keys() { tm send-keys -t "$S" "$@"; sleep 0.3; }
prompt() { keys ':'; tm send-keys -t "$S" -l "$1"; keys Enter; } # a line typed at the : prompt

tm new-session -d -s "$S" -x 120 -y 36 \
	"cd '$tui' && XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR' CAPLAB_ASSETS='${CAPLAB_ASSETS:-$here/assets}' \
	LANG=C.UTF-8 TERM=xterm-256color '$CAPLAB' '$LAB'; echo EXIT=\$? >'$TEST_TMP/exit'; sleep 600"
cleanup() { tm kill-server 2>/dev/null; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$S"; }
trap cleanup EXIT

shows "the TUI boots the default lab" "ready.*ready" 180

keys F2
shows "F2 asks for a capture filter on the selected link, client:eth0" "capture filter for client:eth0" 5
keys Enter
shows "Enter with no filter starts the capture" "ok: capture client:eth0" 20

keys F3
tm send-keys -t "$S" -l ping; keys Enter
shows "F3 sets the label ping" "ok: label ping" 10
prompt "exec client ping -c 3 10.0.1.2"
shows "the ping runs to its end" "ok: exec client ping -c 3 10.0.1.2" 60

keys F3
tm send-keys -t "$S" -l web; keys Enter
shows "F3 sets the label web" "ok: label web" 10
prompt "exec client wget -q -O - http://10.0.1.2/"
shows "the web request runs to its end" "ok: exec client wget" 60
shows "the packet list shows the HTTP exchange" "HTTP/1.1 200 OK" 20

# The display filter is Wireshark's: `icmp` keeps the pings, hides TCP/HTTP.
keys Tab Tab # topology -> captures -> packets
keys /
tm send-keys -t "$S" -l icmp
shows "the display filter prompt says tshark accepts icmp" "filter ok" 10
keys Enter
shows "the packet list applies the display filter" "display filter: icmp" 10
sleep 2
snap >/dev/null
list=$(sed -n '/Packets/,/└/p' "$TEST_TMP/screen")
if echo "$list" | grep -q "Echo (ping) request" && ! echo "$list" | grep -q -e "TCP" -e "HTTP" -e "ARP"; then
	ok "display filter icmp shows ICMP rows only"
else
	not_ok "display filter icmp shows ICMP rows only"; echo "$list" | sed 's/^/  | /'
fi
keys /
keys Enter # empty: every frame again
keys BTab BTab # back to the topology

keys s
shows "s stops the capture" "ok: stop-capture client:eth0" 20
# An absolute name inside the TUI's directory: recorded relative, so that
# the replay writes into its own -o DIR, not over this file.
keys F5
tm send-keys -t "$S" -l "$tui/session.pcapng"; keys Enter
shows "F5 saves the captures" "ok: save $tui/session.pcapng" 30
prompt "save-script session.cls"
shows "save-script writes the session" "session script saved to session.cls" 10
keys q
i=0; while [ ! -f "$TEST_TMP/exit" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
check "q quits (nothing unsaved) and caplab exits 0" grep -q "EXIT=0" "$TEST_TMP/exit"
check_no_leftovers "after the TUI"

cls=$tui/session.cls out=$TEST_TMP/replay
a=$tui/session.pcapng b=$out/session.pcapng
sum_before=$(sha256sum "$a" | cut -d' ' -f1)
sed 's/^/  script: /' "$cls"
check "the script records the commands in order, save with its relative name" sh -c "grep -v '^#' '$cls' | grep . | tr '\n' ';' |
	grep -qx 'capture client:eth0;label ping;exec client ping -c 3 10.0.1.2;label web;exec client wget -q -O - http://10.0.1.2/;stop-capture client:eth0;save session.pcapng;'"

run_caplab "$TEST_TMP/replay" run -o "$out" "$LAB" "$cls"
check "caplab run replays the script (exit 0)" [ "$RC" = 0 ]
[ "$RC" = 0 ] || tail -20 "$TEST_TMP/replay.err"
check_no_leftovers "after the replay"
check "the replay saved into its -o DIR and left the session's export alone" \
	sh -c "[ -s '$b' ] && [ '$(sha256sum "$a" | cut -d' ' -f1)' = '$sum_before' ]"
links() { tshark -r "$1" -T fields -e frame.interface_name 2>/dev/null | sort -u; }
labels() { tshark -r "$1" -T fields -e frame.comment 2>/dev/null | grep . | sort -u; }
# Packet types per label. ARP and ICMPv6 are left out: whether a neighbour
# entry is refreshed or a router solicitation / MLD report repeats depends
# on how long the guests have been up and how long the user took between
# keys, not on the session; what the commands themselves produce (ICMP for
# the ping, TCP and HTTP for the web request) must match exactly.
types() {
	tshark -r "$1" -T fields -E separator=/t -e frame.comment -e _ws.col.Protocol 2>/dev/null |
		grep -v -P '\t(ARP|ICMPv6)$' | sort -u
}
check "the TUI's export exists and holds ICMP, TCP and HTTP" sh -c "[ -s '$a' ] && tshark -r '$a' -T fields -e _ws.col.Protocol 2>/dev/null | sort -u | tr '\n' ' ' | grep -q 'HTTP.*ICMP.*TCP'"
[ "$(links "$a")" = "$(links "$b")" ] && [ -n "$(links "$a")" ] && ok "replay has the same links" || not_ok "replay has the same links: $(links "$b" | tr '\n' ' ')"
[ "$(labels "$a")" = "ping
web" ] && [ "$(labels "$a")" = "$(labels "$b")" ] && ok "replay has the same labels (ping, web)" ||
	not_ok "replay has the same labels: TUI $(labels "$a" | tr '\n' ' '), replay $(labels "$b" | tr '\n' ' ')"
if [ -n "$(types "$a")" ] && [ "$(types "$a")" = "$(types "$b")" ]; then
	ok "replay has the same packet types per label: $(types "$a" | tr '\t\n' ': ')"
else
	not_ok "replay has the same packet types per label"
	echo "  TUI:    $(types "$a" | tr '\t\n' ': ')"; echo "  replay: $(types "$b" | tr '\t\n' ': ')"
fi
finish
