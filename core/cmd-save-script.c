/* cmd-save-script.c: `save-script FILE` writes the commands run so far in
 * this session (the TUI's recording) as a script `caplab run` replays. */
#include "cmd.h"

const struct cmd_entry cmd_save_script_entry = {
	.name = "save-script",
	.args_min = 1,
	.args_max = 1,
	.usage = "save-script FILE",
};
