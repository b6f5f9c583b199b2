/* qemu.c: accelerator and machine choice, and the argv of one node. */
#include "qemu.h"
#include "proc.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
static uint64_t rdtsc(void)
{
	unsigned lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static double mono_raw(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One 20 ms measurement of TSC ticks per millisecond. */
static double tsc_sample(void)
{
	double t0 = mono_raw();
	uint64_t c0 = rdtsc();
	while (mono_raw() - t0 < 0.02)
		;
	double t1 = mono_raw();
	uint64_t c1 = rdtsc();
	return (double)(c1 - c0) / ((t1 - t0) * 1000.0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* /proc/cpuinfo's "cpu MHz", which is exact on hosts with tsc_known_freq. */
static double cpuinfo_mhz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	char line[512];
	double mhz = 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "cpu MHz", 7)) {
			char *c = strchr(line, ':');
			mhz = c ? atof(c + 1) : 0;
			break;
		}
	fclose(f);
	return mhz;
}

unsigned qemu_tsc_khz(void)
{
	double s[5];
	for (int i = 0; i < 5; i++)
		s[i] = tsc_sample();
	qsort(s, 5, sizeof s[0], cmp_double);
	double khz = s[2];
	if (khz < 100000 || s[4] - s[0] > khz * 0.01)
		return 0; /* implausible or unstable: do not guess */
	double info = cpuinfo_mhz() * 1000.0;
	if (info > 0 && info / khz > 0.998 && info / khz < 1.002)
		return (unsigned)(info + 0.5);
	return (unsigned)(khz + 0.5);
}
#else
unsigned qemu_tsc_khz(void) { return 0; }
#endif

int qemu_version(char *out, int len, char *err)
{
	char *argv[] = {QEMU_BIN, "--version", NULL};
	char *text = NULL;
	if (proc_run_capture(argv, &text, 10, err) != 0) {
		free(text);
		return cl_err(err, "%s is not installed or does not run (run make deps)", QEMU_BIN);
	}
	const char *v = strstr(text, "version ");
	int n = 0;
	if (v)
		for (v += 8; v[n] && v[n] != ' ' && v[n] != '\n' && n < len - 1; n++)
			out[n] = v[n];
	out[n] = '\0';
	free(text);
	return n ? 0 : cl_err(err, "cannot read the QEMU version");
}

static void boot_id(char out[64])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (!f || !fgets(out, 64, f))
		snprintf(out, 64, "unknown");
	if (f)
		fclose(f);
	out[strcspn(out, "\n")] = '\0';
}

/* KVM counts only if a real kernel gets to its console and on to the
 * expected panic (no root fs) in time: on some hosts /dev/kvm opens and a
 * trivial guest runs, yet a Linux guest hangs when it leaves real mode. */
static int kvm_boots(const char *kernel, double timeout, char *why, size_t whylen)
{
	FILE *f = fopen("/dev/kvm", "r+");
	if (!f) {
		snprintf(why, whylen, "no usable /dev/kvm");
		return 0;
	}
	fclose(f);
	char *argv[] = {QEMU_BIN, "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on,pit=on,pic=on",
			"-accel", "kvm", "-cpu", "host", "-m", "128", "-nodefaults", "-no-user-config",
			"-display", "none", "-serial", "stdio", "-no-reboot", "-kernel", (char *)kernel,
			"-append", "console=ttyS0 panic=-1 loglevel=4", NULL};
	char *out = NULL, err[CL_ERRBUF];
	double t0 = now_mono();
	int rc = proc_run_capture(argv, &out, timeout, err);
	int ok = rc >= 0 && out && strstr(out, "Kernel panic");
	if (ok)
		snprintf(why, whylen, "KVM boots a guest kernel in %.1f s", now_mono() - t0);
	else if (rc < 0)
		snprintf(why, whylen, "KVM opens but a guest kernel hangs (no console in %.1f s)", timeout);
	else
		snprintf(why, whylen, "KVM guest failed to start");
	free(out);
	return ok;
}

