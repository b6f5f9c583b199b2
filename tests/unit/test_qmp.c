/* QMP client: a scripted fake QEMU on a socketpair (greeting, negotiation,
 * ids, framing, events, errors, garbage, EOF, freeing from callbacks), then
 * a real qemu-system-x86_64 that connects to our listening socket. */
#include "unit.h"
#include "loop.h"
#include "proc.h"
#include "qmp.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, " \
		 "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* ---- what the client told us ---- */

static struct record {
	int ready, closed, events, seq, closed_seq;
	char reason[CL_ERRBUF];
	char event[64];
	int event_seq;
	json_t *event_data;
	struct qmp *free_in_closed; /* qmp_free() this from the closed callback */
} R;

struct reply {
	int calls, seq;
	json_t *result;
	char error[CL_ERRBUF];
	struct qmp *free_q; /* qmp_free() this from the reply callback */
};

static void on_ready(struct qmp *q, void *arg)
{
	(void)q;
	((struct record *)arg)->ready++;
}

static void on_event(struct qmp *q, const char *name, json_t *data, void *arg)
{
	(void)q;
	struct record *r = arg;
	r->events++;
	r->event_seq = ++r->seq;
	snprintf(r->event, sizeof r->event, "%s", name);
	json_decref(r->event_data);
	r->event_data = json_incref(data);
}

static void on_closed(struct qmp *q, const char *reason, void *arg)
{
	(void)q;
	struct record *r = arg;
	r->closed++;
	r->closed_seq = ++r->seq;
	snprintf(r->reason, sizeof r->reason, "%s", reason);
	if (r->free_in_closed)
		qmp_free(r->free_in_closed);
}

static const struct qmp_callbacks cbs = {on_ready, on_event, on_closed};

static void on_reply(struct qmp *q, json_t *result, const char *error, void *arg)
{
	(void)q;
	struct reply *r = arg;
	r->calls++;
	r->seq = ++R.seq;
	json_decref(r->result);
	r->result = json_incref(result);
	snprintf(r->error, sizeof r->error, "%s", error ? error : "");
	if (r->free_q)
		qmp_free(r->free_q);
}

static void reply_clear(struct reply *r)
{
	json_decref(r->result);
	memset(r, 0, sizeof *r);
}

/* ---- the fake QEMU ---- */

struct fake {
	int srv;
	struct qmp *q;
	struct buf rx;
};

static void fake_open(struct fake *f)
{
	json_decref(R.event_data);
	memset(&R, 0, sizeof R);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	memset(f, 0, sizeof *f);
	f->srv = sv[1];
	f->q = qmp_attach(sv[0], &cbs, &R);
	qmp_set_name(f->q, "node t");
}

static void fake_close(struct fake *f)
{
	qmp_free(f->q);
	if (f->srv >= 0)
		close(f->srv);
	buf_free(&f->rx);
	json_decref(R.event_data);
	R.event_data = NULL;
}

