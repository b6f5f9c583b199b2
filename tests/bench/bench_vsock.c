/* bench_vsock.c: drives the vsock backend against a real guest.
 *
 *   bench_vsock serve VHOST_PATH HOST_PATH CID   run a backend until SIGTERM
 *   bench_vsock check HOST_PATH [TEST...]        host-side checks + figures
 *
 * tests/integration/vsock_guest.sh builds the guest (socat services on ports
 * 1234 echo, 1235 sha256sum, 1236 100 MiB / 1239 16 MiB of zeros, 1243 a dd
 * sink answering "done", 1237 relay to host port 5000), starts `serve`, boots
 * QEMU and runs `check`. The checking side is a
 * separate process with plain blocking sockets, like any host program. Lines
 * are TAP-like: "ok - what" / "not ok - what"; figures as "# name: value". */
#include "loop.h"
#include "util.h"
#include "vsock.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MiB (1024.0 * 1024.0)

static const char *host_path;
static int failures;

static void report(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
	fflush(stdout);
	failures += !ok;
}

/* ---- serve ---- */

static int stop_serving;
static void on_stop(int signo, void *arg)
{
	(void)signo;
	(void)arg;
	stop_serving = 1;
}

static int serve(const char *vhost, const char *host, const char *cid)
{
	char err[CL_ERRBUF];
	struct vsock_dev *d = vsock_dev_new(vhost, host, (uint32_t)atoi(cid), err);
	if (!d) {
		fprintf(stderr, "bench_vsock: %s\n", err);
		return 1;
	}
	loop_on_signal(SIGTERM, on_stop, NULL);
	loop_on_signal(SIGINT, on_stop, NULL);
	loop_run_until(&stop_serving, 0);
	struct vsock_stats st;
	vsock_dev_stats(d, &st);
	fprintf(stderr, "bench_vsock: served %llu bytes to guest, %llu to host, %llu bad packets%s%s\n",
		(unsigned long long)st.to_guest, (unsigned long long)st.to_host,
		(unsigned long long)st.bad_packets, st.last_error[0] ? ", last error: " : "", st.last_error);
	vsock_dev_free(d);
	loop_reset();
	return 0;
}

