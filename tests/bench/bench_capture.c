/* bench_capture.c: capture on real guests without the engine. Boots two
 * QEMU guests joined by a socket netdev, attaches filter-mirror captures
 * over QMP with capture.c, pings and pushes a bulk TCP stream through the
 * captured link, and prints: frames captured vs the guest's own interface
 * counters, drops, capture rate, and the time to save the export.
 * Needs a guest kernel and an initramfs whose /init brings eth0 up with
 * $capip and then runs a shell on ttyS0 (CAPTURE_BENCH_KERNEL/_INITRD). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture.h"
#include "export.h"
#include "loop.h"
#include "pcapng.h"
#include "proc.h"
#include "qmp.h"
#include "util.h"

struct guest {
	const char *name;
	struct proc *p;
	int in_fd, out_fd, qmp_listen;
	struct qmp *qmp;
	struct buf console;
	int ready;
};

static char dir[64];
static struct guest g[2] = {{.name = "a"}, {.name = "b"}};

static void on_console(int fd, int ev, void *arg)
{
	(void)ev;
	struct guest *x = arg;
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof tmp);
	if (n > 0)
		buf_add(&x->console, tmp, (size_t)n);
	else
		loop_unwatch(fd);
}

static void on_qmp_ready(struct qmp *q, void *arg)
{
	(void)q;
	((struct guest *)arg)->ready = 1;
}

static void on_qmp_conn(int fd, int ev, void *arg)
{
	(void)ev;
	struct guest *x = arg;
	int s = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return;
	loop_unwatch(fd);
	struct qmp_callbacks cb = {.ready = on_qmp_ready};
	x->qmp = qmp_attach(s, &cb, x);
	qmp_set_name(x->qmp, x->name);
}

static int boot(struct guest *x, const char *kernel, const char *initrd, int idx, char *err)
{
	char *qpath = xasprintf("%s/%s.qmp", dir, x->name);
	x->qmp_listen = qmp_listen(qpath, err);
	if (x->qmp_listen < 0)
		return -1;
	loop_watch(x->qmp_listen, LOOP_READ, on_qmp_conn, x);
	char *append = xasprintf("console=ttyS0 tsc_early_khz=2600000 quiet panic=-1 capip=10.0.9.%d/24",
				 idx + 1);
	char *net = xasprintf("socket,id=net-eth0,%s=127.0.0.1:%d", idx ? "connect" : "listen",
			      40000 + getpid() % 20000);
	char *dev = xasprintf("virtio-net-device,netdev=net-eth0,mac=52:54:00:00:09:%02d", idx + 1);
	char *chr = xasprintf("socket,id=qmp,path=%s,server=off", qpath);
	char *argv[] = {"qemu-system-x86_64", "-M",
			"microvm,x-option-roms=off,isa-serial=on,rtc=on,pit=on,pic=on", "-accel",
			"tcg", "-m", "256", "-nodefaults", "-no-user-config", "-nographic", "-serial",
			"stdio", "-kernel", (char *)kernel, "-initrd", (char *)initrd, "-append", append,
			"-no-reboot", "-netdev", net, "-device", dev, "-chardev", chr, "-mon",
			"chardev=qmp,mode=control", NULL};
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return cl_err(err, "pipe");
	struct proc_opts o = {.stdin_fd = in[0], .stdout_fd = out[1], .stderr_fd = out[1]};
	x->p = proc_start(x->name, argv, &o, NULL, NULL, err);
	close(in[0]);
	close(out[1]);
	x->in_fd = in[1];
	x->out_fd = out[0];
	loop_watch(x->out_fd, LOOP_READ, on_console, x);
	free(qpath), free(append), free(net), free(dev), free(chr);
	return x->p ? 0 : -1;
}

static int console_has(struct guest *x, const char *s) { return x->console.data && strstr(x->console.data, s); }

/* Runs the loop until the guest's console shows `until` (or times out). */
static int shell(struct guest *x, const char *cmd, const char *until, double timeout)
{
	buf_reset(&x->console);
	if (write(x->in_fd, cmd, strlen(cmd)) < 0 || write(x->in_fd, "\n", 1) < 0)
		return -1;
	double end = now_mono() + timeout;
	while (!console_has(x, until) && now_mono() < end)
		loop_once(0.05);
	return console_has(x, until) ? 0 : -1;
}

static struct qmp *qmp_of(const char *node, void *arg)
{
	(void)arg;
	return strcmp(node, "a") == 0 ? g[0].qmp : g[1].qmp;
}

static int done_flag;
static char done_err[CL_ERRBUF];
static void on_done(struct capture *c, const char *err, void *arg)
{
	(void)c, (void)arg;
	snprintf(done_err, sizeof done_err, "%s", err ? err : "");
	done_flag = 1;
}

