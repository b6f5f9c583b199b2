/* loop.c: one poll() loop for the whole process: fd watchers, one-shot
 * timers, deferred calls and signals (via signalfd). Watchers and timers are
 * small arrays: a lab has tens of fds, not thousands. */
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct watcher {
	int fd, events;
	loop_fd_fn fn;
	void *arg;
};

struct timer {
	uint64_t id;
	double when;
	loop_fn fn;
	void *arg;
};

struct sighandler {
	int signo;
	loop_signal_fn fn;
	void *arg;
};

static struct {
	struct watcher *w;
	int nw, capw;
	struct timer *t;
	int nt, capt;
	uint64_t next_id;
	struct sighandler sig[16];
	int nsig;
	int sigfd;
	sigset_t sigmask;
} L = {.sigfd = -1};

static int find_watcher(int fd)
{
	for (int i = 0; i < L.nw; i++)
		if (L.w[i].fd == fd)
			return i;
	return -1;
}

void loop_watch(int fd, int events, loop_fd_fn fn, void *arg)
{
	int i = find_watcher(fd);
	if (i < 0) {
		if (L.nw == L.capw) {
			L.capw = L.capw ? 2 * L.capw : 16;
			L.w = xrealloc(L.w, (size_t)L.capw * sizeof *L.w);
		}
		i = L.nw++;
	}
	L.w[i] = (struct watcher){fd, events, fn, arg};
}

void loop_unwatch(int fd)
{
	int i = find_watcher(fd);
	if (i < 0)
		return;
	L.w[i] = L.w[--L.nw];
}

uint64_t loop_timer(double seconds, loop_fn fn, void *arg)
{
	if (L.nt == L.capt) {
		L.capt = L.capt ? 2 * L.capt : 16;
		L.t = xrealloc(L.t, (size_t)L.capt * sizeof *L.t);
	}
	uint64_t id = ++L.next_id;
	L.t[L.nt++] = (struct timer){id, now_mono() + (seconds > 0 ? seconds : 0), fn, arg};
	return id;
}

void loop_cancel(uint64_t id)
{
	for (int i = 0; i < L.nt; i++)
		if (L.t[i].id == id) {
			memmove(&L.t[i], &L.t[i + 1], (size_t)(L.nt - i - 1) * sizeof *L.t);
			L.nt--;
			return;
		}
}

uint64_t loop_defer(loop_fn fn, void *arg) { return loop_timer(0, fn, arg); }

static void on_signalfd(int fd, int events, void *arg)
{
	(void)events;
	(void)arg;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
		for (int i = 0; i < L.nsig; i++)
			if (L.sig[i].signo == (int)si.ssi_signo)
				L.sig[i].fn((int)si.ssi_signo, L.sig[i].arg);
}

void loop_on_signal(int signo, loop_signal_fn fn, void *arg)
{
	for (int i = 0; i < L.nsig; i++)
		if (L.sig[i].signo == signo) {
			L.sig[i].fn = fn;
			L.sig[i].arg = arg;
			return;
		}
	if (L.nsig == (int)ARRAY_LEN(L.sig))
		abort();
	L.sig[L.nsig++] = (struct sighandler){signo, fn, arg};
	if (L.sigfd < 0)
		sigemptyset(&L.sigmask);
	sigaddset(&L.sigmask, signo);
	sigprocmask(SIG_BLOCK, &L.sigmask, NULL);
	L.sigfd = signalfd(L.sigfd, &L.sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	loop_watch(L.sigfd, LOOP_READ, on_signalfd, NULL);
}

/* Earliest timer, or -1 when none. */
static double next_deadline(void)
{
	double best = -1;
	for (int i = 0; i < L.nt; i++)
		if (best < 0 || L.t[i].when < best)
			best = L.t[i].when;
	return best;
}

/* Runs every timer that is due, including ones their callbacks add with
 * zero delay (deferred work), but each at most once per call. */
static void run_timers(void)
{
	double now = now_mono();
	uint64_t limit = L.next_id;
	for (;;) {
		int due = -1;
		for (int i = 0; i < L.nt; i++)
			if (L.t[i].when <= now && L.t[i].id <= limit && (due < 0 || L.t[i].when < L.t[due].when))
				due = i;
		if (due < 0)
			return;
		struct timer t = L.t[due];
		memmove(&L.t[due], &L.t[due + 1], (size_t)(L.nt - due - 1) * sizeof *L.t);
		L.nt--;
		t.fn(t.arg);
	}
}

static void dispatch(struct pollfd *pfd, int n)
{
	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		int k = find_watcher(pfd[i].fd);
		if (k < 0 || !L.w[k].events)
			continue; /* unwatched by an earlier callback in this round */
		int ev = 0;
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
			ev |= LOOP_READ;
		if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))
			ev |= LOOP_WRITE;
		int errs = pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL);
		ev &= L.w[k].events | (errs ? LOOP_READ : 0);
		if (ev)
			L.w[k].fn(pfd[i].fd, ev, L.w[k].arg);
	}
}

void loop_once(double timeout)
{
	run_timers();
	double dl = next_deadline();
	int ms;
	if (dl >= 0) {
		double wait = dl - now_mono();
		if (timeout >= 0 && timeout < wait)
			wait = timeout;
		ms = wait <= 0 ? 0 : (int)(wait * 1000.0 + 0.999);
	} else {
		ms = timeout < 0 ? -1 : (int)(timeout * 1000.0 + 0.999);
	}
	int n = L.nw;
	/* Each call has its own array: a callback may run the loop again
	 * (qmp_command_sync, engine_free), which must not overwrite ours. */
	struct pollfd *pfd = xcalloc((size_t)n + 1, sizeof *pfd);
	for (int i = 0; i < n; i++) {
		pfd[i].fd = L.w[i].fd;
		pfd[i].events = (short)((L.w[i].events & LOOP_READ ? POLLIN : 0) |
					(L.w[i].events & LOOP_WRITE ? POLLOUT : 0));
		if (!L.w[i].events)
			pfd[i].fd = -1;
	}
	int rc = poll(pfd, (nfds_t)n, ms);
	if (rc > 0)
		dispatch(pfd, n);
	free(pfd);
	run_timers();
}

int loop_run_until(const int *done, double deadline)
{
	while (!*done) {
		double left = -1;
		if (deadline > 0) {
			left = deadline - now_mono();
			if (left <= 0)
				return -1;
		}
		loop_once(left);
	}
	return 0;
}

void loop_reset(void)
{
	free(L.w);
	free(L.t);
	if (L.sigfd >= 0) {
		close(L.sigfd);
		sigprocmask(SIG_UNBLOCK, &L.sigmask, NULL);
	}
	memset(&L, 0, sizeof L);
	L.sigfd = -1;
}
