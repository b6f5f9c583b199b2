/* diag.h: sources and diagnostics for the command language.
 *
 * A `struct source` is one loaded text (a lab file, a script, a prompt line).
 * Words and commands point into it with `struct pos`, so an error found long
 * after parsing (during validation, or at run time) can still quote the
 * offending line and put a caret under the column, like a compiler:
 *
 *   labs/x.lab:3:6: error: unknown node 'clinet': did you mean 'client'?
 *       link clinet:eth0 lan
 *            ^
 *
 * Errors are collected in a `struct diag_list`, which the CLI prints and the
 * TUI shows; after DIAG_MAX errors further ones are only counted. */
#ifndef CAPLAB_DIAG_H
#define CAPLAB_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct source {
	int refs;
	char *name; /* the path as given, or "<prompt>" */
	char *text; /* NUL-terminated copy */
	size_t len;
};

/* A new source with one reference; text is copied. */
struct source *source_new(const char *name, const char *text, size_t len);
struct source *source_ref(struct source *src);
void source_unref(struct source *src);
/* Line `line` (1-based) without its newline, malloc'd; "" past the end. */
char *source_line(const struct source *src, int line);

/* A position in a source: 1-based line, 1-based byte column. It does not
 * hold a reference: whoever keeps a pos keeps a reference to pos.src. */
struct pos {
	struct source *src;
	int line, col;
};

#define DIAG_MAX 20

struct diag {
	char *file; /* NULL when the error has no position */
	int line, col;
	char *msg;
	char *line_text; /* the offending line, or NULL */
};

struct diag_list {
	struct diag *v;
	int n, cap;
	int dropped; /* errors counted past DIAG_MAX */
};

/* Adds "FILE:LINE:COL: error: MSG" at pos (pos.src may be NULL). */
void diag_error(struct diag_list *dl, struct pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds "FILE: error: MSG" (file may be NULL: "caplab: error: MSG"). */
void diag_error_file(struct diag_list *dl, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Total errors, including those dropped past DIAG_MAX. */
int diag_count(const struct diag_list *dl);

/* One diagnostic as text: the header line, then the source line and a caret
 * line when there is a position. malloc'd, ends with a newline. */
char *diag_format(const struct diag *d);
/* Prints every diagnostic, then "too many errors (N more not shown)". */
void diag_print(const struct diag_list *dl, FILE *out);
void diag_clear(struct diag_list *dl);
/* Orders diagnostics by file (in order of first appearance), line, column,
 * so lexical, syntax and validation errors of a file read top to bottom. */
void diag_sort(struct diag_list *dl);

/* The candidate closest to word by edit distance, if close enough to be a
 * plausible typo (distance <= 2 and less than half the word); else NULL. */
const char *diag_suggest(const char *word, const char *const *cands, int n);

#endif
