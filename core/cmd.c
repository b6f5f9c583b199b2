/* cmd.c: the command table, flag lookups, number checks, quoting. */
#include "cmd.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

extern const struct cmd_entry cmd_switch_entry, cmd_node_entry, cmd_link_entry,
	cmd_start_entry, cmd_stop_entry, cmd_exec_entry, cmd_copy_entry, cmd_capture_entry,
	cmd_stop_capture_entry, cmd_label_entry, cmd_expect_entry, cmd_save_entry,
	cmd_sleep_entry, cmd_source_entry, cmd_save_script_entry;

const struct cmd_entry *const cmd_table[] = {
	&cmd_switch_entry, &cmd_node_entry, &cmd_link_entry, &cmd_start_entry,
	&cmd_stop_entry, &cmd_exec_entry, &cmd_copy_entry, &cmd_capture_entry,
	&cmd_stop_capture_entry, &cmd_label_entry, &cmd_expect_entry, &cmd_save_entry,
	&cmd_sleep_entry, &cmd_source_entry, &cmd_save_script_entry,
};
const int cmd_table_len = (int)ARRAY_LEN(cmd_table);

const struct cmd_entry *cmd_find(const char *name)
{
	for (int i = 0; i < cmd_table_len; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

int cmd_template_has(const struct cmd_entry *e, const char *name, int *takes_value, int *repeatable)
{
	size_t n = strlen(name);
	for (const char *p = e->flags; p && *p;) {
		size_t len = strcspn(p, " :");
		if (len == n && strncmp(p, name, n) == 0) {
			*takes_value = p[len] == ':';
			*repeatable = *takes_value && p[len + 1] == '*';
			return 1;
		}
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	return 0;
}

const struct cmd_flag *cmd_flag_next(const struct cmd *cmd, const char *name,
				     const struct cmd_flag *prev)
{
	int i = prev ? (int)(prev - cmd->flags) + 1 : 0;
	for (; i < cmd->nflags; i++)
		if (strcmp(cmd->flags[i].name, name) == 0)
			return &cmd->flags[i];
	return NULL;
}

const struct cmd_flag *cmd_flag(const struct cmd *cmd, const char *name)
{
	const struct cmd_flag *last = NULL;
	for (const struct cmd_flag *f = NULL; (f = cmd_flag_next(cmd, name, f));)
		last = f;
	return last;
}

int cmd_has_flag(const struct cmd *cmd, const char *name) { return cmd_flag(cmd, name) != NULL; }

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

int cmd_parse_int(const struct word *w, const char *what, long min, long max, long *out,
		  struct diag_list *dl)
{
	if (!all_digits(w->text) || strlen(w->text) > 12) {
		diag_error(dl, w->pos, "%s expects a whole number, got '%s'", what, w->text);
		return -1;
	}
	long v = strtol(w->text, NULL, 10);
	if (v < min || v > max) {
		diag_error(dl, w->pos, "%s %s is out of range (%ld to %ld)", what, w->text, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Plain decimals only ("2", "0.5", ".5"): no signs, exponents, hex, inf. */
static int is_decimal(const char *s)
{
	const char *dot = strchr(s, '.');
	if (!dot)
		return all_digits(s);
	char *intpart = xstrndup(s, (size_t)(dot - s));
	int ok = (!*intpart || all_digits(intpart)) && all_digits(dot + 1);
	free(intpart);
	return ok;
}

int cmd_parse_decimal(const struct word *w, const char *what, double min, double max,
		      double *out, struct diag_list *dl)
{
	if (!is_decimal(w->text) || strlen(w->text) > 20) {
		diag_error(dl, w->pos, "%s expects a number, got '%s'", what, w->text);
		return -1;
	}
	double v = strtod(w->text, NULL);
	if (v < min || v > max) {
		diag_error(dl, w->pos, "%s %s is out of range (%g to %g)", what, w->text, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int cmd_flag_int(const struct cmd *cmd, const char *flag, long min, long max, long *out,
		 struct diag_list *dl)
{
	const struct cmd_flag *f = cmd_flag(cmd, flag);
	if (!f)
		return 0;
	char what[64];
	snprintf(what, sizeof(what), "-%s", flag);
	return cmd_parse_int(&f->value, what, min, max, out, dl);
}

int cmd_flag_decimal(const struct cmd *cmd, const char *flag, double min, double max,
		     double *out, struct diag_list *dl)
{
	const struct cmd_flag *f = cmd_flag(cmd, flag);
	if (!f)
		return 0;
	char what[64];
	snprintf(what, sizeof(what), "-%s", flag);
	return cmd_parse_decimal(&f->value, what, min, max, out, dl);
}

static int is_plain(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!(isalnum(*p) || *p >= 0x80 || strchr("_./:=@%+,-^~[]!<>&|()*?{}", *p)))
			return 0;
	return *s != '\0';
}

char *cmd_quote(const char *word, int may_look_like_flag)
{
	if (is_plain(word) && !(may_look_like_flag && word[0] == '-'))
		return xstrdup(word);
	if (!strpbrk(word, "'\n\r\t"))
		return xasprintf("'%s'", word);
	struct buf b = {0};
	buf_adds(&b, "\"");
	for (const char *p = word; *p; p++) {
		switch (*p) {
		case '"': buf_adds(&b, "\\\""); break;
		case '\\': buf_adds(&b, "\\\\"); break;
		case '\n': buf_adds(&b, "\\n"); break;
		case '\t': buf_adds(&b, "\\t"); break;
		case '\r': buf_adds(&b, "\\r"); break;
		default: buf_add(&b, p, 1);
		}
	}
	buf_adds(&b, "\"");
	return b.data;
}

static void add_word(struct buf *b, const char *w, int may_look_like_flag)
{
	char *q = cmd_quote(w, may_look_like_flag);
	buf_addf(b, " %s", q);
	free(q);
}

char *cmd_to_text(const struct cmd *cmd)
{
	struct buf b = {0};
	buf_adds(&b, cmd->entry->name);
	for (int i = 0; i < cmd->nflags; i++) {
		buf_addf(&b, " -%s", cmd->flags[i].name);
		if (cmd->flags[i].value.text)
			add_word(&b, cmd->flags[i].value.text, 0);
	}
	for (int i = 0; i < cmd->nargs; i++) {
		int verbatim = cmd->entry->rest == CMD_REST_VERBATIM && i >= cmd->entry->rest_from;
		add_word(&b, cmd->args[i].text, !verbatim);
	}
	return b.data;
}

void cmd_free(struct cmd *cmd)
{
	if (!cmd)
		return;
	for (int i = 0; i < cmd->nflags; i++) {
		free(cmd->flags[i].name);
		free(cmd->flags[i].value.text);
	}
	for (int i = 0; i < cmd->nargs; i++)
		free(cmd->args[i].text);
	free(cmd->flags);
	free(cmd->args);
	free(cmd->text);
	source_unref(cmd->src);
	free(cmd);
}

void cmd_list_add(struct cmd_list *l, struct cmd *cmd)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, (size_t)l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = cmd;
}

void cmd_list_clear(struct cmd_list *l)
{
	for (int i = 0; i < l->n; i++)
		cmd_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
