/* kmod.c: the guest kernel's modules in an image (see kmod.h): the boot set
 * and the extras, each with what it depends on (from .modinfo "depends"),
 * in load order, and a modules.dep for busybox modprobe. */
#include "kmod.h"
#include "elfscan.h"
#include "util.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>

/* Loaded by /init at boot, with their dependencies. */
static const char *const boot_modules[] = {
	"virtio_mmio", "virtio_pci", "virtio_net", "virtio_console",
	"vmw_vsock_virtio_transport", "qemu_fw_cfg",
};
/* Shipped for `modprobe NAME` in -run commands: a lean set for network labs. */
static const char *const extra_modules[] = {
	"8021q", "bridge", "br_netfilter", "tun", "veth", "macvlan", "ipvlan", "dummy", "bonding",
	"vrf", "vxlan", "geneve", "ip_gre", "ipip", "sit", "ip6_tunnel", "wireguard", "macsec",
	"sch_netem", "sch_tbf", "sch_htb", "sch_ingress", "cls_u32", "cls_bpf", "act_mirred",
	"nf_tables", "nft_chain_nat", "nft_masq", "nft_nat", "nft_ct", "nft_reject_inet",
	"nft_fib_inet", "nft_compat", "nf_conntrack", "nf_nat", "iptable_filter", "iptable_nat",
	"iptable_mangle", "ip6table_filter", "ip6table_nat", "xt_MASQUERADE", "xt_conntrack",
	"xt_tcpudp", "xt_mark", "xt_nat", "af_packet",
};

struct kmod {
	char *name;  /* with '_' for '-' */
	char *rel;   /* kernel/drivers/net/virtio_net.ko */
	char *deps;  /* modinfo depends, comma-separated */
	int state;   /* 0 unvisited, 1 visiting, 2 done (per walk) */
	int ship;
};

struct kmods {
	struct kmod *v;
	size_t n, cap;
	char *dir;   /* .../lib/modules/KVER */
};

static char *mod_name(const char *file)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	size_t n = strlen(base);
	char *s = xstrndup(base, n > 3 ? n - 3 : n);
	for (char *p = s; *p; p++)
		if (*p == '-')
			*p = '_';
	return s;
}

static void index_dir(struct kmods *m, const char *rel)
{
	char *path = xasprintf("%s/%s", m->dir, rel);
	glob_t g;
	char *pat = xasprintf("%s/*", path);
	if (glob(pat, GLOB_MARK, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *full = g.gl_pathv[i];
			const char *sub = full + strlen(m->dir) + 1;
			size_t len = strlen(sub);
			if (len && sub[len - 1] == '/') {
				char *d = xstrndup(sub, len - 1);
				index_dir(m, d);
				free(d);
			} else if (len > 3 && !strcmp(sub + len - 3, ".ko")) {
				if (m->n == m->cap)
					m->v = xrealloc(m->v, (m->cap = m->cap ? 2 * m->cap : 512) * sizeof *m->v);
				m->v[m->n++] = (struct kmod){mod_name(sub), xstrdup(sub), NULL, 0, 0};
			}
		}
		globfree(&g);
	}
	free(pat);
	free(path);
}

static struct kmod *kmod_find(struct kmods *m, const char *name, size_t len)
{
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->v[i].name) == len && !strncmp(m->v[i].name, name, len))
			return &m->v[i];
	return NULL;
}

static const char *kmod_deps(struct kmods *m, struct kmod *k)
{
	if (!k->deps) {
		char *path = xasprintf("%s/%s", m->dir, k->rel);
		k->deps = elf_modinfo(path, "depends", NULL);
		free(path);
		if (!k->deps)
			k->deps = xstrdup("");
	}
	return k->deps;
}

