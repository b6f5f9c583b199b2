/* control.c: the control socket (see control.h). Each connection has its
 * own command queue and a FIFO of items, one per command in arrival order;
 * the head item's command is handed to the queue only when the previous
 * one has been answered, so replies come out in order and, once the lab
 * stops, nothing not yet started is started. Events go to the connections
 * whose command is running, through one subscription. */
#include "control.h"
#include "cmdq.h"
#include "engine.h"
#include "events.h"
#include "loop.h"
#include "parse.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LINE (64 * 1024)
/* Replies a client has not read past this: it is treated as gone. */
#define MAX_BACKLOG (64 * 1024 * 1024)

struct item {
	struct cmd *cmd; /* not yet handed to the queue */
	char *reply;     /* a reply decided on arrival (parse error, empty line) */
	char *exec_node; /* an exec's node: its output belongs to this command */
	struct item *next;
};

struct conn {
	struct control *ctl;
	int fd;  /* -1 once the client is gone: replies are dropped */
	int eof; /* the client has sent everything (or is gone) */
	struct buf in, out;
	size_t out_off;
	struct cmdq *q;
	struct item *head, *tail;
	int running;        /* the head's command is in q */
	const struct cmd *cmd; /* that command (events name it as their origin) */
	struct buf part[2]; /* exec stdout / stderr after its last newline */
	uint64_t reap;
	struct conn *next;
};

struct control {
	struct engine *e;
	char *path;
	int fd;
	int stopped;
	struct conn *conns;
};

static void pump(struct conn *cn);

/* ---- writing replies ---- */

static void maybe_reap(struct conn *cn);
static void on_io(int fd, int events, void *arg);

static void update_watch(struct conn *cn)
{
	if (cn->fd < 0)
		return;
	int ev = (cn->eof ? 0 : LOOP_READ) | (cn->out_off < cn->out.len ? LOOP_WRITE : 0);
	if (ev)
		loop_watch(cn->fd, ev, on_io, cn);
	else
		loop_unwatch(cn->fd);
}

/* The client went away (or stopped reading): its commands go on. */
static void conn_gone(struct conn *cn)
{
	if (cn->fd >= 0) {
		loop_unwatch(cn->fd);
		close(cn->fd);
	}
	cn->fd = -1;
	cn->eof = 1;
	buf_reset(&cn->out);
	buf_reset(&cn->in);
	cn->out_off = 0;
	maybe_reap(cn);
}

