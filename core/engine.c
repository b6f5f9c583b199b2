/* engine.c: a running lab. `start` goes through three steps that overlap
 * where they can: switches come up while a worker thread probes the host
 * and builds images; then every node boots in parallel; the command resumes
 * once all of them are ready (or one fails). */
#include "engine_int.h"
#include "capture.h"
#include "control.h"
#include "events.h"
#include "guestssh.h"
#include "loop.h"
#include "proc.h"
#include "runtime.h"
#include "work.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#define BOOT_TIMEOUT 90.0

struct lab *engine_lab(struct engine *e) { return e->lab; }
const char *engine_rundir(const struct engine *e) { return e->rundir; }
const char *engine_cache(const struct engine *e) { return e->cache; }
const struct qemu_host *engine_host(const struct engine *e) { return e->have_host ? &e->host : NULL; }
const char *engine_lab_name(const struct engine *e) { return e->name; }
const char *engine_guest_kernel(const struct engine *e) { return e->kernel_version[0] ? e->kernel_version : NULL; }
const char *engine_out_dir(const struct engine *e) { return e->out_dir ? e->out_dir : "."; }

struct engine *engine_new(const struct engine_opts *o, char *err)
{
	struct engine *e = xcalloc(1, sizeof *e);
	e->name = xstrdup(o->lab_name ? o->lab_name : "lab");
	e->offline = o->offline;
	e->out_dir = o->out_dir ? xstrdup(o->out_dir) : NULL;
	e->lab = lab_new();
	e->log_fd = -1;
	e->cache = cache_dir(err);
	e->rundir = e->cache ? runtime_dir_create(e->name, err) : NULL;
	if (!e->rundir) {
		engine_free(e);
		return NULL;
	}
	char *log = xasprintf("%s/vde.log", e->rundir);
	e->log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(log);
	char *ctl = xasprintf("%s/" CONTROL_SOCKET, e->rundir);
	e->control = control_new(e, ctl, err);
	free(ctl);
	if (!e->control) {
		engine_free(e);
		return NULL;
	}
	return e;
}

/* -o DIR keeps every log of the run. */
static void keep_logs(struct engine *e)
{
	if (!e->out_dir || !e->rundir)
		return;
	for (int i = 0; i < e->nnodes; i++) {
		const char *kinds[] = {"console.log", "exec.log"};
		for (int k = 0; k < 2; k++) {
			char *src = xasprintf("%s/%s.%s", e->rundir, e->nodes[i]->ln->name, kinds[k]);
			char *dst = xasprintf("%s/%s.%s", e->out_dir, e->nodes[i]->ln->name, kinds[k]);
			copy_file(src, dst, 0644, NULL); /* a node that never ran has no log */
			free(src);
			free(dst);
		}
	}
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	control_stop(e->control); /* no new commands from other processes */
	/* A worker thread may still build an image for a start: it uses the
	 * nodes, so wait for it (its result is dropped). */
	e->dying = 1;
	while (work_pending() > 0)
		loop_once(0.1);
	keep_logs(e);
	capture_free_all(); /* before the nodes: captures talk to their QMP */
	for (int i = 0; i < e->nnodes; i++) {
		sshc_free(e->nodes[i]->ssh);
		node_free(e->nodes[i]->node);
		vsock_dev_free(e->nodes[i]->vsock);
		free(e->nodes[i]->vsock_host);
		free(e->nodes[i]);
	}
	keys_free(e->keys);
	engine_net_free(e);
	proc_kill_all(1.0);
	if (e->shutdown_timer)
		loop_cancel(e->shutdown_timer);
	if (e->log_fd >= 0)
		close(e->log_fd);
	control_free(e->control); /* after everything that could still answer its commands */
	runtime_dir_remove(e->rundir);
	free(e->nodes);
	lab_free(e->lab);
	free(e->rundir);
	free(e->cache);
	free(e->out_dir);
	free(e->name);
	free(e);
}

static struct rt_node *rt_node(struct engine *e, const struct lab_node *ln)
{
	for (int i = 0; i < e->nnodes; i++)
		if (e->nodes[i]->ln == ln)
			return e->nodes[i];
	return NULL;
}

struct node *engine_node(struct engine *e, const char *name)
{
	struct lab_node *ln = lab_node(e->lab, name);
	struct rt_node *r = ln ? rt_node(e, ln) : NULL;
	return r ? r->node : NULL;
}

