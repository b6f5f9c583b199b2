/* script.c: load lab files and scripts (with `source`), validate, check. */
#include "script.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "util.h"

/* The files being read, outermost first: a `source` of one of them is a
 * cycle. Kept as real paths so "a.cls" and "./a.cls" are the same file. */
struct load_stack {
	char *paths[SCRIPT_MAX_DEPTH];
	int n;
};

static int load_file(const char *path, const struct cmd *from, struct load_stack *st,
		     struct cmd_list *out, struct diag_list *dl);

/* `source FILE` relative to the directory of the file it is written in. */
static char *resolve_source(const struct cmd *cmd)
{
	const char *file = cmd->args[0].text;
	if (file[0] == '/' || !cmd->src)
		return xstrdup(file);
	char *copy = xstrdup(cmd->src->name);
	char *path = xasprintf("%s/%s", dirname(copy), file);
	free(copy);
	return path;
}

static int expand_source(struct cmd *cmd, struct load_stack *st, struct cmd_list *out,
			 struct diag_list *dl)
{
	char *path = resolve_source(cmd);
	int errors = load_file(path, cmd, st, out, dl);
	free(path);
	cmd_free(cmd);
	return errors;
}

static void report(struct diag_list *dl, const struct cmd *from, const char *path,
		   const char *msg)
{
	if (from)
		diag_error(dl, from->args[0].pos, "%s", msg);
	else
		diag_error_file(dl, path, "%s", msg);
}

static int push_path(struct load_stack *st, const char *path, const struct cmd *from,
		     struct diag_list *dl)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		snprintf(real, sizeof(real), "%s", path);
	for (int i = 0; i < st->n; i++)
		if (strcmp(st->paths[i], real) == 0) {
			char *msg = xasprintf("source cycle: '%s' is already being read",
					      from ? from->args[0].text : path);
			report(dl, from, path, msg);
			free(msg);
			return -1;
		}
	if (st->n == SCRIPT_MAX_DEPTH) {
		report(dl, from, path, "source nested too deeply (more than 16 files)");
		return -1;
	}
	st->paths[st->n++] = xstrdup(real);
	return 0;
}

static int load_file(const char *path, const struct cmd *from, struct load_stack *st,
		     struct cmd_list *out, struct diag_list *dl)
{
	int before = diag_count(dl);
	char err[CL_ERRBUF];
	size_t len;
	char *text = read_file(path, &len, err);
	if (!text) {
		report(dl, from, NULL, err); /* err names the path already */
		return 1;
	}
	if (push_path(st, path, from, dl) < 0) {
		free(text);
		return 1;
	}
	struct source *src = source_new(path, text, len);
	free(text);
	struct cmd_list file = {0};
	parse_source(src, &file, dl);
	source_unref(src);
	for (int i = 0; i < file.n; i++) {
		if (strcmp(file.v[i]->entry->name, "source") == 0)
			expand_source(file.v[i], st, out, dl);
		else
			cmd_list_add(out, file.v[i]);
	}
	free(file.v);
	free(st->paths[--st->n]);
	return diag_count(dl) - before;
}

int script_load(const char *path, struct cmd_list *out, struct diag_list *dl)
{
	struct load_stack st = {0};
	return load_file(path, NULL, &st, out, dl);
}

int script_validate(struct lab *lab, const struct cmd_list *cmds, struct diag_list *dl)
{
	int before = diag_count(dl);
	for (int i = 0; i < cmds->n; i++)
		lab_apply(lab, cmds->v[i], dl);
	lab_plan(lab, dl);
	return diag_count(dl) - before;
}

int script_load_all(const char *lab_path, char *const *scripts, int nscripts,
		    struct cmd_list *cmds, struct lab **labp, struct diag_list *dl)
{
	int before = diag_count(dl);
	script_load(lab_path, cmds, dl);
	for (int i = 0; i < nscripts; i++)
		script_load(scripts[i], cmds, dl);
	struct lab *lab = lab_new();
	script_validate(lab, cmds, dl);
	if (diag_count(dl) > before) {
		diag_sort(dl);
		cmd_list_clear(cmds);
		lab_free(lab);
		*labp = NULL;
		return -1;
	}
	*labp = lab;
	return 0;
}

static void print_summary(const char *lab_path, const struct lab *lab, int ncmds, FILE *out)
{
	fprintf(out, "%s: ok: %d commands, %d nodes, %d switches, %d links\n", lab_path, ncmds,
		lab->nnodes, lab->nswitches, lab->nlinks);
	lab_print_plan(lab, out);
}

int script_check(const char *lab_path, char *const *scripts, int nscripts, int verbose,
		 FILE *out, FILE *err)
{
	struct cmd_list cmds = {0};
	struct diag_list dl = {0};
	struct lab *lab;
	if (script_load_all(lab_path, scripts, nscripts, &cmds, &lab, &dl) < 0) {
		diag_print(&dl, err);
		diag_clear(&dl);
		return 2;
	}
	if (verbose)
		print_summary(lab_path, lab, cmds.n, out);
	cmd_list_clear(&cmds);
	lab_free(lab);
	diag_clear(&dl);
	return 0;
}
