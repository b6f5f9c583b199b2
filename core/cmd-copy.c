/* cmd-copy.c: `copy NODE:PATH LOCALPATH` or `copy LOCALPATH NODE:PATH`. */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "lab.h"
#include "util.h"

/* A word is remote when it starts with a name and a colon ("a:/etc"); a
 * local path with a colon can be written "./a:b". */
static int is_remote(const char *s)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return 0;
	char *name = xstrndup(s, (size_t)(colon - s));
	int ok = lab_valid_name(name, 64);
	free(name);
	return ok;
}

static int check_remote(const struct lab *lab, const struct word *w, struct diag_list *dl)
{
	const char *colon = strchr(w->text, ':');
	struct word node = {xstrndup(w->text, (size_t)(colon - w->text)), w->pos, w->quoted};
	int ok = lab_want_started(lab, &node, dl) != NULL;
	free(node.text);
	if (ok && colon[1] == '\0') {
		diag_error(dl, w->pos, "missing path after '%s'", w->text);
		ok = 0;
	}
	return ok ? 0 : -1;
}

static int copy_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	int r0 = is_remote(cmd->args[0].text), r1 = is_remote(cmd->args[1].text);
	if (r0 && r1) {
		diag_error(dl, cmd->args[1].pos,
			   "copy goes between a node and this machine: one side must be a local path "
			   "(write ./%s for a local name with ':')",
			   cmd->args[1].text);
		return -1;
	}
	if (!r0 && !r1) {
		diag_error(dl, cmd->args[0].pos,
			   "copy needs one NODE:PATH side, e.g. copy server:/etc/hosts hosts");
		return -1;
	}
	return check_remote(lab, &cmd->args[r0 ? 0 : 1], dl);
}

#include "cmdq.h"
#include "engine.h"
#include "ssh.h"

static void copy_done(const char *err, uint64_t bytes, void *arg)
{
	(void)bytes;
	cmdq_resume(arg, err == NULL, err);
}

/* Relative local paths are relative to `caplab run -o DIR` (or "."). */
static char *local_path(struct engine *e, const char *p)
{
	return p[0] == '/' ? xstrdup(p) : xasprintf("%s/%s", engine_out_dir(e), p);
}

static enum cmd_ret copy_exec(struct cmd *cmd, struct cmd_ctx *ctx)
{
	int from_node = is_remote(cmd->args[0].text);
	const char *remote = cmd->args[from_node ? 0 : 1].text;
	const char *colon = strchr(remote, ':');
	char *node = xstrndup(remote, (size_t)(colon - remote));
	struct sshc *c = engine_ssh(ctx->eng, node);
	char *local = local_path(ctx->eng, cmd->args[from_node ? 1 : 0].text);
	struct sshc_copy *cp = NULL;
	if (!c)
		cl_err(ctx->err, "node %s is not ready", node);
	else if (from_node)
		cp = sshc_copy_from(c, colon + 1, local, copy_done, ctx, ctx->err);
	else
		cp = sshc_copy_to(c, local, colon + 1, copy_done, ctx, ctx->err);
	free(node);
	free(local);
	return cp ? CMD_WAIT : CMD_ERROR;
}

const struct cmd_entry cmd_copy_entry = {
	.name = "copy",
	.args_min = 2,
	.args_max = 2,
	.usage = "copy NODE:PATH LOCALPATH | copy LOCALPATH NODE:PATH",
	.exec = copy_exec,
	.validate = copy_validate,
};