static void emit_state(struct node *n, enum node_state st)
{
	struct event ev = {.type = EV_NODE_STATE, .node = node_name(n), .state = node_state_name(st)};
	events_emit(&ev);
}


static void on_node_state(struct node *n, enum node_state st, const char *msg, void *arg)
{
	struct engine *e = arg;
	emit_state(n, st);
	struct rt_node *r = NULL;
	for (int i = 0; i < e->nnodes; i++)
		if (e->nodes[i]->node == n)
			r = e->nodes[i];
	if (st == NODE_CRASHED && msg)
		events_error("%s", msg);
	if (r && (st == NODE_CRASHED || st == NODE_STOPPED)) {
		r->ln->started = 0; /* so the prompt and `start` see it is down */
		sshc_free(r->ssh); /* its execs end with "connection ... closed" */
		r->ssh = NULL;
		vsock_dev_free(r->vsock);
		r->vsock = NULL;
	}
	if ((st == NODE_STOPPED || st == NODE_CRASHED) && e->stop_left > 0 && r && !r->op) {
		if (--e->stop_left == 0 && e->stopping) {
			struct cmd_ctx *ctx = e->stopping;
			e->stopping = NULL;
			cmdq_resume(ctx, 1, NULL);
		}
	}
	if (st == NODE_READY)
		events_message("node %s ready in %.2f s", node_name(n), node_boot_seconds(n));
	if (!r || !r->op)
		return;
	struct start_op *op = r->op;
	if (st == NODE_READY || st == NODE_CRASHED || st == NODE_STOPPED) {
		r->op = NULL;
		op->booting--;
		if (st != NODE_READY && !op->failed) {
			op->failed = 1;
			snprintf(op->err, sizeof op->err, "%s", msg ? msg : "node stopped while booting");
		}
		engine_op_check_done(op);
	}
}

static struct rt_node *ensure_rt_node(struct engine *e, struct lab_node *ln)
{
	struct rt_node *r = rt_node(e, ln);
	if (r)
		return r;
	e->nodes = xrealloc(e->nodes, (size_t)(e->nnodes + 1) * sizeof *e->nodes);
	r = e->nodes[e->nnodes++] = xcalloc(1, sizeof *r);
	r->e = e;
	r->ln = ln;
	r->node = node_new(ln->name, e->rundir, on_node_state, e);
	return r;
}

/* ---- images and the host probe, on a worker thread ---- */

static void prep_progress(const char *line, void *arg)
{
	(void)arg;
	(void)line; /* progress lines come back as events after the job (thread-safe) */
}

/* In every image: sshd behind socat's vsock listener (guestssh.h). */
static char *const base_packages[] = {GUESTSSH_BASE_PACKAGES};

/* On the worker: nothing here touches the loop or the engine. */
static void prep_work(void *arg)
{
	struct start_op *op = arg;
	for (int i = 0; i < op->n; i++) {
		struct rt_node *r = op->nodes[i];
		struct image_req req = {
			.cache_dir = op->cache,
			.packages = r->ln->packages,
			.n_packages = (size_t)r->ln->npackages,
			.base_packages = base_packages,
			.n_base_packages = ARRAY_LEN(base_packages),
			.offline = op->offline,
		};
		r->img_ok = image_prepare(&req, &r->img, prep_progress, NULL, r->img_err) == 0;
	}
	if (op->need_probe) {
		const char *kernel = NULL;
		for (int i = 0; i < op->n && !kernel; i++)
			if (op->nodes[i]->img_ok)
				kernel = op->nodes[i]->img.kernel;
		op->probe_ok = kernel && qemu_probe_host(kernel, op->cache, 2.5, &op->host, op->probe_err) == 0;
		if (!kernel)
			snprintf(op->probe_err, sizeof op->probe_err, "no guest kernel");
	}
}

