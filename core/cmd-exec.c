/* cmd-exec.c: `exec ... NODE COMMAND [ARG...]` runs a command on a node.
 * Everything after NODE is the remote command, verbatim (its own -c etc.). */
#include "cmd.h"
#include "lab.h"

static int exec_validate(const struct cmd *cmd, struct lab *lab, struct diag_list *dl)
{
	double t = 0;
	int bad = cmd_flag_decimal(cmd, "t", 0.001, 86400, &t, dl);
	if (!lab_want_started(lab, &cmd->args[0], dl))
		bad = -1;
	return bad;
}

#include "cmdq.h"
#include "engine.h"
#include "events.h"
#include "image.h"
#include "ssh.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One running exec: output goes to events and RUNDIR/NODE.exec.log. */
struct exec_run {
	struct cmd_ctx *ctx; /* NULL once a -b exec has let the queue go on */
	char *node, *what;
	int log_fd, ignore;
};

static void exec_output(int stream, const char *data, size_t len, void *arg)
{
	struct exec_run *x = arg;
	struct event ev = {.type = EV_OUTPUT, .node = x->node,
			   .stream = stream == SSHC_STDERR ? "stderr" : "stdout",
			   .data = data, .len = (int)len, .origin = x->ctx ? x->ctx->cmd : NULL};
	events_emit(&ev);
	if (x->log_fd >= 0) {
		ssize_t w = write(x->log_fd, data, len);
		(void)w; /* the log is a copy; the event already carried the data */
	}
}

static void exec_done(int status, const char *err, void *arg)
{
	struct exec_run *x = arg;
	char *msg = NULL;
	if (status < 0)
		msg = xasprintf("exec %s: %s", x->what, err ? err : "failed");
	else if (status != 0)
		msg = xasprintf("exec %s: exit status %d", x->what, status);
	if (msg && x->ignore) { /* -i: said, not failed */
		events_message("%s (ignored: -i)", msg);
		free(msg);
		msg = NULL;
	}
	if (x->ctx)
		cmdq_resume(x->ctx, msg == NULL, msg);
	else if (msg)
		events_error("%s (background)", msg);
	if (x->log_fd >= 0)
		close(x->log_fd);
	free(msg);
	free(x->node);
	free(x->what);
	free(x);
}

/* The remote command line: argv quoted word by word (it arrives on the node
 * unchanged), after SSLKEYLOGFILE on a -keylog node, as its -run commands
 * have it (sshd gives sessions a fresh environment). */
static char *exec_line(const struct lab_node *ln, char **argv)
{
	char *line = sshc_quote_argv(argv);
	if (!ln || !ln->keylog)
		return line;
	char *full = xasprintf("SSLKEYLOGFILE=" IMAGE_KEYLOG_FILE "; export SSLKEYLOGFILE; %s", line);
	free(line);
	return full;
}

static enum cmd_ret exec_exec(struct cmd *cmd, struct cmd_ctx *ctx)
{
	const char *node = cmd->args[0].text;
	struct sshc *c = engine_ssh(ctx->eng, node);
	if (!c)
		return cl_err(ctx->err, "node %s is not ready", node), CMD_ERROR;
	double timeout = 0;
	const struct cmd_flag *t = cmd_flag(cmd, "t");
	if (t)
		timeout = strtod(t->value.text, NULL);
	char **argv = xcalloc((size_t)cmd->nargs, sizeof *argv);
	for (int i = 1; i < cmd->nargs; i++)
		argv[i - 1] = cmd->args[i].text;
	struct exec_run *x = xcalloc(1, sizeof *x);
	x->node = xstrdup(node);
	char *quoted = sshc_quote_argv(argv);
	x->what = xasprintf("%s %s", node, quoted);
	free(quoted);
	x->ignore = cmd_has_flag(cmd, "i");
	char *log = xasprintf("%s/%s.exec.log", engine_rundir(ctx->eng), node);
	x->log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(log);
	int bg = cmd_has_flag(cmd, "b");
	x->ctx = bg ? NULL : ctx;
	char *line = exec_line(lab_node(engine_lab(ctx->eng), node), argv);
	struct sshc_chan *ch = sshc_exec_line(c, line, timeout, exec_output, exec_done, x, ctx->err);
	free(line);
	free(argv);
	if (!ch) {
		if (x->log_fd >= 0)
			close(x->log_fd);
		free(x->node);
		free(x->what);
		free(x);
		return CMD_ERROR;
	}
	return bg ? CMD_DONE : CMD_WAIT;
}

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.flags = "t: b i",
	.args_min = 2,
	.args_max = -1,
	.rest = CMD_REST_VERBATIM,
	.rest_from = 1,
	.usage = "exec [-t SECONDS] [-b] [-i] NODE COMMAND [ARG...]",
	.exec = exec_exec,
	.validate = exec_validate,
};