static void srv_send(struct fake *f, const char *s)
{
	size_t n = strlen(s);
	assert_int_equal(send(f->srv, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void srv_sendf(struct fake *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void srv_sendf(struct fake *f, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	srv_send(f, s);
	free(s);
}

/* Moves what the client wrote into f->rx; returns bytes read, 0 on EOF, -1 if none. */
static ssize_t srv_pull(struct fake *f)
{
	char tmp[65536];
	ssize_t n = recv(f->srv, tmp, sizeof tmp, MSG_DONTWAIT);
	if (n > 0)
		buf_add(&f->rx, tmp, (size_t)n);
	return n;
}

/* Next complete JSON value the client sent (it sends no separators);
 * runs the loop meanwhile. */
static json_t *srv_recv(struct fake *f, double timeout)
{
	double end = now_mono() + timeout;
	for (;;) {
		json_error_t je;
		json_t *msg = f->rx.len ? json_loadb(f->rx.data, f->rx.len, JSON_DISABLE_EOF_CHECK, &je) : NULL;
		if (msg) {
			size_t n = (size_t)je.position;
			memmove(f->rx.data, f->rx.data + n, f->rx.len - n + 1);
			f->rx.len -= n;
			return msg;
		}
		if (now_mono() > end)
			return NULL;
		int got = 0;
		while (srv_pull(f) > 0)
			got = 1;
		if (!got)
			loop_once(0.01);
	}
}

/* Sends a message too big for the socket buffer, running the loop so the
 * client keeps reading; stops early if the client hangs up. */
static void srv_send_big(struct fake *f, const char *s, size_t n)
{
	double end = now_mono() + 20;
	for (size_t off = 0; off < n && now_mono() < end;) {
		ssize_t k = send(f->srv, s + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k > 0)
			off += (size_t)k;
		else if (errno == EAGAIN)
			loop_once(0.01);
		else
			return;
	}
}

/* Expects command `name` from the client; returns its id. */
static int srv_expect(struct fake *f, const char *name)
{
	json_t *msg = srv_recv(f, 2.0);
	assert_non_null(msg);
	assert_string_equal(json_string_value(json_object_get(msg, "execute")), name);
	assert_true(json_is_integer(json_object_get(msg, "id")));
	int id = (int)json_integer_value(json_object_get(msg, "id"));
	json_decref(msg);
	return id;
}

static void pump(double seconds)
{
	double end = now_mono() + seconds;
	while (now_mono() < end)
		loop_once(end - now_mono());
}

static void pump_until(const int *flag)
{
	assert_int_equal(loop_run_until(flag, now_mono() + 2.0), 0);
}

static void fake_negotiate(struct fake *f)
{
	srv_send(f, GREETING);
	int id = srv_expect(f, "qmp_capabilities");
	srv_sendf(f, "{\"return\": {}, \"id\": %d}\r\n", id);
	pump_until(&R.ready);
	assert_true(qmp_is_ready(f->q));
}

/* ---- fake-server tests ---- */

static void commands_wait_for_capability_negotiation(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	struct reply r = {0};
	assert_true(qmp_command(f.q, "query-status", NULL, on_reply, &r) > 0);
	pump(0.05);
	assert_int_equal(srv_pull(&f), -1); /* nothing before the greeting */
	srv_send(&f, GREETING);
	int caps = srv_expect(&f, "qmp_capabilities");
	assert_null(srv_recv(&f, 0.1)); /* query-status still held back */
	assert_int_equal(R.ready, 0);
	srv_sendf(&f, "{\"return\": {}, \"id\": %d}\r\n", caps);
	int id = srv_expect(&f, "query-status");
	assert_int_equal(R.ready, 1);
	int major = 0;
	assert_int_equal(json_unpack(qmp_greeting(f.q), "{s:{s:{s:i}}}", "version", "qemu", "major", &major), 0);
	assert_int_equal(major, 7);
	srv_sendf(&f, "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": %d}\r\n", id);
	pump_until(&r.calls);
	assert_string_equal(r.error, "");
	assert_string_equal(json_string_value(json_object_get(r.result, "status")), "running");
	reply_clear(&r);
	fake_close(&f);
}

static void replies_out_of_order_reach_their_commands(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	struct reply r[3] = {{0}};
	int ids[3];
	const char *names[3] = {"query-a", "query-b", "query-c"};
	for (int i = 0; i < 3; i++)
		assert_true(qmp_command(f.q, names[i], json_pack("{s:i}", "k", i), on_reply, &r[i]) > 0);
	for (int i = 0; i < 3; i++) {
		json_t *msg = srv_recv(&f, 2.0);
		assert_string_equal(json_string_value(json_object_get(msg, "execute")), names[i]);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(msg, "arguments"), "k")), i);
		ids[i] = (int)json_integer_value(json_object_get(msg, "id"));
		json_decref(msg);
	}
	const int order[3] = {2, 0, 1};
	for (int k = 0; k < 3; k++)
		srv_sendf(&f, "{\"return\": {\"who\": \"%s\"}, \"id\": %d}\r\n", names[order[k]], ids[order[k]]);
	pump_until(&r[1].calls);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_string_equal(json_string_value(json_object_get(r[i].result, "who")), names[i]);
		reply_clear(&r[i]);
	}
	fake_close(&f);
}

static void reply_split_byte_by_byte_arrives_once_complete(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	struct reply r = {0};
	qmp_command(f.q, "query-version", NULL, on_reply, &r);
	int id = srv_expect(&f, "query-version");
	char *msg = xasprintf("{\"return\": {\"qemu\": {\"major\": 7, \"minor\": 2}, \"package\": \"a\\r\\nb\"}, \"id\": %d}\r\n", id);
	for (size_t i = 0; msg[i]; i++) {
		assert_int_equal(r.calls, 0);
		assert_int_equal(send(f.srv, msg + i, 1, 0), 1);
		loop_once(0);
	}
	pump_until(&r.calls);
	assert_int_equal(r.calls, 1);
	assert_string_equal(json_string_value(json_object_get(r.result, "package")), "a\r\nb");
	free(msg);
	reply_clear(&r);
	fake_close(&f);
}

