/* cmd-stop.c: `stop [NODE...]` shuts the named nodes down (default: all). */
#include "cmd.h"
#include "lab.h"

static int stop_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	return lab_start_stop(lab, cmd, 0, dl);
}

#include "engine.h"
#include "util.h"

#include <stdlib.h>

static enum cmd_ret stop_exec(struct cmd *cmd, struct cmd_ctx *ctx)
{
	char **names = xcalloc((size_t)cmd->nargs + 1, sizeof *names);
	for (int i = 0; i < cmd->nargs; i++)
		names[i] = cmd->args[i].text;
	enum cmd_ret r = engine_stop(ctx->eng, ctx, names, cmd->nargs);
	free(names);
	return r;
}

const struct cmd_entry cmd_stop_entry = {
	.name = "stop",
	.args_min = 0,
	.args_max = -1,
	.usage = "stop [NODE...]",
	.exec = stop_exec,
	.validate = stop_validate,
};
