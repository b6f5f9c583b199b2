/* test_parse.c: words -> commands: flags, positionals, `--`, exec's verbatim
 * rest, expect's joined filter, and cmd_to_text round trips. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* A command rendered as "name [-flag=value|-flag]... | arg | arg". */
static char *render(const struct cmd *c)
{
	char *out = calloc(1, 4096);
	strcat(out, c->entry->name);
	for (int i = 0; i < c->nflags; i++) {
		strcat(out, " -");
		strcat(out, c->flags[i].name);
		if (c->flags[i].value.text) {
			strcat(out, "=");
			strcat(out, c->flags[i].value.text);
		}
	}
	for (int i = 0; i < c->nargs; i++) {
		strcat(out, " | ");
		strcat(out, c->args[i].text);
	}
	return out;
}

static const struct {
	const char *in, *want;
} good[] = {
	{"switch lan", "switch | lan"},
	{"switch lan -hub", "switch -hub | lan"},
	{"switch -hub lan", "switch -hub | lan"},
	{"node r -run 'sysctl -w net.ipv4.ip_forward=1'", "node -run=sysctl -w net.ipv4.ip_forward=1 | r"},
	{"node r -run a -run b -memory 512", "node -run=a -run=b -memory=512 | r"},
	{"node r -run -x", "node -run=-x | r"}, /* a value is the next word, whatever it is */
	{"link a:eth0 lan -ip 10.0.0.1/24", "link -ip=10.0.0.1/24 | a:eth0 | lan"},
	{"link -delay 2.5 a:eth0 b:eth0 -loss 1", "link -delay=2.5 -loss=1 | a:eth0 | b:eth0"},
	{"start", "start"},
	{"start a b", "start | a | b"},
	{"exec a ping -c 3 10.0.0.2", "exec | a | ping | -c | 3 | 10.0.0.2"},
	{"exec -t 2.5 -b a sh -c 'echo hi; exit 3'", "exec -t=2.5 -b | a | sh | -c | echo hi; exit 3"},
	{"exec -i -- a -t", "exec -i | a | -t"},
	{"exec a -- x", "exec | a | -- | x"},
	{"capture -n web -f 'tcp port 80' a:eth0 lan", "capture -n=web -f=tcp port 80 | a:eth0 | lan"},
	{"capture a:eth0 -d", "capture -d | a:eth0"},
	{"expect a:eth0 icmp", "expect | a:eth0 | icmp"},
	{"expect -t 3 a:eth0 tcp port 80 and host 10.0.0.2",
	 "expect -t=3 | a:eth0 | tcp port 80 and host 10.0.0.2"},
	{"expect a:eth0 'tcp port 80' -c 2", "expect -c=2 | a:eth0 | tcp port 80"},
	{"expect -none a:eth0 icmp", "expect -none | a:eth0 | icmp"},
	{"label", "label"},
	{"label TLS handshake", "label | TLS handshake"},
	{"label -- -x", "label | -x"},
	{"label '-x'", "label | -x"},
	{"label -", "label | -"},
	{"save -format pcap out.pcap a:eth0", "save -format=pcap | out.pcap | a:eth0"},
	{"stop-capture", "stop-capture"},
	{"sleep 0.5", "sleep | 0.5"},
	{"source other.cls", "source | other.cls"},
	{"save-script session.cls", "save-script | session.cls"},
	{"copy a:/etc/hosts hosts", "copy | a:/etc/hosts | hosts"},
};

static void test_good_commands(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct cmd_list l = {0};
		struct diag_list dl = {0};
		int errors = parse_string("t", good[i].in, &l, &dl);
		if (errors)
			print_error("case %zu '%s': %s\n", i, good[i].in, dl.v[0].msg);
		assert_int_equal(errors, 0);
		assert_int_equal(l.n, 1);
		char *got = render(l.v[0]);
		if (strcmp(got, good[i].want) != 0)
			print_error("case %zu '%s': got '%s'\n", i, good[i].in, got);
		assert_string_equal(got, good[i].want);
		assert_false(l.v[0]->broken);
		free(got);
		cmd_list_clear(&l);
		diag_clear(&dl);
	}
}

