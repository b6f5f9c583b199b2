/* cmd-capture.c: `capture [-n NAME] [-f FILTER] [-d] LINK...` starts a
 * capture on links; -d also shows the compiled BPF program. */
#include "cmd.h"
#include "lab.h"
#include "capture.h"

static int capture_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	return lab_add_capture(lab, cmd, dl);
}

const struct cmd_entry cmd_capture_entry = {
	.name = "capture",
	.flags = "n: f: d",
	.args_min = 1,
	.args_max = -1,
	.usage = "capture [-n NAME] [-f FILTER] [-d] LINK...",
	.validate = capture_validate,
	.exec = capture_cmd_start,
};