static int read_cached_probe(const char *path, struct qemu_host *h)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int accel = 0;
	unsigned tsc = 0;
	int n = fscanf(f, "%d %u %31s\n", &accel, &tsc, h->version);
	char *why = fgets(h->accel_why, sizeof h->accel_why, f);
	fclose(f);
	if (n != 3 || !why)
		return -1;
	h->accel_why[strcspn(h->accel_why, "\n")] = '\0';
	h->accel = accel ? ACCEL_KVM : ACCEL_TCG;
	h->tsc_khz = tsc;
	h->machine = tsc ? MACHINE_MICROVM : MACHINE_PC;
	return 0;
}

int qemu_probe_host(const char *kernel, const char *cache_dir, double timeout,
		    struct qemu_host *h, char *err)
{
	memset(h, 0, sizeof *h);
	char version[32];
	if (qemu_version(version, sizeof version, err) < 0)
		return -1;
	char id[64];
	boot_id(id);
	char *path = xasprintf("%s/host-probe-%s-%s", cache_dir, id, version);
	if (read_cached_probe(path, h) == 0 && !strcmp(h->version, version)) {
		free(path);
		return 0;
	}
	snprintf(h->version, sizeof h->version, "%s", version);
	h->tsc_khz = qemu_tsc_khz();
	h->machine = h->tsc_khz ? MACHINE_MICROVM : MACHINE_PC;
	char why[200];
	h->accel = kvm_boots(kernel, timeout, why, sizeof why) ? ACCEL_KVM : ACCEL_TCG;
	snprintf(h->accel_why, sizeof h->accel_why, "%s: %s", h->accel == ACCEL_KVM ? "kvm" : "tcg", why);
	char *text = xasprintf("%d %u %s\n%s\n", h->accel == ACCEL_KVM, h->tsc_khz, h->version, h->accel_why);
	write_file(path, text, strlen(text), 0644, NULL); /* a cache: failure only costs a re-probe */
	free(text);
	free(path);
	return 0;
}

struct argv_b {
	char **v;
	int n, cap;
};

