/* diag.c: sources, positions and compiler-style error lists. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct source *source_new(const char *name, const char *text, size_t len)
{
	struct source *src = xcalloc(1, sizeof(*src));
	src->refs = 1;
	src->name = xstrdup(name);
	src->text = xmalloc(len + 1);
	memcpy(src->text, text, len);
	src->text[len] = '\0';
	src->len = len;
	return src;
}

struct source *source_ref(struct source *src)
{
	if (src)
		src->refs++;
	return src;
}

void source_unref(struct source *src)
{
	if (!src || --src->refs > 0)
		return;
	free(src->name);
	free(src->text);
	free(src);
}

char *source_line(const struct source *src, int line)
{
	const char *p = src->text, *end = src->text + src->len;
	for (int l = 1; l < line && p < end; p++)
		if (*p == '\n')
			l++;
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	return xstrndup(p, eol ? (size_t)(eol - p) : (size_t)(end - p));
}

static struct diag *diag_slot(struct diag_list *dl)
{
	if (dl->n >= DIAG_MAX) {
		dl->dropped++;
		return NULL;
	}
	if (dl->n == dl->cap) {
		dl->cap = dl->cap ? dl->cap * 2 : 8;
		dl->v = xrealloc(dl->v, (size_t)dl->cap * sizeof(*dl->v));
	}
	struct diag *d = &dl->v[dl->n++];
	memset(d, 0, sizeof(*d));
	return d;
}

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	return s ? s : xstrdup("(out of memory)");
}

void diag_error(struct diag_list *dl, struct pos pos, const char *fmt, ...)
{
	struct diag *d = diag_slot(dl);
	if (!d)
		return;
	va_list ap;
	va_start(ap, fmt);
	d->msg = vformat(fmt, ap);
	va_end(ap);
	if (pos.src) {
		d->file = xstrdup(pos.src->name);
		d->line = pos.line;
		d->col = pos.col;
		d->line_text = source_line(pos.src, pos.line);
	}
}

void diag_error_file(struct diag_list *dl, const char *file, const char *fmt, ...)
{
	struct diag *d = diag_slot(dl);
	if (!d)
		return;
	va_list ap;
	va_start(ap, fmt);
	d->msg = vformat(fmt, ap);
	va_end(ap);
	d->file = file ? xstrdup(file) : NULL;
}

int diag_count(const struct diag_list *dl) { return dl->n + dl->dropped; }

/* The quoted line, with control bytes made visible so a binary file cannot
 * garble the terminal; the caret line keeps tabs so the caret lines up. */
static void add_quote(struct buf *b, const char *line, int col)
{
	buf_adds(b, "    ");
	for (const unsigned char *p = (const unsigned char *)line; *p; p++)
		buf_add(b, (*p < 0x20 && *p != '\t') || *p == 0x7f ? "?" : (const char *)p, 1);
	buf_adds(b, "\n    ");
	size_t linelen = strlen(line);
	for (int i = 0; i + 1 < col && (size_t)i < linelen; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c & 0xc0) == 0x80)
			continue; /* a UTF-8 continuation byte: same screen column */
		buf_add(b, c == '\t' ? "\t" : " ", 1);
	}
	buf_adds(b, "^\n");
}

char *diag_format(const struct diag *d)
{
	struct buf b = {0};
	if (d->file && d->line > 0)
		buf_addf(&b, "%s:%d:%d: error: %s\n", d->file, d->line, d->col, d->msg);
	else
		buf_addf(&b, "%s: error: %s\n", d->file ? d->file : "caplab", d->msg);
	if (d->line_text)
		add_quote(&b, d->line_text, d->col);
	return b.data;
}

void diag_print(const struct diag_list *dl, FILE *out)
{
	for (int i = 0; i < dl->n; i++) {
		char *s = diag_format(&dl->v[i]);
		fputs(s, out);
		free(s);
	}
	if (dl->dropped)
		fprintf(out, "caplab: too many errors (%d more not shown)\n", dl->dropped);
}

void diag_clear(struct diag_list *dl)
{
	for (int i = 0; i < dl->n; i++) {
		free(dl->v[i].file);
		free(dl->v[i].msg);
		free(dl->v[i].line_text);
	}
	free(dl->v);
	memset(dl, 0, sizeof(*dl));
}

static int file_rank(const char **files, int n, const char *file)
{
	for (int i = 0; file && i < n; i++)
		if (strcmp(files[i], file) == 0)
			return i;
	return -1;
}

static int before(const char **files, int n, const struct diag *a, const struct diag *b)
{
	int fa = file_rank(files, n, a->file), fb = file_rank(files, n, b->file);
	if (fa != fb)
		return fa < fb;
	return a->line != b->line ? a->line < b->line : a->col < b->col;
}

/* Insertion sort: stable (same position keeps the order of detection), and
 * the list never holds more than DIAG_MAX entries. */
void diag_sort(struct diag_list *dl)
{
	const char **files = xcalloc((size_t)dl->n + 1, sizeof(char *));
	int n = 0;
	for (int i = 0; i < dl->n; i++)
		if (dl->v[i].file && file_rank(files, n, dl->v[i].file) < 0)
			files[n++] = dl->v[i].file;
	for (int i = 1; i < dl->n; i++) {
		struct diag d = dl->v[i];
		int j = i;
		for (; j > 0 && before(files, n, &d, &dl->v[j - 1]); j--)
			dl->v[j] = dl->v[j - 1];
		dl->v[j] = d;
	}
	free(files);
}

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and swaps of two neighbours ("lna" for "lan") each cost 1. */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	int d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

const char *diag_suggest(const char *word, const char *const *cands, int n)
{
	const char *best = NULL;
	int best_d = 3;
	for (int i = 0; i < n; i++) {
		int d = edit_distance(word, cands[i]);
		if (d < best_d && (size_t)d * 2 <= strlen(word)) {
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}
