/* cmd-expect.c: `expect [-t SECONDS] [-c COUNT] [-none] CAPTURE FILTER`
 * waits until CAPTURE holds COUNT packets matching FILTER (or, with -none,
 * checks that none arrive within the time). FILTER is one quoted word or the
 * remaining words, as tcpdump takes its expression. */
#include "cmd.h"
#include "lab.h"
#include "capture.h"

static int expect_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	double t = 0;
	long count = 0;
	int bad = cmd_flag_decimal(cmd, "t", 0.001, 86400, &t, dl);
	bad |= cmd_flag_int(cmd, "c", 1, 1000000, &count, dl);
	if (cmd_has_flag(cmd, "none") && cmd_has_flag(cmd, "c")) {
		diag_error(dl, cmd_flag(cmd, "none")->pos, "-none and -c cannot be used together");
		bad = -1;
	}
	if (!lab_want_capture(lab, &cmd->args[0], dl))
		bad = -1;
	bad |= lab_check_filter_word(&cmd->args[1], dl);
	return bad;
}

const struct cmd_entry cmd_expect_entry = {
	.name = "expect",
	.flags = "t: c: none",
	.args_min = 2,
	.args_max = 2,
	.rest = CMD_REST_JOIN,
	.rest_from = 1,
	.usage = "expect [-t SECONDS] [-c COUNT] [-none] CAPTURE FILTER",
	.validate = expect_validate,
	.exec = capture_cmd_expect,
};