/* ---- blocking host-side helpers ---- */

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	struct timeval tv = {20, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Reads one line byte by byte (so no stream byte after it is taken). */
static int read_line(int fd, char *line, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		if (read(fd, line + n, 1) != 1)
			return -1;
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	return (int)n;
}

/* One hybrid-vsock attempt: fd, or -1 when the backend closed (refused). */
static int vsock_open_once(uint32_t port)
{
	int fd = unix_connect(host_path);
	if (fd < 0)
		return -1;
	char line[64];
	dprintf(fd, "CONNECT %u\n", port);
	if (read_line(fd, line, sizeof line) < 0 || strncmp(line, "OK ", 3) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int vsock_open(uint32_t port)
{
	for (double end = now_mono() + 10; now_mono() < end; usleep(50000)) {
		int fd = vsock_open_once(port);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

static int write_all(int fd, const void *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t k = write(fd, (const char *)p + done, n - done);
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

static ssize_t read_all(int fd, void *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = read(fd, (char *)p + done, n - done);
		if (k <= 0)
			return k < 0 && !done ? -1 : (ssize_t)done;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

/* Bytes until EOF (or -1 on error/timeout). */
static long long drain(int fd)
{
	static char buf[1 << 16];
	long long total = 0;
	for (;;) {
		ssize_t k = read(fd, buf, sizeof buf);
		if (k == 0)
			return total;
		if (k < 0)
			return -1;
		total += k;
	}
}

static void fill_random(unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/* ---- checks ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void check_echo(void)
{
	int fd = vsock_open(1234);
	report(fd >= 0, "host connects to a guest port (CONNECT/OK)");
	if (fd < 0)
		return;
	enum { N = 200 };
	double rtt[N];
	char msg[64], back[64];
	int good = 1;
	for (int i = 0; i < N && good; i++) {
		memset(msg, 'a' + i % 26, sizeof msg);
		double t = now_mono();
		good = write_all(fd, msg, sizeof msg) == 0 && read_all(fd, back, sizeof back) == sizeof back &&
		       memcmp(msg, back, sizeof msg) == 0;
		rtt[i] = (now_mono() - t) * 1000;
	}
	report(good, "200 echo round trips come back unchanged");
	if (good) {
		qsort(rtt, N, sizeof *rtt, cmp_double);
		printf("# echo rtt ms: median %.3f p90 %.3f\n", rtt[N / 2], rtt[N * 9 / 10]);
	}
	close(fd);
}

/* Full duplex through the guest's cat: both credit directions at once. */
static void check_echo_bulk(void)
{
	size_t n = 20u << 20;
	unsigned char *out = xmalloc(n), *in = xmalloc(n);
	fill_random(out, n, 7);
	int fd = vsock_open(1234);
	size_t sent = 0, got = 0;
	while (fd >= 0 && got < n) {
		struct pollfd p = {fd, (short)(POLLIN | (sent < n ? POLLOUT : 0)), 0};
		if (poll(&p, 1, 20000) <= 0)
			break;
		if ((p.revents & POLLOUT) && sent < n) {
			ssize_t k = send(fd, out + sent, n - sent > 65536 ? 65536 : n - sent, MSG_DONTWAIT);
			sent += k > 0 ? (size_t)k : 0;
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t k = recv(fd, in + got, n - got, MSG_DONTWAIT);
			if (k == 0)
				break;
			got += k > 0 ? (size_t)k : 0;
		}
	}
	report(got == n && memcmp(in, out, n) == 0, "20 MiB echoed full duplex arrive intact");
	if (fd >= 0)
		close(fd);
	free(out);
	free(in);
}

static void check_to_guest(void)
{
	size_t n = 16u << 20;
	unsigned char *data = xmalloc(n);
	fill_random(data, n, 42);
	char want[65], line[128] = "";
	sha256_hex(data, n, want);
	int fd = vsock_open(1235);
	int ok = fd >= 0 && write_all(fd, data, n) == 0;
	if (ok) {
		shutdown(fd, SHUT_WR); /* guest's sha256sum sees EOF via SHUTDOWN */
		ok = read_line(fd, line, sizeof line) > 64 && strncmp(line, want, 64) == 0;
	}
	report(ok, "16 MiB host->guest arrive intact (guest sha256sum matches)");
	if (fd >= 0)
		close(fd);

	/* Throughput into a guest dd (sha256sum under TCG would be the limit). */
	fd = vsock_open(1243);
	double t = now_mono();
	ok = fd >= 0;
	for (int i = 0; i < 4 && ok; i++)
		ok = write_all(fd, data, n) == 0;
	if (ok) {
		shutdown(fd, SHUT_WR);
		ok = read_line(fd, line, sizeof line) > 0 && strcmp(line, "done\n") == 0;
	}
	double secs = now_mono() - t;
	report(ok, "64 MiB host->guest reach a reader in the guest, then EOF");
	if (ok)
		printf("# host->guest MiB/s: %.1f\n", 4 * n / MiB / secs);
	if (fd >= 0)
		close(fd);
	free(data);
}

static void check_to_host(void)
{
	int fd = vsock_open(1236);
	double t = now_mono();
	long long got = fd >= 0 ? drain(fd) : -1;
	double secs = now_mono() - t;
	report(got == 100ll << 20, "100 MiB guest->host arrive, then EOF");
	if (got > 0)
		printf("# guest->host MiB/s: %.1f\n", got / MiB / secs);
	if (fd >= 0)
		close(fd);
}

static void check_paused_reader(void)
{
	int fd = vsock_open(1236);
	sleep(2); /* the guest fills its credit, then must wait for us */
	long long got = fd >= 0 ? drain(fd) : -1;
	report(got == 100ll << 20, "a reader paused 2 s still gets all 100 MiB (credit back-pressure)");
	if (fd >= 0)
		close(fd);
}

static void check_parallel(void)
{
	enum { N = 8 };
	int fds[N];
	long long got[N] = {0};
	static char buf[1 << 16];
	int open = 0;
	for (int i = 0; i < N; i++)
		open += (fds[i] = vsock_open(1239)) >= 0;
	while (open == N) {
		struct pollfd p[N];
		int live = 0;
		for (int i = 0; i < N; i++) {
			p[i] = (struct pollfd){fds[i], POLLIN, 0};
			live += fds[i] >= 0;
		}
		if (!live || poll(p, N, 20000) <= 0)
			break;
		for (int i = 0; i < N; i++) {
			if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			ssize_t k = read(fds[i], buf, sizeof buf);
			if (k <= 0) {
				close(fds[i]);
				fds[i] = -1;
			} else {
				got[i] += k;
			}
		}
	}
	int ok = open == N;
	for (int i = 0; i < N; i++)
		ok &= got[i] == 16ll << 20;
	report(ok, "8 parallel guest->host streams each get 16 MiB");
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Guest port 1237 relays to CID 2 port 5000, i.e. our socket host_path_5000. */
static void check_guest_connects(void)
{
	char *path = xasprintf("%s_5000", host_path);
	int lfd = listen_at(path);
	int fd = vsock_open(1237);
	char line[64] = "";
	int ok = fd >= 0 && write_all(fd, "hello\n", 6) == 0;
	struct pollfd p = {lfd, POLLIN, 0};
	int afd = ok && poll(&p, 1, 10000) == 1 ? accept(lfd, NULL, NULL) : -1;
	ok = afd >= 0 && read_line(afd, line, sizeof line) == 6 && strcmp(line, "hello\n") == 0 &&
	     write_all(afd, "world\n", 6) == 0 && read_line(fd, line, sizeof line) == 6 &&
	     strcmp(line, "world\n") == 0;
	report(ok, "guest connects to host port 5000 (host_path_5000) both ways");
	if (afd >= 0)
		close(afd);
	if (fd >= 0)
		close(fd);
	close(lfd);
	unlink(path);

	/* Nobody listens now: the guest gets RST at once, so its socat quits
	 * and we see EOF quickly (not after the guest's 8 s close timeout). */
	fd = vsock_open(1237);
	double t = now_mono();
	ok = fd >= 0 && drain(fd) == 0 && now_mono() - t < 3;
	report(ok, "guest connecting to a host port nobody serves is refused at once");
	if (fd >= 0)
		close(fd);
	free(path);
}

static void check_refused(void)
{
	double t = now_mono();
	int fd = vsock_open_once(4321);
	report(fd < 0 && now_mono() - t < 2, "a guest port without listener closes the host socket");
	if (fd >= 0)
		close(fd);
}

static const struct {
	const char *name;
	void (*fn)(void);
} checks[] = {
	{"echo", check_echo},         {"bulk", check_echo_bulk},
	{"to-guest", check_to_guest}, {"to-host", check_to_host},
	{"paused", check_paused_reader}, {"parallel", check_parallel},
	{"guest-connect", check_guest_connects}, {"refused", check_refused},
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "poke") == 0) {
		host_path = argv[2];
		int fd = vsock_open((uint32_t)atoi(argv[3]));
		long long n = fd >= 0 ? drain(fd) : -1;
		return n < 0;
	}
	if (argc < 3 || strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "usage: bench_vsock serve VHOST_PATH HOST_PATH CID\n"
				"       bench_vsock check HOST_PATH [TEST...]\n"
				"       bench_vsock poke HOST_PATH PORT   (connect, read to EOF)\n");
		return 2;
	}
	host_path = argv[2];
	for (size_t i = 0; i < ARRAY_LEN(checks); i++) {
		int want = argc == 3;
		for (int k = 3; k < argc; k++)
			want |= strcmp(argv[k], checks[i].name) == 0;
		if (want)
			checks[i].fn();
	}
	return failures ? 1 : 0;
}