/* Post-order walk: every module after the modules it depends on. */
static void kmod_order(struct kmods *m, struct kmod *k, struct buf *order)
{
	if (k->state)
		return;
	k->state = 1;
	for (const char *d = kmod_deps(m, k); *d;) {
		size_t n = strcspn(d, ",");
		struct kmod *dep = kmod_find(m, d, n);
		if (dep)
			kmod_order(m, dep, order);
		d += n + (d[n] == ',');
	}
	k->state = 2;
	k->ship = 1;
	buf_addf(order, "%s\n", k->rel);
}

static void kmod_reset(struct kmods *m)
{
	for (size_t i = 0; i < m->n; i++)
		m->v[i].state = 0;
}

/* modules.dep in kmod's format: dependencies listed so that the last one
 * is loaded first (the reverse of the post-order walk). */
static void modules_dep(struct kmods *m, struct buf *dep)
{
	for (size_t i = 0; i < m->n; i++) {
		if (!m->v[i].ship)
			continue;
		kmod_reset(m);
		struct buf order = {0};
		kmod_order(m, &m->v[i], &order);
		buf_addf(dep, "%s:", m->v[i].rel);
		/* order ends with the module itself; print the rest backwards */
		char *lines[256];
		size_t n = 0;
		for (char *l = strtok(order.data, "\n"); l && n < ARRAY_LEN(lines); l = strtok(NULL, "\n"))
			lines[n++] = l;
		for (size_t j = n > 0 ? n - 1 : 0; j-- > 0;)
			buf_addf(dep, " %s", lines[j]);
		buf_adds(dep, "\n");
		buf_free(&order);
	}
}

static void kmods_free(struct kmods *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].rel);
		free(m->v[i].deps);
	}
	free(m->v);
	free(m->dir);
}

/* Adds boot + extra modules, modules.dep and /etc/caplab/modules.boot. */
int kmod_add(struct initramfs *fs, const char *kroot, const char *kver, char *err)
{
	struct kmods m = {.dir = xasprintf("%s/lib/modules/%s", kroot, kver)};
	index_dir(&m, "kernel");
	struct buf boot = {0}, extra = {0}, dep = {0};
	int rc = 0;
	for (size_t i = 0; i < ARRAY_LEN(boot_modules) && rc == 0; i++) {
		struct kmod *k = kmod_find(&m, boot_modules[i], strlen(boot_modules[i]));
		if (!k)
			rc = cl_err(err, "guest kernel %s has no module %s", kver, boot_modules[i]);
		else
			kmod_order(&m, k, &boot);
	}
	for (size_t i = 0; i < ARRAY_LEN(extra_modules) && rc == 0; i++) {
		struct kmod *k = kmod_find(&m, extra_modules[i], strlen(extra_modules[i]));
		if (k)
			kmod_order(&m, k, &extra);
	}
	if (rc == 0)
		modules_dep(&m, &dep);
	char *base = xasprintf("usr/lib/modules/%s", kver);
	for (size_t i = 0; i < m.n && rc == 0; i++) {
		if (!m.v[i].ship)
			continue;
		char *dst = xasprintf("%s/%s", base, m.v[i].rel);
		char *src = xasprintf("%s/%s", m.dir, m.v[i].rel);
		rc = initramfs_add_path(fs, dst, src, err);
		free(dst);
		free(src);
	}
	if (rc == 0) {
		char *p = xasprintf("%s/modules.dep", base);
		initramfs_add_data(fs, p, 0644, dep.data ? dep.data : "", dep.len);
		free(p);
		initramfs_add_data(fs, "etc/caplab/modules.boot", 0644, boot.data ? boot.data : "", boot.len);
	}
	free(base);
	buf_free(&boot);
	buf_free(&extra);
	buf_free(&dep);
	kmods_free(&m);
	return rc;
}

void kmod_describe(struct buf *b)
{
	for (size_t i = 0; i < ARRAY_LEN(boot_modules); i++)
		buf_addf(b, "boot %s\n", boot_modules[i]);
	for (size_t i = 0; i < ARRAY_LEN(extra_modules); i++)
		buf_addf(b, "extra %s\n", extra_modules[i]);
}
