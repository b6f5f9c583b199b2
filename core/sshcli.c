/* sshcli.c: `caplab ssh` (see sshcli.h): find a running lab, then an exec,
 * an interactive pty shell or a raw byte splice (--proxy) to a node's sshd,
 * all on the event loop.
 *
 * The local terminal goes raw only while a shell runs; term_restore() is
 * async-signal-safe and runs on every way out: normal end, SIGINT/SIGTERM/
 * SIGHUP/SIGQUIT (through the loop) and fatal signals (a handler that
 * restores, then hands the signal to whoever had it before, e.g. ASan). */
#include "sshcli.h"
#include "keys.h"
#include "labfind.h"
#include "loop.h"
#include "runtime.h"
#include "ssh.h"
#include "util.h"
#include "vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define EXIT_SSH 255
#define DEFAULT_TIMEOUT 30.0
#define CHUNK 65536
/* A reader pauses while the queue it feeds holds this much (backpressure). */
#define QUEUE_HIGH (4 * CHUNK)

static const char usage_text[] =
	"usage: caplab ssh [-n] [-l LAB] [-t SECS] NODE [COMMAND [ARG...]]\n"
	"       caplab ssh --proxy [-l LAB] [-t SECS] NODE   (OpenSSH ProxyCommand)\n"
	"       caplab ssh --config [-l LAB] NODE            (ssh_config stanza: Host caplab-NODE)\n"
	"  -l LAB   the running lab (its name, or NAME-PID), needed when several have NODE\n"
	"  -t SECS  give up connecting after SECS seconds (default 30)\n"
	"  -n       COMMAND's stdin is empty (otherwise it reads caplab ssh's stdin)\n"
	"Without COMMAND: an interactive shell. Exit status: the remote one, or 255\n"
	"when caplab ssh itself fails.\n";

/* ---- finding the lab ---- */

/* found: labs with the node (named in names); idle: labs that match but
 * have no such node up (not started, stopped or crashed). */
static void no_lab_error(const char *lab, const char *node, int found, int idle, const char *names,
			 char *err)
{
	if (found)
		cl_err(err, "node %s is in %d running labs (%s); choose one with -l LAB", node, found, names);
	else if (lab && idle)
		cl_err(err, "lab '%s' is running but has no node %s up (not started, stopped or crashed: "
			    "see that lab's output)", lab, node);
	else if (lab)
		cl_err(err, "no running lab '%s' has a node named %s (start one with caplab run or caplab)",
		       lab, node);
	else
		cl_err(err, "no running lab has a node named %s (start one with caplab run or caplab)", node);
}

char *sshcli_find_lab(const char *base, const char *lab, const char *node, char *err)
{
	if (!*node || strchr(node, '/') || node[0] == '.')
		return cl_err(err, "'%s' is not a node name", node), NULL;
	char *file = xasprintf("%s.vsock", node);
	struct labfind m;
	labfind_scan(base, lab, file, &m);
	free(file);
	char *found = NULL;
	if (m.found == 1)
		found = xstrdup(m.first);
	else
		no_lab_error(lab, node, m.found, m.idle, m.names.data, err);
	labfind_clear(&m);
	return found;
}

/* ---- the local terminal and stdio flags, restored on every exit path ---- */

static struct {
	volatile sig_atomic_t raw; /* stdin is in raw mode; saved holds the old mode */
	struct termios saved;
	int flags[3]; /* fcntl flags of fds 0..2 before we set O_NONBLOCK; -1: untouched */
} T = {.flags = {-1, -1, -1}};

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static struct sigaction fatal_prev[ARRAY_LEN(fatal_signals)];

/* Async-signal-safe. */
static void term_restore(void)
{
	if (T.raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &T.saved);
		T.raw = 0;
	}
	for (int fd = 0; fd < 3; fd++)
		if (T.flags[fd] >= 0) {
			fcntl(fd, F_SETFL, T.flags[fd]);
			T.flags[fd] = -1;
		}
}

/* Restores, then gives the signal back to its previous handler: a fault
 * re-faults on return (so ASan still reports the real place), abort() raises
 * again, a signal sent by kill is raised again. */
static void on_fatal(int signo, siginfo_t *si, void *ctx)
{
	(void)ctx;
	term_restore();
	for (size_t i = 0; i < ARRAY_LEN(fatal_signals); i++)
		if (fatal_signals[i] == signo)
			sigaction(signo, &fatal_prev[i], NULL);
	if (si->si_code <= 0)
		raise(signo);
}

