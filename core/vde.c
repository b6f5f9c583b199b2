/* vde.c: vde_switch and wirefilter children. vde_switch reads commands on
 * stdin and exits at EOF, so it gets a pipe whose write end caplab keeps
 * open; PR_SET_PDEATHSIG still ends it with caplab. */
#include "vde.h"
#include "loop.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define READY_TIMEOUT 10.0

struct vde_proc {
	char *name, *dir;
	struct proc *proc;
	int stdin_w;
	uint64_t timer;
	double deadline;
	vde_ready_fn ready;
	vde_exit_fn on_exit;
	void *arg;
};

static void on_proc_exit(struct proc *p, int status, void *arg)
{
	(void)p;
	struct vde_proc *v = arg;
	char how[128], why[256];
	v->proc = NULL;
	snprintf(why, sizeof why, "%s %s", v->name, proc_status_text(status, how, sizeof how));
	if (v->timer) {
		loop_cancel(v->timer);
		v->timer = 0;
		if (v->ready)
			v->ready(v->arg, why);
		return;
	}
	if (v->on_exit)
		v->on_exit(v->arg, why);
}

/* The switch is ready once its ctl socket accepts a connection. */
static int ctl_accepts(const char *dir)
{
	char *path = xasprintf("%s/ctl", dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	free(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void poll_ready(void *arg)
{
	struct vde_proc *v = arg;
	v->timer = 0;
	if (ctl_accepts(v->dir)) {
		if (v->ready)
			v->ready(v->arg, NULL);
		return;
	}
	if (now_mono() > v->deadline) {
		char why[256];
		snprintf(why, sizeof why, "%s did not create %s/ctl within %.0f s", v->name, v->dir,
			 READY_TIMEOUT);
		if (v->ready)
			v->ready(v->arg, why);
		return;
	}
	v->timer = loop_timer(0.005, poll_ready, v);
}

static struct vde_proc *spawn(const char *name, char **argv, int log_fd, int want_stdin, void *arg,
			      char *err)
{
	struct vde_proc *v = xcalloc(1, sizeof *v);
	v->name = xstrdup(name);
	v->arg = arg;
	v->stdin_w = -1;
	int pfd[2] = {-1, -1};
	if (want_stdin && pipe2(pfd, O_CLOEXEC) < 0) {
		cl_err(err, "cannot start %s: %s", name, strerror(errno));
		free(v->name);
		free(v);
		return NULL;
	}
	struct proc_opts o = {.stdin_fd = pfd[0], .stdout_fd = log_fd, .stderr_fd = log_fd};
	v->proc = proc_start(name, argv, &o, on_proc_exit, v, err);
	if (pfd[0] >= 0)
		close(pfd[0]);
	v->stdin_w = pfd[1];
	if (!v->proc) {
		if (v->stdin_w >= 0)
			close(v->stdin_w);
		free(v->name);
		free(v);
		return NULL;
	}
	return v;
}

struct vde_proc *vde_switch_start(const char *name, const char *dir, int hub, int log_fd,
				  vde_ready_fn ready, vde_exit_fn on_exit, void *arg, char *err)
{
	char *argv[] = {"vde_switch", "-s", (char *)dir, "-m", "0600", "--dirmode", "0700",
			hub ? "-x" : NULL, NULL};
	struct vde_proc *v = spawn(name, argv, log_fd, 1, arg, err);
	if (!v) {
		if (strstr(err, "No such file"))
			cl_err(err, "cannot start %s: vde_switch is not installed (run make deps)", name);
		return NULL;
	}
	v->dir = xstrdup(dir);
	v->ready = ready;
	v->on_exit = on_exit;
	v->deadline = now_mono() + READY_TIMEOUT;
	v->timer = loop_timer(0.002, poll_ready, v);
	return v;
}

struct vde_proc *wirefilter_start(const char *name, const char *left_dir, const char *right_dir,
				  const struct link_impair *imp, int log_fd, vde_exit_fn on_exit,
				  void *arg, char *err)
{
	char *plugs = xasprintf("%s:%s", left_dir, right_dir);
	char *delay = xasprintf("%g", imp->delay_ms);
	char *loss = xasprintf("%g", imp->loss_pct);
	char *band = xasprintf("%ld", imp->rate_kbit * 1000 / 8);
	char *argv[12];
	int n = 0;
	argv[n++] = "wirefilter";
	argv[n++] = "-v";
	argv[n++] = plugs;
	argv[n++] = "-d";
	argv[n++] = delay;
	argv[n++] = "-l";
	argv[n++] = loss;
	if (imp->rate_kbit > 0) {
		argv[n++] = "-b";
		argv[n++] = band;
	}
	argv[n] = NULL;
	struct vde_proc *v = spawn(name, argv, log_fd, 1, arg, err);
	free(plugs);
	free(delay);
	free(loss);
	free(band);
	if (v)
		v->on_exit = on_exit;
	return v;
}

void vde_proc_free(struct vde_proc *v)
{
	if (!v)
		return;
	if (v->timer)
		loop_cancel(v->timer);
	if (v->proc) {
		proc_detach(v->proc);
		proc_signal(v->proc, SIGTERM);
	}
	if (v->stdin_w >= 0)
		close(v->stdin_w);
	free(v->name);
	free(v->dir);
	free(v);
}

int vde_proc_pid(const struct vde_proc *v) { return v && v->proc ? (int)proc_pid(v->proc) : -1; }