static void several_messages_in_one_write_all_arrive_in_order(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	struct reply a = {0}, b = {0};
	qmp_command(f.q, "stop", NULL, on_reply, &a);
	qmp_command(f.q, "cont", NULL, on_reply, &b);
	int ia = srv_expect(&f, "stop"), ib = srv_expect(&f, "cont");
	srv_sendf(&f, "{\"return\": {}, \"id\": %d}\r\n{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
		      "\"event\": \"STOP\"}\r\n\r\n{\"return\": {}, \"id\": %d}\r\n",
		  ia, ib);
	pump_until(&b.calls);
	assert_int_equal(a.calls, 1);
	assert_int_equal(R.events, 1);
	assert_string_equal(R.event, "STOP");
	assert_null(R.event_data);
	assert_true(a.seq < R.event_seq && R.event_seq < b.seq);
	reply_clear(&a);
	reply_clear(&b);
	fake_close(&f);
}

static void event_carries_its_name_and_data(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	srv_send(&f, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\", "
		     "\"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n");
	pump_until(&R.events);
	assert_string_equal(R.event, "SHUTDOWN");
	assert_string_equal(json_string_value(json_object_get(R.event_data, "reason")), "host-qmp-quit");
	assert_int_equal(R.closed, 0);
	fake_close(&f);
}

static void error_reply_names_command_class_and_description(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	struct reply r = {0};
	qmp_command(f.q, "query-nothing", NULL, on_reply, &r);
	int id = srv_expect(&f, "query-nothing");
	srv_sendf(&f, "{\"id\": %d, \"error\": {\"class\": \"CommandNotFound\", "
		      "\"desc\": \"The command query-nothing has not been found\"}}\r\n", id);
	pump_until(&r.calls);
	assert_null(r.result);
	assert_string_equal(r.error, "qmp query-nothing on node t: The command query-nothing has not been found "
				     "(CommandNotFound)");
	assert_true(qmp_is_ready(f.q)); /* an error reply is not a broken connection */
	reply_clear(&r);
	fake_close(&f);
}

/* Sends `garbage` with one command pending; returns after the disconnect. */
static void expect_disconnect_on(const char *garbage, const char *why)
{
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	struct reply r = {0};
	qmp_command(f.q, "query-status", NULL, on_reply, &r);
	srv_expect(&f, "query-status");
	srv_send(&f, garbage);
	pump_until(&R.closed);
	assert_int_equal(r.calls, 1);
	assert_non_null(strstr(r.error, "qmp connection to node t closed: "));
	assert_non_null(strstr(r.error, why));
	assert_string_equal(R.reason, r.error);
	assert_true(r.seq < R.closed_seq);
	assert_int_equal(qmp_command(f.q, "query-status", json_object(), on_reply, &r), -1);
	assert_false(qmp_is_ready(f.q));
	assert_int_equal(srv_pull(&f), 0); /* the client closed its end */
	pump(0.02);
	assert_int_equal(R.closed, 1);
	assert_int_equal(r.calls, 1);
	reply_clear(&r);
	fake_close(&f);
}

static void malformed_json_disconnects_and_fails_pending(void **state)
{
	(void)state;
	expect_disconnect_on("{\"return\": {}, \"id\": }\r\n", "malformed json from qemu");
	expect_disconnect_on("{\"return\": {\"a\": \"\xff\xfe\"}, \"id\": 2}\r\n", "malformed json from qemu");
	expect_disconnect_on("[1, 2]\r\n", "not a json object");
	expect_disconnect_on("{\"return\": {}, \"id\": 99}\r\n", "unknown command id");
	expect_disconnect_on("{\"return\": {}}\r\n", "without a valid id");
	expect_disconnect_on("{\"hello\": 1}\r\n", "unexpected message");
	expect_disconnect_on(GREETING, "unexpected message");
}

