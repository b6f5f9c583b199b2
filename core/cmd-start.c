/* cmd-start.c: `start [NODE...]` boots the named nodes (default: all). */
#include "cmd.h"
#include "lab.h"

static int start_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	return lab_start_stop(lab, cmd, 1, dl);
}

#include "engine.h"
#include "util.h"

#include <stdlib.h>

static enum cmd_ret start_exec(struct cmd *cmd, struct cmd_ctx *ctx)
{
	char **names = xcalloc((size_t)cmd->nargs + 1, sizeof *names);
	for (int i = 0; i < cmd->nargs; i++)
		names[i] = cmd->args[i].text;
	enum cmd_ret r = engine_start(ctx->eng, ctx, names, cmd->nargs);
	free(names);
	return r;
}

const struct cmd_entry cmd_start_entry = {
	.name = "start",
	.args_min = 0,
	.args_max = -1,
	.usage = "start [NODE...]",
	.exec = start_exec,
	.validate = start_validate,
};
