/* dfilter.c: the packet list's display filter is Wireshark's, applied by
 * tshark the way termshark does it. Two kinds of children, both on the loop
 * so the screen never waits:
 *  - a check: `tshark -n -r - -Y FILTER` over an empty capture (a bare pcap
 *    header on its stdin): exit 0 means the filter compiles, otherwise its
 *    stderr holds Wireshark's message. Debian's tshark has no dftest, and
 *    this uses the same compiler the list will. Typing restarts a short wait
 *    first, so a burst of keys costs one tshark, not one per key.
 *  - a run: `tshark -l -n -r - -Y FILTER -T fields -e frame.number` fed the
 *    capture's spool from its start, then whatever it gains; it names the
 *    matching frames (frame numbers count the spool's packets, as the feed
 *    does). */
#include "tui-int.h"
#include "dfilter.h"
#include "feed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "proc.h"

#define CHECK_DELAY 0.15     /* seconds of quiet typing before a check */
#define MAX_PENDING (1 << 20) /* spool bytes queued for tshark at most */
#define MAX_STDERR 16384

int dfilter_have_tshark(void)
{
	static int have = -1;
	if (have >= 0)
		return have;
	const char *path = getenv("PATH");
	char *copy = xstrdup(path ? path : "/usr/bin:/bin");
	have = 0;
	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !have; dir = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/tshark", *dir ? dir : ".");
		have = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return have;
}

/* ---- helpers shared by both children ---- */

/* Reads what is there; 0 at end of file, else 1. */
static int read_stderr(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		if (b->len < MAX_STDERR)
			buf_add(b, chunk, (size_t)n);
	return n == 0 ? 0 : 1;
}

/* tshark's message: its first "tshark: " line, without the prefix (the
 * running-as-root warning is not one). */
static void tshark_message(const char *text, char *out, size_t len)
{
	snprintf(out, len, "tshark rejected the filter");
	for (const char *s = text; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
		if (!strncmp(s, "tshark: ", 8)) {
			snprintf(out, len, "%.*s", (int)strcspn(s + 8, "\n"), s + 8);
			return;
		}
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		loop_unwatch(*fd);
		close(*fd);
		*fd = -1;
	}
}

static void end_proc(struct proc **p)
{
	if (*p) {
		proc_detach(*p);
		proc_signal(*p, 15);
		*p = NULL;
	}
}

/* ---- the check ---- */

static struct {
	char *filter;
	dfilter_check_fn fn;
	void *arg;
	uint64_t timer;
	struct proc *proc;
	int err_fd;
	struct buf err;
} C = {.err_fd = -1};

void dfilter_check_cancel(void)
{
	if (C.timer)
		loop_cancel(C.timer);
	C.timer = 0;
	end_proc(&C.proc);
	close_fd(&C.err_fd);
	buf_free(&C.err);
	free(C.filter);
	C.filter = NULL;
}

/* Hands the answer over after clearing the state, so fn may check again. */
static void check_answer(int ok, const char *msg)
{
	char *filter = C.filter;
	dfilter_check_fn fn = C.fn;
	void *arg = C.arg;
	C.filter = NULL;
	dfilter_check_cancel();
	fn(filter, ok, msg, arg);
	free(filter);
}

static void on_check_exit(struct proc *p, int status, void *arg)
{
	(void)p;
	(void)arg;
	C.proc = NULL;
	read_stderr(C.err_fd, &C.err); /* all of it is in the pipe by now */
	int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	char msg[512] = "";
	if (!ok)
		tshark_message(C.err.data, msg, sizeof msg);
	check_answer(ok, msg);
}

/* An empty pcap file: a global header (little-endian, Ethernet) only. */
static const unsigned char empty_pcap[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
					     0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0};

static void check_start(void *arg)
{
	(void)arg;
	C.timer = 0;
	int in[2], errp[2];
	if (pipe2(in, O_CLOEXEC) < 0) {
		check_answer(0, "cannot check the filter: out of file descriptors");
		return;
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		check_answer(0, "cannot check the filter: out of file descriptors");
		return;
	}
	ssize_t w = write(in[1], empty_pcap, sizeof empty_pcap); /* a new pipe takes 24 bytes */
	(void)w;
	close(in[1]);
	char *argv[] = {"tshark", "-n", "-r", "-", "-Y", C.filter, NULL};
	struct proc_opts o = {.stdin_fd = in[0], .stdout_fd = -1, .stderr_fd = errp[1]};
	char err[CL_ERRBUF];
	C.proc = proc_start("tshark (filter check)", argv, &o, on_check_exit, NULL, err);
	close(in[0]);
	close(errp[1]);
	C.err_fd = errp[0];
	fcntl(C.err_fd, F_SETFL, O_NONBLOCK);
	if (!C.proc)
		check_answer(0, err);
}

void dfilter_check(const char *filter, dfilter_check_fn fn, void *arg)
{
	dfilter_check_cancel();
	C.filter = xstrdup(filter);
	C.fn = fn;
	C.arg = arg;
	C.timer = loop_timer(CHECK_DELAY, check_start, NULL);
}

/* ---- the run ---- */

static struct {
	char *capture;
	struct proc *proc;
	int in_fd, out_fd, err_fd, spool_fd;
	struct buf wbuf, rbuf, err;
	uint32_t *match;
	int n, cap;
	char error[512];
} R = {.in_fd = -1, .out_fd = -1, .err_fd = -1, .spool_fd = -1};

