/* cmd-label.c: `label [TEXT]` sets the label of packets from now on (bare
 * `label` clears it). Unquoted words are joined by spaces. */
#include <stdlib.h>

#include "cmd.h"
#include "lab.h"
#include "capture.h"
#include "util.h"

static int label_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	(void)dl;
	free(lab->label);
	lab->label = cmd->nargs ? xstrdup(cmd->args[0].text) : NULL;
	return 0;
}

const struct cmd_entry cmd_label_entry = {
	.name = "label",
	.args_min = 0,
	.args_max = 1,
	.rest = CMD_REST_JOIN,
	.rest_from = 0,
	.usage = "label [TEXT]",
	.validate = label_validate,
	.exec = capture_cmd_label,
};