static int run_cap(struct capture *c, int start)
{
	done_flag = 0;
	double t0 = now_mono();
	if (start)
		capture_start(c, on_done, NULL);
	else
		capture_stop(c, on_done, NULL);
	loop_run_until(&done_flag, now_mono() + 20);
	printf("  %s took %.1f ms%s%s\n", start ? "capture start" : "capture stop",
	       (now_mono() - t0) * 1000, done_err[0] ? ": " : "", done_err);
	return done_err[0] ? -1 : 0;
}

/* "TX=123 RX=456" from the guest's interface counters. */
static void counters(struct guest *x, long *tx, long *rx)
{
	shell(x, "echo TX=$(cat /sys/class/net/eth0/statistics/tx_packets) RX=$(cat /sys/class/net/eth0/statistics/rx_packets) E$((40+2))", "E42", 10);
	char *p = strstr(x->console.data, "TX=");
	while (p && (p[3] < '0' || p[3] > '9'))
		p = strstr(p + 3, "TX="); /* skip the echo of the command line */
	*tx = p ? atol(p + 3) : -1;
	*rx = p && strstr(p, "RX=") ? atol(strstr(p, "RX=") + 3) : -1;
}

static int bench(void)
{
	char err[CL_ERRBUF];
	struct capture *c = capture_new("a:eth0", "", dir, qmp_of, NULL, err);
	capture_add_link(c, "a:eth0", "a", "net-eth0", "node a, socket link to b");
	if (run_cap(c, 1) < 0)
		return 1;
	capture_set_label("ping");
	int ok = shell(&g[0], "ping -c 3 10.0.9.2 && echo PING-$((40+2))", "PING-42", 30) == 0;
	capture_set_label("bulk");
	long tx0, rx0, tx1, rx1;
	counters(&g[0], &tx0, &rx0);
	shell(&g[1], "nc -l -p 5000 > /dev/null &", "# ", 5);
	double t0 = now_mono();
	uint64_t m0 = 0;
	struct capture_info in;
	capture_get_info(c, &in);
	m0 = in.total.matched;
	ok &= shell(&g[0], "dd if=/dev/zero bs=1k count=60000 | nc 10.0.9.2 5000 && echo BULK-$((40+2))",
		    "BULK-42", 300) == 0;
	double dt = now_mono() - t0;
	counters(&g[0], &tx1, &rx1);
	if (run_cap(c, 0) < 0)
		return 1;
	capture_get_info(c, &in);
	printf("  ping: %s\n", ok ? "ok" : "FAILED");
	printf("  bulk: 60 MB in %.2f s (%.1f MB/s), %.0f frames/s captured\n", dt, 60 / dt,
	       (double)(in.total.matched - m0) / dt);
	printf("  frames captured %llu, dropped %llu; guest eth0 counted tx %ld + rx %ld = %ld "
	       "between the counter reads\n",
	       (unsigned long long)in.total.matched, (unsigned long long)in.total.dropped,
	       tx1 - tx0, rx1 - rx0, tx1 - tx0 + rx1 - rx0);
	char *out = xasprintf("%s/bench.pcapng", dir);
	struct export_req *req = export_snapshot(out, 0, NULL, 0, err);
	struct export_result res;
	t0 = now_mono();
	int rc = export_write(req, &res, err);
	printf("  save: %llu packets, %.1f MB in %.2f s%s%s\n", (unsigned long long)res.packets,
	       (double)capture_spool_size(c) / 1e6, now_mono() - t0, rc ? ": " : "", rc ? err : "");
	export_req_free(req);
	free(out);
	return ok && rc == 0 && in.total.dropped == 0 ? 0 : 1;
}

int main(void)
{
	const char *kernel = getenv("CAPTURE_BENCH_KERNEL"), *initrd = getenv("CAPTURE_BENCH_INITRD");
	if (!kernel || !initrd || access(kernel, R_OK) || access(initrd, R_OK)) {
		printf("bench_capture: skipped: set CAPTURE_BENCH_KERNEL and CAPTURE_BENCH_INITRD\n");
		return 0;
	}
	snprintf(dir, sizeof dir, "/tmp/bench_capture.%d", (int)getpid());
	char err[CL_ERRBUF];
	mkdir_p(dir, 0700, err);
	signal(SIGPIPE, SIG_IGN);
	int rc = 1;
	double up = now_mono() + 10;
	int a_ok = boot(&g[0], kernel, initrd, 0, err) == 0;
	while (a_ok && !g[0].ready && now_mono() < up) /* a listens before b connects */
		loop_once(0.05);
	if (!a_ok || boot(&g[1], kernel, initrd, 1, err) < 0) {
		fprintf(stderr, "bench_capture: %s\n", err);
		goto out;
	}
	double end = now_mono() + 30;
	while (!(g[0].ready && g[1].ready && console_has(&g[0], "CAPLAB-READY") &&
		 console_has(&g[1], "CAPLAB-READY")) && now_mono() < end)
		loop_once(0.05);
	printf("bench_capture (TCG, 2 guests, socket netdev):\n");
	rc = g[0].ready && g[1].ready ? bench() : 1;
out:
	capture_free_all();
	proc_kill_all(2);
	if (!getenv("KEEP"))
		rm_rf(dir);
	return rc;
}
