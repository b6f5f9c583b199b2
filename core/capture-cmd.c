/* capture-cmd.c: the commands behind `capture`, `stop-capture`, `label` and
 * `expect`, on top of capture.c (which knows nothing of the engine). */
#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf.h"
#include "cmdq.h"
#include "engine.h"
#include "events.h"
#include "lab.h"
#include "loop.h"
#include "node.h"
#include "pcapng.h"
#include "qmp.h"
#include "util.h"

/* ---------- expect ---------- */

struct expectation {
	struct capture *c;
	struct cmd_ctx *ctx;
	struct cbpf *bpf;
	long need, have;
	int none;
	double timeout;
	uint64_t timer;
	int *settled; /* set while expect_timeout's final drain may end it */
	char *what;  /* "a:eth0 'icmp'" for messages */
};

static void on_expect_packet(struct capture *c, const uint8_t *data, uint32_t len, void *arg);

static void expect_end(struct expectation *x, int ok, const char *msg)
{
	capture_unwatch(x->c, on_expect_packet, x);
	if (x->timer)
		loop_cancel(x->timer);
	struct cmd_ctx *ctx = x->ctx;
	cbpf_free(x->bpf);
	free(x->what);
	free(x);
	cmdq_resume(ctx, ok, msg);
}

static void on_expect_packet(struct capture *c, const uint8_t *data, uint32_t len, void *arg)
{
	struct expectation *x = arg;
	if (!data) {
		char *m = xasprintf("expect %s: the capture went away", x->what);
		expect_end(x, 0, m);
		free(m);
		return;
	}
	if (!cbpf_match(x->bpf, data, len, len) || ++x->have < x->need)
		return;
	if (x->settled)
		*x->settled = 1;
	if (!x->none) {
		expect_end(x, 1, NULL);
		return;
	}
	char *m = xasprintf("expect -none %s: a matching packet arrived (packet %llu of the capture)",
			    x->what, (unsigned long long)capture_ring_next(c) - 1);
	expect_end(x, 0, m);
	free(m);
}

static void expect_timeout(void *arg)
{
	struct expectation *x = arg;
	x->timer = 0;
	int settled = 0;
	x->settled = &settled;
	capture_drain(x->c); /* frames that arrived in time count, even if unread */
	if (settled)
		return; /* the drain decided (x is gone) */
	x->settled = NULL;
	if (x->none) {
		expect_end(x, 1, NULL);
		return;
	}
	char *m = xasprintf("expect %s: %ld of %ld packet%s within %g s", x->what, x->have, x->need,
			    x->need == 1 ? "" : "s", x->timeout);
	expect_end(x, 0, m);
	free(m);
}

/* Matches among the packets the capture has already stored (its spool). */
static long count_stored(struct capture *c, const struct cbpf *bpf, char *err)
{
	capture_drain(c);
	struct capture_info in;
	capture_get_info(c, &in);
	uint64_t limit = capture_spool_size(c);
	if (limit == 0)
		return 0;
	struct pcapng_r *r = pcapng_r_open(in.spool_path, err);
	if (!r)
		return -1;
	struct pcapng_rec rec;
	long n = 0;
	int rc;
	while ((rc = pcapng_read_packet(r, &rec, err)) == 1 && rec.offset < limit)
		n += cbpf_match(bpf, rec.pkt.data, rec.pkt.caplen, rec.pkt.origlen);
	pcapng_r_close(r);
	return rc < 0 ? -1 : n;
}

/* Settled by what is stored already: CMD_DONE / CMD_ERROR, else CMD_WAIT. */
static enum cmd_ret expect_now(const struct expectation *x, char *err)
{
	if (x->none && x->have > 0) {
		cl_err(err, "expect -none %s: %ld matching packet%s captured", x->what, x->have,
		       x->have == 1 ? "" : "s");
		return CMD_ERROR;
	}
	return !x->none && x->have >= x->need ? CMD_DONE : CMD_WAIT;
}