static void fatal_handlers(int install)
{
	struct sigaction sa = {.sa_sigaction = on_fatal, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_LEN(fatal_signals); i++)
		if (install)
			sigaction(fatal_signals[i], &sa, &fatal_prev[i]);
		else
			sigaction(fatal_signals[i], &fatal_prev[i], NULL);
}

static int term_raw(void)
{
	struct termios t;
	if (tcgetattr(STDIN_FILENO, &T.saved) < 0)
		return -1;
	t = T.saved;
	cfmakeraw(&t);
	T.raw = 1; /* before the switch, so a signal in between restores too */
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0) {
		T.raw = 0;
		return -1;
	}
	return 0;
}

/* Pipes and files get O_NONBLOCK (restored at exit); a terminal keeps its
 * flags, as the shell that started us shares them. */
static void fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_NONBLOCK) || isatty(fd))
		return;
	T.flags[fd] = fl;
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void term_size(int *cols, int *rows)
{
	struct winsize ws = {0};
	if ((ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_col) &&
	    (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_col))
		ws = (struct winsize){.ws_col = 80, .ws_row = 24};
	*cols = ws.ws_col;
	*rows = ws.ws_row ? ws.ws_row : 24;
}

/* ---- output queues: bytes for an fd, written as it accepts them ---- */

struct outq {
	int fd;
	struct buf b;
	size_t off;
	int error;      /* errno of a failed write; later bytes are dropped */
	loop_fn drained; /* called from the loop once a backlog is written */
	void *arg;
};

static size_t outq_pending(const struct outq *q) { return q->b.len - q->off; }

static void outq_flush(struct outq *q);

static void on_writable(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;
	struct outq *q = arg;
	outq_flush(q);
	if (!outq_pending(q) && q->drained)
		q->drained(q->arg);
}