static void add(struct argv_b *a, char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->v = xrealloc(a->v, (size_t)a->cap * sizeof *a->v);
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void add2(struct argv_b *a, const char *flag, char *value)
{
	add(a, xstrdup(flag));
	add(a, value);
}

/* A bounded translation cache keeps a TCG node's RSS near its guest RAM
 * (QEMU's default tb-size is 1 GiB). */
#define TCG_TB_MB 32

/* The guest CPU under TCG: x86-64-v2 plus AES-NI, PCLMUL, MOVBE and RDRAND,
 * not "max". Measured on QEMU 7.2 (make bench, ssh on a node): with "max"
 * the guest's glibc and OpenSSL take AVX2 and ERMS (rep movsb) paths that
 * TCG emulates slowly, and its kernel saves AVX state on every switch; this
 * model copies over SSH at 22-27 MB/s instead of 8 and runs an exec in 11 ms
 * instead of 16. RDRAND seeds the guest's RNG at once (random.trust_cpu). */
#define TCG_CPU "qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+aes,+pclmulqdq,+movbe,+rdrand"

static void add_machine(struct argv_b *a, const struct qemu_host *h, const struct qemu_node_args *n)
{
	const char *mem = n->vsock_path ? ",memory-backend=mem" : "";
	if (h->machine == MACHINE_MICROVM)
		add2(a, "-M", xasprintf("microvm,x-option-roms=off,isa-serial=on,rtc=on,pit=on,pic=on,acpi=on%s", mem));
	else
		add2(a, "-M", xasprintf("pc%s", mem));
	if (h->accel == ACCEL_KVM) {
		add2(a, "-accel", xstrdup("kvm"));
		add2(a, "-cpu", xstrdup("host"));
	} else {
		add2(a, "-accel", xasprintf("tcg,tb-size=%d", TCG_TB_MB));
		add2(a, "-cpu", xstrdup(TCG_CPU));
	}
	add2(a, "-m", xasprintf("%d", n->memory_mb));
	add2(a, "-smp", xasprintf("%d", n->cpus));
	if (n->vsock_path)
		add2(a, "-object", xasprintf("memory-backend-memfd,id=mem,size=%dM,share=on", n->memory_mb));
}

static void add_boot(struct argv_b *a, const struct qemu_host *h, const struct qemu_node_args *n)
{
	add2(a, "-kernel", xstrdup(n->kernel));
	add2(a, "-initrd", xstrdup(n->initrd));
	struct buf app = {0};
	buf_adds(&app, "console=ttyS0 panic=-1 quiet loglevel=3 random.trust_cpu=on");
	if (h->machine == MACHINE_MICROVM && h->accel == ACCEL_TCG)
		buf_addf(&app, " tsc_early_khz=%u", h->tsc_khz);
	/* TCG finds translated code by virtual address: with ASLR every new
	 * process (each sshd connection, each dynamic program) translates its
	 * libraries afresh. Without it SSH login takes ~140 ms instead of
	 * ~360 and a first exec ~20 ms instead of ~100. A guest can turn ASLR
	 * back on with kernel.randomize_va_space=2. */
	if (h->accel == ACCEL_TCG)
		buf_adds(&app, " norandmaps");
	if (n->append_extra)
		buf_addf(&app, " %s", n->append_extra);
	add2(a, "-append", app.data);
	if (n->config_path) {
		struct buf f = {0}; /* QEMU option values double their commas */
		buf_adds(&f, "name=opt/caplab/config,file=");
		for (const char *p = n->config_path; *p; p++)
			buf_add(&f, *p == ',' ? ",," : p, *p == ',' ? 2 : 1);
		add2(a, "-fw_cfg", f.data);
	}
}

static void add_devices(struct argv_b *a, const struct qemu_host *h, const struct qemu_node_args *n)
{
	const char *bus = h->machine == MACHINE_MICROVM ? "device" : "pci";
	add2(a, "-chardev", xasprintf("socket,id=con,path=%s,server=off", n->console_path));
	add2(a, "-serial", xstrdup("chardev:con"));
	add2(a, "-chardev", xasprintf("socket,id=qmp,path=%s,server=off", n->qmp_path));
	add2(a, "-mon", xstrdup("chardev=qmp,mode=control"));
	for (int i = 0; i < n->n_nics; i++) {
		const struct qemu_nic *c = &n->nics[i];
		add2(a, "-netdev", xasprintf("vde,id=%s,sock=%s", c->id, c->vde_url));
		add2(a, "-device", xasprintf("virtio-net-%s,netdev=%s,mac=%s", bus, c->id, c->mac));
	}
	if (n->vsock_path) {
		add2(a, "-chardev", xasprintf("socket,id=vsock,path=%s,server=off", n->vsock_path));
		add2(a, "-device", xasprintf("vhost-user-vsock-%s,chardev=vsock", bus));
	}
}

char **qemu_argv(const struct qemu_host *h, const struct qemu_node_args *n)
{
	struct argv_b a = {0};
	add(&a, xstrdup(QEMU_BIN));
	add2(&a, "-name", xasprintf("caplab-%s", n->name));
	add_machine(&a, h, n);
	add(&a, xstrdup("-nodefaults"));
	add(&a, xstrdup("-no-user-config"));
	add(&a, xstrdup("-no-reboot"));
	add2(&a, "-display", xstrdup("none"));
	add_boot(&a, h, n);
	add_devices(&a, h, n);
	return a.v;
}

void qemu_argv_free(char **argv)
{
	for (char **p = argv; p && *p; p++)
		free(*p);
	free(argv);
}
