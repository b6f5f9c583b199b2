/* qemu.h: how caplab runs QEMU: the accelerator probe (KVM only when a guest
 * really boots), the machine type (microvm when the host TSC frequency is
 * known), and the argv for one node. */
#ifndef CAPLAB_QEMU_H
#define CAPLAB_QEMU_H

#define QEMU_BIN "qemu-system-x86_64"

enum qemu_accel { ACCEL_TCG, ACCEL_KVM };
enum qemu_machine { MACHINE_MICROVM, MACHINE_PC };

struct qemu_host {
	enum qemu_accel accel;
	enum qemu_machine machine;
	unsigned tsc_khz;     /* 0 when unknown (then machine is pc) */
	char version[32];     /* "7.2.22" */
	char accel_why[256];  /* why this accelerator, said once */
};

struct qemu_nic {
	char id[32];
	char mac[18];
	char *vde_url; /* vdeplug URL: vde:///dir, ptp:///path */
};

struct qemu_node_args {
	const char *name;
	int memory_mb, cpus;
	const char *kernel, *initrd, *append_extra;
	const char *config_path;  /* fw_cfg opt/caplab/config, NULL: none */
	const char *console_path; /* unix socket caplab listens on */
	const char *qmp_path;     /* unix socket caplab listens on */
	const char *vsock_path;   /* vhost-user socket caplab listens on, NULL: no vsock */
	const struct qemu_nic *nics;
	int n_nics;
};

/* Host TSC frequency in kHz, measured against CLOCK_MONOTONIC_RAW (works as
 * an ordinary user; dmesg often does not); 0 if it cannot be known. */
unsigned qemu_tsc_khz(void);
/* "7.2.22", or -1 with err when QEMU is missing. Blocking (short). */
int qemu_version(char *out, int len, char *err);
/* Decides accelerator and machine. Boots `kernel` under KVM and waits up to
 * `timeout` s for the kernel to reach its console; a hang means TCG. Result
 * cached per host boot under cache_dir. Blocking: call from a worker. */
int qemu_probe_host(const char *kernel, const char *cache_dir, double timeout,
		    struct qemu_host *out, char *err);
/* NULL-terminated argv (free with qemu_argv_free). */
char **qemu_argv(const struct qemu_host *h, const struct qemu_node_args *a);
void qemu_argv_free(char **argv);

#endif
