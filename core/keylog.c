/* keylog.c: fetch the guests' SSLKEYLOGFILE over SSH for `save`. */
#include "keylog.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "events.h"
#include "image.h"
#include "lab.h"
#include "loop.h"
#include "ssh.h"
#include "util.h"

#define KEYLOG_TIMEOUT 10.0 /* seconds for one node's cat */

struct collect {
	keylog_done_fn done;
	void *arg;
	int pending;
	struct buf *parts; /* per node, in lab order, so the result is too */
	int nparts;
};

/* One node's fetch. */
struct fetch {
	struct collect *c;
	int part;
	char *node;
};

static void collect_finish(void *arg)
{
	struct collect *c = arg;
	struct buf all = {0};
	for (int i = 0; i < c->nparts; i++) {
		struct buf *b = &c->parts[i];
		if (b->len) {
			buf_add(&all, b->data, b->len);
			if (b->data[b->len - 1] != '\n')
				buf_adds(&all, "\n");
		}
		buf_free(b);
	}
	free(c->parts);
	keylog_done_fn done = c->done;
	void *done_arg = c->arg;
	free(c);
	char *text = all.data;
	if (!all.len) {
		buf_free(&all);
		text = NULL;
	}
	done(text, done_arg);
}

static void on_output(int stream, const char *data, size_t len, void *arg)
{
	struct fetch *f = arg;
	if (stream == SSHC_STDOUT)
		buf_add(&f->c->parts[f->part], data, len);
}

static void on_exit_status(int status, const char *err, void *arg)
{
	struct fetch *f = arg;
	struct collect *c = f->c;
	if (status != 0) {
		events_error("save: cannot read the TLS key log of node %s (%s): its secrets are "
			     "not in the export", f->node, err ? err : "cat failed");
		buf_free(&c->parts[f->part]);
	}
	free(f->node);
	free(f);
	if (--c->pending == 0)
		collect_finish(c);
}

/* Starts one node's fetch; 0 when none was started (the node is not up). */
static int fetch_start(struct collect *c, struct engine *e, const struct lab_node *ln, int part)
{
	struct sshc *s = engine_ssh(e, ln->name);
	if (!s) {
		events_error("save: node %s is not running: its TLS key log is not in the export",
			     ln->name);
		return 0;
	}
	struct fetch *f = xcalloc(1, sizeof *f);
	*f = (struct fetch){.c = c, .part = part, .node = xstrdup(ln->name)};
	char err[CL_ERRBUF];
	if (!sshc_exec_line(s, "cat " IMAGE_KEYLOG_FILE, KEYLOG_TIMEOUT, on_output, on_exit_status, f,
			    err)) {
		events_error("save: node %s: %s: its TLS key log is not in the export", ln->name, err);
		free(f->node);
		free(f);
		return 0;
	}
	return 1;
}

void keylog_collect(struct engine *e, keylog_done_fn done, void *arg)
{
	struct lab *lab = engine_lab(e);
	struct collect *c = xcalloc(1, sizeof *c);
	*c = (struct collect){.done = done, .arg = arg, .pending = 1};
	c->parts = xcalloc((size_t)lab->nnodes + 1, sizeof *c->parts);
	c->nparts = lab->nnodes;
	for (int i = 0; i < lab->nnodes; i++)
		if (lab->nodes[i]->keylog)
			c->pending += fetch_start(c, e, lab->nodes[i], i);
	if (--c->pending == 0) /* nothing in flight: still answer through the loop */
		loop_defer(collect_finish, c);
}

int keylog_wanted(struct engine *e)
{
	struct lab *lab = engine_lab(e);
	for (int i = 0; i < lab->nnodes; i++)
		if (lab->nodes[i]->keylog)
			return 1;
	return 0;
}
