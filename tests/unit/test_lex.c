/* test_lex.c: the lexer: words, quoting, escapes, positions, text check. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "lex.h"

struct lexed {
	struct source *src;
	struct lex_cmd *cmds;
	int n;
	struct diag_list dl;
};

static void lex_text(struct lexed *l, const char *text, size_t len)
{
	memset(l, 0, sizeof(*l));
	l->src = source_new("t.lab", text, len);
	l->n = lex_source(l->src, &l->cmds, &l->dl);
}

static void lexed_free(struct lexed *l)
{
	lex_free(l->cmds, l->n);
	source_unref(l->src);
	diag_clear(&l->dl);
}

/* Each case: input, then the commands as words joined by '|', separated by
 * " ; " (so "a|b ; c" is two commands). */
static const struct {
	const char *in, *want;
} good[] = {
	{"switch lan", "switch|lan"},
	{"  node   a  \n\n", "node|a"},
	{"a b\nc d", "a|b ; c|d"},
	{"a b; c d", "a|b ; c|d"},
	{"a;b;;c", "a ; b ; c"},
	{"# only a comment\n", ""},
	{"a # trailing comment\nb", "a ; b"},
	{"a b#c", "a|b#c"},
	{"node r -run 'sysctl -w net.ipv4.ip_forward=1'", "node|r|-run|sysctl -w net.ipv4.ip_forward=1"},
	{"label \"a \\\"b\\\" \\\\ \\$x\"", "label|a \"b\" \\ $x"},
	{"label \"tab\\there\\nnl\"", "label|tab\there\nnl"},
	{"label 'it''s'", "label|its"},
	{"label \"it's\"", "label|it's"},
	{"label ''", "label|"},
	{"label a\\ b", "label|a b"},
	{"label a\\;b", "label|a;b"},
	{"link a:eth0 \\\n  lan", "link|a:eth0|lan"},
	{"link a:eth0 \\\r\n  lan", "link|a:eth0|lan"},
	{"a\r\nb\r\n", "a ; b"},
	{"label \"one \\\ntwo\"", "label|one two"},
	{"exec a sh -c 'x; y'", "exec|a|sh|-c|x; y"},
	{"label caf\xc3\xa9 \xe2\x86\x92", "label|caf\xc3\xa9|\xe2\x86\x92"},
	{"x 'a'\"b\"c", "x|abc"},
};

static char *render(const struct lexed *l)
{
	char *out = calloc(1, 4096);
	for (int i = 0; i < l->n; i++) {
		if (i)
			strcat(out, " ; ");
		for (int j = 0; j < l->cmds[i].nwords; j++) {
			if (j)
				strcat(out, "|");
			strcat(out, l->cmds[i].words[j].text);
		}
	}
	return out;
}

static void test_good_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct lexed l;
		lex_text(&l, good[i].in, strlen(good[i].in));
		char *got = render(&l);
		if (strcmp(got, good[i].want) != 0 || l.dl.n != 0)
			print_error("case %zu: input '%s': got '%s', %d errors\n", i, good[i].in, got, l.dl.n);
		assert_string_equal(got, good[i].want);
		assert_int_equal(l.dl.n, 0);
		free(got);
		lexed_free(&l);
	}
}

static void test_positions(void **state)
{
	(void)state;
	struct lexed l;
	const char *t = "switch lan\n  node 'a b' -x\nlink a:eth0 \\\n    lan ; start";
	lex_text(&l, t, strlen(t));
	assert_int_equal(l.n, 4);
	assert_int_equal(l.cmds[1].words[1].pos.line, 2);
	assert_int_equal(l.cmds[1].words[1].pos.col, 8); /* the opening quote */
	assert_true(l.cmds[1].words[1].quoted);
	assert_false(l.cmds[1].words[2].quoted);
	assert_int_equal(l.cmds[2].words[2].pos.line, 4); /* after the continuation */
	assert_int_equal(l.cmds[2].words[2].pos.col, 5);
	assert_int_equal(l.cmds[3].words[0].pos.col, 11);
	/* the command's text span, continuation included */
	char *span = strndup(t + l.cmds[2].start, l.cmds[2].end - l.cmds[2].start);
	assert_string_equal(span, "link a:eth0 \\\n    lan");
	free(span);
	char *span1 = strndup(t + l.cmds[1].start, l.cmds[1].end - l.cmds[1].start);
	assert_string_equal(span1, "node 'a b' -x");
	free(span1);
	lexed_free(&l);
}

