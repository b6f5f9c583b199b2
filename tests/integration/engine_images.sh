#!/bin/sh
# Guest packages come from .debs into caplab's cache, never onto the host;
# and nothing in caplab needs root.
. "$(dirname "$0")/../lib/testlib.sh"

if dpkg-query -W -f='${Status}' iperf3 2>/dev/null | grep -q "install ok installed"; then
	skip "-packages: iperf3 is installed on this host, so the test would prove nothing"
else
	dpkg-query -W > "$TEST_TMP/host-before"
	run_caplab "$TEST_TMP/pkg" run -v "$LABS/packages.lab" "$LABS/packages.cls"
	check "-packages iperf3: the lab runs (exit 0)" [ "$RC" = 0 ]
	check "-packages iperf3: the node runs iperf3" grep -q '^\[a stdout\] iperf 3' "$TEST_TMP/pkg.err"
	dpkg-query -W > "$TEST_TMP/host-after"
	check "-packages: the host's installed package list is unchanged" cmp -s "$TEST_TMP/host-before" "$TEST_TMP/host-after"
	check "-packages: iperf3 is still not installed on the host" sh -c "! command -v iperf3"
fi

# An unprivileged user the test creates runs a whole lab, image build included.
user=caplab-test
if [ "$(id -u)" != 0 ]; then
	run_caplab "$TEST_TMP/nonroot" run "$LABS/ping-switch.lab" "$LABS/wait.cls"
	check "no root: a lab runs as $(id -un)" [ "$RC" = 0 ]
elif ! command -v runuser >/dev/null; then
	skip "no root: runuser is missing"
else
	id "$user" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/sh "$user"
	home=$(getent passwd "$user" | cut -d: -f6)
	rt=$TEST_TMP/user-run
	mkdir -p "$rt" && chown "$user" "$rt" && chmod 700 "$rt"
	mkdir -p "$TEST_TMP/user-out" && chown "$user" "$TEST_TMP/user-out"
	timeout 300 runuser -u "$user" -- env HOME="$home" XDG_RUNTIME_DIR="$rt" XDG_CACHE_HOME="$home/.cache" \
		CAPLAB_ASSETS="$CAPLAB_ASSETS" ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
		"$CAPLAB" run -o "$TEST_TMP/user-out" "$LABS/ping-switch.lab" "$LABS/wait.cls" \
		>"$TEST_TMP/user.out" 2>"$TEST_TMP/user.err"
	RC=$?
	check "no root: a lab runs as an unprivileged user (exit 0)" [ "$RC" = 0 ]
	[ "$RC" = 0 ] || tail -5 "$TEST_TMP/user.err"
	check "no root: its nodes reach each other" \
		grep -q "3 packets transmitted, 3 packets received" "$TEST_TMP/user-out/a.console.log"
	check "no root: the image was built in the user's own cache" sh -c "ls '$home'/.cache/caplab/images/*.cpio >/dev/null 2>&1"
	pkill -9 -f "$rt" 2>/dev/null
fi
check_no_leftovers engine_images
finish