static void garbage_instead_of_greeting_disconnects(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	struct reply r = {0};
	qmp_command(f.q, "query-status", NULL, on_reply, &r); /* held back */
	srv_send(&f, "{\"return\": {}}\r\n");
	pump_until(&R.closed);
	assert_non_null(strstr(R.reason, "expected the qmp greeting"));
	assert_int_equal(r.calls, 1);
	assert_int_equal(R.ready, 0);
	reply_clear(&r);
	fake_close(&f);
}

static void eof_fails_every_pending_command(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	struct reply a = {0}, b = {0};
	qmp_command(f.q, "query-a", NULL, on_reply, &a);
	qmp_command(f.q, "query-b", NULL, on_reply, &b);
	srv_expect(&f, "query-a");
	srv_expect(&f, "query-b");
	close(f.srv);
	f.srv = -1;
	pump_until(&R.closed);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_string_equal(a.error, "qmp connection to node t closed");
	assert_string_equal(b.error, "qmp connection to node t closed");
	assert_string_equal(R.reason, "qmp connection to node t closed");
	assert_true(a.seq < b.seq && b.seq < R.closed_seq);
	reply_clear(&a);
	reply_clear(&b);
	fake_close(&f);
}

static void eof_mid_message_says_so(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	srv_send(&f, "{\"event\": \"ST");
	close(f.srv);
	f.srv = -1;
	pump_until(&R.closed);
	assert_string_equal(R.reason, "qmp connection to node t closed: in the middle of a message");
	assert_int_equal(R.events, 0);
	fake_close(&f);
}

static void free_inside_reply_callback_stops_all_callbacks(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	struct reply a = {.free_q = f.q}, b = {0};
	qmp_command(f.q, "query-a", NULL, on_reply, &a);
	qmp_command(f.q, "query-b", NULL, on_reply, &b);
	int ia = srv_expect(&f, "query-a"), ib = srv_expect(&f, "query-b");
	srv_sendf(&f, "{\"return\": {}, \"id\": %d}\r\n{\"return\": {}, \"id\": %d}\r\n{\"event\": \"STOP\"}\r\n", ia, ib);
	pump_until(&a.calls);
	pump(0.05);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 0);
	assert_int_equal(R.events, 0);
	assert_int_equal(R.closed, 0);
	assert_int_equal(srv_pull(&f), 0); /* socket closed by qmp_free */
	f.q = NULL;
	reply_clear(&a);
	fake_close(&f);
}

static void free_inside_closed_callback_is_safe(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	R.free_in_closed = f.q;
	close(f.srv);
	f.srv = -1;
	pump_until(&R.closed);
	pump(0.02);
	assert_int_equal(R.closed, 1);
	f.q = NULL;
	fake_close(&f);
}

static void free_with_pending_commands_calls_nothing(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	struct reply r = {0};
	qmp_command(f.q, "query-status", NULL, on_reply, &r);
	qmp_free(f.q);
	f.q = NULL;
	pump(0.05);
	assert_int_equal(r.calls, 0);
	assert_int_equal(R.closed, 0);
	fake_close(&f);
}

static void large_command_is_written_across_partial_writes(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	size_t big = 4u << 20; /* far more than a socket buffer */
	char *s = xmalloc(big + 1);
	memset(s, 'x', big);
	s[big] = '\0';
	struct reply r = {0};
	qmp_command(f.q, "human-monitor-command", json_pack("{s:s}", "command-line", s), on_reply, &r);
	json_t *msg = srv_recv(&f, 10.0);
	assert_non_null(msg);
	assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(msg, "arguments"), "command-line"))), big);
	srv_sendf(&f, "{\"return\": \"%s\", \"id\": %d}\r\n", "ok", (int)json_integer_value(json_object_get(msg, "id")));
	pump_until(&r.calls);
	assert_string_equal(json_string_value(r.result), "ok");
	json_decref(msg);
	free(s);
	reply_clear(&r);
	fake_close(&f);
}

static char *big_reply(int id, size_t payload)
{
	char *head = xasprintf("{\"id\": %d, \"return\": \"", id);
	size_t h = strlen(head), total = h + payload + 4;
	char *s = xmalloc(total + 1);
	memcpy(s, head, h);
	memset(s + h, 'y', payload);
	memcpy(s + h + payload, "\"}\r\n", 5);
	free(head);
	return s;
}

