/* cmd-sleep.c: `sleep SECONDS` (decimals allowed: sleep 0.5). */
#include "cmd.h"
#include "lab.h"

static int sleep_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	(void)lab;
	double s;
	return cmd_parse_decimal(&cmd->args[0], "sleep", 0, 86400, &s, dl);
}

#include "cmdq.h"
#include "loop.h"

#include <stdlib.h>

static void sleep_done(void *arg) { cmdq_resume(arg, 1, NULL); }

/* Waits on a timer: the loop (and the TUI) keep running. */
static enum cmd_ret sleep_exec(struct cmd *cmd, struct cmd_ctx *ctx)
{
	loop_timer(strtod(cmd->args[0].text, NULL), sleep_done, ctx);
	return CMD_WAIT;
}

const struct cmd_entry cmd_sleep_entry = {
	.name = "sleep",
	.args_min = 1,
	.args_max = 1,
	.usage = "sleep SECONDS",
	.exec = sleep_exec,
	.validate = sleep_validate,
};