enum cmd_ret capture_cmd_expect(struct cmd *cmd, struct cmd_ctx *ctx)
{
	struct capture *c = capture_find(cmd->args[0].text);
	const char *expr = cmd->args[1].text;
	if (!c)
		return cl_err(ctx->err, "expect: capture '%s' was never started", cmd->args[0].text),
		       CMD_ERROR;
	const struct cmd_flag *ft = cmd_flag(cmd, "t"), *fc = cmd_flag(cmd, "c");
	struct expectation *x = xcalloc(1, sizeof *x);
	*x = (struct expectation){
		.c = c, .ctx = ctx, .need = fc ? atol(fc->value.text) : 1,
		.none = cmd_has_flag(cmd, "none"), .timeout = ft ? atof(ft->value.text) : 10,
	};
	char ferr[CL_ERRBUF];
	enum cmd_ret r = CMD_ERROR;
	if (!(x->bpf = cbpf_compile(expr, ferr)))
		cl_err(ctx->err, "expect: bad filter '%s': %s", expr, ferr);
	else if ((x->have = count_stored(c, x->bpf, ferr)) < 0)
		cl_err(ctx->err, "expect %s: %s", capture_name(c), ferr);
	else {
		x->what = xasprintf("%s '%s'", capture_name(c), expr);
		r = expect_now(x, ctx->err);
	}
	if (r != CMD_WAIT) {
		cbpf_free(x->bpf);
		free(x->what);
		free(x);
		return r;
	}
	capture_watch(c, on_expect_packet, x);
	x->timer = loop_timer(x->timeout, expect_timeout, x);
	return CMD_WAIT;
}

/* ---------- the commands ---------- */

/* The node's QMP connection while it can take commands. */
static struct qmp *engine_qmp(const char *node, void *arg)
{
	struct node *n = engine_node(arg, node);
	struct qmp *q = n ? node_qmp(n) : NULL;
	return q && qmp_is_ready(q) ? q : NULL;
}

static char *iface_description(const struct lab_iface *f)
{
	struct buf b = {0};
	const struct lab_link *l = f->link;
	const struct lab_iface *peer = lab_peer(f);
	buf_addf(&b, "node %s, ", f->node->name);
	if (l && l->sw)
		buf_addf(&b, "switch %s, ", l->sw->name);
	else if (peer)
		buf_addf(&b, "point-to-point to %s, ", peer->label);
	buf_addf(&b, "mac %02x:%02x:%02x:%02x:%02x:%02x", f->mac[0], f->mac[1], f->mac[2], f->mac[3],
		 f->mac[4], f->mac[5]);
	if (f->ip_mode != LAB_IP_NONE)
		buf_addf(&b, ", ip %u.%u.%u.%u/%d", f->ip >> 24, (f->ip >> 16) & 255, (f->ip >> 8) & 255,
			 f->ip & 255, f->prefix);
	return b.data;
}

static void show_program(const struct capture *c)
{
	char *prog = capture_filter_dump(c);
	struct capture_info in;
	capture_get_info(c, &in);
	events_message("capture %s: filter '%s' compiles to:", in.name, in.filter);
	for (char *line = strtok(prog, "\n"); line; line = strtok(NULL, "\n"))
		events_message("%s", line);
	free(prog);
}

static void on_started(struct capture *c, const char *err, void *arg)
{
	struct cmd_ctx *ctx = arg;
	if (err) {
		struct lab_capture *lc = lab_capture(engine_lab(ctx->eng), capture_name(c));
		if (lc)
			lc->running = 0;
		char *m = xasprintf("capture %s: %s", capture_name(c), err);
		cmdq_resume(ctx, 0, m);
		free(m);
		return;
	}
	cmdq_resume(ctx, 1, NULL);
}