static void flush_out(struct conn *cn)
{
	while (cn->fd >= 0 && cn->out_off < cn->out.len) {
		ssize_t n = send(cn->fd, cn->out.data + cn->out_off, cn->out.len - cn->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			cn->out_off += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		else
			return conn_gone(cn);
	}
	if (cn->out_off == cn->out.len) {
		buf_reset(&cn->out);
		cn->out_off = 0;
	}
	update_watch(cn);
	maybe_reap(cn);
}

/* One reply line: prefix, then text (len bytes, newlines made spaces). */
static void send_line(struct conn *cn, const char *prefix, const char *text, size_t len)
{
	if (cn->fd < 0)
		return;
	buf_adds(&cn->out, prefix);
	size_t at = cn->out.len;
	buf_add(&cn->out, text, len);
	for (size_t i = at; i < cn->out.len; i++)
		if (cn->out.data[i] == '\n')
			cn->out.data[i] = ' ';
	buf_adds(&cn->out, "\n");
	if (cn->out.len - cn->out_off > MAX_BACKLOG)
		return conn_gone(cn);
	flush_out(cn);
}

static void send_str(struct conn *cn, const char *prefix, const char *text)
{
	send_line(cn, prefix, text ? text : "", text ? strlen(text) : 0);
}

/* Multi-line text: one reply line per line. */
static void send_lines(struct conn *cn, const char *prefix, const char *text)
{
	for (const char *p = text ? text : ""; *p;) {
		size_t n = strcspn(p, "\n");
		send_line(cn, prefix, p, n);
		p += n + (p[n] == '\n');
	}
}

/* "<control>:1:6: error: unknown node" → "<control>:1:6: unknown node":
 * the reply's first word already says error. */
static void send_error(struct conn *cn, const char *msg)
{
	const char *e = msg ? strstr(msg, ": error: ") : NULL;
	if (!msg || !*msg)
		return send_str(cn, "error ", "command failed");
	if (!e)
		return send_str(cn, "error ", msg);
	char *tidy = xasprintf("%.*s: %s", (int)(e - msg), msg, e + strlen(": error: "));
	send_str(cn, "error ", tidy);
	free(tidy);
}

/* ---- events of the running command ---- */

static void flush_part(struct conn *cn, int k, size_t upto)
{
	const char *stream = k ? "stderr" : "stdout";
	char *prefix = xasprintf("out %s %s ", cn->head->exec_node, stream);
	int nl = upto && cn->part[k].data[upto - 1] == '\n';
	send_line(cn, prefix, cn->part[k].data, upto - (size_t)nl);
	free(prefix);
	size_t rest = cn->part[k].len - upto;
	memmove(cn->part[k].data, cn->part[k].data + upto, rest);
	cn->part[k].len = rest;
}

static void exec_output(struct conn *cn, const struct event *ev)
{
	if (!ev->origin || ev->origin != (const void *)cn->cmd || !ev->stream || ev->len <= 0)
		return;
	int k = !strcmp(ev->stream, "stdout") ? 0 : !strcmp(ev->stream, "stderr") ? 1 : -1;
	if (k < 0)
		return;
	struct buf *b = &cn->part[k];
	buf_add(b, ev->data, (size_t)ev->len);
	for (char *nl; (nl = memchr(b->data, '\n', b->len));)
		flush_part(cn, k, (size_t)(nl - b->data) + 1);
	if (b->len > MAX_LINE) /* no newline in sight: send it in pieces */
		flush_part(cn, k, b->len);
}

static void conn_event(struct conn *cn, const struct event *ev)
{
	char *prefix;
	switch (ev->type) {
	case EV_OUTPUT: exec_output(cn, ev); break;
	case EV_MESSAGE: send_lines(cn, "msg ", ev->text); break;
	case EV_ERROR: send_lines(cn, "warn ", ev->text); break;
	case EV_NODE_STATE:
		prefix = xasprintf("state %s ", ev->node ? ev->node : "-");
		send_str(cn, prefix, ev->state);
		free(prefix);
		break;
	case EV_PROGRESS:
		prefix = xasprintf("progress %s ", ev->node ? ev->node : "-");
		send_lines(cn, prefix, ev->text);
		free(prefix);
		break;
	default: break;
	}
}

static void on_event(const struct event *ev, void *arg)
{
	struct control *c = arg;
	for (struct conn *cn = c->conns; cn; cn = cn->next)
		if (cn->running && cn->fd >= 0)
			conn_event(cn, ev);
}

/* ---- commands ---- */

static void push(struct conn *cn, struct item *it)
{
	if (cn->tail)
		cn->tail->next = it;
	else
		cn->head = it;
	cn->tail = it;
}

static void pop(struct conn *cn)
{
	struct item *it = cn->head;
	cn->head = it->next;
	if (!cn->head)
		cn->tail = NULL;
	if (it->cmd)
		cmd_free(it->cmd);
	free(it->reply);
	free(it->exec_node);
	free(it);
}

static void push_reply(struct conn *cn, char *reply)
{
	struct item *it = xcalloc(1, sizeof *it);
	it->reply = reply;
	push(cn, it);
}

static void push_cmd(struct conn *cn, struct cmd *cmd)
{
	struct item *it = xcalloc(1, sizeof *it);
	it->cmd = cmd;
	if (!strcmp(cmd->entry->name, "exec"))
		it->exec_node = xstrdup(cmd->args[0].text);
	push(cn, it);
}

static void take_line(struct conn *cn, const char *line)
{
	struct cmd_list l = {0};
	struct diag_list dl = {0};
	if (parse_string("<control>", line, &l, &dl) > 0 || diag_count(&dl)) {
		const struct diag *d = &dl.v[0];
		push_reply(cn, d->file && d->line > 0 ? xasprintf("error %s:%d:%d: %s", d->file, d->line, d->col, d->msg)
						       : xasprintf("error %s", d->msg));
		cmd_list_clear(&l);
	} else if (!l.n) {
		push_reply(cn, xstrdup("ok"));
	}
	for (int i = 0; i < l.n; i++)
		push_cmd(cn, l.v[i]);
	free(l.v);
	diag_clear(&dl);
}

static void on_done(const struct cmd *cmd, int ok, const char *msg, void *arg)
{
	struct conn *cn = arg;
	for (int k = 0; k < 2; k++)
		if (cn->part[k].len)
			flush_part(cn, k, cn->part[k].len);
	if (ok) {
		send_str(cn, "ok", NULL);
		events_emit(&(struct event){.type = EV_COMMAND, .text = cmd->text});
	} else {
		send_error(cn, msg);
	}
	cn->running = 0;
	cn->cmd = NULL;
	pop(cn);
	pump(cn);
}

/* Starts the head's command, or answers heads that need no running. */
static void pump(struct conn *cn)
{
	while (cn->head && !cn->running) {
		struct item *it = cn->head;
		if (it->cmd && !cn->ctl->stopped) {
			cn->running = 1;
			cn->cmd = it->cmd;
			cmdq_append(cn->q, it->cmd);
			it->cmd = NULL;
			return;
		}
		if (it->cmd)
			send_str(cn, "error ", "the lab is shutting down: command not run");
		else
			send_str(cn, "", it->reply);
		pop(cn);
	}
	maybe_reap(cn);
}

/* ---- reading command lines ---- */

static void take_lines(struct conn *cn)
{
	size_t start = 0;
	for (char *nl; (nl = memchr(cn->in.data + start, '\n', cn->in.len - start));) {
		*nl = '\0';
		if (nl > cn->in.data + start && nl[-1] == '\r')
			nl[-1] = '\0';
		take_line(cn, cn->in.data + start);
		start = (size_t)(nl - cn->in.data) + 1;
	}
	memmove(cn->in.data, cn->in.data + start, cn->in.len - start);
	cn->in.len -= start;
	cn->in.data[cn->in.len] = '\0';
	if (cn->in.len > MAX_LINE) { /* not a client of this protocol: answer, then hang up */
		push_reply(cn, xasprintf("error a command line is longer than %d bytes", MAX_LINE));
		buf_reset(&cn->in);
		cn->eof = 1;
	}
}

static void read_input(struct conn *cn)
{
	char b[16384];
	ssize_t n = read(cn->fd, b, sizeof b);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0)
		return conn_gone(cn);
	if (n == 0) {
		cn->eof = 1;
		if (cn->in.len) /* a last line without newline */
			take_line(cn, cn->in.data);
		buf_reset(&cn->in);
	} else {
		buf_add(&cn->in, b, (size_t)n);
		take_lines(cn);
	}
	update_watch(cn);
	pump(cn);
}