static void large_reply_is_read_across_many_reads(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	struct reply r = {0};
	qmp_command(f.q, "x-query-big", NULL, on_reply, &r);
	char *msg = big_reply(srv_expect(&f, "x-query-big"), 8u << 20);
	srv_send_big(&f, msg, strlen(msg));
	pump_until(&r.calls);
	assert_string_equal(r.error, "");
	assert_int_equal(strlen(json_string_value(r.result)), 8u << 20);
	free(msg);
	reply_clear(&r);
	fake_close(&f);
}

static void endless_message_is_cut_off_at_16_mib(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	char *msg = big_reply(1, 17u << 20);
	srv_send_big(&f, msg, strlen(msg) - 2); /* no newline */
	pump_until(&R.closed);
	assert_string_equal(R.reason, "qmp connection to node t closed: message from qemu longer than 16 MiB");
	free(msg);
	fake_close(&f);
}

/* A loop timer that plays QEMU while a sync call runs the loop. */
static void answer_pending_command(void *arg)
{
	struct fake *f = arg;
	int id = srv_expect(f, "query-status");
	srv_sendf(f, "{\"return\": {\"status\": \"paused\"}, \"id\": %d}\r\n", id);
}

static void sync_command_returns_reply_or_times_out(void **state)
{
	(void)state;
	struct fake f;
	fake_open(&f);
	fake_negotiate(&f);
	char err[CL_ERRBUF] = "";
	loop_timer(0.05, answer_pending_command, &f);
	json_t *res = qmp_command_sync(f.q, "query-status", NULL, 2.0, err);
	assert_non_null(res);
	assert_string_equal(json_string_value(json_object_get(res, "status")), "paused");
	json_decref(res);

	double t0 = now_mono();
	assert_null(qmp_command_sync(f.q, "query-status", NULL, 0.2, err));
	assert_true(now_mono() - t0 >= 0.19);
	assert_string_equal(err, "qmp query-status on node t: no reply within 0.2 s; is qemu hung?");
	int id = srv_expect(&f, "query-status");
	srv_sendf(&f, "{\"return\": {}, \"id\": %d}\r\n", id); /* late: dropped quietly */
	pump(0.05);
	assert_true(qmp_is_ready(f.q));
	assert_int_equal(R.closed, 0);

	close(f.srv);
	f.srv = -1;
	pump_until(&R.closed);
	assert_null(qmp_command_sync(f.q, "query-status", NULL, 1.0, err));
	assert_string_equal(err, "qmp query-status on node t: the connection is closed");
	fake_close(&f);
}

/* ---- qmp_listen ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/caplab-qmp-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static void listen_socket_is_private_and_replaces_a_stale_one(void **state)
{
	(void)state;
	char err[CL_ERRBUF] = "";
	make_tmpdir();
	char *path = xasprintf("%s/a.qmp", tmpdir);
	int l1 = qmp_listen(path, err);
	assert_true(l1 >= 0);
	close(l1); /* leaves a stale socket file behind */
	int l2 = qmp_listen(path, err);
	assert_true(l2 >= 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
	int a = accept(l2, NULL, NULL);
	assert_true(a >= 0);
	close(a);
	close(c);
	close(l2);

	unlink(path);
	assert_int_equal(write_file(path, "keep", 4, 0600, err), 0);
	assert_int_equal(qmp_listen(path, err), -1);
	assert_non_null(strstr(err, "exists and is not a socket"));
	unlink(path);
	free(path);

	char longp[200];
	memset(longp, 'a', sizeof longp - 1);
	longp[0] = '/';
	longp[sizeof longp - 1] = '\0';
	assert_int_equal(qmp_listen(longp, err), -1);
	assert_non_null(strstr(err, "is too long"));
	rm_rf(tmpdir);
}

/* ---- a real QEMU ---- */

struct real {
	int lfd;
	struct qmp *q;
	int exited, status;
	struct reply quit;
};

static void on_accept(int fd, int events, void *arg)
{
	(void)events;
	struct real *r = arg;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	loop_unwatch(fd);
	r->q = qmp_attach(c, &cbs, &R);
	qmp_set_name(r->q, "node q");
}

static void on_qemu_exit(struct proc *p, int status, void *arg)
{
	(void)p;
	struct real *r = arg;
	r->status = status;
	r->exited = 1;
}