/* Every node of the capture must be up before anything is attached. */
static int check_nodes(struct engine *e, const struct lab_capture *lc, char *err)
{
	for (int i = 0; i < lc->nifaces; i++) {
		const char *name = lc->ifaces[i]->node->name;
		struct node *n = engine_node(e, name);
		if (!n || node_state(n) != NODE_READY)
			return cl_err(err, "capture %s: node %s is not running (%s): start it first",
				      lc->name, name,
				      n ? node_state_name(node_state(n)) : "never started");
	}
	return 0;
}

enum cmd_ret capture_cmd_start(struct cmd *cmd, struct cmd_ctx *ctx)
{
	const struct cmd_flag *fn = cmd_flag(cmd, "n");
	const char *name = fn ? fn->value.text : cmd->args[0].text;
	struct lab_capture *lc = lab_capture(engine_lab(ctx->eng), name);
	if (!lc)
		return cl_err(ctx->err, "capture %s: not in the lab model", name), CMD_ERROR;
	if (check_nodes(ctx->eng, lc, ctx->err) < 0) {
		lc->running = 0;
		return CMD_ERROR;
	}
	capture_free(capture_find(name)); /* a stopped one of that name is replaced */
	char *dir = xasprintf("%s/captures", engine_rundir(ctx->eng));
	struct capture *c = capture_new(name, lc->filter, dir, engine_qmp, ctx->eng, ctx->err);
	free(dir);
	if (!c) {
		lc->running = 0;
		return CMD_ERROR;
	}
	for (int i = 0; i < lc->nifaces; i++) {
		char *desc = iface_description(lc->ifaces[i]);
		char *netdev = xasprintf("net-%s", lc->ifaces[i]->name);
		capture_add_link(c, lc->ifaces[i]->label, lc->ifaces[i]->node->name, netdev, desc);
		free(netdev);
		free(desc);
	}
	if (cmd_has_flag(cmd, "d"))
		show_program(c);
	capture_start(c, on_started, ctx);
	return CMD_WAIT;
}

struct stop_op {
	struct cmd_ctx *ctx;
	int pending;
};

static void on_stopped(struct capture *c, const char *err, void *arg)
{
	struct stop_op *op = arg;
	struct capture_info in;
	capture_get_info(c, &in);
	if (err)
		events_error("capture %s: %s", capture_name(c), err);
	events_message("capture %s stopped: %llu packets (%llu bytes) of %llu seen, %llu dropped",
		       capture_name(c), (unsigned long long)in.total.matched,
		       (unsigned long long)in.total.bytes, (unsigned long long)in.total.seen,
		       (unsigned long long)in.total.dropped);
	if (in.total.dropped)
		events_error("capture %s lost %llu frames", capture_name(c),
			     (unsigned long long)in.total.dropped);
	if (--op->pending > 0)
		return;
	struct cmd_ctx *ctx = op->ctx;
	free(op);
	cmdq_resume(ctx, 1, NULL);
}

static int wanted(const struct cmd *cmd, const char *name)
{
	for (int i = 0; i < cmd->nargs; i++)
		if (strcmp(cmd->args[i].text, name) == 0)
			return 1;
	return cmd->nargs == 0;
}

enum cmd_ret capture_cmd_stop(struct cmd *cmd, struct cmd_ctx *ctx)
{
	struct stop_op *op = xcalloc(1, sizeof *op);
	op->ctx = ctx;
	op->pending = 1;
	for (int i = 0; i < capture_count(); i++) {
		struct capture *c = capture_at(i);
		struct capture_info in;
		capture_get_info(c, &in);
		if (wanted(cmd, in.name) && in.state == CAPTURE_RUNNING) {
			op->pending++;
			capture_stop(c, on_stopped, op);
		}
	}
	if (--op->pending > 0)
		return CMD_WAIT;
	free(op);
	return CMD_DONE;
}

enum cmd_ret capture_cmd_label(struct cmd *cmd, struct cmd_ctx *ctx)
{
	(void)ctx;
	capture_set_label(cmd->nargs ? cmd->args[0].text : NULL);
	return CMD_DONE;
}
