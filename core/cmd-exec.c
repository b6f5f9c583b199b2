/* cmd-exec.c: `exec ... NODE COMMAND [ARG...]` runs a command on a node.
 * Everything after NODE is the remote command, verbatim (its own -c etc.). */
#include "cmd.h"
#include "lab.h"

static int exec_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	double t = 0;
	int bad = cmd_flag_decimal(cmd, "t", 0.001, 86400, &t, dl);
	if (!lab_want_started(lab, &cmd->args[0], dl))
		bad = -1;
	return bad;
}

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.flags = "t: b i",
	.args_min = 2,
	.args_max = -1,
	.rest = CMD_REST_VERBATIM,
	.rest_from = 1,
	.usage = "exec [-t SECONDS] [-b] [-i] NODE COMMAND [ARG...]",
	.validate = exec_validate,
};