/* cmd_to_text must give back text that parses to the same command. */
static void test_to_text_round_trips(void **state)
{
	(void)state;
	const char *odd[] = {
		"label \"it's \\\"quoted\\\"\\n and \\\\ here\"",
		"label '#not a comment; nor a separator'",
		"label ''",
		"exec a sh -c 'x=1; echo \"$x\" # c' -- -n",
		"node 'n1' -run \"printf '%s\\t' a\" -packages 'curl nginx-light'",
		"capture -f 'ether[0] & 1 != 0' -n m a:eth0",
		"label caf\xc3\xa9 \xe2\x86\x92 x",
	};
	size_t n = sizeof(good) / sizeof(good[0]) + sizeof(odd) / sizeof(odd[0]);
	for (size_t i = 0; i < n; i++) {
		const char *in = i < sizeof(good) / sizeof(good[0]) ? good[i].in : odd[i - sizeof(good) / sizeof(good[0])];
		struct cmd_list a = {0}, b = {0};
		struct diag_list dl = {0};
		assert_int_equal(parse_string("t", in, &a, &dl), 0);
		char *text = cmd_to_text(a.v[0]);
		int errors = parse_string("t", text, &b, &dl);
		if (errors)
			print_error("'%s' -> '%s': %s\n", in, text, dl.v[0].msg);
		assert_int_equal(errors, 0);
		assert_int_equal(b.n, 1);
		char *ra = render(a.v[0]), *rb = render(b.v[0]);
		if (strcmp(ra, rb) != 0)
			print_error("'%s' -> '%s'\n", in, text);
		assert_string_equal(ra, rb);
		free(ra);
		free(rb);
		free(text);
		cmd_list_clear(&a);
		cmd_list_clear(&b);
		diag_clear(&dl);
	}
}

static void test_to_text_is_readable(void **state)
{
	(void)state;
	struct cmd_list l = {0};
	struct diag_list dl = {0};
	parse_string("t", "exec -t 2 a ping -c 3 10.0.0.2; label \"x y\"; label \"it's\"", &l, &dl);
	assert_int_equal(l.n, 3);
	char *t0 = cmd_to_text(l.v[0]), *t1 = cmd_to_text(l.v[1]), *t2 = cmd_to_text(l.v[2]);
	assert_string_equal(t0, "exec -t 2 a ping -c 3 10.0.0.2");
	assert_string_equal(t1, "label 'x y'");
	assert_string_equal(t2, "label \"it's\"");
	free(t0);
	free(t1);
	free(t2);
	cmd_list_clear(&l);
	diag_clear(&dl);
}

static void test_positions_and_original_text(void **state)
{
	(void)state;
	struct cmd_list l = {0};
	struct diag_list dl = {0};
	parse_string("f.lab", "switch lan\n  link a:eth0 \\\n   lan -ip 10.0.0.1/24 # c\n", &l, &dl);
	assert_int_equal(l.n, 2);
	struct cmd *c = l.v[1];
	assert_string_equal(c->text, "link a:eth0 \\\n   lan -ip 10.0.0.1/24");
	assert_int_equal(c->pos.line, 2);
	assert_int_equal(c->pos.col, 3);
	assert_int_equal(c->args[1].pos.line, 3);
	assert_int_equal(c->args[1].pos.col, 4);
	const struct cmd_flag *ip = cmd_flag(c, "ip");
	assert_non_null(ip);
	assert_int_equal(ip->pos.col, 8);
	assert_int_equal(ip->value.pos.col, 12);
	assert_string_equal(c->src->name, "f.lab");
	cmd_list_clear(&l);
	diag_clear(&dl);
}

static void test_repeated_flags_in_order(void **state)
{
	(void)state;
	struct cmd_list l = {0};
	struct diag_list dl = {0};
	parse_string("t", "node r -run one -keylog -run two -run three", &l, &dl);
	const char *want[] = {"one", "two", "three"};
	int n = 0;
	for (const struct cmd_flag *f = NULL; (f = cmd_flag_next(l.v[0], "run", f)); n++)
		assert_string_equal(f->value.text, want[n]);
	assert_int_equal(n, 3);
	assert_string_equal(cmd_flag(l.v[0], "run")->value.text, "three");
	assert_true(cmd_has_flag(l.v[0], "keylog"));
	assert_false(cmd_has_flag(l.v[0], "memory"));
	cmd_list_clear(&l);
	diag_clear(&dl);
}

static void test_bad_flag_keeps_a_broken_command(void **state)
{
	(void)state;
	struct cmd_list l = {0};
	struct diag_list dl = {0};
	/* -memroy is meant to be -memory, which takes a value: 512 is skipped,
	 * not reported again as an extra argument */
	assert_int_equal(parse_string("t", "node a -memroy 512", &l, &dl), 1);
	assert_int_equal(l.n, 1);
	assert_true(l.v[0]->broken);
	assert_string_equal(dl.v[0].msg, "unknown flag '-memroy' for node: did you mean '-memory'?");
	cmd_list_clear(&l);
	diag_clear(&dl);
}

static void test_every_entry_is_sane(void **state)
{
	(void)state;
	for (int i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *e = cmd_table[i];
		assert_ptr_equal(cmd_find(e->name), e);
		/* the usage starts with the name: it is the help text */
		assert_int_equal(strncmp(e->usage, e->name, strlen(e->name)), 0);
	}
	assert_null(cmd_find("nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_commands),
		cmocka_unit_test(test_to_text_round_trips),
		cmocka_unit_test(test_to_text_is_readable),
		cmocka_unit_test(test_positions_and_original_text),
		cmocka_unit_test(test_repeated_flags_in_order),
		cmocka_unit_test(test_bad_flag_keeps_a_broken_command),
		cmocka_unit_test(test_every_entry_is_sane),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
