/* ctlcli.c: `caplab ctl` (see ctlcli.h): find the running lab's control
 * socket, send command lines, print the replies, all on the event loop so
 * stdin lines and replies interleave as they come. */
#include "ctlcli.h"
#include "cmd.h"
#include "control.h"
#include "labfind.h"
#include "loop.h"
#include "parse.h"
#include "runtime.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_NOLAB 255
/* The control socket answers a longer line with an error and hangs up. */
#define MAX_LINE (64 * 1024)

static const char usage_text[] =
	"usage: caplab ctl [-l LAB] [-v] [--raw] COMMAND [ARG...]\n"
	"       caplab ctl [-l LAB] [-v] [--raw] -     (command lines from stdin)\n"
	"  -l LAB   the running lab (its name, or NAME-PID), needed when several run\n"
	"  -v       also show node states and progress\n"
	"  --raw    print the control protocol's reply lines as they are\n"
	"A command as typed at the TUI prompt; each ARG is one word, `;` alone\n"
	"separates commands. Relative paths are the lab's (its -o DIR, else its\n"
	"working directory). Exit status: 0 all ok, 1 a command failed, 2 usage\n"
	"or parse error, 255 no running lab or connection lost.\n";

struct ctl {
	const char *lab;
	int verbose, raw;
	int fd;
	int expected, got; /* replies: one per command sent */
	int failed, bad;   /* commands that failed; lines that did not parse */
	int lost, done;
	int input_ended; /* everything is sent */
	struct buf in;    /* from the lab, after its last newline */
	struct buf stdin_line;
};

/* ---- finding and reaching the lab ---- */

static char *control_path(const char *lab, char *err)
{
	char *base = runtime_base();
	struct labfind m;
	labfind_scan(base, lab, CONTROL_SOCKET, &m);
	free(base);
	char *path = NULL;
	if (m.found == 1)
		path = xasprintf("%s/" CONTROL_SOCKET, m.first);
	else if (m.found > 1)
		cl_err(err, "%d labs are running (%s); choose one with -l LAB", m.found, m.names.data);
	else if (m.idle)
		cl_err(err, "lab %s%s%sis running but takes no commands now (it is starting or shutting down)",
		       lab ? "'" : "", lab ? lab : "", lab ? "' " : "");
	else if (lab)
		cl_err(err, "no running lab '%s' (start one with caplab run or caplab)", lab);
	else
		cl_err(err, "no running lab (start one with caplab run or caplab)");
	labfind_clear(&m);
	return path;
}

static int connect_lab(const char *lab, char *err)
{
	char *path = control_path(lab, err);
	if (!path)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		cl_err(err, "cannot reach the lab's control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

/* ---- replies ---- */

static void lost(struct ctl *c)
{
	c->lost = 1;
	c->done = 1;
}

/* "out NODE STREAM TEXT": the text goes where the node wrote it. */
static void print_out(const char *rest, size_t len)
{
	const char *sp1 = memchr(rest, ' ', len);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - rest)) : NULL;
	if (!sp2)
		return;
	FILE *f = (sp2 - sp1 - 1 == 6 && !strncmp(sp1 + 1, "stderr", 6)) ? stderr : stdout;
	fwrite(sp2 + 1, 1, len - (size_t)(sp2 + 1 - rest), f);
	fputc('\n', f);
}

static int starts(const char *line, const char *word) { return !strncmp(line, word, strlen(word)); }

static void print_reply(struct ctl *c, const char *line, size_t len)
{
	if (starts(line, "out "))
		print_out(line + 4, len - 4);
	else if (starts(line, "msg "))
		fprintf(stderr, "caplab: %s\n", line + 4);
	else if (starts(line, "warn "))
		fprintf(stderr, "caplab: error: %s\n", line + 5);
	else if (starts(line, "error "))
		fprintf(stderr, "caplab: error: %s\n", line + 6);
	else if (c->verbose && starts(line, "state "))
		fprintf(stderr, "caplab: node %s\n", line + 6);
	else if (c->verbose && starts(line, "progress "))
		fprintf(stderr, "caplab: %s\n", line + 9);
}

static void on_reply(struct ctl *c, const char *line, size_t len)
{
	if (c->raw) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		print_reply(c, line, len);
	}
	if (!strcmp(line, "ok")) {
		c->got++;
	} else if (starts(line, "error ")) {
		c->got++;
		c->failed++;
	}
}

static void on_sock(int fd, int events, void *arg)
{
	(void)events;
	struct ctl *c = arg;
	char b[16384];
	ssize_t n = read(fd, b, sizeof b);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) { /* the lab has answered everything and hung up, or went away */
		loop_unwatch(fd);
		if (c->got < c->expected || !c->input_ended)
			lost(c);
		c->done = 1;
		return;
	}
	buf_add(&c->in, b, (size_t)n);
	size_t start = 0;
	for (char *nl; (nl = memchr(c->in.data + start, '\n', c->in.len - start));) {
		*nl = '\0';
		on_reply(c, c->in.data + start, (size_t)(nl - c->in.data) - start);
		start = (size_t)(nl - c->in.data) + 1;
	}
	memmove(c->in.data, c->in.data + start, c->in.len - start);
	c->in.len -= start;
}

