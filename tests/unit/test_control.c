/* The control socket without nodes: replies one per command and in order,
 * parse errors with <control>:1:COL, several clients side by side, a client
 * that hangs up mid-command, commands not started when the lab stops. */
#include "unit.h"
#include "control.h"
#include "engine.h"
#include "events.h"
#include "lab.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static struct engine *E;
static char *tmp;

static int setup(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/caplab-test-control.XXXXXX";
	tmp = xstrdup(mkdtemp(tmpl));
	char *run = xasprintf("%s/run", tmp), *cache = xasprintf("%s/cache", tmp);
	mkdir(run, 0700);
	setenv("XDG_RUNTIME_DIR", run, 1);
	setenv("XDG_CACHE_HOME", cache, 1);
	free(run);
	free(cache);
	char err[CL_ERRBUF];
	struct engine_opts o = {.lab_name = "ctltest"};
	E = engine_new(&o, err);
	if (!E)
		fprintf(stderr, "engine_new: %s\n", err);
	return E ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	engine_free(E);
	rm_rf(tmp);
	free(tmp);
	loop_reset();
	return 0;
}

static int client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/" CONTROL_SOCKET, engine_rundir(E));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

static void say(int fd, const char *text, int half_close)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
	if (half_close)
		shutdown(fd, SHUT_WR);
}

/* Runs the loop until the lab hangs up on fd; everything it sent. */
static char *replies(int fd, double timeout)
{
	struct buf b = {0};
	double end = now_mono() + timeout;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (now_mono() < end) {
		loop_once(0.01);
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n == 0)
			break;
		if (n > 0)
			buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	buf_add(&b, "", 0);
	return b.data;
}

static void socket_is_private(void **state)
{
	(void)state;
	char *path = xasprintf("%s/" CONTROL_SOCKET, engine_rundir(E));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	free(path);
}

static void one_reply_per_command_in_order(void **state)
{
	(void)state;
	int fd = client();
	say(fd, "node x\n\n# a comment\nfrobnicate\nnode y; switch s\nnode x\nsleep 0.05", 1);
	char *r = replies(fd, 5);
	assert_string_equal(r, "ok\nok\nok\nerror <control>:1:1: unknown command 'frobnicate'\nok\nok\n"
			       "error <control>:1:6: node 'x' is already defined\nok\n");
	free(r);
	assert_non_null(lab_node(engine_lab(E), "y"));
}

static void clients_run_side_by_side(void **state)
{
	(void)state;
	int a = client(), b = client();
	double t0 = now_mono();
	say(a, "sleep 0.3\n", 1);
	say(b, "sleep 0.3\n", 1);
	char *ra = replies(a, 5), *rb = replies(b, 5);
	assert_string_equal(ra, "ok\n");
	assert_string_equal(rb, "ok\n");
	assert_true(now_mono() - t0 < 0.55);
	free(ra);
	free(rb);
}

static void messages_while_a_command_runs(void **state)
{
	(void)state;
	int fd = client();
	say(fd, "sleep 0.2\n", 1);
	double end = now_mono() + 0.1;
	while (now_mono() < end)
		loop_once(0.01);
	events_message("two\nlines");
	events_error("broken");
	char *r = replies(fd, 5);
	assert_string_equal(r, "msg two\nmsg lines\nwarn broken\nok\n");
	free(r);
}

/* Hung up at once: the commands it sent still run, nothing breaks. */
static void client_gone_mid_command(void **state)
{
	(void)state;
	int fd = client();
	say(fd, "sleep 0.1\nnode late\n", 0);
	close(fd);
	double end = now_mono() + 0.4;
	while (now_mono() < end)
		loop_once(0.01);
	assert_non_null(lab_node(engine_lab(E), "late"));
	int again = client();
	say(again, "node later\n", 1);
	char *r = replies(again, 5);
	assert_string_equal(r, "ok\n");
	free(r);
}

static int shut;
static void on_shut(void *arg) { (void)arg; shut = 1; }

/* Last: the lab stops while a command runs and one waits. */
static void stop_answers_what_it_will_not_run(void **state)
{
	(void)state;
	int fd = client();
	say(fd, "sleep 0.2\nnode never\n", 1);
	double end = now_mono() + 0.05;
	while (now_mono() < end)
		loop_once(0.01);
	engine_shutdown(E, on_shut, NULL);
	char *r = replies(fd, 5);
	assert_string_equal(r, "ok\nerror the lab is shutting down: command not run\n");
	free(r);
	assert_null(lab_node(engine_lab(E), "never"));
	char *path = xasprintf("%s/" CONTROL_SOCKET, engine_rundir(E));
	assert_int_equal(access(path, F_OK), -1);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(socket_is_private),
		cmocka_unit_test(one_reply_per_command_in_order),
		cmocka_unit_test(clients_run_side_by_side),
		cmocka_unit_test(messages_while_a_command_runs),
		cmocka_unit_test(client_gone_mid_command),
		cmocka_unit_test(stop_answers_what_it_will_not_run),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