static void random_token(char out[33])
{
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)(rand() ^ (int)now_real_ns());
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void fmt_mac(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void fmt_ip(const struct lab_iface *ifc, char *out, size_t len)
{
	if (ifc->ip_mode == LAB_IP_NONE) {
		snprintf(out, len, "none");
		return;
	}
	uint32_t a = ifc->ip;
	snprintf(out, len, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, ifc->prefix);
}

/* The node's interfaces, in its link order. */
static int node_ifaces(struct engine *e, const struct lab_node *ln, struct lab_iface **out, int max)
{
	int n = 0;
	for (int i = 0; i < e->lab->nlinks && n < max; i++)
		for (int k = 0; k < 2 && n < max; k++) {
			struct lab_iface *ifc = &e->lab->links[i]->end[k];
			if (ifc->node == ln)
				out[n++] = ifc;
		}
	return n;
}

#define MAX_IFACES 16

static int write_config(struct engine *e, struct rt_node *r, const char *path, char *err)
{
	struct lab_iface *ifs[MAX_IFACES];
	int nif = node_ifaces(e, r->ln, ifs, MAX_IFACES);
	struct image_iface cif[MAX_IFACES];
	char macs[MAX_IFACES][18], addrs[MAX_IFACES][24];
	for (int i = 0; i < nif; i++) {
		fmt_mac(ifs[i]->mac, macs[i]);
		fmt_ip(ifs[i], addrs[i], sizeof addrs[i]);
		cif[i] = (struct image_iface){ifs[i]->name, macs[i],
					       ifs[i]->ip_mode == LAB_IP_NONE ? NULL : addrs[i]};
	}
	struct image_file files[GUESTSSH_NFILES];
	char *sshd_config = NULL;
	size_t nfiles = guestssh_files(e->keys, files, &sshd_config);
	char *pre[] = {(char *)guestssh_listen_command()};
	struct image_node_cfg cfg = {
		.hostname = r->ln->name,
		.token = r->token,
		.ifaces = cif,
		.n_ifaces = (size_t)nif,
		.run = r->ln->run,
		.n_run = (size_t)r->ln->nrun,
		.pre_ready = pre,
		.n_pre_ready = 1,
		.files = files,
		.n_files = nfiles,
		.keylog = r->ln->keylog ? IMAGE_KEYLOG_FILE : NULL,
	};
	int rc = image_write_node_config(&cfg, path, err);
	free(sshd_config);
	return rc;
}

/* Ready means: the SSH session to the node is authenticated. */
static void on_ssh_state(struct sshc *c, enum sshc_state st, const char *msg, void *arg)
{
	(void)c;
	struct rt_node *r = arg;
	if (st == SSHC_READY) {
		node_set_ready(r->node);
	} else if (st == SSHC_FAILED && node_state(r->node) == NODE_BOOTING) {
		char *m = xasprintf("node %s: ssh over vsock failed: %s", r->ln->name, msg ? msg : "?");
		node_fail(r->node, m);
		free(m);
	} else if (st == SSHC_FAILED && msg && node_state(r->node) == NODE_READY) {
		events_error("node %s: %s", r->ln->name, msg); /* not while it stops */
	}
}

static void on_guest_up(struct node *n, void *arg)
{
	(void)n;
	struct rt_node *r = arg;
	struct engine *e = r->e;
	struct event ev = {.type = EV_PROGRESS, .node = r->ln->name, .text = "guest up, connecting over vsock ssh"};
	events_emit(&ev);
	sshc_free(r->ssh);
	r->ssh = sshc_new(r->ln->name, r->vsock_host, e->keys, on_ssh_state, r);
}

struct sshc *engine_ssh(struct engine *e, const char *name)
{
	struct lab_node *ln = lab_node(e->lab, name);
	struct rt_node *r = ln ? rt_node(e, ln) : NULL;
	return r && node_state(r->node) == NODE_READY ? r->ssh : NULL;
}

static int boot_node(struct engine *e, struct rt_node *r, char *err)
{
	struct lab_iface *ifs[MAX_IFACES];
	int nif = node_ifaces(e, r->ln, ifs, MAX_IFACES);
	struct qemu_nic nics[MAX_IFACES];
	for (int i = 0; i < nif; i++) {
		snprintf(nics[i].id, sizeof nics[i].id, "net-%s", ifs[i]->name);
		fmt_mac(ifs[i]->mac, nics[i].mac);
		nics[i].vde_url = engine_net_plug(e, ifs[i]);
	}
	random_token(r->token);
	char *conf = xasprintf("%s/%s.conf", e->rundir, r->ln->name);
	char *vhost = xasprintf("%s/%s.vhost", e->rundir, r->ln->name);
	int rc = write_config(e, r, conf, err);
	if (rc == 0 && !r->vsock) {
		/* QEMU never reconnects to a backend: it must listen before QEMU starts */
		free(r->vsock_host);
		r->vsock_host = xasprintf("%s/%s.vsock", e->rundir, r->ln->name);
		r->vsock = vsock_dev_new(vhost, r->vsock_host, (uint32_t)(2 + r->ln->index), err);
		rc = r->vsock ? 0 : -1;
	}
	if (rc == 0) {
		struct node_boot b = {
			.host = &e->host,
			.qemu = {.name = r->ln->name, .memory_mb = r->ln->memory, .cpus = r->ln->cpus,
				 .kernel = r->img.kernel, .initrd = r->img.initrd, .config_path = conf,
				 .vsock_path = vhost, .nics = nics, .n_nics = nif},
			.ready_token = r->token,
			.timeout = BOOT_TIMEOUT,
		};
		node_set_up_hook(r->node, on_guest_up, r);
		rc = node_boot(r->node, &b, err);
	}
	free(conf);
	free(vhost);
	for (int i = 0; i < nif; i++)
		free(nics[i].vde_url);
	return rc;
}

static void op_free(struct start_op *op)
{
	for (int i = 0; i < op->n; i++)
		if (op->nodes[i]->op == op)
			op->nodes[i]->op = NULL;
	free(op->nodes);
	free(op->cache);
	free(op);
}

static void boot_all(struct start_op *op)
{
	struct engine *e = op->e;
	engine_net_wire(op);
	for (int i = 0; i < op->n && !op->failed; i++) {
		struct rt_node *r = op->nodes[i];
		char err[CL_ERRBUF];
		r->op = op;
		op->booting++;
		if (boot_node(e, r, err) < 0) {
			r->op = NULL;
			op->booting--;
			engine_op_fail(op, err);
			node_fail(r->node, err);
		}
	}
}

/* Called whenever a step finishes: moves the start on, or ends it. */
void engine_op_fail(struct start_op *op, const char *msg)
{
	if (!op->failed) {
		op->failed = 1;
		snprintf(op->err, sizeof op->err, "%s", msg);
	}
}

void engine_op_check_done(struct start_op *op)
{
	if (op->waiting_switches > 0 || !op->prep_done || op->booting > 0)
		return;
	struct engine *e = op->e;
	if (!op->failed && op->prep_done == 1) {
		op->prep_done = 2; /* boot once */
		boot_all(op);
		if (op->booting > 0)
			return;
	}
	e->starting = NULL;
	struct cmd_ctx *ctx = op->ctx;
	int ok = !op->failed;
	char msg[CL_ERRBUF];
	snprintf(msg, sizeof msg, "%s", op->err);
	if (!ok) /* a failed start leaves nothing half-booted behind */
		for (int i = 0; i < op->n; i++)
			if (node_state(op->nodes[i]->node) == NODE_BOOTING)
				node_stop(op->nodes[i]->node);
	op_free(op);
	if (ctx)
		cmdq_resume(ctx, ok, ok ? NULL : msg);
}

static void prep_done(void *arg)
{
	struct start_op *op = arg;
	struct engine *e = op->e;
	if (e->dying) {
		op_free(op);
		return;
	}
	for (int i = 0; i < op->n; i++) {
		struct rt_node *r = op->nodes[i];
		if (!r->img_ok) {
			engine_op_fail(op, r->img_err);
			node_fail(r->node, r->img_err);
		} else {
			snprintf(e->kernel_version, sizeof e->kernel_version, "%s", r->img.kernel_version);
		}
		if (r->img_ok && r->img.built) {
			events_message("image for %s built (%s)", r->ln->name, r->img.initrd);
		}
	}
	if (op->need_probe && !op->failed) {
		if (!op->probe_ok) {
			engine_op_fail(op, op->probe_err);
		} else {
			e->host = op->host;
			e->have_host = 1;
			events_message("accelerator %s; machine %s", e->host.accel_why,
				       e->host.machine == MACHINE_MICROVM ? "microvm" : "pc");
		}
	}
	op->prep_done = 1;
	engine_op_check_done(op);
}

static int collect(struct engine *e, char **names, int n, struct lab_node ***out, char *err)
{
	int cap = n ? n : e->lab->nnodes;
	struct lab_node **v = xcalloc((size_t)cap + 1, sizeof *v);
	int k = 0;
	for (int i = 0; i < cap; i++) {
		struct lab_node *ln = n ? lab_node(e->lab, names[i]) : e->lab->nodes[i];
		if (!ln) {
			free(v);
			return cl_err(err, "unknown node '%s'", names[i]);
		}
		v[k++] = ln;
	}
	*out = v;
	return k;
}

enum cmd_ret engine_start(struct engine *e, struct cmd_ctx *ctx, char **names, int n)
{
	if (e->starting)
		return cl_err(ctx->err, "a start is already in progress"), CMD_ERROR;
	struct lab_node **lns;
	int k = collect(e, names, n, &lns, ctx->err);
	if (k < 0)
		return CMD_ERROR;
	struct diag_list dl = {0};
	if (lab_plan(e->lab, &dl) < 0) {
		snprintf(ctx->err, sizeof ctx->err, "%s", dl.n ? dl.v[0].msg : "address plan failed");
		diag_clear(&dl);
		free(lns);
		return CMD_ERROR;
	}
	if (!e->keys && !(e->keys = keys_create(e->rundir, ctx->err))) {
		free(lns);
		return CMD_ERROR;
	}
	struct start_op *op = xcalloc(1, sizeof *op);
	op->e = e;
	op->ctx = ctx;
	op->cache = xstrdup(e->cache);
	op->offline = e->offline;
	op->need_probe = !e->have_host;
	op->nodes = xcalloc((size_t)k + 1, sizeof *op->nodes);
	for (int i = 0; i < k; i++) {
		struct rt_node *r = ensure_rt_node(e, lns[i]);
		enum node_state st = node_state(r->node);
		if (st == NODE_READY || st == NODE_BOOTING || st == NODE_BUILDING)
			continue; /* already up: start is idempotent */
		op->nodes[op->n++] = r;
		node_set_building(r->node);
	}
	free(lns);
	e->starting = op;
	engine_net_start(op);
	char err[CL_ERRBUF];
	if (work_submit(prep_work, prep_done, op, err) < 0) {
		engine_op_fail(op, err);
		op->prep_done = 1;
		engine_op_check_done(op);
	}
	return CMD_WAIT;
}

enum cmd_ret engine_stop(struct engine *e, struct cmd_ctx *ctx, char **names, int n)
{
	struct lab_node **lns;
	int k = collect(e, names, n, &lns, ctx->err);
	if (k < 0)
		return CMD_ERROR;
	e->stop_left = 0;
	for (int i = 0; i < k; i++) {
		struct rt_node *r = rt_node(e, lns[i]);
		if (!r || r->op)
			continue;
		enum node_state st = node_state(r->node);
		if (st == NODE_STOPPED || st == NODE_CRASHED || st == NODE_DEFINED)
			continue;
		e->stop_left++;
	}
	free(lns);
	if (!e->stop_left)
		return CMD_DONE;
	e->stopping = ctx;
	k = collect(e, names, n, &lns, ctx->err);
	for (int i = 0; i < k; i++) {
		struct rt_node *r = rt_node(e, lns[i]);
		if (r && !r->op)
			node_stop(r->node);
	}
	free(lns);
	return CMD_WAIT;
}

/* ---- shutdown ---- */

static int nodes_busy(const struct engine *e)
{
	for (int i = 0; i < e->nnodes; i++) {
		enum node_state st = node_state(e->nodes[i]->node);
		if (st == NODE_STOPPING || st == NODE_BOOTING || st == NODE_READY)
			return 1;
	}
	return 0;
}

/* Nodes first (they are plugged into the switches), then switches; done once
 * every child is reaped. */
static void shutdown_poll(void *arg)
{
	struct engine *e = arg;
	e->shutdown_timer = 0;
	if (nodes_busy(e) || proc_count() > 0) {
		if (!nodes_busy(e))
			engine_net_stop(e);
		e->shutdown_timer = loop_timer(0.02, shutdown_poll, e);
		return;
	}
	engine_net_stop(e);
	void (*done)(void *) = e->shutdown_done;
	e->shutdown_done = NULL;
	if (done)
		done(e->shutdown_arg);
}

void engine_shutdown(struct engine *e, void (*done)(void *arg), void *arg)
{
	e->shutdown_done = done;
	e->shutdown_arg = arg;
	control_stop(e->control);
	for (int i = 0; i < e->nnodes; i++)
		node_stop(e->nodes[i]->node);
	shutdown_poll(e);
}