void dfilter_stop(void)
{
	end_proc(&R.proc);
	close_fd(&R.in_fd);
	close_fd(&R.out_fd);
	close_fd(&R.err_fd);
	close_fd(&R.spool_fd);
	buf_free(&R.wbuf);
	buf_free(&R.rbuf);
	buf_free(&R.err);
	free(R.capture);
	free(R.match);
	R.capture = NULL;
	R.match = NULL;
	R.n = R.cap = 0;
	R.error[0] = '\0';
}

static void on_run_exit(struct proc *p, int status, void *arg)
{
	(void)p;
	(void)arg;
	R.proc = NULL;
	if (R.err_fd >= 0)
		read_stderr(R.err_fd, &R.err);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		tshark_message(R.err.data, R.error, sizeof R.error);
	close_fd(&R.in_fd);
	tui_redraw_soon();
}

static void on_run_err(int fd, int events, void *arg)
{
	(void)events;
	(void)arg;
	if (read_stderr(fd, &R.err) == 0) /* the child is gone */
		close_fd(&R.err_fd);
}

static void add_match(uint32_t no)
{
	if (R.n && no <= R.match[R.n - 1])
		return;
	if (R.n == R.cap) {
		R.cap = R.cap ? R.cap * 2 : 1024;
		R.match = xrealloc(R.match, (size_t)R.cap * sizeof *R.match);
	}
	R.match[R.n++] = no;
}

static void on_run_out(int fd, int events, void *arg)
{
	(void)events;
	(void)arg;
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof chunk);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			close_fd(&R.out_fd);
		return;
	}
	buf_add(&R.rbuf, chunk, (size_t)n);
	char *s = R.rbuf.data, *nl;
	while ((nl = memchr(s, '\n', R.rbuf.len - (size_t)(s - R.rbuf.data)))) {
		*nl = '\0';
		long no = atol(s);
		if (no > 0)
			add_match((uint32_t)no);
		s = nl + 1;
	}
	size_t left = R.rbuf.len - (size_t)(s - R.rbuf.data);
	memmove(R.rbuf.data, s, left);
	R.rbuf.len = left;
	R.rbuf.data[left] = '\0';
	tui_redraw_soon();
}

static void run_flush(void);
static void on_run_in(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	run_flush();
}

/* Writes what tshark takes now; the rest waits for the pipe to drain. */
static void run_flush(void)
{
	size_t off = 0;
	while (R.in_fd >= 0 && off < R.wbuf.len) {
		ssize_t n = write(R.in_fd, R.wbuf.data + off, R.wbuf.len - off);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				close_fd(&R.in_fd); /* tshark went away; its exit says why */
			break;
		}
		off += (size_t)n;
	}
	memmove(R.wbuf.data, R.wbuf.data + off, R.wbuf.len - off);
	R.wbuf.len -= off;
	if (R.in_fd >= 0)
		loop_watch(R.in_fd, R.wbuf.len ? LOOP_WRITE : 0, on_run_in, NULL);
}

void dfilter_poll(void)
{
	if (R.in_fd < 0)
		return;
	if (R.spool_fd < 0) {
		char *p = feed_spool(R.capture);
		R.spool_fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
		free(p);
	}
	char chunk[65536];
	ssize_t n;
	while (R.spool_fd >= 0 && R.wbuf.len < MAX_PENDING && (n = read(R.spool_fd, chunk, sizeof chunk)) > 0)
		buf_add(&R.wbuf, chunk, (size_t)n);
	run_flush();
}

static int make_pipes(int p[3][2])
{
	for (int i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0) {
			while (i-- > 0)
				close(p[i][0]), close(p[i][1]);
			return -1;
		}
	return 0;
}

int dfilter_run(const char *capture, const char *filter, char *err)
{
	dfilter_stop();
	int p[3][2]; /* stdin, stdout, stderr */
	if (make_pipes(p) < 0)
		return cl_err(err, "display filter: cannot make pipes: %s", strerror(errno));
	char *argv[] = {"tshark", "-l", "-n", "-r", "-", "-Y", (char *)filter, "-T", "fields",
			"-e", "frame.number", NULL};
	struct proc_opts o = {.stdin_fd = p[0][0], .stdout_fd = p[1][1], .stderr_fd = p[2][1]};
	R.proc = proc_start("tshark (display filter)", argv, &o, on_run_exit, NULL, err);
	close(p[0][0]);
	close(p[1][1]);
	close(p[2][1]);
	R.in_fd = p[0][1];
	R.out_fd = p[1][0];
	R.err_fd = p[2][0];
	if (!R.proc) {
		dfilter_stop();
		return -1;
	}
	R.capture = xstrdup(capture);
	for (int i = 0; i < 3; i++)
		fcntl(i == 0 ? R.in_fd : i == 1 ? R.out_fd : R.err_fd, F_SETFL, O_NONBLOCK);
	loop_watch(R.out_fd, LOOP_READ, on_run_out, NULL);
	loop_watch(R.err_fd, LOOP_READ, on_run_err, NULL);
	dfilter_poll();
	return 0;
}

int dfilter_count(void) { return R.n; }

uint32_t dfilter_frame(int i) { return i >= 0 && i < R.n ? R.match[i] : 0; }

const char *dfilter_error(void) { return R.error[0] ? R.error : NULL; }
