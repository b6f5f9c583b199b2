/* test_record.c: the TUI's session recorder (tui/record.c, compiled in here:
 * it needs nothing of ncurses). What it writes must replay the same way
 * under `caplab run -o DIR`: inputs absolute, outputs relative. */
#include "unit.h"

#include "record.c"

#include <stdio.h>
#include <unistd.h>

#include "parse.h"

/* The recorded text of one command typed at the prompt. */
static char *recorded(const char *typed)
{
	struct cmd_list cl = {0};
	struct diag_list dl = {0};
	assert_int_equal(parse_string("<prompt>", typed, &cl, &dl), 0);
	assert_int_equal(cl.n, 1);
	char *text = tui_record_text(cl.v[0]);
	cmd_list_clear(&cl);
	diag_clear(&dl);
	return text;
}

static void expect_recorded(const char *typed, const char *want)
{
	char *got = recorded(typed);
	assert_string_equal(got, want);
	free(got);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(chdir("/tmp"), 0);
	tui_record_start("/dev/null", NULL, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tui_record_free();
	return 0;
}

static void test_save_inside_cwd_becomes_relative(void **state)
{
	(void)state;
	expect_recorded("save /tmp/s/x.pcapng", "save s/x.pcapng");
	expect_recorded("save x.pcapng", "save x.pcapng");
	expect_recorded("save -format pcap /tmp/x.pcap a:eth0", "save -format pcap x.pcap a:eth0");
}

static void test_save_outside_cwd_stays_absolute(void **state)
{
	(void)state;
	expect_recorded("save /var/x.pcapng", "save /var/x.pcapng");
	expect_recorded("save /tmpx/y.pcapng", "save /tmpx/y.pcapng"); /* a prefix, not a parent */
}

static void test_inputs_become_absolute(void **state)
{
	(void)state;
	expect_recorded("source more.cls", "source /tmp/more.cls");
	expect_recorded("copy payload.bin a:/root/p", "copy /tmp/payload.bin a:/root/p");
	expect_recorded("copy ./a:b a:/root/p", "copy /tmp/./a:b a:/root/p");
}

static void test_copy_from_node_output_relative(void **state)
{
	(void)state;
	expect_recorded("copy a:/etc/hosts /tmp/out/hosts", "copy a:/etc/hosts out/hosts");
	expect_recorded("copy a:/etc/hosts hosts", "copy a:/etc/hosts hosts");
}

static void test_other_commands_unchanged(void **state)
{
	(void)state;
	expect_recorded("exec client ping -c 3 10.0.1.2", "exec client ping -c 3 10.0.1.2");
	expect_recorded("label 'two words'", "label 'two words'");
	expect_recorded("capture -f 'icmp or arp' a:eth0", "capture -f 'icmp or arp' a:eth0");
}

static void test_script_has_header_and_commands(void **state)
{
	(void)state;
	struct cmd_list cl = {0};
	struct diag_list dl = {0};
	assert_int_equal(parse_string("<prompt>", "label ping\nsave /tmp/x.pcapng\n", &cl, &dl), 0);
	for (int i = 0; i < cl.n; i++)
		tui_record(cl.v[i]);
	char err[CL_ERRBUF], path[] = "/tmp/caplab-test-record-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tui_record_save(path, err), 0);
	char *text = read_file(path, NULL, err);
	assert_non_null(text);
	assert_non_null(strstr(text, "# lab: /dev/null\n"));
	assert_non_null(strstr(text, "\nlabel ping\nsave x.pcapng\n"));
	assert_int_equal(tui_record_count(), 2);
	free(text);
	unlink(path);
	cmd_list_clear(&cl);
	diag_clear(&dl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_save_inside_cwd_becomes_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_outside_cwd_stays_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inputs_become_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_from_node_output_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_commands_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_script_has_header_and_commands, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