static int have_program(const char *name)
{
	char *argv[] = {(char *)name, "--version", NULL};
	char err[CL_ERRBUF];
	char *out = NULL;
	int rc = proc_run_capture(argv, &out, 10, err);
	free(out);
	return rc == 0;
}

static void real_qemu_answers_status_version_and_quits(void **state)
{
	(void)state;
	if (!have_program("qemu-system-x86_64"))
		skip(); /* qemu-system-x86 not installed: run make deps */
	json_decref(R.event_data);
	memset(&R, 0, sizeof R);
	char err[CL_ERRBUF] = "";
	make_tmpdir();
	char *path = xasprintf("%s/q.qmp", tmpdir);
	char *chardev = xasprintf("socket,id=qmp,path=%s,server=off", path);
	struct real r = {.lfd = qmp_listen(path, err)};
	assert_true(r.lfd >= 0);
	loop_watch(r.lfd, LOOP_READ, on_accept, &r);
	char *argv[] = {"qemu-system-x86_64", "-M", "none", "-nodefaults", "-nographic", "-chardev", chardev,
			"-mon", "chardev=qmp,mode=control", NULL};
	double t0 = now_mono();
	struct proc *p = proc_start("qemu q", argv, NULL, on_qemu_exit, &r, err);
	assert_non_null(p);
	pid_t pid = proc_pid(p);
	assert_int_equal(loop_run_until(&R.ready, now_mono() + 20), 0);
	printf("# qemu started and qmp negotiated in %.3f s\n", now_mono() - t0);

	json_t *st = qmp_command_sync(r.q, "query-status", NULL, 5, err);
	assert_non_null(st);
	assert_true(json_is_string(json_object_get(st, "status")));
	printf("# query-status: %s\n", json_string_value(json_object_get(st, "status")));
	json_decref(st);
	json_t *ver = qmp_command_sync(r.q, "query-version", NULL, 5, err);
	assert_non_null(ver);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ver, "qemu"), "major")), 7);
	json_decref(ver);
	assert_null(qmp_command_sync(r.q, "no-such-command", NULL, 5, err));
	assert_non_null(strstr(err, "(CommandNotFound)"));

	qmp_command(r.q, "quit", NULL, on_reply, &r.quit);
	assert_int_equal(loop_run_until(&R.closed, now_mono() + 10), 0);
	assert_int_equal(r.quit.calls, 1);
	assert_string_equal(r.quit.error, "");
	assert_string_equal(R.event, "SHUTDOWN");
	assert_string_equal(R.reason, "qmp connection to node q closed");
	assert_int_equal(loop_run_until(&r.exited, now_mono() + 10), 0);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_int_equal(kill(pid, 0), -1); /* reaped: the pid is gone */
	assert_int_equal(errno, ESRCH);

	qmp_free(r.q);
	reply_clear(&r.quit);
	json_decref(R.event_data);
	R.event_data = NULL;
	close(r.lfd);
	free(chardev);
	free(path);
	rm_rf(tmpdir);
	proc_kill_all(1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commands_wait_for_capability_negotiation),
		cmocka_unit_test(replies_out_of_order_reach_their_commands),
		cmocka_unit_test(reply_split_byte_by_byte_arrives_once_complete),
		cmocka_unit_test(several_messages_in_one_write_all_arrive_in_order),
		cmocka_unit_test(event_carries_its_name_and_data),
		cmocka_unit_test(error_reply_names_command_class_and_description),
		cmocka_unit_test(malformed_json_disconnects_and_fails_pending),
		cmocka_unit_test(garbage_instead_of_greeting_disconnects),
		cmocka_unit_test(eof_fails_every_pending_command),
		cmocka_unit_test(eof_mid_message_says_so),
		cmocka_unit_test(free_inside_reply_callback_stops_all_callbacks),
		cmocka_unit_test(free_inside_closed_callback_is_safe),
		cmocka_unit_test(free_with_pending_commands_calls_nothing),
		cmocka_unit_test(large_command_is_written_across_partial_writes),
		cmocka_unit_test(large_reply_is_read_across_many_reads),
		cmocka_unit_test(endless_message_is_cut_off_at_16_mib),
		cmocka_unit_test(sync_command_returns_reply_or_times_out),
		cmocka_unit_test(listen_socket_is_private_and_replaces_a_stale_one),
		cmocka_unit_test(real_qemu_answers_status_version_and_quits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
