/* cmdq.h: runs commands in order (tmux's cmdq). Each command is first
 * validated against the live model (lab_apply), then its exec runs; a
 * command that takes time returns CMD_WAIT and is resumed later with
 * cmdq_resume(), so nothing ever blocks the loop. */
#ifndef CAPLAB_CMDQ_H
#define CAPLAB_CMDQ_H

#include "cmd.h"
#include "util.h"

struct engine;
struct cmdq;

/* What an exec function gets. err is where it leaves a failure message. */
struct cmd_ctx {
	struct engine *eng;
	struct cmdq *q;
	struct cmd *cmd;
	char err[CL_ERRBUF];
	void *state; /* the command's own state while it waits */
};

/* Called after each command: ok, or the error text (with file:line:col when
 * the command came from a file). */
typedef void (*cmdq_done_fn)(const struct cmd *cmd, int ok, const char *msg, void *arg);

/* stop_on_error: a failure drops the rest of the queue (headless runs);
 * otherwise each command stands alone (the TUI prompt). */
struct cmdq *cmdq_new(struct engine *eng, int stop_on_error, cmdq_done_fn fn, void *arg);
void cmdq_free(struct cmdq *q);
/* Takes ownership of cmd. */
void cmdq_append(struct cmdq *q, struct cmd *cmd);
/* Finish the waiting command: ok, or failed with msg. */
void cmdq_resume(struct cmd_ctx *ctx, int ok, const char *msg);
/* 1 when nothing is queued or running. */
int cmdq_idle(const struct cmdq *q);
/* Number of commands that failed (and, with stop_on_error, were dropped). */
int cmdq_failures(const struct cmdq *q);
/* Drop everything queued; a waiting command is cancelled by the engine. */
void cmdq_flush(struct cmdq *q);

#endif
