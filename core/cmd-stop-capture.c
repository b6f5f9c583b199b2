/* cmd-stop-capture.c: `stop-capture [NAME...]` (default: all running). */
#include "cmd.h"
#include "lab.h"
#include "capture.h"

static int stop_capture_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	return lab_stop_capture(lab, cmd, dl);
}

const struct cmd_entry cmd_stop_capture_entry = {
	.name = "stop-capture",
	.args_min = 0,
	.args_max = -1,
	.usage = "stop-capture [NAME...]",
	.validate = stop_capture_validate,
	.exec = capture_cmd_stop,
};
