/* lex.h: text -> commands made of words, with a position for every word.
 *
 * The rules (the same for lab files, scripts, the TUI prompt, key bindings):
 * one command per line; `;` also ends a command; `#` at the start of a word
 * starts a comment; '...' is literal; "..." takes backslash escapes
 * (\" \\ \' \$ \n \t \r); outside quotes a backslash makes the next
 * character literal; a backslash at the end of a line continues the command
 * on the next line. Quotes do not span lines. No semantics here: which word
 * is a flag is the parser's business (parse.h). */
#ifndef CAPLAB_LEX_H
#define CAPLAB_LEX_H

#include <stddef.h>

#include "diag.h"

struct word {
	char *text;
	struct pos pos; /* where the word starts (its opening quote, if any) */
	int quoted;     /* any part quoted or escaped: never a flag */
};

struct lex_cmd {
	struct word *words;
	int nwords;
	size_t start, end; /* byte span in the source: the command's text */
	int bad;           /* had a lexical error: already reported */
};

/* Splits src into commands (empty ones skipped). Lexical errors go to dl and
 * mark their command bad. A source that is not text (NUL byte, invalid UTF-8)
 * gives one error and no commands. Returns the number of commands. */
int lex_source(struct source *src, struct lex_cmd **out, struct diag_list *dl);
void lex_free(struct lex_cmd *cmds, int n);

/* 0 if text is valid UTF-8 without NUL bytes, else -1 with the byte offset
 * and a reason ("NUL byte", "invalid UTF-8"). */
int lex_check_text(const char *text, size_t len, size_t *bad_at, const char **why);

#endif
