/* cmd-switch.c: `switch NAME [-hub]` defines a switch (a hub with -hub). */
#include "cmd.h"
#include "lab.h"

static int switch_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	return lab_add_switch(lab, &cmd->args[0], cmd_has_flag(cmd, "hub"), dl);
}

const struct cmd_entry cmd_switch_entry = {
	.name = "switch",
	.flags = "hub",
	.args_min = 1,
	.args_max = 1,
	.usage = "switch NAME [-hub]",
	.validate = switch_validate,
};