/* ---- sending ---- */

static int send_all(struct ctl *c, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return lost(c), -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Number of commands on line, or -1 (reported) when it does not parse. */
static int check_line(const char *line)
{
	if (strlen(line) > MAX_LINE)
		return fprintf(stderr, "caplab ctl: a command line is longer than %d bytes\n", MAX_LINE), -1;
	struct cmd_list l = {0};
	struct diag_list dl = {0};
	int n = parse_string("<control>", line, &l, &dl) > 0 || diag_count(&dl) ? -1 : l.n;
	if (n < 0)
		diag_print(&dl, stderr);
	cmd_list_clear(&l);
	diag_clear(&dl);
	return n;
}

/* Lines that parse are sent; empty and comment lines are not. */
static void send_line(struct ctl *c, const char *line)
{
	int n = check_line(line);
	if (n < 0)
		c->bad++;
	if (n <= 0)
		return;
	c->expected += n;
	char *msg = xasprintf("%s\n", line);
	send_all(c, msg, strlen(msg));
	free(msg);
}

static void end_input(struct ctl *c)
{
	c->input_ended = 1;
	shutdown(c->fd, SHUT_WR); /* the lab answers the rest, then hangs up */
}

static void on_stdin(int fd, int events, void *arg)
{
	(void)events;
	struct ctl *c = arg;
	char b[16384];
	ssize_t n = read(fd, b, sizeof b);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		loop_unwatch(fd);
		if (c->stdin_line.len) /* a last line without newline */
			send_line(c, c->stdin_line.data);
		end_input(c);
		return;
	}
	buf_add(&c->stdin_line, b, (size_t)n);
	size_t start = 0;
	for (char *nl; (nl = memchr(c->stdin_line.data + start, '\n', c->stdin_line.len - start));) {
		*nl = '\0';
		send_line(c, c->stdin_line.data + start);
		start = (size_t)(nl - c->stdin_line.data) + 1;
	}
	memmove(c->stdin_line.data, c->stdin_line.data + start, c->stdin_line.len - start);
	c->stdin_line.len -= start;
	c->stdin_line.data[c->stdin_line.len] = '\0';
}

/* The arguments as one line: each one word, `;` alone between commands. */
static char *join_args(char **args, int n)
{
	struct buf b = {0};
	for (int i = 0; i < n; i++) {
		char *w = strcmp(args[i], ";") ? cmd_quote(args[i], 0) : xstrdup(";");
		buf_addf(&b, "%s%s", i ? " " : "", w);
		free(w);
	}
	return b.data ? b.data : xstrdup("");
}

/* ---- command line ---- */

static int parse_args(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {{"lab", required_argument, 0, 'l'},
					     {"verbose", no_argument, 0, 'v'},
					     {"raw", no_argument, 0, 'r'},
					     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "+l:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'l': c->lab = optarg; break;
		case 'v': c->verbose = 1; break;
		case 'r': c->raw = 1; break;
		case 'h': fputs(usage_text, stdout); return 1;
		default: fputs(usage_text, stderr); return -1;
		}
	}
	if (optind >= argc)
		return fprintf(stderr, "caplab ctl: missing COMMAND\n%s", usage_text), -1;
	return 0;
}

static int exit_status(const struct ctl *c)
{
	if (c->lost) {
		fprintf(stderr, "caplab ctl: the lab closed the connection before answering every command "
				"(%d of %d): it is stopping, or stopped\n", c->got, c->expected);
		return EXIT_NOLAB;
	}
	return c->bad ? EXIT_USAGE : c->failed ? EXIT_FAILED : 0;
}

static int run(struct ctl *c, char *line)
{
	char err[CL_ERRBUF];
	if (line && check_line(line) < 0)
		return EXIT_USAGE; /* reported; nothing sent */
	if ((c->fd = connect_lab(c->lab, err)) < 0)
		return fprintf(stderr, "caplab ctl: %s\n", err), EXIT_NOLAB;
	loop_watch(c->fd, LOOP_READ, on_sock, c);
	if (line) {
		send_line(c, line);
		end_input(c);
	} else {
		loop_watch(STDIN_FILENO, LOOP_READ, on_stdin, c);
	}
	loop_run_until(&c->done, 0);
	fflush(stdout);
	return exit_status(c);
}

int ctlcli_main(int argc, char **argv)
{
	struct ctl c = {.fd = -1};
	int rc = parse_args(&c, argc, argv);
	if (rc)
		return rc > 0 ? 0 : EXIT_USAGE;
	setvbuf(stdout, NULL, _IOLBF, 0); /* replies and errors keep their order on a terminal */
	int from_stdin = argc - optind == 1 && !strcmp(argv[optind], "-");
	char *line = from_stdin ? NULL : join_args(argv + optind, argc - optind);
	rc = run(&c, line);
	free(line);
	if (c.fd >= 0)
		close(c.fd);
	buf_free(&c.in);
	buf_free(&c.stdin_line);
	loop_reset();
	return rc;
}
