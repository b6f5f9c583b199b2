/* Event loop and child supervision: timers fire in order, fds wake the loop,
 * children are reaped with their status and never outlive proc_kill_all. */
#include "unit.h"
#include "loop.h"
#include "proc.h"
#include "util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char order[16];
static int norder;
static void mark(void *arg) { order[norder++] = *(const char *)arg; }

static void timers_fire_in_deadline_order(void **state)
{
	(void)state;
	norder = 0;
	static const char a = 'a', b = 'b', c = 'c';
	loop_timer(0.03, mark, (void *)&c);
	loop_timer(0.01, mark, (void *)&a);
	uint64_t id = loop_timer(0.02, mark, (void *)&b);
	loop_cancel(id);
	loop_defer(mark, (void *)&b);
	double end = now_mono() + 0.2;
	while (norder < 3 && now_mono() < end)
		loop_once(0.05);
	assert_int_equal(norder, 3);
	assert_memory_equal(order, "bac", 3);
}

static int readable;
static void on_read(int fd, int ev, void *arg)
{
	(void)arg;
	char c;
	assert_true(ev & LOOP_READ);
	assert_int_equal(read(fd, &c, 1), 1);
	readable = c;
}

static void fd_watch_wakes_the_loop(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	loop_watch(p[0], LOOP_READ, on_read, NULL);
	assert_int_equal(write(p[1], "x", 1), 1);
	loop_once(1.0);
	assert_int_equal(readable, 'x');
	loop_unwatch(p[0]);
	close(p[0]);
	close(p[1]);
}

static int exit_status = -1, exited;
static void on_exit_cb(struct proc *p, int status, void *arg)
{
	(void)p;
	(void)arg;
	exit_status = status;
	exited = 1;
}

static void child_exit_status_is_reported(void **state)
{
	(void)state;
	char err[CL_ERRBUF];
	char *argv[] = {"sh", "-c", "exit 3", NULL};
	exited = 0;
	struct proc *p = proc_start("test sh", argv, NULL, on_exit_cb, NULL, err);
	assert_non_null(p);
	assert_int_equal(loop_run_until(&exited, now_mono() + 5), 0);
	assert_true(WIFEXITED(exit_status));
	assert_int_equal(WEXITSTATUS(exit_status), 3);
	assert_int_equal(proc_count(), 0);
}

static void missing_program_is_an_error(void **state)
{
	(void)state;
	char err[CL_ERRBUF] = "";
	char *argv[] = {"caplab-no-such-program", NULL};
	assert_null(proc_start("ghost", argv, NULL, NULL, NULL, err));
	assert_non_null(strstr(err, "cannot run 'caplab-no-such-program' for ghost"));
}

static void kill_all_leaves_no_child(void **state)
{
	(void)state;
	char err[CL_ERRBUF];
	char *argv[] = {"sleep", "100", NULL};
	struct proc *p1 = proc_start("sleeper", argv, NULL, NULL, NULL, err);
	struct proc *p2 = proc_start("sleeper", argv, NULL, NULL, NULL, err);
	assert_non_null(p1);
	assert_non_null(p2);
	pid_t pids[2] = {proc_pid(p1), proc_pid(p2)};
	assert_int_equal(proc_count(), 2);
	proc_kill_all(1.0);
	assert_int_equal(proc_count(), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(kill(pids[i], 0), -1);
}

static void run_capture_collects_stdout(void **state)
{
	(void)state;
	char err[CL_ERRBUF];
	char *out = NULL;
	char *argv[] = {"printf", "%s", "hello", NULL};
	assert_int_equal(proc_run_capture(argv, &out, 5, err), 0);
	assert_string_equal(out, "hello");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_deadline_order),
		cmocka_unit_test(fd_watch_wakes_the_loop),
		cmocka_unit_test(child_exit_status_is_reported),
		cmocka_unit_test(missing_program_is_an_error),
		cmocka_unit_test(kill_all_leaves_no_child),
		cmocka_unit_test(run_capture_collects_stdout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
