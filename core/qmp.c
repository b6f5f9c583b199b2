/* qmp.c: asynchronous QMP client. QEMU frames every message as one line of
 * compact JSON ended by CRLF (JSON strings cannot hold a raw newline), so the
 * reader cuts complete lines out of its input buffer and parses each with
 * json_loadb; partial lines wait for more bytes. QEMU needs no separator
 * between our commands (its parser ends a message at the closing brace).
 * Output is a byte queue flushed when the socket is writable.
 *
 * Re-entrancy: user callbacks may call qmp_command() or qmp_free(), and a
 * synchronous helper may nest the loop. So every entry point that can run
 * callbacks holds q (holds++); qmp_free() on a held q only marks it and
 * drops its pending callbacks, and the last release frees the memory. */
#include "qmp.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A message larger than this is not QMP talking to us: give up. */
#define QMP_MAX_MESSAGE (16u << 20)

enum qmp_state { QMP_GREETING, QMP_NEGOTIATING, QMP_READY, QMP_CLOSED };

struct pending {
	struct pending *next;
	int id;
	char *cmd; /* for error messages */
	qmp_reply_fn fn; /* NULL once cancelled */
	void *arg;
};

struct qmp {
	int fd;
	char *name;
	struct qmp_callbacks cb;
	void *arg;
	enum qmp_state state;
	json_t *greeting;
	struct buf in, out, held; /* held: commands issued before negotiation */
	size_t out_off;
	size_t in_scanned; /* q->in holds no newline before this offset */
	struct pending *head, *tail;
	int next_id, caps_id;
	int holds; /* >0 while our callbacks run or a sync call waits */
	int freed;
};

static void sync_reply(struct qmp *q, json_t *result, const char *error, void *arg);

/* ---- listening socket ---- */

