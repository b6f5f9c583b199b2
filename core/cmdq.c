/* cmdq.c: the command queue. One command runs at a time; the next one starts
 * from a deferred call, never from inside the previous one's callback. */
#include "cmdq.h"
#include "engine.h"
#include "lab.h"
#include "loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cmdq {
	struct engine *eng;
	int stop_on_error;
	cmdq_done_fn fn;
	void *arg;
	struct cmd_list pending; /* not started yet, in order */
	int head;                /* index of the next one to start */
	struct cmd_ctx *running;
	uint64_t kick;
	int failures;
};

static void kick(struct cmdq *q);

struct cmdq *cmdq_new(struct engine *eng, int stop_on_error, cmdq_done_fn fn, void *arg)
{
	struct cmdq *q = xcalloc(1, sizeof *q);
	q->eng = eng;
	q->stop_on_error = stop_on_error;
	q->fn = fn;
	q->arg = arg;
	return q;
}

void cmdq_flush(struct cmdq *q)
{
	for (int i = q->head; i < q->pending.n; i++) {
		cmd_free(q->pending.v[i]);
		q->pending.v[i] = NULL;
	}
	q->head = q->pending.n;
}

void cmdq_free(struct cmdq *q)
{
	if (!q)
		return;
	if (q->kick)
		loop_cancel(q->kick);
	cmdq_flush(q);
	if (q->running) {
		cmd_free(q->running->cmd);
		free(q->running);
	}
	free(q->pending.v);
	free(q);
}

/* "file:line:col: " for commands that came from a file. */
static char *where(const struct cmd *cmd)
{
	if (!cmd->pos.src || !cmd->pos.src->name || cmd->pos.src->name[0] == '<')
		return xstrdup("");
	return xasprintf("%s:%d:%d: ", cmd->pos.src->name, cmd->pos.line, cmd->pos.col);
}

/* msg is shown as is when it already has its position (validation), else
 * it gets the command's file:line:col in front. */
static void finish_as(struct cmdq *q, struct cmd_ctx *ctx, int ok, const char *msg, int has_where)
{
	q->running = NULL;
	if (!ok) {
		q->failures++;
		char *w = has_where ? xstrdup("") : where(ctx->cmd);
		char *full = xasprintf("%s%s", w, msg && *msg ? msg : "command failed");
		if (q->fn)
			q->fn(ctx->cmd, 0, full, q->arg);
		free(full);
		free(w);
		if (q->stop_on_error)
			cmdq_flush(q);
	} else if (q->fn) {
		q->fn(ctx->cmd, 1, NULL, q->arg);
	}
	cmd_free(ctx->cmd);
	free(ctx);
	kick(q);
}

void cmdq_resume(struct cmd_ctx *ctx, int ok, const char *msg) { finish_as(ctx->q, ctx, ok, msg, 0); }

static void run_one(struct cmdq *q, struct cmd *cmd)
{
	struct cmd_ctx *ctx = xcalloc(1, sizeof *ctx);
	ctx->eng = q->eng;
	ctx->q = q;
	ctx->cmd = cmd;
	q->running = ctx;
	struct diag_list dl = {0};
	if (lab_apply(engine_lab(q->eng), cmd, &dl) < 0) {
		char *text = dl.n ? diag_format(&dl.v[0]) : xstrdup("invalid command");
		text[strcspn(text, "\n")] = '\0'; /* the header line only */
		diag_clear(&dl);
		finish_as(q, ctx, 0, text, 1);
		free(text);
		return;
	}
	diag_clear(&dl);
	enum cmd_ret r = cmd->entry->exec ? cmd->entry->exec(cmd, ctx) : CMD_DONE;
	if (r == CMD_DONE)
		finish_as(q, ctx, 1, NULL, 0);
	else if (r == CMD_ERROR)
		finish_as(q, ctx, 0, ctx->err, 0);
}

static void on_kick(void *arg)
{
	struct cmdq *q = arg;
	q->kick = 0;
	if (q->running)
		return;
	if (q->head >= q->pending.n) {
		q->pending.n = q->head = 0; /* a long TUI session reuses the array */
		return;
	}
	struct cmd *cmd = q->pending.v[q->head];
	q->pending.v[q->head++] = NULL;
	run_one(q, cmd);
}

static void kick(struct cmdq *q)
{
	if (!q->kick && !q->running && q->head < q->pending.n)
		q->kick = loop_defer(on_kick, q);
}

void cmdq_append(struct cmdq *q, struct cmd *cmd)
{
	cmd_list_add(&q->pending, cmd);
	kick(q);
}

int cmdq_idle(const struct cmdq *q) { return !q->running && q->head >= q->pending.n && !q->kick; }
int cmdq_failures(const struct cmdq *q) { return q->failures; }
