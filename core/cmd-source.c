/* cmd-source.c: `source FILE` reads commands from FILE (relative to the
 * including file's directory). The loader (script.c) expands it in place,
 * so a parsed command list never contains it; nothing to check here. */
#include "cmd.h"

const struct cmd_entry cmd_source_entry = {
	.name = "source",
	.args_min = 1,
	.args_max = 1,
	.usage = "source FILE",
};