static void outq_flush(struct outq *q)
{
	while (outq_pending(q) && !q->error) {
		ssize_t n = write(q->fd, q->b.data + q->off, outq_pending(q));
		if (n > 0) {
			q->off += (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			loop_watch(q->fd, LOOP_WRITE, on_writable, q);
			return;
		} else if (n == 0 || errno != EINTR) {
			q->error = n < 0 ? errno : EIO;
		}
	}
	buf_reset(&q->b);
	q->off = 0;
	loop_unwatch(q->fd);
}

static void outq_add(struct outq *q, const void *data, size_t len)
{
	if (q->error)
		return;
	int idle = outq_pending(q) == 0;
	buf_add(&q->b, data, len);
	if (idle)
		outq_flush(q);
}

/* ---- one caplab ssh run ---- */

enum mode { M_SESSION, M_PROXY, M_CONFIG };

struct cli {
	enum mode mode;
	const char *lab, *node;
	char **cmd; /* NULL: interactive shell */
	double timeout;
	char *rundir, *vsock_path;
	struct lab_keys *keys;
	struct sshc *c;
	struct sshc_chan *ch;
	struct vsock_dial *dial;
	int sock, sock_w; /* proxy: the stream to sshd, read and write ends (dup) */
	int stdin_eof, no_stdin;
	struct outq out, err, tosock;
	int status, ending, done;
	char *message; /* printed once the terminal is back to normal */
};

static void check_done(void *arg)
{
	struct cli *cl = arg;
	if (cl->ending && !outq_pending(&cl->out) && !outq_pending(&cl->err))
		cl->done = 1;
}

/* The end: status decided, the output still queued goes out first. */
static void cli_end(struct cli *cl, int status, const char *msg)
{
	if (cl->ending)
		return;
	cl->ending = 1;
	cl->status = status;
	if (msg)
		cl->message = xstrdup(msg);
	loop_unwatch(STDIN_FILENO);
	check_done(cl);
}

static void cli_endf(struct cli *cl, const char *fmt, const char *detail)
{
	char *m = xasprintf(fmt, cl->node, detail);
	cli_end(cl, EXIT_SSH, m);
	free(m);
}

static void on_signal(int signo, void *arg)
{
	struct cli *cl = arg;
	cli_end(cl, 128 + signo, NULL);
	cl->status = 128 + signo;
	cl->done = 1; /* no waiting for a reader that may never read again */
}

static void on_stdout_error(struct cli *cl, struct outq *q)
{
	if (q->error == EPIPE)
		cli_end(cl, EXIT_SSH, NULL);
	else
		cli_endf(cl, "node %s: cannot write output: %s", strerror(q->error));
}

/* ---- session mode: exec or shell over libssh ---- */

static void on_output(int stream, const char *data, size_t len, void *arg)
{
	struct cli *cl = arg;
	struct outq *q = stream == SSHC_STDERR ? &cl->err : &cl->out;
	outq_add(q, data, len);
	if (q->error)
		on_stdout_error(cl, q);
	else if (cl->ch && outq_pending(q) >= QUEUE_HIGH)
		sshc_chan_pause_output(cl->ch, 1); /* a slow reader: the node waits */
}

static void on_remote_exit(int status, const char *err, void *arg)
{
	struct cli *cl = arg;
	cl->ch = NULL;
	if (status >= 0)
		return cli_end(cl, status, NULL);
	/* sshc's own messages name the node when the connection is at fault */
	char *m = err && strstr(err, "node ") ? xstrdup(err)
					       : xasprintf("node %s: %s", cl->node,
							   err ? err : "the command ended without an exit status");
	cli_end(cl, EXIT_SSH, m);
	free(m);
}

static void on_stdin_data(int fd, int events, void *arg);
static void on_proxy_stdin(int fd, int events, void *arg);

/* stdin is read while its bytes have somewhere to go, the exec/shell
 * channel or the proxy's socket queue, and less than QUEUE_HIGH wait there
 * (back-pressure); called again whenever that changes. */
static void watch_stdin(struct cli *cl)
{
	int proxy = cl->mode == M_PROXY;
	size_t queued = proxy ? outq_pending(&cl->tosock) : cl->ch ? sshc_chan_queued(cl->ch) : 0;
	if (!cl->ending && !cl->stdin_eof && (proxy || cl->ch) && queued < QUEUE_HIGH)
		loop_watch(STDIN_FILENO, LOOP_READ, proxy ? on_proxy_stdin : on_stdin_data, cl);
	else
		loop_unwatch(STDIN_FILENO);
}

/* stdin -> the channel: keys for a shell, a command's input for an exec. */
static void on_stdin_data(int fd, int events, void *arg)
{
	(void)events;
	struct cli *cl = arg;
	char b[CHUNK];
	ssize_t n = read(fd, b, sizeof b);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (cl->ch && n <= 0) {
		cl->stdin_eof = 1;
		sshc_chan_eof(cl->ch);
	} else if (cl->ch) {
		sshc_chan_write(cl->ch, b, (size_t)n);
	}
	watch_stdin(cl);
}

static void on_chan_drained(void *arg) { watch_stdin(arg); }

static void on_winch(int signo, void *arg)
{
	(void)signo;
	struct cli *cl = arg;
	int cols, rows;
	term_size(&cols, &rows);
	if (cl->ch)
		sshc_shell_resize(cl->ch, cols, rows);
}

static void start_shell(struct cli *cl)
{
	char err[CL_ERRBUF];
	int cols, rows;
	term_size(&cols, &rows);
	const char *term = getenv("TERM");
	cl->ch = sshc_shell(cl->c, term && *term ? term : "xterm-256color", cols, rows, on_output,
			    on_remote_exit, cl, err);
	if (!cl->ch)
		return cli_end(cl, EXIT_SSH, err);
	if (isatty(STDIN_FILENO) && term_raw() < 0)
		return cli_endf(cl, "node %s: cannot put the terminal in raw mode: %s", strerror(errno));
	loop_on_signal(SIGWINCH, on_winch, cl);
	sshc_chan_keep_stdin(cl->ch, on_chan_drained); /* a long paste resumes */
	watch_stdin(cl);
}

static void on_state(struct sshc *c, enum sshc_state st, const char *msg, void *arg)
{
	(void)c;
	struct cli *cl = arg;
	if (st == SSHC_FAILED)
		cli_end(cl, EXIT_SSH, msg ? msg : "connection failed");
	else if (st == SSHC_READY && !cl->cmd)
		start_shell(cl);
}

static void *dial_node(void *ctx, double timeout, sshc_dial_done_fn done, void *done_arg)
{
	return vsock_dial(ctx, 22, timeout, done, done_arg);
}

static void cancel_dial(void *ctx, void *handle)
{
	(void)ctx;
	vsock_dial_cancel(handle);
}

static int start_session(struct cli *cl, char *err)
{
	if (!(cl->keys = keys_load(cl->rundir, err)))
		return -1;
	struct sshc_opts o = {.node = cl->node, .keys = cl->keys, .timeout = cl->timeout,
			      .dialer = {.dial = dial_node, .cancel = cancel_dial, .ctx = cl->vsock_path}};
	cl->c = sshc_open(&o, on_state, cl);
	if (!cl->cmd)
		return 0;
	if (!(cl->ch = sshc_exec(cl->c, cl->cmd, 0, on_output, on_remote_exit, cl, err)))
		return -1;
	if (!cl->no_stdin) { /* like ssh: the command reads caplab ssh's stdin */
		sshc_chan_keep_stdin(cl->ch, on_chan_drained);
		watch_stdin(cl);
	}
	return 0;
}

/* ---- proxy mode: stdin/stdout <-> the node's port 22 stream ---- */

static void on_proxy_sock(int fd, int events, void *arg);

static void watch_sock(struct cli *cl)
{
	if (!cl->ending && outq_pending(&cl->out) < QUEUE_HIGH)
		loop_watch(cl->sock, LOOP_READ, on_proxy_sock, cl);
	else
		loop_unwatch(cl->sock);
}

/* Local EOF, once every byte before it is out: half-close, keep reading. */
static void half_close(struct cli *cl)
{
	if (cl->stdin_eof && !outq_pending(&cl->tosock))
		shutdown(cl->sock, SHUT_WR);
}

static void on_tosock_drained(void *arg)
{
	struct cli *cl = arg;
	half_close(cl);
	watch_stdin(cl);
}

/* stdout or stderr written out: the proxy reads its socket again, a
 * paused command's output flows again. */
static void on_out_drained(void *arg)
{
	struct cli *cl = arg;
	check_done(cl);
	if (cl->sock >= 0)
		watch_sock(cl);
	if (cl->ch && !cl->ending && outq_pending(&cl->out) < QUEUE_HIGH && outq_pending(&cl->err) < QUEUE_HIGH)
		sshc_chan_pause_output(cl->ch, 0);
}

static void on_proxy_stdin(int fd, int events, void *arg)
{
	(void)events;
	struct cli *cl = arg;
	char b[CHUNK];
	ssize_t n = read(fd, b, sizeof b);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		cl->stdin_eof = 1;
		half_close(cl);
	} else {
		outq_add(&cl->tosock, b, (size_t)n);
	}
	watch_stdin(cl);
}

