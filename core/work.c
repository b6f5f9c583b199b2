/* work.c: one thread per job (jobs are few and long: builds, probes); a
 * pipe wakes the loop when one finishes. Threads never fork children that
 * must outlive them, so PR_SET_PDEATHSIG (tied to the forking thread) holds. */
#include "work.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

struct job {
	work_fn fn;
	work_done_fn done;
	void *arg;
};

static int wake[2] = {-1, -1};
static int pending;

static void on_wake(int fd, int ev, void *arg)
{
	(void)ev;
	(void)arg;
	struct job *j;
	while (read(fd, &j, sizeof j) == (ssize_t)sizeof j) {
		pending--;
		j->done(j->arg);
		free(j);
	}
}

static void *run(void *p)
{
	struct job *j = p;
	j->fn(j->arg);
	ssize_t w;
	do
		w = write(wake[1], &j, sizeof j);
	while (w < 0 && errno == EINTR);
	return NULL;
}

int work_submit(work_fn fn, work_done_fn done, void *arg, char *err)
{
	if (wake[0] < 0) {
		if (pipe2(wake, O_CLOEXEC) < 0)
			return cl_err(err, "cannot create a pipe: %s", strerror(errno));
		fcntl(wake[0], F_SETFL, O_NONBLOCK);
	}
	loop_watch(wake[0], LOOP_READ, on_wake, NULL);
	struct job *j = xmalloc(sizeof *j);
	*j = (struct job){fn, done, arg};
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &at, run, j);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		free(j);
		return cl_err(err, "cannot start a worker thread: %s", strerror(rc));
	}
	pending++;
	return 0;
}

int work_pending(void) { return pending; }