static int remove_stale_socket(const char *path, char *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : cl_err(err, "cannot stat qmp socket %s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return cl_err(err, "%s exists and is not a socket; remove it or choose another runtime directory", path);
	if (unlink(path) < 0)
		return cl_err(err, "cannot remove stale qmp socket %s: %s", path, strerror(errno));
	return 0;
}

int qmp_listen(const char *path, char *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return cl_err(err, "qmp socket path %s is too long (%zu bytes, at most %zu); use a shorter runtime directory",
			      path, strlen(path), sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (remove_stale_socket(path, err) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cl_err(err, "cannot create qmp socket %s: %s", path, strerror(errno));
	/* chmod before listen(): nobody can connect in between. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0600) < 0 || listen(fd, 4) < 0) {
		cl_err(err, "cannot listen on qmp socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- lifetime ---- */

static void destroy(struct qmp *q)
{
	json_decref(q->greeting);
	buf_free(&q->in);
	buf_free(&q->out);
	buf_free(&q->held);
	free(q->name);
	free(q);
}

/* Ends a hold; frees q if it was freed meanwhile. q may be gone afterwards. */
static void release(struct qmp *q)
{
	if (--q->holds == 0 && q->freed)
		destroy(q);
}

static void free_pending(struct pending *p)
{
	free(p->cmd);
	free(p);
}

static struct pending *pop_pending(struct qmp *q)
{
	struct pending *p = q->head;
	if (p) {
		q->head = p->next;
		if (!q->head)
			q->tail = NULL;
	}
	return p;
}

static struct pending *unlink_pending(struct qmp *q, int id)
{
	for (struct pending **pp = &q->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
		struct pending *p = *pp;
		if (p->id != id)
			continue;
		*pp = p->next;
		if (q->tail == p)
			q->tail = prev;
		return p;
	}
	return NULL;
}

static void close_fd(struct qmp *q)
{
	if (q->fd >= 0) {
		loop_unwatch(q->fd);
		close(q->fd);
		q->fd = -1;
	}
	q->state = QMP_CLOSED;
}

static void on_io(int fd, int events, void *arg);

static void update_watch(struct qmp *q)
{
	if (q->fd >= 0)
		loop_watch(q->fd, LOOP_READ | (q->out_off < q->out.len ? LOOP_WRITE : 0), on_io, q);
}

struct qmp *qmp_attach(int fd, const struct qmp_callbacks *cb, void *arg)
{
	struct qmp *q = xcalloc(1, sizeof *q);
	q->fd = fd;
	q->name = xasprintf("fd %d", fd);
	if (cb)
		q->cb = *cb;
	q->arg = arg;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	update_watch(q);
	return q;
}

void qmp_free(struct qmp *q)
{
	if (!q || q->freed)
		return;
	q->freed = 1;
	close_fd(q);
	/* No user callback after free; a waiting sync call must still wake up. */
	for (struct pending *p; (p = pop_pending(q)); free_pending(p))
		if (p->fn == sync_reply)
			sync_reply(q, NULL, "qmp connection was freed while a command waited", p->arg);
	if (q->holds == 0)
		destroy(q);
}

void qmp_set_name(struct qmp *q, const char *name)
{
	free(q->name);
	q->name = xstrdup(name);
}

const char *qmp_name(const struct qmp *q) { return q->name; }
json_t *qmp_greeting(const struct qmp *q) { return q->greeting ? json_object_get(q->greeting, "QMP") : NULL; }
int qmp_is_ready(const struct qmp *q) { return q->state == QMP_READY; }

/* ---- disconnect ---- */

/* Fails every pending command, then tells the owner; at most once. */
static void disconnect(struct qmp *q, const char *why)
{
	if (q->state == QMP_CLOSED)
		return;
	close_fd(q);
	char *reason = why ? xasprintf("qmp connection to %s closed: %s", q->name, why)
			   : xasprintf("qmp connection to %s closed", q->name);
	for (struct pending *p; !q->freed && (p = pop_pending(q)); free_pending(p))
		if (p->fn)
			p->fn(q, NULL, reason, p->arg);
	if (!q->freed && q->cb.closed)
		q->cb.closed(q, reason, q->arg);
	free(reason);
}

static void protocol_error(struct qmp *q, const char *what, json_t *msg)
{
	char *text = msg ? json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	char *why = xasprintf("protocol error, %s; qemu sent: %.200s", what, text ? text : "?");
	disconnect(q, why);
	free(why);
	free(text);
}

/* ---- output ---- */

static void append_command(struct qmp *q, struct buf *to, int id, const char *name, json_t *args)
{
	json_t *msg = json_pack("{s:s, s:i}", "execute", name, "id", id);
	if (args)
		json_object_set_new(msg, "arguments", args);
	char *text = json_dumps(msg, JSON_COMPACT);
	buf_adds(to, text); /* no CRLF: QEMU reads byte by byte and would leave it unread on quit */
	free(text);
	json_decref(msg);
	if (to == &q->out)
		update_watch(q);
}

static void flush(struct qmp *q)
{
	while (q->out_off < q->out.len) {
		ssize_t n = send(q->fd, q->out.data + q->out_off, q->out.len - q->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			q->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			char *why = xasprintf("write: %s", strerror(errno));
			disconnect(q, why);
			free(why);
			return;
		}
	}
	if (q->out_off == q->out.len) {
		buf_reset(&q->out);
		q->out_off = 0;
	}
	update_watch(q);
}

int qmp_command(struct qmp *q, const char *name, json_t *args, qmp_reply_fn fn, void *arg)
{
	if (q->state == QMP_CLOSED) {
		json_decref(args);
		return -1;
	}
	struct pending *p = xcalloc(1, sizeof *p);
	p->id = ++q->next_id;
	p->cmd = xstrdup(name);
	p->fn = fn;
	p->arg = arg;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	append_command(q, q->state == QMP_READY ? &q->out : &q->held, p->id, name, args);
	return p->id;
}

void qmp_cancel(struct qmp *q, int id)
{
	for (struct pending *p = q->head; p; p = p->next)
		if (p->id == id)
			p->fn = NULL;
}

/* ---- input ---- */

static void become_ready(struct qmp *q)
{
	q->state = QMP_READY;
	buf_add(&q->out, q->held.data, q->held.len);
	buf_free(&q->held);
	update_watch(q);
	if (q->cb.ready)
		q->cb.ready(q, q->arg);
}

static void on_greeting(struct qmp *q, json_t *msg)
{
	if (!json_is_object(json_object_get(msg, "QMP"))) {
		protocol_error(q, "expected the qmp greeting", msg);
		return;
	}
	q->greeting = json_incref(msg);
	q->state = QMP_NEGOTIATING;
	q->caps_id = ++q->next_id;
	append_command(q, &q->out, q->caps_id, "qmp_capabilities", NULL);
}

static char *error_text(struct qmp *q, const char *cmd, json_t *error)
{
	const char *cls = json_string_value(json_object_get(error, "class"));
	const char *desc = json_string_value(json_object_get(error, "desc"));
	return xasprintf("qmp %s on %s: %s (%s)", cmd, q->name, desc ? desc : "unknown error", cls ? cls : "no class");
}

static void deliver(struct qmp *q, struct pending *p, json_t *msg)
{
	json_t *error = json_object_get(msg, "error");
	if (!p->fn)
		return;
	if (!error) {
		p->fn(q, json_object_get(msg, "return"), NULL, p->arg);
		return;
	}
	char *text = error_text(q, p->cmd, error);
	p->fn(q, NULL, text, p->arg);
	free(text);
}

static void on_reply(struct qmp *q, json_t *msg)
{
	json_t *idv = json_object_get(msg, "id");
	if (!json_is_integer(idv)) {
		protocol_error(q, "a reply without a valid id", msg);
		return;
	}
	int id = (int)json_integer_value(idv);
	if (id == q->caps_id) {
		if (json_object_get(msg, "error"))
			protocol_error(q, "capabilities negotiation refused", msg);
		else
			become_ready(q);
		return;
	}
	struct pending *p = unlink_pending(q, id);
	if (!p) {
		protocol_error(q, "a reply to an unknown command id", msg);
		return;
	}
	deliver(q, p, msg);
	free_pending(p);
}

static void on_message(struct qmp *q, json_t *msg)
{
	const char *event = json_string_value(json_object_get(msg, "event"));
	if (!json_is_object(msg)) {
		protocol_error(q, "a message that is not a json object", msg);
	} else if (q->state == QMP_GREETING) {
		on_greeting(q, msg);
	} else if (event) {
		if (q->cb.event)
			q->cb.event(q, event, json_object_get(msg, "data"), q->arg);
	} else if (json_object_get(msg, "return") || json_object_get(msg, "error")) {
		on_reply(q, msg);
	} else {
		protocol_error(q, "an unexpected message", msg);
	}
}

static int is_blank(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++, n--;
	return n == 0;
}

/* Cuts the first complete line out of q->in before handling it, so a
 * nested loop (sync call inside a callback) sees a consistent buffer. */
static void process_lines(struct qmp *q)
{
	while (q->state != QMP_CLOSED && q->in.len) {
		char *nl = memchr(q->in.data + q->in_scanned, '\n', q->in.len - q->in_scanned);
		if (!nl) {
			q->in_scanned = q->in.len; /* a big message arrives in many reads */
			if (q->in.len > QMP_MAX_MESSAGE)
				disconnect(q, "message from qemu longer than 16 MiB");
			return;
		}
		q->in_scanned = 0;
		size_t n = (size_t)(nl - q->in.data) + 1;
		int blank = is_blank(q->in.data, n);
		json_error_t je;
		json_t *msg = blank ? NULL : json_loadb(q->in.data, n, 0, &je);
		memmove(q->in.data, q->in.data + n, q->in.len - n + 1);
		q->in.len -= n;
		if (blank)
			continue;
		if (!msg) {
			char *why = xasprintf("malformed json from qemu: %s (byte %d of the message)", je.text, je.position);
			disconnect(q, why);
			free(why);
			return;
		}
		on_message(q, msg);
		json_decref(msg);
	}
}

static void read_some(struct qmp *q)
{
	char tmp[65536];
	ssize_t n = recv(q->fd, tmp, sizeof tmp, MSG_DONTWAIT);
	if (n > 0) {
		buf_add(&q->in, tmp, (size_t)n);
		process_lines(q);
	} else if (n == 0 || errno == ECONNRESET) { /* reset: qemu exited with our bytes unread */
		disconnect(q, q->in.len && !is_blank(q->in.data, q->in.len) ? "in the middle of a message" : NULL);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		char *why = xasprintf("read: %s", strerror(errno));
		disconnect(q, why);
		free(why);
	}
}

static void on_io(int fd, int events, void *arg)
{
	(void)fd;
	struct qmp *q = arg;
	q->holds++;
	if ((events & LOOP_WRITE) && q->state != QMP_CLOSED)
		flush(q);
	if ((events & LOOP_READ) && q->state != QMP_CLOSED)
		read_some(q);
	release(q);
}

/* ---- synchronous helper ---- */

struct sync_wait {
	int done;
	json_t *result;
	char *error;
};

static void sync_reply(struct qmp *q, json_t *result, const char *error, void *arg)
{
	(void)q;
	struct sync_wait *w = arg;
	w->done = 1;
	w->result = json_incref(result);
	w->error = error ? xstrdup(error) : NULL;
}

json_t *qmp_command_sync(struct qmp *q, const char *name, json_t *args, double timeout, char *err)
{
	struct sync_wait w = {0};
	int id = qmp_command(q, name, args, sync_reply, &w);
	if (id < 0) {
		cl_err(err, "qmp %s on %s: the connection is closed", name, q->name);
		return NULL;
	}
	q->holds++;
	if (loop_run_until(&w.done, now_mono() + timeout) < 0) {
		qmp_cancel(q, id);
		cl_err(err, "qmp %s on %s: no reply within %.1f s; is qemu hung?", name, q->name, timeout);
	} else if (w.error) {
		cl_err(err, "%s", w.error);
	}
	free(w.error);
	release(q);
	return w.result;
}