static const struct {
	const char *in;
	int line, col;
	const char *msg;
} bad[] = {
	{"label 'abc", 1, 7, "unterminated quote: no closing ' on this line"},
	{"a\nlabel \"abc\nb", 2, 7, "unterminated quote: no closing \" on this line"},
	{"label \"a\\qb\"", 1, 9, "unknown escape '\\q' in double quotes (write '\\\\' for a backslash)"},
	{"node a\nx\x01\x80y", 2, 3, "not a text file (invalid UTF-8)"},
	{"ab\xc0\xaf", 1, 3, "not a text file (invalid UTF-8)"},         /* overlong '/' */
	{"ab\xed\xa0\x80", 1, 3, "not a text file (invalid UTF-8)"},     /* a surrogate */
	{"ab\xe2\x82", 1, 3, "not a text file (invalid UTF-8)"},         /* truncated */
};

static void test_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lexed l;
		lex_text(&l, bad[i].in, strlen(bad[i].in));
		assert_int_equal(l.dl.n, 1);
		assert_string_equal(l.dl.v[0].msg, bad[i].msg);
		assert_int_equal(l.dl.v[0].line, bad[i].line);
		assert_int_equal(l.dl.v[0].col, bad[i].col);
		lexed_free(&l);
	}
}

static void test_nul_byte_is_not_text(void **state)
{
	(void)state;
	struct lexed l;
	lex_text(&l, "node a\nno\0de", 12);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.dl.n, 1);
	assert_string_equal(l.dl.v[0].msg, "not a text file (NUL byte)");
	assert_int_equal(l.dl.v[0].line, 2);
	assert_int_equal(l.dl.v[0].col, 3);
	lexed_free(&l);
}

static void test_bad_command_is_marked_and_others_kept(void **state)
{
	(void)state;
	struct lexed l;
	lex_text(&l, "a 'x\nb c", 8);
	assert_int_equal(l.n, 2);
	assert_true(l.cmds[0].bad);
	assert_false(l.cmds[1].bad);
	lexed_free(&l);
}

static void test_diag_format_caret(void **state)
{
	(void)state;
	struct lexed l;
	const char *t = "ok\n\tlabel caf\xc3\xa9 'x";
	lex_text(&l, t, strlen(t));
	assert_int_equal(l.dl.n, 1);
	char *s = diag_format(&l.dl.v[0]);
	/* the column counts bytes; the caret keeps the tab and puts one space
	 * for the two-byte é, so it stands under the quote on screen */
	assert_string_equal(s, "t.lab:2:14: error: unterminated quote: no closing ' on this line\n"
			       "    \tlabel caf\xc3\xa9 'x\n"
			       "    \t           ^\n");
	free(s);
	lexed_free(&l);
}

static void test_too_many_errors(void **state)
{
	(void)state;
	struct diag_list dl = {0};
	struct pos p = {0};
	for (int i = 0; i < 25; i++)
		diag_error(&dl, p, "error %d", i);
	assert_int_equal(dl.n, DIAG_MAX);
	assert_int_equal(diag_count(&dl), 25);
	char buf[4096] = {0};
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	diag_print(&dl, f);
	fclose(f);
	assert_non_null(strstr(buf, "caplab: error: error 19\ncaplab: too many errors (5 more not shown)\n"));
	diag_clear(&dl);
}

static void test_suggest(void **state)
{
	(void)state;
	const char *c[] = {"node", "switch", "link", "stop-capture", "capture"};
	assert_string_equal(diag_suggest("nod", c, 5), "node");
	assert_string_equal(diag_suggest("swtich", c, 5), "switch");
	assert_string_equal(diag_suggest("stop-captrue", c, 5), "stop-capture");
	assert_null(diag_suggest("x", c, 5));
	assert_null(diag_suggest("frobnicate", c, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_inputs),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_nul_byte_is_not_text),
		cmocka_unit_test(test_bad_command_is_marked_and_others_kept),
		cmocka_unit_test(test_diag_format_caret),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_suggest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
