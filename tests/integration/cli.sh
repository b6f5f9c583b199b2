#!/bin/sh
# The command line: help, version, exit codes, check on every shipped lab,
# error format.
. "$(dirname "$0")/../lib/testlib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

run_caplab "$TEST_TMP/help" --help
check "--help exits 0 and shows usage" sh -c "[ $RC = 0 ] && grep -q 'caplab run' '$TEST_TMP/help.out'"
run_caplab "$TEST_TMP/version" --version
check "--version prints the version" grep -q '^caplab [0-9]' "$TEST_TMP/version.out"
run_caplab "$TEST_TMP/bad" --frobnicate
check "unknown option exits 2" [ "$RC" = 2 ]
run_caplab "$TEST_TMP/norun" run
check "run without LAB exits 2" [ "$RC" = 2 ]

for lab in "$ROOT"/labs/*.lab "$LABS"/*.lab; do
	run_caplab "$TEST_TMP/check" check "$lab"
	check "check accepts $(basename "$lab")" [ "$RC" = 0 ]
done

printf 'switch lan\nnode a\nlink a:eth0 lna\n' > "$TEST_TMP/typo.lab"
run_caplab "$TEST_TMP/typo" check "$TEST_TMP/typo.lab"
check "check rejects a bad lab with exit 2" [ "$RC" = 2 ]
check "error is FILE:LINE:COL: error: MESSAGE" \
	grep -q "typo.lab:3:13: error: unknown switch 'lna'" "$TEST_TMP/typo.err"
check "error shows the line and a caret" sh -c "grep -q '^ *link a:eth0 lna' '$TEST_TMP/typo.err' && grep -q '^ *\\^' '$TEST_TMP/typo.err'"

run_caplab "$TEST_TMP/runbad" run "$TEST_TMP/typo.lab"
check "run of a bad lab exits 2 and starts nothing" sh -c "[ $RC = 2 ] && [ -z \"\$(ls -A '$XDG_RUNTIME_DIR/caplab' 2>/dev/null)\" ]"

run_caplab "$TEST_TMP/missing" check "$TEST_TMP/nonexistent.lab"
check "unreadable lab exits 2" [ "$RC" = 2 ]

run_caplab "$TEST_TMP/plan" check -v "$ROOT/labs/default.lab"
check "check -v prints the address plan" grep -q '10.0.1.2' "$TEST_TMP/plan.out"

printf 'switch lan\nnode a -packages no-such-package-caplab\nlink a:eth0 lan\nstart\n' > "$TEST_TMP/pkg.lab"
run_caplab "$TEST_TMP/pkg" run "$TEST_TMP/pkg.lab"
check "unknown package: exit 2 before anything boots" [ "$RC" = 2 ]
check "unknown package: the error names it" grep -q "no-such-package-caplab" "$TEST_TMP/pkg.err"
check_no_leftovers "cli"
finish
