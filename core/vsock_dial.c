/* vsock_dial.c: the host side of "hybrid vsock", asynchronously: connect to
 * a node's vsock socket, say "CONNECT <port>", wait for "OK <hostport>".
 * The backend closes the socket when the guest refuses (e.g. its listener is
 * not up yet), so a refusal is retried until the deadline. */
#include "vsock.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RETRY_DELAY 0.05

struct vsock_dial {
	char *path;
	uint32_t port;
	double deadline;
	int fd;
	uint64_t retry_timer, deadline_timer;
	vsock_dial_fn fn;
	void *arg;
	char why[128]; /* last reason an attempt failed */
};

static void dial_attempt(void *arg);

static void dial_close_fd(struct vsock_dial *dl)
{
	if (dl->fd >= 0) {
		loop_unwatch(dl->fd);
		close(dl->fd);
		dl->fd = -1;
	}
}

static void dial_finish(struct vsock_dial *dl, int fd, const char *err)
{
	vsock_dial_fn fn = dl->fn;
	void *arg = dl->arg;
	if (fd >= 0) {
		loop_unwatch(fd);
		dl->fd = -1;
	}
	vsock_dial_cancel(dl);
	fn(fd, err, arg);
}

static void dial_retry(struct vsock_dial *dl, const char *why)
{
	snprintf(dl->why, sizeof dl->why, "%s", why);
	dial_close_fd(dl);
	dl->retry_timer = loop_timer(RETRY_DELAY, dial_attempt, dl);
}

/* Waits for the one-line answer without taking any stream byte after it. */
static void dial_read(int fd, int events, void *arg)
{
	(void)events;
	struct vsock_dial *dl = arg;
	char line[40];
	ssize_t n = recv(fd, line, sizeof line - 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		dial_retry(dl, "the guest refused the connection (is its listener up?)");
		return;
	}
	line[n] = 0;
	char *nl = strchr(line, '\n');
	if (!nl && n < (ssize_t)sizeof line - 1)
		return;
	unsigned hostport;
	if (!nl || recv(fd, line, (size_t)(nl - line + 1), MSG_DONTWAIT) != nl - line + 1 ||
	    sscanf(line, "OK %u", &hostport) != 1) {
		char err[CL_ERRBUF];
		cl_err(err, "vsock: %s answered something other than OK", dl->path);
		dial_close_fd(dl);
		dial_finish(dl, -1, err);
		return;
	}
	dial_finish(dl, fd, NULL);
}

static void dial_attempt(void *arg)
{
	struct vsock_dial *dl = arg;
	dl->retry_timer = 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", dl->path);
	dl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (dl->fd < 0 || connect(dl->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		char why[128];
		snprintf(why, sizeof why, "cannot connect to %s: %s", dl->path, strerror(errno));
		dial_retry(dl, why);
		return;
	}
	char req[32];
	int len = snprintf(req, sizeof req, "CONNECT %u\n", dl->port);
	if (send(dl->fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		dial_retry(dl, "the vsock backend closed the connection");
		return;
	}
	loop_watch(dl->fd, LOOP_READ, dial_read, dl);
}

static void dial_timeout(void *arg)
{
	struct vsock_dial *dl = arg;
	char err[CL_ERRBUF];
	dl->deadline_timer = 0;
	cl_err(err, "vsock: no connection to guest port %u via %s: %s", dl->port, dl->path,
	       dl->why[0] ? dl->why : "timed out");
	dial_close_fd(dl);
	dial_finish(dl, -1, err);
}

struct vsock_dial *vsock_dial(const char *host_path, uint32_t port, double timeout,
			      vsock_dial_fn fn, void *arg)
{
	struct vsock_dial *dl = xcalloc(1, sizeof *dl);
	dl->path = xstrdup(host_path);
	dl->port = port;
	dl->fd = -1;
	dl->fn = fn;
	dl->arg = arg;
	dl->deadline_timer = loop_timer(timeout, dial_timeout, dl);
	dl->retry_timer = loop_defer(dial_attempt, dl);
	return dl;
}

void vsock_dial_cancel(struct vsock_dial *dl)
{
	if (!dl)
		return;
	dial_close_fd(dl);
	if (dl->retry_timer)
		loop_cancel(dl->retry_timer);
	if (dl->deadline_timer)
		loop_cancel(dl->deadline_timer);
	free(dl->path);
	free(dl);
}
