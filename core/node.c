/* node.c: a node's QEMU process, console and QMP connection. caplab listens
 * on the console and QMP sockets before QEMU starts and QEMU connects to
 * them, so there is no race and no polling for sockets. */
#include "node.h"
#include "loop.h"
#include "proc.h"
#include "qmp.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define STOP_QUIT_GRACE 2.0
#define STOP_TERM_GRACE 2.0

struct node {
	char *name, *rundir;
	enum node_state state;
	node_state_fn fn;
	void *arg;
	struct proc *proc;
	struct qmp *qmp;
	int qmp_listen, con_listen, con_fd, log_fd;
	char *console_path, *qmp_path, *log_path;
	char *token;
	struct buf line; /* the console line being assembled */
	uint64_t boot_timer, stop_timer;
	int stop_phase;
	double boot_started;
	node_up_fn up_fn;
	void *up_arg;
};

static const char *state_names[] = {"defined", "building", "booting", "ready",
				    "stopping", "stopped", "crashed"};

const char *node_state_name(enum node_state st) { return state_names[st]; }
const char *node_name(const struct node *n) { return n->name; }
enum node_state node_state(const struct node *n) { return n->state; }
int node_pid(const struct node *n) { return n->proc ? (int)proc_pid(n->proc) : -1; }
struct qmp *node_qmp(const struct node *n) { return n->qmp; }
const char *node_console_log(const struct node *n) { return n->log_path; }
double node_boot_seconds(const struct node *n) { return n->boot_started ? now_mono() - n->boot_started : 0; }

static void set_state(struct node *n, enum node_state st, const char *msg)
{
	n->state = st;
	if (n->fn)
		n->fn(n, st, msg, n->arg);
}

struct node *node_new(const char *name, const char *rundir, node_state_fn fn, void *arg)
{
	struct node *n = xcalloc(1, sizeof *n);
	n->name = xstrdup(name);
	n->rundir = xstrdup(rundir);
	n->fn = fn;
	n->arg = arg;
	n->qmp_listen = n->con_listen = n->con_fd = n->log_fd = -1;
	n->console_path = xasprintf("%s/%s.console", rundir, name);
	n->qmp_path = xasprintf("%s/%s.qmp", rundir, name);
	n->log_path = xasprintf("%s/%s.console.log", rundir, name);
	return n;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		loop_unwatch(*fd);
		close(*fd);
		*fd = -1;
	}
}

/* Everything of one boot; the log file stays for the user. */
static void teardown(struct node *n)
{
	if (n->boot_timer)
		loop_cancel(n->boot_timer);
	if (n->stop_timer)
		loop_cancel(n->stop_timer);
	n->boot_timer = n->stop_timer = 0;
	if (n->qmp)
		qmp_free(n->qmp);
	n->qmp = NULL;
	close_fd(&n->qmp_listen);
	close_fd(&n->con_listen);
	close_fd(&n->con_fd);
	if (n->log_fd >= 0)
		close(n->log_fd);
	n->log_fd = -1;
	unlink(n->console_path);
	unlink(n->qmp_path);
	buf_free(&n->line);
}

void node_free(struct node *n)
{
	if (!n)
		return;
	if (n->proc) {
		proc_detach(n->proc);
		proc_signal(n->proc, SIGKILL);
	}
	teardown(n);
	free(n->name);
	free(n->rundir);
	free(n->console_path);
	free(n->qmp_path);
	free(n->log_path);
	free(n->token);
	free(n);
}

void node_set_building(struct node *n) { set_state(n, NODE_BUILDING, NULL); }

void node_fail(struct node *n, const char *msg)
{
	if (n->proc) {
		proc_detach(n->proc);
		proc_signal(n->proc, SIGKILL);
		n->proc = NULL;
	}
	teardown(n);
	set_state(n, NODE_CRASHED, msg);
}

static void scan_console_line(struct node *n)
{
	const char *p = strstr(n->line.data, "caplab-ready ");
	if (p && n->state == NODE_BOOTING && !strncmp(p + 13, n->token, strlen(n->token))) {
		if (n->up_fn) {
			n->up_fn(n, n->up_arg); /* the boot timer keeps running until node_set_ready */
			return;
		}
		node_set_ready(n);
	}
}

void node_set_up_hook(struct node *n, node_up_fn fn, void *arg)
{
	n->up_fn = fn;
	n->up_arg = arg;
}

void node_set_ready(struct node *n)
{
	if (n->state != NODE_BOOTING)
		return;
	if (n->boot_timer)
		loop_cancel(n->boot_timer);
	n->boot_timer = 0;
	set_state(n, NODE_READY, NULL);
}

static void on_console(int fd, int ev, void *arg)
{
	(void)ev;
	struct node *n = arg;
	char tmp[4096];
	ssize_t r = read(fd, tmp, sizeof tmp);
	if (r <= 0) {
		if (r < 0 && errno == EAGAIN)
			return;
		close_fd(&n->con_fd);
		return;
	}
	if (n->log_fd >= 0) {
		ssize_t w = write(n->log_fd, tmp, (size_t)r);
		(void)w; /* a full disk must not stop the node */
	}
	for (ssize_t i = 0; i < r; i++) {
		if (tmp[i] == '\n') {
			scan_console_line(n);
			buf_reset(&n->line);
		} else if (tmp[i] != '\r' && n->line.len < 4096) {
			buf_add(&n->line, &tmp[i], 1);
		}
	}
}

