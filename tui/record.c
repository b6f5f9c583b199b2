/* record.c: the session script. Every command the TUI runs successfully is
 * kept as text that parses back to the same command (cmd_to_text), so that
 * `caplab run LAB FILE` replays the session headless. Scripts given on the
 * command line come first, as `source` lines, since the session ran them.
 *
 * Host paths are where a replay would differ: the TUI resolves a relative
 * path against its working directory, `caplab run -o DIR` against DIR
 * (outputs) or the script's directory (`source`). So files the session
 * reads (`source FILE`, `copy LOCAL NODE:PATH`) are recorded absolute, and
 * files it writes (`save FILE`, `copy NODE:PATH LOCAL`) relative to the
 * working directory when they are inside it: the replay reads the same
 * inputs and writes its outputs into its own DIR, not over the session's. */
#include "tui.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "lab.h"
#include "util.h"

static struct {
	char *lab;
	char *cwd;
	struct buf body;
	int count;
} R;

static char *absolute(const char *path)
{
	char *abs = realpath(path, NULL);
	return abs ? abs : xstrdup(path);
}

void tui_record_start(const char *lab_path, char **scripts, int nscripts)
{
	tui_record_free();
	R.lab = absolute(lab_path);
	R.cwd = getcwd(NULL, 0);
	for (int i = 0; i < nscripts; i++) {
		char *abs = absolute(scripts[i]);
		char *q = cmd_quote(abs, 1);
		buf_addf(&R.body, "source %s\n", q);
		free(q);
		free(abs);
	}
}

/* An input file: absolute, as the session found it. */
static char *input_path(const char *p)
{
	if (p[0] == '/' || !R.cwd)
		return xstrdup(p);
	return xasprintf("%s/%s", R.cwd, p);
}

/* An output file: relative to the working directory when inside it. */
static char *output_path(const char *p)
{
	size_t n = R.cwd ? strlen(R.cwd) : 0;
	if (p[0] == '/' && n > 1 && !strncmp(p, R.cwd, n) && p[n] == '/' && p[n + 1])
		return xstrdup(p + n + 1);
	return xstrdup(p);
}

/* `copy` words that start with a node name and a colon ("a:/etc") are
 * remote, as cmd-copy.c decides. */
static int remote_word(const char *s)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return 0;
	char *name = xstrndup(s, (size_t)(colon - s));
	int remote = lab_valid_name(name, 64);
	free(name);
	return remote;
}

/* The path rewrite for argument i of cmd, or NULL to keep it. */
static char *rewrite_arg(const struct cmd *cmd, int i)
{
	const char *name = cmd->entry->name, *w = cmd->args[i].text;
	if (!strcmp(name, "source") && i == 0)
		return input_path(w);
	if (!strcmp(name, "save") && i == 0)
		return output_path(w);
	if (!strcmp(name, "copy") && cmd->nargs == 2 && !remote_word(w))
		return i == 0 ? input_path(w) : output_path(w);
	return NULL;
}

char *tui_record_text(const struct cmd *cmd)
{
	struct cmd c = *cmd;
	c.args = xcalloc((size_t)cmd->nargs + 1, sizeof *c.args);
	char **fresh = xcalloc((size_t)cmd->nargs + 1, sizeof *fresh);
	for (int i = 0; i < cmd->nargs; i++) {
		c.args[i] = cmd->args[i];
		fresh[i] = rewrite_arg(cmd, i);
		if (fresh[i])
			c.args[i].text = fresh[i];
	}
	char *text = cmd_to_text(&c);
	for (int i = 0; i < cmd->nargs; i++)
		free(fresh[i]);
	free(fresh);
	free(c.args);
	return text;
}

void tui_record(const struct cmd *cmd)
{
	char *text = tui_record_text(cmd);
	buf_addf(&R.body, "%s\n", text);
	free(text);
	R.count++;
}

int tui_record_count(void) { return R.count; }

int tui_record_save(const char *path, char *err)
{
	char date[64];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %z", localtime(&now));
	struct buf out = {0};
	buf_addf(&out, "# caplab session script, recorded by the TUI\n");
	buf_addf(&out, "# lab: %s\n# date: %s\n", R.lab ? R.lab : "?", date);
	buf_addf(&out, "# replay: caplab run %s %s\n\n", R.lab ? R.lab : "LAB", path);
	if (R.body.len)
		buf_add(&out, R.body.data, R.body.len);
	int rc = write_file(path, out.data, out.len, 0644, err);
	buf_free(&out);
	return rc;
}

void tui_record_free(void)
{
	free(R.lab);
	free(R.cwd);
	buf_free(&R.body);
	memset(&R, 0, sizeof R);
}