static void on_io(int fd, int events, void *arg)
{
	(void)fd;
	struct conn *cn = arg;
	if (events & LOOP_WRITE)
		flush_out(cn);
	if (cn->fd >= 0 && !cn->eof && (events & LOOP_READ))
		read_input(cn);
}

/* ---- connections ---- */

static void conn_free(struct conn *cn)
{
	struct control *c = cn->ctl;
	for (struct conn **p = &c->conns; *p; p = &(*p)->next)
		if (*p == cn) {
			*p = cn->next;
			break;
		}
	if (cn->reap)
		loop_cancel(cn->reap);
	if (cn->fd >= 0) {
		loop_unwatch(cn->fd);
		close(cn->fd);
	}
	while (cn->head)
		pop(cn);
	cmdq_free(cn->q);
	buf_free(&cn->in);
	buf_free(&cn->out);
	buf_free(&cn->part[0]);
	buf_free(&cn->part[1]);
	free(cn);
}

static int finished(const struct conn *cn)
{
	return cn->eof && !cn->head && (cn->fd < 0 || cn->out_off == cn->out.len);
}

/* Freed from the loop, never from inside the queue's own callback. */
static void on_reap(void *arg)
{
	struct conn *cn = arg;
	cn->reap = 0;
	if (finished(cn) && cmdq_idle(cn->q))
		conn_free(cn);
}

static void maybe_reap(struct conn *cn)
{
	if (!cn->reap && finished(cn))
		cn->reap = loop_defer(on_reap, cn);
}

/* Only the lab's own user (the socket is 0600 too; root gets past that). */
static int same_user(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.uid == getuid();
}

static void on_accept(int fd, int events, void *arg)
{
	(void)events;
	struct control *c = arg;
	for (int s; (s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
		if (!same_user(s)) {
			close(s);
			continue;
		}
		struct conn *cn = xcalloc(1, sizeof *cn);
		cn->ctl = c;
		cn->fd = s;
		cn->q = cmdq_new(c->e, 0, on_done, cn);
		cn->next = c->conns;
		c->conns = cn;
		update_watch(cn);
	}
}

struct control *control_new(struct engine *e, const char *path, char *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return cl_err(err, "control socket %s: the path is longer than %zu bytes: set a shorter "
				   "XDG_RUNTIME_DIR", path, sizeof sa.sun_path - 1), NULL;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 16) < 0) {
		cl_err(err, "control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(path);
		return NULL;
	}
	struct control *c = xcalloc(1, sizeof *c);
	c->e = e;
	c->path = xstrdup(path);
	c->fd = fd;
	loop_watch(fd, LOOP_READ, on_accept, c);
	events_subscribe(on_event, c);
	return c;
}

void control_stop(struct control *c)
{
	if (!c || c->stopped)
		return;
	c->stopped = 1;
	loop_unwatch(c->fd);
	close(c->fd);
	c->fd = -1;
	unlink(c->path);
	for (struct conn *cn = c->conns, *next; cn; cn = next) {
		next = cn->next;
		pump(cn);
	}
}

void control_free(struct control *c)
{
	if (!c)
		return;
	control_stop(c);
	events_unsubscribe(on_event, c);
	while (c->conns)
		conn_free(c->conns);
	free(c->path);
	free(c);
}