static void on_console_accept(int fd, int ev, void *arg)
{
	(void)ev;
	struct node *n = arg;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	close_fd(&n->con_fd);
	n->con_fd = c;
	loop_watch(c, LOOP_READ, on_console, n);
}

static void on_qmp_event(struct qmp *q, const char *name, json_t *data, void *arg)
{
	(void)q;
	(void)data;
	struct node *n = arg;
	if (!strcmp(name, "GUEST_PANICKED") && n->state != NODE_STOPPING)
		set_state(n, n->state, "guest kernel panicked");
}

static void on_qmp_accept(int fd, int ev, void *arg)
{
	(void)ev;
	struct node *n = arg;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	if (n->qmp)
		qmp_free(n->qmp);
	static const struct qmp_callbacks cb = {.event = on_qmp_event};
	n->qmp = qmp_attach(c, &cb, n);
	char *label = xasprintf("node %s", n->name);
	qmp_set_name(n->qmp, label);
	free(label);
}

/* A unix listening socket for QEMU to connect to (console). */
static int listen_unix(const char *path, char *err)
{
	return qmp_listen(path, err);
}

static void on_qemu_exit(struct proc *p, int status, void *arg)
{
	(void)p;
	struct node *n = arg;
	n->proc = NULL;
	enum node_state was = n->state;
	teardown(n);
	if (was == NODE_STOPPING) {
		set_state(n, NODE_STOPPED, NULL);
		return;
	}
	char how[128], msg[512];
	proc_status_text(status, how, sizeof how);
	if (was == NODE_BOOTING)
		snprintf(msg, sizeof msg, "node %s: qemu %s while booting (see %s)", n->name, how,
			 n->log_path);
	else
		snprintf(msg, sizeof msg, "node %s exited: %s", n->name,
			 WIFSIGNALED(status) ? how + strlen("killed by ") : how);
	set_state(n, NODE_CRASHED, msg);
}

static void on_boot_timeout(void *arg)
{
	struct node *n = arg;
	n->boot_timer = 0;
	char msg[512];
	snprintf(msg, sizeof msg, "node %s did not get ready in time (see %s)", n->name, n->log_path);
	node_fail(n, msg);
}

static int open_sockets(struct node *n, char *err)
{
	n->log_fd = open(n->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (n->log_fd < 0)
		return cl_err(err, "node %s: cannot open %s: %s", n->name, n->log_path, strerror(errno));
	n->con_listen = listen_unix(n->console_path, err);
	if (n->con_listen < 0)
		return -1;
	n->qmp_listen = listen_unix(n->qmp_path, err);
	if (n->qmp_listen < 0)
		return -1;
	loop_watch(n->con_listen, LOOP_READ, on_console_accept, n);
	loop_watch(n->qmp_listen, LOOP_READ, on_qmp_accept, n);
	return 0;
}

int node_boot(struct node *n, const struct node_boot *b, char *err)
{
	if (n->proc)
		return cl_err(err, "node %s is already running", n->name);
	teardown(n);
	if (open_sockets(n, err) < 0) {
		teardown(n);
		return -1;
	}
	struct qemu_node_args qa = b->qemu;
	qa.console_path = n->console_path;
	qa.qmp_path = n->qmp_path;
	char **argv = qemu_argv(b->host, &qa);
	char *label = xasprintf("qemu %s", n->name);
	struct proc_opts o = {.stdin_fd = -1, .stdout_fd = n->log_fd, .stderr_fd = n->log_fd};
	n->proc = proc_start(label, argv, &o, on_qemu_exit, n, err);
	free(label);
	qemu_argv_free(argv);
	if (!n->proc) {
		teardown(n);
		return -1;
	}
	free(n->token);
	n->token = xstrdup(b->ready_token);
	n->boot_timer = loop_timer(b->timeout, on_boot_timeout, n);
	n->boot_started = now_mono();
	set_state(n, NODE_BOOTING, NULL);
	return 0;
}

static void stop_escalate(void *arg)
{
	struct node *n = arg;
	n->stop_timer = 0;
	if (!n->proc)
		return;
	n->stop_phase++;
	proc_signal(n->proc, n->stop_phase == 1 ? SIGTERM : SIGKILL);
	if (n->stop_phase == 1)
		n->stop_timer = loop_timer(STOP_TERM_GRACE, stop_escalate, n);
}

void node_stop(struct node *n)
{
	if (!n->proc) {
		if (n->state != NODE_STOPPED && n->state != NODE_DEFINED && n->state != NODE_CRASHED) {
			teardown(n);
			set_state(n, NODE_STOPPED, NULL);
		}
		return;
	}
	if (n->state == NODE_STOPPING)
		return;
	if (n->boot_timer)
		loop_cancel(n->boot_timer);
	n->boot_timer = 0;
	set_state(n, NODE_STOPPING, NULL);
	n->stop_phase = 0;
	if (n->qmp && qmp_is_ready(n->qmp))
		qmp_command(n->qmp, "quit", NULL, NULL, NULL);
	else
		n->stop_phase = 1, proc_signal(n->proc, SIGTERM);
	n->stop_timer = loop_timer(STOP_QUIT_GRACE, stop_escalate, n);
}