static void on_proxy_sock(int fd, int events, void *arg)
{
	(void)events;
	struct cli *cl = arg;
	char b[CHUNK];
	ssize_t n = read(fd, b, sizeof b);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == 0) /* sshd closed (or the lab went away): ssh sees the end */
		return cli_end(cl, 0, NULL);
	if (n < 0)
		return cli_endf(cl, "connection to node %s lost: %s", strerror(errno));
	outq_add(&cl->out, b, (size_t)n);
	if (cl->out.error)
		return on_stdout_error(cl, &cl->out);
	watch_sock(cl);
}

static void on_proxy_dialed(int fd, const char *err, void *arg)
{
	struct cli *cl = arg;
	cl->dial = NULL;
	if (fd < 0)
		return cli_endf(cl, "node %s: cannot reach sshd: %s", err ? err : "dial failed");
	cl->sock = fd;
	cl->sock_w = dup(fd); /* its own fd number: the loop watches one callback per fd */
	cl->tosock = (struct outq){.fd = cl->sock_w, .drained = on_tosock_drained, .arg = cl};
	watch_stdin(cl);
	watch_sock(cl);
}

/* ---- config mode ---- */

/* A path for ssh_config: double-quoted, with ssh's % tokens escaped. */
static void add_config_path(struct buf *b, const char *path)
{
	buf_adds(b, "\"");
	for (const char *p = path; *p; p++)
		buf_adds(b, *p == '%' ? "%%" : (char[]){*p, 0});
	buf_adds(b, "\"");
}

static char *self_path(void)
{
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0)
		return xstrdup("caplab");
	path[n] = 0;
	return xstrdup(path);
}

static int print_config(struct cli *cl, char *err)
{
	if (!(cl->keys = keys_load(cl->rundir, err)))
		return -1;
	char *self = self_path();
	const char *labdir = strrchr(cl->rundir, '/') + 1;
	char *proxy_argv[] = {self, "ssh", "--proxy", "-l", (char *)labdir, (char *)cl->node, NULL};
	char *proxy = sshc_quote_argv(proxy_argv);
	struct buf b = {0};
	buf_addf(&b, "Host caplab-%s\n\tUser root\n\tIdentityFile ", cl->node);
	add_config_path(&b, cl->keys->client_key_path);
	buf_adds(&b, "\n\tIdentitiesOnly yes\n\tIdentityAgent none\n\tUserKnownHostsFile ");
	add_config_path(&b, cl->keys->known_hosts_path);
	buf_adds(&b, "\n\tGlobalKnownHostsFile /dev/null\n\tStrictHostKeyChecking yes\n\tUpdateHostKeys no\n"
		     "\tPasswordAuthentication no\n\tProxyCommand ");
	for (const char *p = proxy; *p; p++)
		buf_adds(&b, *p == '%' ? "%%" : (char[]){*p, 0});
	buf_adds(&b, "\n");
	fputs(b.data, stdout);
	buf_free(&b);
	free(proxy);
	free(self);
	return 0;
}

