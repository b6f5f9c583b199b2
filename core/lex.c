/* lex.c: the lexer of the command language (rules in lex.h). */
#include "lex.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct lexer {
	struct source *src;
	const char *s;
	size_t len, i;
	int line, col;
	struct diag_list *dl;
	struct lex_cmd *cmds;
	int n, cap;
	struct lex_cmd cur;
	int cur_cap;
	struct buf word;
	int in_word;
	struct word w; /* position and quoted flag of the word being built */
	size_t word_start, word_end;
};

static int peek(const struct lexer *l, size_t k)
{
	return l->i + k < l->len ? (unsigned char)l->s[l->i + k] : -1;
}

static void advance(struct lexer *l)
{
	if (l->s[l->i] == '\n') {
		l->line++;
		l->col = 1;
	} else {
		l->col++;
	}
	l->i++;
}

static struct pos here(const struct lexer *l)
{
	return (struct pos){l->src, l->line, l->col};
}

static void start_word(struct lexer *l)
{
	if (l->in_word)
		return;
	l->in_word = 1;
	l->w.pos = here(l);
	l->w.quoted = 0;
	l->word_start = l->i;
	buf_reset(&l->word);
}

static void add_byte(struct lexer *l, char c)
{
	buf_add(&l->word, &c, 1);
}

static void end_word(struct lexer *l)
{
	if (!l->in_word)
		return;
	l->in_word = 0;
	if (l->cur.nwords == l->cur_cap) {
		l->cur_cap = l->cur_cap ? l->cur_cap * 2 : 8;
		l->cur.words = xrealloc(l->cur.words, (size_t)l->cur_cap * sizeof(struct word));
	}
	if (l->cur.nwords == 0)
		l->cur.start = l->word_start;
	l->cur.end = l->word_end;
	struct word *w = &l->cur.words[l->cur.nwords++];
	*w = l->w;
	w->text = xstrdup(l->word.data ? l->word.data : "");
}

static void end_cmd(struct lexer *l)
{
	end_word(l);
	if (l->cur.nwords == 0) {
		free(l->cur.words);
	} else {
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 16;
			l->cmds = xrealloc(l->cmds, (size_t)l->cap * sizeof(*l->cmds));
		}
		l->cmds[l->n++] = l->cur;
	}
	memset(&l->cur, 0, sizeof(l->cur));
	l->cur_cap = 0;
}

/* A backslash-newline (or backslash-CRLF) at i: the command goes on. */
static int is_continuation(const struct lexer *l)
{
	return peek(l, 1) == '\n' || (peek(l, 1) == '\r' && peek(l, 2) == '\n');
}

static void skip_continuation(struct lexer *l)
{
	while (l->s[l->i] != '\n')
		advance(l);
	advance(l);
}

static void lex_backslash(struct lexer *l)
{
	if (is_continuation(l)) {
		skip_continuation(l);
		return;
	}
	start_word(l);
	l->w.quoted = 1;
	advance(l);
	if (l->i < l->len) {
		add_byte(l, l->s[l->i]);
		advance(l);
	}
	l->word_end = l->i;
}

static void unterminated(struct lexer *l, struct pos open, char q)
{
	diag_error(l->dl, open, "unterminated quote: no closing %c on this line", q);
	l->cur.bad = 1;
}

static void lex_single(struct lexer *l)
{
	start_word(l);
	l->w.quoted = 1;
	struct pos open = here(l);
	advance(l);
	while (peek(l, 0) != '\'' && peek(l, 0) != '\n' && peek(l, 0) != -1) {
		add_byte(l, l->s[l->i]);
		advance(l);
	}
	if (peek(l, 0) != '\'')
		unterminated(l, open, '\'');
	else
		advance(l);
	l->word_end = l->i;
}

static int escape_char(int c)
{
	switch (c) {
	case '"': case '\\': case '\'': case '$': return c;
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	default: return -1;
	}
}

static void lex_dquote_escape(struct lexer *l)
{
	if (is_continuation(l)) {
		skip_continuation(l);
		return;
	}
	struct pos at = here(l);
	int c = escape_char(peek(l, 1));
	advance(l);
	if (c < 0) {
		diag_error(l->dl, at, "unknown escape '\\%c' in double quotes (write '\\\\' for a backslash)",
			   l->s[l->i]);
		l->cur.bad = 1;
		c = (unsigned char)l->s[l->i];
	}
	add_byte(l, (char)c);
	advance(l);
}

static void lex_double(struct lexer *l)
{
	start_word(l);
	l->w.quoted = 1;
	struct pos open = here(l);
	advance(l);
	for (;;) {
		int c = peek(l, 0);
		if (c == '"' || c == '\n' || c == -1)
			break;
		if (c == '\\' && peek(l, 1) != -1) {
			lex_dquote_escape(l);
			continue;
		}
		add_byte(l, (char)c);
		advance(l);
	}
	if (peek(l, 0) != '"')
		unterminated(l, open, '"');
	else
		advance(l);
	l->word_end = l->i;
}

static void lex_step(struct lexer *l)
{
	char c = l->s[l->i];
	if (c == '\n' || c == ';') {
		end_cmd(l);
		advance(l);
	} else if (c == ' ' || c == '\t' || c == '\r') {
		end_word(l);
		advance(l);
	} else if (c == '#' && !l->in_word) {
		while (peek(l, 0) != '\n' && peek(l, 0) != -1)
			advance(l);
	} else if (c == '\\') {
		lex_backslash(l);
	} else if (c == '\'') {
		lex_single(l);
	} else if (c == '"') {
		lex_double(l);
	} else {
		start_word(l);
		add_byte(l, c);
		advance(l);
		l->word_end = l->i;
	}
}

static struct pos offset_pos(struct source *src, size_t off)
{
	struct pos p = {src, 1, 1};
	for (size_t i = 0; i < off; i++) {
		if (src->text[i] == '\n') {
			p.line++;
			p.col = 1;
		} else {
			p.col++;
		}
	}
	return p;
}

int lex_source(struct source *src, struct lex_cmd **out, struct diag_list *dl)
{
	size_t bad;
	const char *why;
	*out = NULL;
	if (lex_check_text(src->text, src->len, &bad, &why) < 0) {
		diag_error(dl, offset_pos(src, bad), "not a text file (%s)", why);
		return 0;
	}
	struct lexer l = {.src = src, .s = src->text, .len = src->len, .line = 1, .col = 1, .dl = dl};
	while (l.i < l.len)
		lex_step(&l);
	end_cmd(&l);
	buf_free(&l.word);
	*out = l.cmds;
	return l.n;
}

void lex_free(struct lex_cmd *cmds, int n)
{
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < cmds[i].nwords; j++)
			free(cmds[i].words[j].text);
		free(cmds[i].words);
	}
	free(cmds);
}

/* Length of the UTF-8 sequence at p (1..4), or 0 if it is not valid UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8_len(const unsigned char *p, size_t left)
{
	if (p[0] < 0x80)
		return 1;
	int n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (n == 0 || p[0] > 0xf4 || (size_t)n > left)
		return 0;
	for (int i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

int lex_check_text(const char *text, size_t len, size_t *bad_at, const char **why)
{
	const unsigned char *p = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		if (p[i] == 0) {
			*bad_at = i;
			*why = "NUL byte";
			return -1;
		}
		int n = utf8_len(p + i, len - i);
		if (n == 0) {
			*bad_at = i;
			*why = "invalid UTF-8";
			return -1;
		}
		i += (size_t)n;
	}
	return 0;
}
