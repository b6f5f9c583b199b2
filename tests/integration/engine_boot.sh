#!/bin/sh
# Real labs boot, their nodes reach each other, and nothing is left running.
. "$(dirname "$0")/../lib/testlib.sh"

pinged() { # OUTDIR NODE: the node's console shows 3 replies
	grep -q "3 packets transmitted, 3 packets received" "$1/$2.console.log"
}

for lab in ping-switch ping-p2p ping-hub; do
	run_caplab "$TEST_TMP/$lab" run -o "$TEST_TMP/$lab.d" "$LABS/$lab.lab" "$LABS/wait.cls"
	check "$lab: caplab run exits 0" [ "$RC" = 0 ]
	check "$lab: a receives 3 echo replies" pinged "$TEST_TMP/$lab.d" a
	check_no_leftovers "$lab"
	[ "$RC" = 0 ] || cat "$TEST_TMP/$lab.err"
done

run_caplab "$TEST_TMP/routed" run -o "$TEST_TMP/routed.d" "$LABS/routed.lab" "$LABS/wait.cls"
check "routed: caplab run exits 0" [ "$RC" = 0 ]
check "routed: a reaches b through r" pinged "$TEST_TMP/routed.d" a
check_no_leftovers routed

# The same lab again: every image comes from the cache.
run_caplab "$TEST_TMP/again" run "$LABS/ping-switch.lab"
check "second start of an unchanged lab builds no image" \
	sh -c "[ $RC = 0 ] && ! grep -q 'image for .* built' '$TEST_TMP/again.err'"
check_no_leftovers "cached start"
finish
