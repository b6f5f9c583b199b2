/* cmd-link.c: `link NODE:IFACE SWITCH|NODE:IFACE ...` plugs a node's
 * interface into a switch, or into another node (point-to-point). */
#include "cmd.h"
#include "lab.h"

static const struct word *flag_word(const struct cmd *cmd, const char *name)
{
	const struct cmd_flag *f = cmd_flag(cmd, name);
	return f ? &f->value : NULL;
}

static int link_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	struct lab_link_spec s = {
		.a = &cmd->args[0],
		.b = &cmd->args[1],
		.ip = flag_word(cmd, "ip"),
		.mac = flag_word(cmd, "mac"),
	};
	int bad = cmd_flag_decimal(cmd, "delay", 0, 60000, &s.delay_ms, dl);
	bad |= cmd_flag_decimal(cmd, "loss", 0, 100, &s.loss_pct, dl);
	bad |= cmd_flag_int(cmd, "rate", 1, 10000000, &s.rate_kbit, dl);
	/* linked even when a number is bad, so later lines do not cascade */
	return bad | lab_add_link(lab, cmd, &s, dl);
}

const struct cmd_entry cmd_link_entry = {
	.name = "link",
	.flags = "ip: mac: delay: loss: rate:",
	.args_min = 2,
	.args_max = 2,
	.usage = "link NODE:IFACE SWITCH|NODE:IFACE [-ip ADDR/PREFIX|none] [-mac MAC] [-delay MS] "
		 "[-loss PCT] [-rate KBIT]",
	.validate = link_validate,
};
