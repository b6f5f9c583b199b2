/* parse.c: lexed words -> struct cmd (rules in parse.h). */
#include "parse.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static void unknown_command(const struct word *w, struct diag_list *dl)
{
	const char *names[64];
	for (int i = 0; i < cmd_table_len; i++)
		names[i] = cmd_table[i]->name;
	const char *s = diag_suggest(w->text, names, cmd_table_len);
	if (s)
		diag_error(dl, w->pos, "unknown command '%s': did you mean '%s'?", w->text, s);
	else
		diag_error(dl, w->pos, "unknown command '%s'", w->text);
}

/* The flag names of a template, "-a -b", for messages; n set to the count. */
static int template_names(const struct cmd_entry *e, char names[][32], int max)
{
	int n = 0;
	for (const char *p = e->flags; p && *p && n < max;) {
		size_t len = strcspn(p, " :");
		snprintf(names[n++], 32, "%.*s", (int)len, p);
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	return n;
}

/* Reports an unknown flag; returns 1 when the flag it was probably meant to
 * be takes a value, so the caller skips that value instead of reporting it
 * as an extra argument too. */
static int unknown_flag(const struct cmd_entry *e, const struct word *w, struct diag_list *dl)
{
	char names[16][32];
	const char *cands[16] = {0};
	int n = template_names(e, names, 16);
	struct buf list = {0};
	for (int i = 0; i < n; i++) {
		cands[i] = names[i];
		buf_addf(&list, "%s-%s", i ? " " : "", names[i]);
	}
	const char *s = diag_suggest(w->text + 1, cands, n);
	if (s)
		diag_error(dl, w->pos, "unknown flag '%s' for %s: did you mean '-%s'?", w->text, e->name, s);
	else if (n)
		diag_error(dl, w->pos, "unknown flag '%s' for %s (it takes %s)", w->text, e->name, list.data);
	else
		diag_error(dl, w->pos, "unknown flag '%s': %s takes no flags", w->text, e->name);
	buf_free(&list);
	int takes_value = 0, repeatable;
	if (s)
		cmd_template_has(e, s, &takes_value, &repeatable);
	return takes_value;
}

static void add_arg(struct cmd *cmd, struct word *w)
{
	cmd->args = xrealloc(cmd->args, (size_t)(cmd->nargs + 1) * sizeof(*cmd->args));
	cmd->args[cmd->nargs++] = *w;
	w->text = NULL; /* moved */
}

/* Parses the flag at words[*i]; advances *i past its value. 0 or -1. */
static int parse_flag(struct cmd *cmd, struct lex_cmd *lc, int *i, struct diag_list *dl)
{
	struct word *w = &lc->words[*i];
	int takes_value, repeatable;
	if (!cmd_template_has(cmd->entry, w->text + 1, &takes_value, &repeatable)) {
		if (unknown_flag(cmd->entry, w, dl) && *i + 1 < lc->nwords)
			++*i;
		return -1;
	}
	if (takes_value && *i + 1 >= lc->nwords) {
		diag_error(dl, w->pos, "flag '%s' needs a value (usage: %s)", w->text, cmd->entry->usage);
		return -1;
	}
	if (!repeatable && cmd_has_flag(cmd, w->text + 1)) {
		diag_error(dl, w->pos, "flag '%s' given twice", w->text);
		*i += takes_value; /* its value is not an extra argument */
		return -1;
	}
	cmd->flags = xrealloc(cmd->flags, (size_t)(cmd->nflags + 1) * sizeof(*cmd->flags));
	struct cmd_flag *f = &cmd->flags[cmd->nflags++];
	f->name = xstrdup(w->text + 1);
	f->pos = w->pos;
	memset(&f->value, 0, sizeof(f->value));
	if (takes_value) {
		f->value = lc->words[++*i];
		lc->words[*i].text = NULL; /* moved */
	}
	return 0;
}

static void join_rest(struct cmd *cmd)
{
	int from = cmd->entry->rest_from;
	if (cmd->entry->rest != CMD_REST_JOIN || cmd->nargs <= from + 1)
		return;
	struct buf b = {0};
	for (int i = from; i < cmd->nargs; i++) {
		buf_addf(&b, "%s%s", i > from ? " " : "", cmd->args[i].text);
		free(cmd->args[i].text);
	}
	cmd->args[from].text = b.data;
	cmd->args[from].quoted = 1;
	cmd->nargs = from + 1;
}

static int check_arg_count(const struct cmd *cmd, struct diag_list *dl)
{
	const struct cmd_entry *e = cmd->entry;
	if (cmd->nargs < e->args_min) {
		diag_error(dl, cmd->pos, "missing argument for %s (usage: %s)", e->name, e->usage);
		return -1;
	}
	if (e->args_max >= 0 && cmd->nargs > e->args_max) {
		const struct word *w = &cmd->args[e->args_max];
		diag_error(dl, w->pos, "unexpected argument '%s' for %s (usage: %s)", w->text, e->name,
			   e->usage);
		return -1;
	}
	return 0;
}

static int is_flag_word(const struct word *w)
{
	return !w->quoted && w->text[0] == '-' && w->text[1] != '\0';
}

static int parse_words(struct cmd *cmd, struct lex_cmd *lc, struct diag_list *dl)
{
	const struct cmd_entry *e = cmd->entry;
	int flags_done = 0, bad = 0;
	for (int i = 1; i < lc->nwords; i++) {
		struct word *w = &lc->words[i];
		int verbatim = e->rest == CMD_REST_VERBATIM && cmd->nargs >= e->rest_from;
		if (!verbatim && !flags_done && !w->quoted && strcmp(w->text, "--") == 0)
			flags_done = 1;
		else if (!verbatim && !flags_done && is_flag_word(w))
			bad |= parse_flag(cmd, lc, &i, dl);
		else
			add_arg(cmd, w);
	}
	cmd->broken = bad != 0;
	join_rest(cmd);
	return check_arg_count(cmd, dl);
}

static struct cmd *parse_one(struct source *src, struct lex_cmd *lc, struct diag_list *dl)
{
	const struct cmd_entry *e = cmd_find(lc->words[0].text);
	if (!e) {
		unknown_command(&lc->words[0], dl);
		return NULL;
	}
	struct cmd *cmd = xcalloc(1, sizeof(*cmd));
	cmd->entry = e;
	cmd->src = source_ref(src);
	cmd->pos = lc->words[0].pos;
	cmd->text = xstrndup(src->text + lc->start, lc->end - lc->start);
	if (parse_words(cmd, lc, dl) < 0) {
		cmd_free(cmd);
		return NULL;
	}
	return cmd;
}

int parse_source(struct source *src, struct cmd_list *out, struct diag_list *dl)
{
	int before = diag_count(dl);
	struct lex_cmd *lcs;
	int n = lex_source(src, &lcs, dl);
	for (int i = 0; i < n; i++) {
		if (lcs[i].bad)
			continue;
		struct cmd *cmd = parse_one(src, &lcs[i], dl);
		if (cmd)
			cmd_list_add(out, cmd);
	}
	lex_free(lcs, n);
	return diag_count(dl) - before;
}

int parse_string(const char *name, const char *text, struct cmd_list *out, struct diag_list *dl)
{
	struct source *src = source_new(name, text, strlen(text));
	int errors = parse_source(src, out, dl);
	source_unref(src);
	return errors;
}
