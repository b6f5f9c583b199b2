/* proc.c: the one way caplab runs a child. Children live in one table, each in
 * its own process group with PR_SET_PDEATHSIG(SIGKILL), so nothing outlives
 * caplab even on `kill -9`. Exits are reaped on the loop's SIGCHLD. */
#include "proc.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct proc {
	pid_t pid;
	char *name;
	proc_exit_fn on_exit;
	void *arg;
	int exited, status;
	struct proc *next;
};

static struct proc *procs;

pid_t proc_pid(const struct proc *p) { return p->pid; }
const char *proc_name(const struct proc *p) { return p->name; }

static void unlink_proc(struct proc *p)
{
	for (struct proc **pp = &procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

static void finish(struct proc *p)
{
	unlink_proc(p);
	if (p->on_exit)
		p->on_exit(p, p->status, p->arg);
	free(p->name);
	free(p);
}

static void on_sigchld(int signo, void *arg)
{
	(void)signo;
	(void)arg;
	int again = 1;
	while (again) {
		again = 0;
		for (struct proc *p = procs; p; p = p->next) {
			int st;
			if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
				p->status = st;
				p->exited = 1;
				finish(p);
				again = 1; /* the list changed under us */
				break;
			}
		}
	}
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_setup(const struct proc_opts *o, pid_t parent)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127); /* parent died before prctl took effect */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	int null = open("/dev/null", O_RDWR);
	int in = o && o->stdin_fd >= 0 ? o->stdin_fd : null;
	int out = o && o->stdout_fd >= 0 ? o->stdout_fd : null;
	int err = o && o->stderr_fd >= 0 ? o->stderr_fd : null;
	/* dup2 onto 0..2 in an order that cannot clobber a later source */
	int src[3] = {fcntl(in, F_DUPFD_CLOEXEC, 10), fcntl(out, F_DUPFD_CLOEXEC, 10),
		      fcntl(err, F_DUPFD_CLOEXEC, 10)};
	for (int i = 0; i < 3; i++)
		dup2(src[i], i);
	if (o && o->cwd && chdir(o->cwd) < 0)
		_exit(127);
}

/* Every fd the child should not keep (other nodes' sockets...) is closed at
 * exec: mark all CLOEXEC, then clear the flag on the kept ones. */
static void close_inherited(const struct proc_opts *o)
{
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	for (int i = 0; o && i < o->n_keep_fds; i++) {
		int fl = fcntl(o->keep_fds[i], F_GETFD);
		if (fl >= 0)
			fcntl(o->keep_fds[i], F_SETFD, fl & ~FD_CLOEXEC);
	}
}

struct proc *proc_start(const char *name, char *const argv[], const struct proc_opts *o,
			proc_exit_fn on_exit, void *arg, char *err)
{
	loop_on_signal(SIGCHLD, on_sigchld, NULL); /* idempotent; survives loop_reset() */
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0) {
		cl_err(err, "cannot start %s: %s", name, strerror(errno));
		return NULL;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		cl_err(err, "cannot start %s: fork: %s", name, strerror(errno));
		close(ep[0]);
		close(ep[1]);
		return NULL;
	}
	if (pid == 0) {
		close(ep[0]);
		child_setup(o, parent);
		close_inherited(o);
		if (o && o->envp)
			execvpe(argv[0], argv, o->envp);
		else
			execvp(argv[0], argv);
		int e = errno;
		if (write(ep[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(ep[1]);
	int e = 0;
	ssize_t n;
	do
		n = read(ep[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof e) {
		waitpid(pid, NULL, 0);
		cl_err(err, "cannot run '%s' for %s: %s", argv[0], name, strerror(e));
		return NULL;
	}
	setpgid(pid, pid); /* also in the parent, so a signal right away reaches the group */
	struct proc *p = xcalloc(1, sizeof *p);
	p->pid = pid;
	p->name = xstrdup(name);
	p->on_exit = on_exit;
	p->arg = arg;
	p->next = procs;
	procs = p;
	return p;
}

void proc_signal(struct proc *p, int signo)
{
	if (!p->exited && kill(-p->pid, signo) < 0)
		kill(p->pid, signo);
}

void proc_detach(struct proc *p)
{
	p->on_exit = NULL;
	p->arg = NULL;
}

int proc_count(void)
{
	int n = 0;
	for (struct proc *p = procs; p; p = p->next)
		n++;
	return n;
}

/* Reap what has exited; returns how many are still alive. */
static int reap_nohang(void)
{
	on_sigchld(SIGCHLD, NULL);
	return proc_count();
}

void proc_kill_all(double grace)
{
	for (struct proc *p = procs; p; p = p->next)
		proc_signal(p, SIGTERM);
	double deadline = now_mono() + grace;
	while (reap_nohang() > 0 && now_mono() < deadline)
		usleep(10000);
	for (struct proc *p = procs; p; p = p->next)
		proc_signal(p, SIGKILL);
	while (procs) {
		int st;
		if (waitpid(procs->pid, &st, 0) == procs->pid || errno == ECHILD)
			procs->status = st;
		procs->exited = 1;
		finish(procs);
	}
}

const char *proc_status_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "stopped (status 0x%x)", status);
	return buf;
}

int proc_run_capture(char *const argv[], char **out, double timeout, char *err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return cl_err(err, "pipe: %s", strerror(errno));
	struct proc_opts o = {.stdin_fd = -1, .stdout_fd = pfd[1], .stderr_fd = -1};
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return cl_err(err, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		child_setup(&o, parent);
		close_inherited(NULL);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	struct buf b = {0};
	double deadline = now_mono() + timeout;
	for (;;) {
		int ms = (int)((deadline - now_mono()) * 1000);
		if (ms <= 0)
			break;
		struct pollfd p = {pfd[0], POLLIN, 0};
		if (poll(&p, 1, ms) <= 0)
			continue;
		char tmp[4096];
		ssize_t n = read(pfd[0], tmp, sizeof tmp);
		if (n <= 0)
			break;
		buf_add(&b, tmp, (size_t)n);
	}
	close(pfd[0]);
	int st = 0;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_mono() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			buf_free(&b);
			return cl_err(err, "'%s' did not finish within %.0f s", argv[0], timeout);
		}
		usleep(2000);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !b.len) {
		buf_free(&b);
		return cl_err(err, "cannot run '%s'", argv[0]);
	}
	if (out)
		*out = b.data ? b.data : xstrdup("");
	else
		buf_free(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
