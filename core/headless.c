/* headless.c: `caplab run`. Commands run in order with stop-on-error; SIGINT,
 * SIGTERM and SIGHUP stop the run; every path ends in engine_shutdown and
 * engine_free, so nothing is left running. */
#include "headless.h"
#include "cmdq.h"
#include "deb.h"
#include "engine.h"
#include "events.h"
#include "loop.h"
#include "script.h"

#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHUTDOWN_TIMEOUT 15.0

struct run {
	const struct headless_opts *o;
	FILE *log; /* run.log in -o DIR */
	int signo, done, shut, failures;
	double last; /* when the previous command ended: commands run one at a time */
	struct buf first_error;
};

static void say(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) >= 0) {
		fputs(s, stderr);
		if (r->log) {
			fputs(s, r->log);
			fflush(r->log);
		}
		free(s);
	}
	va_end(ap);
}

static void on_event(const struct event *ev, void *arg)
{
	struct run *r = arg;
	switch (ev->type) {
	case EV_MESSAGE:
		say(r, "caplab: %s\n", ev->text);
		break;
	case EV_ERROR:
		say(r, "caplab: error: %s\n", ev->text);
		break;
	case EV_NODE_STATE:
		if (r->o->verbose)
			say(r, "caplab: node %s: %s\n", ev->node, ev->state);
		break;
	case EV_PROGRESS:
		if (r->o->verbose)
			say(r, "caplab: %s%s%s\n", ev->node ? ev->node : "", ev->node ? ": " : "", ev->text);
		break;
	case EV_OUTPUT:
		if (r->o->verbose)
			say(r, "[%s %s] %.*s%s", ev->node, ev->stream, ev->len, ev->data,
			    ev->len && ev->data[ev->len - 1] == '\n' ? "" : "\n");
		break;
	default:
		break;
	}
}

static void on_cmd_done(const struct cmd *cmd, int ok, const char *msg, void *arg)
{
	struct run *r = arg;
	double took = now_mono() - r->last;
	r->last = now_mono();
	if (ok) {
		if (r->o->verbose)
			say(r, "caplab: done: %s (%.2f s)\n", cmd->text, took);
		return;
	}
	r->failures++;
	if (!r->first_error.len)
		buf_adds(&r->first_error, msg);
	say(r, "caplab: error: %s\n", msg);
}

static void on_signal(int signo, void *arg)
{
	struct run *r = arg;
	if (!r->signo)
		say(r, "caplab: %s: stopping the lab\n", strsignal(signo));
	r->signo = signo;
}

static void on_shutdown(void *arg) { ((struct run *)arg)->shut = 1; }

static char *lab_name(const char *path)
{
	char *copy = xstrdup(path);
	char *base = xstrdup(basename(copy));
	free(copy);
	char *dot = strrchr(base, '.');
	if (dot && dot != base)
		*dot = '\0';
	for (char *p = base; *p; p++)
		if (*p == '/' || *p == ' ')
			*p = '_';
	return base;
}

/* -o DIR keeps the inputs next to the outputs: the fixture explains itself. */
static void copy_inputs(const struct headless_opts *o)
{
	for (int i = -1; i < o->nscripts; i++) {
		const char *src = i < 0 ? o->lab_path : o->scripts[i];
		char *copy = xstrdup(src);
		char *dst = xasprintf("%s/%s", o->out_dir, basename(copy));
		copy_file(src, dst, 0644, NULL); /* inputs were read once already */
		free(dst);
		free(copy);
	}
}

static void write_result(struct run *r, int code, double secs)
{
	json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:f, s:s?}", "caplab", CAPLAB_VERSION, "lab",
			      r->o->lab_path, "exit", code, "failures", r->failures, "seconds", secs,
			      "error", r->first_error.len ? r->first_error.data : NULL);
	char *path = xasprintf("%s/result.json", r->o->out_dir);
	json_dump_file(j, path, JSON_INDENT(2));
	free(path);
	json_decref(j);
}

/* Unknown guest packages are bad input: found before anything starts. */
static int check_packages(const struct lab *lab)
{
	for (int i = 0; i < lab->nnodes; i++) {
		const struct lab_node *n = lab->nodes[i];
		char err[CL_ERRBUF];
		if (n->npackages && deb_check_packages(n->packages, (size_t)n->npackages, err) < 0) {
			fprintf(stderr, "caplab: error: node %s: %s\n", n->name, err);
			return -1;
		}
	}
	return 0;
}

static void run_until_idle(struct run *r, struct cmdq *q)
{
	while (!r->signo && !cmdq_idle(q))
		loop_once(-1);
}

static void shut_down(struct run *r, struct engine *e)
{
	engine_shutdown(e, on_shutdown, r);
	double deadline = now_mono() + SHUTDOWN_TIMEOUT;
	while (!r->shut && now_mono() < deadline)
		loop_once(0.1);
}

int headless_run(const struct headless_opts *o)
{
	struct cmd_list cmds = {0};
	struct lab *model = NULL;
	struct diag_list dl = {0};
	if (script_load_all(o->lab_path, o->scripts, o->nscripts, &cmds, &model, &dl) < 0) {
		diag_print(&dl, stderr);
		diag_clear(&dl);
		return 2;
	}
	int bad = check_packages(model);
	lab_free(model); /* the engine builds its own, command by command */
	if (bad) {
		cmd_list_clear(&cmds);
		free(cmds.v);
		return 2;
	}
	char err[CL_ERRBUF];
	struct run r = {.o = o};
	if (o->out_dir) {
		if (mkdir_p(o->out_dir, 0755, err) < 0) {
			fprintf(stderr, "caplab: %s\n", err);
			cmd_list_clear(&cmds);
			return 2;
		}
		char *p = xasprintf("%s/run.log", o->out_dir);
		r.log = fopen(p, "w");
		free(p);
		copy_inputs(o);
	}
	double t0 = now_mono();
	char *name = lab_name(o->lab_path);
	struct engine_opts eo = {.lab_name = name, .out_dir = o->out_dir, .offline = o->offline};
	struct engine *e = engine_new(&eo, err);
	free(name);
	int code;
	if (!e) {
		say(&r, "caplab: error: %s\n", err);
		cmd_list_clear(&cmds);
		code = 1;
	} else {
		events_subscribe(on_event, &r);
		loop_on_signal(SIGINT, on_signal, &r);
		loop_on_signal(SIGTERM, on_signal, &r);
		loop_on_signal(SIGHUP, on_signal, &r);
		struct cmdq *q = cmdq_new(e, 1, on_cmd_done, &r);
		r.last = now_mono();
		for (int i = 0; i < cmds.n; i++)
			cmdq_append(q, cmds.v[i]);
		cmds.n = 0;
		run_until_idle(&r, q);
		cmdq_flush(q);
		shut_down(&r, e);
		engine_free(e);
		cmdq_free(q);
		events_unsubscribe(on_event, &r);
		code = r.signo ? 128 + r.signo : r.failures ? 1 : 0;
	}
	cmd_list_clear(&cmds);
	free(cmds.v);
	if (o->out_dir)
		write_result(&r, code, now_mono() - t0);
	if (r.log)
		fclose(r.log);
	buf_free(&r.first_error);
	return code;
}
