#!/bin/sh
# node -keylog: an HTTPS request captured between two nodes is readable in
# the export with no extra step, because save puts the guests' TLS key logs
# into a Decryption Secrets Block.
. "$(dirname "$0")/../lib/testlib.sh"
d=$TEST_TMP/out
run_caplab "$TEST_TMP/run" run -v -o "$d" "$LABS/tls-keylog.lab" "$LABS/tls-keylog.cls"
check "tls script runs to the end (exit 0)" [ "$RC" = 0 ]
[ "$RC" = 0 ] || tail -20 "$TEST_TMP/run.err"
f=$d/tls.pcapng
log=$TEST_TMP/run.err
check "curl on the client got the page over HTTPS" grep -q 'http-status 200' "$log"
# exec sets SSLKEYLOGFILE (curl honours it); /init exports it to -run
# commands (s_server -keylogfile "$SSLKEYLOGFILE" would fail without it).
check "exec on a -keylog node: curl logged its secrets" \
	sh -c "grep -q 'client-keylog-lines [1-9]' '$log'"
check "-run on a -keylog node: the server logged its secrets" \
	sh -c "grep -q 'server-keylog-lines [1-9]' '$log'"
check "capinfos counts one decryption secrets block" \
	sh -c "capinfos -D '$f' 2>/dev/null | grep -q 'decryption secrets in file: 1'"
gets() { tshark -r "$1" -Y 'http.request.method == "GET"' 2>/dev/null | wc -l; }
check "tshark decrypts the HTTP request with no option ($(gets "$f") GET)" [ "$(gets "$f")" = 1 ]
check "the TLS handshake is in the file" \
	sh -c "[ \$(tshark -r '$f' -Y 'tls.handshake.type == 1' 2>/dev/null | wc -l) -ge 1 ]"
editcap --discard-all-secrets "$f" "$TEST_TMP/nosecrets.pcapng" 2>/dev/null
check "without the secrets block the request stays encrypted" \
	sh -c "[ -s '$TEST_TMP/nosecrets.pcapng' ] && [ \$(tshark -r '$TEST_TMP/nosecrets.pcapng' -Y http 2>/dev/null | wc -l) = 0 ]"
check "no secrets block in a classic pcap (-format pcap still saves)" \
	sh -c "[ -s '$d/tls.pcap' ] && [ \$(tshark -r '$d/tls.pcap' -Y http 2>/dev/null | wc -l) = 0 ]"
g=$d/tls-client-only.pcapng
check "save names a stopped -keylog node whose secrets are missing" \
	grep -q 'node server is not running: its TLS key log is not in the export' "$log"
check "the running node's secrets still decrypt ($(gets "$g") GET)" [ "$(gets "$g")" = 1 ]
check_no_leftovers capture_tls
finish
