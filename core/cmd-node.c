/* cmd-node.c: `node NAME ...` defines a node (a QEMU machine). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "lab.h"
#include "util.h"

/* Debian policy: lower case letters, digits, '+', '-', '.'; at least two
 * characters, starting with a letter or digit. */
static int valid_package(const char *p, size_t len)
{
	if (len < 2 || !(islower((unsigned char)p[0]) || isdigit((unsigned char)p[0])))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)p[i]) && !isdigit((unsigned char)p[i]) && !strchr("+-.", p[i]))
			return 0;
	return 1;
}

static void add_str(char ***v, int *n, const char *s, size_t len)
{
	*v = xrealloc(*v, (size_t)(*n + 1) * sizeof(char *));
	(*v)[(*n)++] = xstrndup(s, len);
}

/* Every -packages word, split on spaces, in order. */
static int node_packages(const struct cmd *cmd, struct lab_node *spec, struct diag_list *dl)
{
	int bad = 0;
	for (const struct cmd_flag *f = NULL; (f = cmd_flag_next(cmd, "packages", f));) {
		for (const char *p = f->value.text; *(p += strspn(p, " \t"));) {
			size_t len = strcspn(p, " \t");
			if (!valid_package(p, len)) {
				diag_error(dl, f->value.pos,
					   "invalid package name '%.*s': Debian names use a-z, 0-9, '+', '-' and '.'",
					   (int)len, p);
				bad = -1;
			} else {
				add_str(&spec->packages, &spec->npackages, p, len);
			}
			p += len;
		}
	}
	return bad;
}

static int node_run(const struct cmd *cmd, struct lab_node *spec, struct diag_list *dl)
{
	int bad = 0;
	for (const struct cmd_flag *f = NULL; (f = cmd_flag_next(cmd, "run", f));) {
		if (f->value.text[strspn(f->value.text, " \t")] == '\0') {
			diag_error(dl, f->value.pos, "-run needs a shell command");
			bad = -1;
			continue;
		}
		add_str(&spec->run, &spec->nrun, f->value.text, strlen(f->value.text));
	}
	return bad;
}

static void free_spec(struct lab_node *spec)
{
	for (int i = 0; i < spec->npackages; i++)
		free(spec->packages[i]);
	for (int i = 0; i < spec->nrun; i++)
		free(spec->run[i]);
	free(spec->packages);
	free(spec->run);
}

static int node_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	struct lab_node spec = {.memory = LAB_MEMORY_DEFAULT, .cpus = LAB_CPUS_DEFAULT};
	long memory = spec.memory, cpus = spec.cpus;
	int bad = cmd_flag_int(cmd, "memory", 64, 16384, &memory, dl);
	bad |= cmd_flag_int(cmd, "cpus", 1, 8, &cpus, dl);
	bad |= node_packages(cmd, &spec, dl);
	bad |= node_run(cmd, &spec, dl);
	spec.memory = (int)memory;
	spec.cpus = (int)cpus;
	spec.keylog = cmd_has_flag(cmd, "keylog");
	/* defined even when a flag is bad, so later lines do not cascade */
	bad |= lab_add_node(lab, &cmd->args[0], &spec, dl);
	free_spec(&spec);
	return bad;
}

const struct cmd_entry cmd_node_entry = {
	.name = "node",
	.flags = "memory: cpus: packages:* run:* keylog",
	.args_min = 1,
	.args_max = 1,
	.usage = "node NAME [-memory MB] [-cpus N] [-packages 'PKG ...'] [-run 'SHELL COMMAND'] [-keylog]",
	.validate = node_validate,
};
