/* bench_ssh.c: figures for the SSH client (core/ssh.c).
 *
 *   bench_ssh                      against Debian's sshd -i on a socketpair
 *                                  (tests/lib/sshd_fixture.h): the client's
 *                                  own cost, no VM
 *   bench_ssh vsock HOST_PATH RUNDIR   against a running node: its vsock
 *                                  socket and the lab's RUNDIR (keys/)
 *
 * Prints "# name: value" lines: connect+auth, first exec on a ready
 * connection, repeated exec round trip (median of 50), copy throughput both
 * ways (50 MiB), and the CPU caplab burns while an exec merely waits (a
 * busy loop would show here). */
#include "../lib/sshd_fixture.h"

#include <stdlib.h>
#include <sys/resource.h>

#define ROUNDS 50
#define CONNECTS 10
#define COPY_BYTES (50u << 20)

static const char *vsock_path;
static struct lab_keys *keys;

struct ev {
	int n, status;
	char msg[CL_ERRBUF];
};

static void on_state(struct sshc *c, enum sshc_state st, const char *msg, void *arg)
{
	(void)c;
	struct ev *e = arg;
	e->n++;
	e->status = st;
	snprintf(e->msg, sizeof e->msg, "%s", msg ? msg : "");
}

static void on_done(int status, const char *err, void *arg)
{
	struct ev *e = arg;
	e->n++;
	e->status = status;
	snprintf(e->msg, sizeof e->msg, "%s", err ? err : "");
}

static void on_copied(const char *err, uint64_t bytes, void *arg)
{
	(void)bytes;
	on_done(err ? -1 : 0, err, arg);
}

static void wait_ev(struct ev *e, double seconds)
{
	loop_run_until(&e->n, now_mono() + seconds);
	if (!e->n) {
		fprintf(stderr, "bench_ssh: timed out\n");
		exit(1);
	}
}

static struct sshc *connect_node(struct ev *e)
{
	if (vsock_path)
		return sshc_new(SSHFIX_NODE, vsock_path, keys, on_state, e);
	struct sshc_opts o = sshfix_opts(keys);
	return sshc_open(&o, on_state, e);
}

/* Seconds for one exec of argv, or exit on failure. */
static double exec_once(struct sshc *c, char *const argv[])
{
	char err[CL_ERRBUF];
	struct ev e = {0};
	double t0 = now_mono();
	if (!sshc_exec(c, argv, 60, NULL, on_done, &e, err)) {
		fprintf(stderr, "bench_ssh: %s\n", err);
		exit(1);
	}
	wait_ev(&e, 60);
	if (e.status != 0) {
		fprintf(stderr, "bench_ssh: exec failed: %d %s\n", e.status, e.msg);
		exit(1);
	}
	return now_mono() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

static void bench_connect(void)
{
	double conn[CONNECTS], first[CONNECTS];
	char *t[] = {"true", NULL};
	for (int i = 0; i < CONNECTS; i++) {
		struct ev e = {0};
		double t0 = now_mono();
		struct sshc *c = connect_node(&e);
		wait_ev(&e, 30);
		if (e.status != SSHC_READY) {
			fprintf(stderr, "bench_ssh: %s\n", e.msg);
			exit(1);
		}
		conn[i] = now_mono() - t0;
		first[i] = exec_once(c, t);
		sshc_free(c);
	}
	printf("# ssh connect+auth (median of %d): %.1f ms\n", CONNECTS, 1000 * median(conn, CONNECTS));
	printf("# first exec on a ready node (median of %d): %.2f ms\n", CONNECTS, 1000 * median(first, CONNECTS));
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void bench_exec(struct sshc *c)
{
	double rt[ROUNDS];
	char *t[] = {"true", NULL}, *sl[] = {"sleep", "1", NULL};
	for (int i = 0; i < ROUNDS; i++)
		rt[i] = exec_once(c, t);
	printf("# repeated exec round trip (median of %d): %.2f ms\n", ROUNDS, 1000 * median(rt, ROUNDS));
	double cpu0 = cpu_seconds();
	exec_once(c, sl);
	printf("# caplab cpu while a 1 s exec waits: %.1f ms\n", 1000 * (cpu_seconds() - cpu0));
}

static void copy_one(struct sshc *c, int up, const char *src, const char *dst)
{
	char err[CL_ERRBUF];
	struct ev e = {0};
	double t0 = now_mono();
	struct sshc_copy *cp = up ? sshc_copy_to(c, src, dst, on_copied, &e, err)
				  : sshc_copy_from(c, src, dst, on_copied, &e, err);
	if (!cp) {
		fprintf(stderr, "bench_ssh: %s\n", err);
		exit(1);
	}
	wait_ev(&e, 300);
	if (e.status != 0) {
		fprintf(stderr, "bench_ssh: %s\n", e.msg);
		exit(1);
	}
	double s = now_mono() - t0;
	printf("# copy %s, 50 MiB: %.0f MB/s (%.2f s)\n", up ? "to node" : "from node", COPY_BYTES / s / 1e6, s);
}

static void bench_copy(struct sshc *c, const char *dir)
{
	char *src = xasprintf("%s/bench.src", dir), *back = xasprintf("%s/bench.back", dir);
	const char *remote = "/tmp/caplab-bench-copy";
	char *buf = xmalloc(COPY_BYTES);
	for (size_t i = 0; i < COPY_BYTES; i++)
		buf[i] = (char)(i * 2654435761u >> 13);
	char err[CL_ERRBUF];
	if (write_file(src, buf, COPY_BYTES, 0644, err) < 0) {
		fprintf(stderr, "bench_ssh: %s\n", err);
		exit(1);
	}
	free(buf);
	copy_one(c, 1, src, remote);
	copy_one(c, 0, remote, back);
	char *rm[] = {"rm", "-f", (char *)remote, NULL};
	exec_once(c, rm);
	unlink(src);
	unlink(back);
	free(src);
	free(back);
}

int main(int argc, char **argv)
{
	char err[CL_ERRBUF];
	char tmp[] = "/tmp/caplab-bench-ssh.XXXXXX";
	if (argc == 4 && !strcmp(argv[1], "vsock")) {
		vsock_path = argv[2];
		keys = keys_load(argv[3], err);
	} else if (argc == 1) {
		if (get_sshd(err) < 0) {
			printf("# skip: cannot get Debian's openssh-server: %s\n", err);
			return 0;
		}
		keys = sshfix_init(err) == 0 ? SF.keys : NULL;
		printf("# transport: sshd -i on a socketpair (no VM; client and sshd costs only)\n");
	} else {
		fprintf(stderr, "usage: bench_ssh [vsock HOST_PATH RUNDIR]\n");
		return 2;
	}
	if (!keys || !mkdtemp(tmp)) {
		fprintf(stderr, "bench_ssh: %s\n", keys ? "cannot create a temporary directory" : err);
		return 1;
	}
	bench_connect();
	struct ev e = {0};
	struct sshc *c = connect_node(&e);
	wait_ev(&e, 30);
	bench_exec(c);
	bench_copy(c, tmp);
	sshc_free(c);
	rm_rf(tmp);
	if (vsock_path)
		keys_free(keys);
	else
		sshfix_cleanup();
	loop_reset();
	return 0;
}
