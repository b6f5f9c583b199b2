/* cmd-save.c: `save [-format pcapng|pcap] FILE [CAPTURE...]` exports the
 * named captures (default: all) into FILE, with a FILE.json manifest. */
#include <string.h>

#include "cmd.h"
#include "lab.h"
#include "export.h"

static int save_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	int bad = 0;
	const struct cmd_flag *fmt = cmd_flag(cmd, "format");
	if (fmt && strcmp(fmt->value.text, "pcapng") != 0 && strcmp(fmt->value.text, "pcap") != 0) {
		diag_error(dl, fmt->value.pos, "-format must be pcapng or pcap, got '%s'", fmt->value.text);
		bad = -1;
	}
	if (cmd->nargs == 1 && lab->ncaptures == 0) {
		diag_error(dl, cmd->pos, "nothing to save: no capture was started before this line");
		bad = -1;
	}
	for (int i = 1; i < cmd->nargs; i++)
		if (!lab_want_capture(lab, &cmd->args[i], dl))
			bad = -1;
	return bad;
}

const struct cmd_entry cmd_save_entry = {
	.name = "save",
	.flags = "format:",
	.args_min = 1,
	.args_max = -1,
	.usage = "save [-format pcapng|pcap] FILE [CAPTURE...]",
	.validate = save_validate,
	.exec = export_cmd_save,
};