/* ---- command line ---- */

static int parse_args(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {{"proxy", no_argument, 0, 'P'}, {"config", no_argument, 0, 'C'},
					     {"lab", required_argument, 0, 'l'},
					     {"timeout", required_argument, 0, 't'},
					     {"no-stdin", no_argument, 0, 'n'},
					     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int c;
	char *end;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+l:t:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'P': cl->mode = M_PROXY; break;
		case 'C': cl->mode = M_CONFIG; break;
		case 'l': cl->lab = optarg; break;
		case 'n': cl->no_stdin = 1; break;
		case 't':
			cl->timeout = strtod(optarg, &end);
			if (*end || !(cl->timeout > 0))
				return fprintf(stderr, "caplab ssh: -t wants seconds > 0, not '%s'\n", optarg), -1;
			break;
		case 'h': fputs(usage_text, stdout); return 1;
		default: fputs(usage_text, stderr); return -1;
		}
	}
	if (optind >= argc)
		return fprintf(stderr, "caplab ssh: missing NODE\n%s", usage_text), -1;
	cl->node = argv[optind];
	if (optind + 1 < argc && cl->mode != M_SESSION)
		return fprintf(stderr, "caplab ssh: --proxy and --config take no COMMAND\n"), -1;
	cl->cmd = optind + 1 < argc ? argv + optind + 1 : NULL;
	return 0;
}

static int start(struct cli *cl, char *err)
{
	char *base = runtime_base();
	cl->rundir = sshcli_find_lab(base, cl->lab, cl->node, err);
	free(base);
	if (!cl->rundir)
		return -1;
	cl->vsock_path = xasprintf("%s/%s.vsock", cl->rundir, cl->node);
	if (cl->mode == M_CONFIG)
		return print_config(cl, err) < 0 ? -1 : 1;
	loop_on_signal(SIGINT, on_signal, cl);
	loop_on_signal(SIGTERM, on_signal, cl);
	loop_on_signal(SIGHUP, on_signal, cl);
	loop_on_signal(SIGQUIT, on_signal, cl);
	fd_nonblock(STDOUT_FILENO);
	fd_nonblock(STDERR_FILENO);
	if (cl->mode == M_PROXY) {
		cl->dial = vsock_dial(cl->vsock_path, 22, cl->timeout, on_proxy_dialed, cl);
		return 0;
	}
	return start_session(cl, err);
}

static void cli_free(struct cli *cl)
{
	sshc_free(cl->c);
	vsock_dial_cancel(cl->dial);
	if (cl->sock >= 0)
		close(cl->sock);
	if (cl->sock_w >= 0)
		close(cl->sock_w);
	keys_free(cl->keys);
	buf_free(&cl->out.b);
	buf_free(&cl->err.b);
	buf_free(&cl->tosock.b);
	free(cl->rundir);
	free(cl->vsock_path);
	free(cl->message);
}

int sshcli_main(int argc, char **argv)
{
	struct cli cl = {.timeout = DEFAULT_TIMEOUT, .sock = -1, .sock_w = -1, .status = EXIT_SSH};
	int rc = parse_args(&cl, argc, argv);
	if (rc)
		return rc > 0 ? 0 : EXIT_SSH;
	cl.out = (struct outq){.fd = STDOUT_FILENO, .drained = on_out_drained, .arg = &cl};
	cl.err = (struct outq){.fd = STDERR_FILENO, .drained = on_out_drained, .arg = &cl};
	signal(SIGPIPE, SIG_IGN);
	fatal_handlers(1);
	char err[CL_ERRBUF];
	rc = start(&cl, err);
	if (rc < 0)
		cli_end(&cl, EXIT_SSH, err);
	else if (rc > 0)
		cli_end(&cl, 0, NULL);
	loop_run_until(&cl.done, 0);
	term_restore();
	if (cl.message)
		fprintf(stderr, "caplab ssh: %s\n", cl.message);
	cli_free(&cl);
	loop_reset();
	fatal_handlers(0);
	return cl.status;
}
