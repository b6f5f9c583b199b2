/* image.c: guest kernel + initramfs, content-addressed under the cache dir
 * (see image.h). Layout: images/HASH.cpio (what qemu gets), images/layers/
 * {base,pkgs}-HASH.cpio, plus deb.c's debs/, unpacked/, resolved/. */
#include "image.h"
#include "deb.h"
#include "imgpkgs.h"
#include "initramfs.h"
#include "kmod.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bump when what a layer contains changes for the same inputs. */
#define IMAGE_FORMAT 1
#define KERNEL_META "linux-image-cloud-amd64"
#define BUSYBOX_PKG "busybox-static"

char *image_default_cache_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/caplab", xdg);
	const char *home = getenv("HOME");
	return xasprintf("%s/.cache/caplab", home && *home ? home : "/tmp");
}

/* ---- assets ------------------------------------------------------------- */

static char *exe_dir(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	return slash ? xstrndup(buf, (size_t)(slash - buf)) : NULL;
}

static char *try_init(const char *dir)
{
	char *p = xasprintf("%s/init", dir);
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	return NULL;
}

/* assets/init: given dir, $CAPLAB_ASSETS, assets/ beside the executable or
 * up to four levels above it (build trees), ../share/caplab/assets beside
 * the executable (a relocated install), then the installed data dir. */
static char *find_init(const char *assets_dir, char *err)
{
	if (assets_dir)
		return try_init(assets_dir);
	const char *env = getenv("CAPLAB_ASSETS");
	char *found = env ? try_init(env) : NULL;
	char *dir = found ? NULL : exe_dir();
	for (int up = 0; dir && !found && up < 5; up++) {
		char *a = xasprintf("%s/assets", dir);
		found = try_init(a);
		free(a);
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	free(dir);
	if (!found && (dir = exe_dir())) { /* an install moved as a whole: PREFIX/bin -> PREFIX/share */
		char *a = xasprintf("%s/../share/caplab/assets", dir);
		found = try_init(a);
		free(a);
		free(dir);
	}
#ifdef CAPLAB_DATADIR
	if (!found)
		found = try_init(CAPLAB_DATADIR "/assets");
#endif
	if (!found)
		cl_err(err, "cannot find assets/init (the guest's init script): set CAPLAB_ASSETS "
			    "to caplab's assets directory, or run 'make install'");
	return found;
}

/* ---- the base layer --------------------------------------------------------- */

static const char nsswitch[] =
	"passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n"
	"protocols: files\nservices: files\nethers: files\nrpc: files\n";
/* busybox init after /init has set the node up: nothing to spawn, only
 * reaping and a clean `poweroff`/`reboot`. */
static const char inittab[] = "::ctrlaltdel:/bin/busybox poweroff\n::shutdown:/bin/busybox sync\n";
static const char profile[] =
	"export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
	"PS1='\\h:\\w\\$ '\n";

static void add_skeleton(struct initramfs *fs)
{
	static const char *const merged[] = {"bin", "sbin", "lib", "lib64"};
	for (size_t i = 0; i < ARRAY_LEN(merged); i++) {
		char *target = xasprintf("usr/%s", merged[i]);
		initramfs_add_dir(fs, target, 0755);
		initramfs_add_symlink(fs, merged[i], target);
		free(target);
	}
	static const char *const dirs[] = {"dev", "proc", "sys", "run", "etc", "root", "var",
					   "var/log", "var/lib", "var/cache", "var/spool", "mnt",
					   "usr/local/bin", "usr/share", "home"};
	for (size_t i = 0; i < ARRAY_LEN(dirs); i++)
		initramfs_add_dir(fs, dirs[i], strcmp(dirs[i], "root") ? 0755 : 0700);
	initramfs_add_dir(fs, "tmp", 01777);
	initramfs_add_dir(fs, "var/tmp", 01777);
	initramfs_add_symlink(fs, "var/run", "/run");
	initramfs_add_chardev(fs, "dev/console", 0600, 5, 1);
	initramfs_add_chardev(fs, "dev/null", 0666, 1, 3);
	initramfs_add_data(fs, "etc/nsswitch.conf", 0644, nsswitch, strlen(nsswitch));
	initramfs_add_data(fs, "etc/inittab", 0644, inittab, strlen(inittab));
	initramfs_add_data(fs, "etc/profile", 0644, profile, strlen(profile));
	initramfs_add_data(fs, "etc/hosts", 0644, "127.0.0.1\tlocalhost\n", 20);
	initramfs_add_data(fs, "etc/resolv.conf", 0644, "", 0);
	initramfs_add_data(fs, "etc/caplab/rundirs", 0644, "", 0);
	imgpkgs_add_base_accounts(fs);
}

/* Applets as symlinks to busybox in usr/bin (package layers, written later,
 * replace any of them with the real program). The list comes from the
 * guest's own busybox, a static x86_64 binary that runs on the host. */
static int add_busybox(struct initramfs *fs, const char *bbroot, char *err)
{
	char *bb = xasprintf("%s/root/bin/busybox", bbroot);
	char *argv[] = {bb, "--list", NULL};
	char *out = NULL;
	int st = proc_run_capture(argv, &out, 30.0, err);
	int rc = st == 0 ? initramfs_add_path(fs, "usr/bin/busybox", bb, err) : -1;
	if (st > 0)
		cl_err(err, "'%s --list' failed (exit %d)", bb, st);
	char *save = NULL;
	for (char *a = rc == 0 ? strtok_r(out, "\n", &save) : NULL; a; a = strtok_r(NULL, "\n", &save)) {
		if (strcmp(a, "busybox") && !strchr(a, '/')) {
			char *p = xasprintf("usr/bin/%s", a);
			initramfs_add_symlink(fs, p, "busybox");
			free(p);
		}
	}
	free(out);
	free(bb);
	return rc;
}

static int build_base(const char *path, const char *kroot, const char *kver, const char *bbroot,
		      const char *init, long long *bytes, char *err)
{
	struct initramfs *fs = initramfs_new();
	add_skeleton(fs);
	int rc = add_busybox(fs, bbroot, err);
	if (rc == 0)
		rc = kmod_add(fs, kroot, kver, err);
	size_t len = 0;
	char *text = rc == 0 ? read_file(init, &len, err) : NULL;
	if (text)
		initramfs_add_data(fs, "init", 0755, text, len);
	else
		rc = -1;
	free(text);
	if (rc == 0)
		rc = initramfs_write(fs, path, bytes, err);
	initramfs_free(fs);
	return rc;
}

/* ---- preparing an image ---------------------------------------------------- */

struct prep {
	const struct image_req *req;
	char *cache;
	image_progress_fn progress;
	void *arg;
	char *init;                 /* assets/init */
	struct deb_list base_pkgs;  /* kernel image package + busybox-static */
	struct deb_list closure;    /* of the requested package names */
	char **names;               /* sorted, unique: base_packages + packages */
	size_t n_names;
	char base_hash[65], pkgs_hash[65];
	char kver[128];
};

static void say(struct prep *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct prep *p, const char *fmt, ...)
{
	if (!p->progress)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	p->progress(line, p->arg);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect_names(struct prep *p)
{
	const struct image_req *r = p->req;
	p->names = xcalloc(r->n_packages + r->n_base_packages + 1, sizeof *p->names);
	for (size_t i = 0; i < r->n_base_packages; i++)
		p->names[p->n_names++] = r->base_packages[i];
	for (size_t i = 0; i < r->n_packages; i++)
		p->names[p->n_names++] = r->packages[i];
	qsort(p->names, p->n_names, sizeof *p->names, cmp_str);
	size_t w = 0;
	for (size_t i = 0; i < p->n_names; i++)
		if (w == 0 || strcmp(p->names[w - 1], p->names[i]))
			p->names[w++] = p->names[i];
	p->n_names = w;
}

/* From the kernel metapackage's closure, the real image package and its
 * version string ("linux-image-6.1.0-NN-cloud-amd64" -> "6.1.0-NN-cloud-amd64"). */
static int resolve_base(struct prep *p, char *err)
{
	char *names[] = {BUSYBOX_PKG, KERNEL_META};
	struct deb_list all;
	if (deb_resolve(p->cache, names, 2, &all, err) < 0)
		return -1;
	const struct deb_pkg *bb = deb_list_find(&all, BUSYBOX_PKG);
	const struct deb_pkg *k = NULL;
	for (size_t i = 0; i < all.n; i++)
		if (!strncmp(all.v[i].name, "linux-image-", 12) && strcmp(all.v[i].name, KERNEL_META) &&
		    strstr(all.v[i].name, "-cloud-amd64") && !strstr(all.v[i].name, "-dbg"))
			k = &all.v[i];
	int rc = 0;
	if (!bb || !k) {
		rc = cl_err(err, "cannot find the guest kernel (%s) or %s in the host's apt sources",
			    KERNEL_META, BUSYBOX_PKG);
	} else {
		deb_list_add(&p->base_pkgs, k->name, k->version, k->arch);
		deb_list_add(&p->base_pkgs, bb->name, bb->version, bb->arch);
		snprintf(p->kver, sizeof p->kver, "%s", k->name + 12);
	}
	deb_list_free(&all);
	return rc;
}

static void hash_list(struct buf *b, const struct deb_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		buf_addf(b, "pkg %s %s %s\n", l->v[i].name, l->v[i].version, l->v[i].arch);
}

static int compute_hashes(struct prep *p, char *err)
{
	char init_sha[65];
	if (sha256_file_hex(p->init, init_sha, err) < 0)
		return -1;
	struct buf b = {0};
	buf_addf(&b, "caplab %s format %d\ninit %s\n", CAPLAB_VERSION, IMAGE_FORMAT, init_sha);
	hash_list(&b, &p->base_pkgs);
	kmod_describe(&b);
	sha256_hex(b.data, b.len, p->base_hash);
	buf_reset(&b);
	buf_addf(&b, "caplab %s format %d\n", CAPLAB_VERSION, IMAGE_FORMAT);
	for (size_t i = 0; i < p->n_names; i++)
		buf_addf(&b, "want %s\n", p->names[i]);
	hash_list(&b, &p->closure);
	sha256_hex(b.data, b.len, p->pkgs_hash);
	buf_free(&b);
	return 0;
}

static char *unpacked_dir(struct prep *p, const struct deb_pkg *pkg)
{
	char *id = deb_id(pkg);
	char *d = xasprintf("%s/unpacked/%s", p->cache, id);
	free(id);
	return d;
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Fetches and unpacks every package of l; dirs (if not NULL) gets each dir. */
static int fetch_unpack(struct prep *p, const struct deb_list *l, char **dirs, char *err)
{
	if (deb_fetch(p->cache, l, p->req->offline, p->progress, p->arg, err) < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		char *d = unpacked_dir(p, &l->v[i]);
		struct stat st;
		if (stat(d, &st) < 0)
			say(p, "unpacking %s", l->v[i].name);
		free(d);
		d = deb_unpack(p->cache, &l->v[i], err);
		if (!d)
			return -1;
		if (dirs)
			dirs[i] = d;
		else
			free(d);
	}
	return 0;
}

static char *layer_path(struct prep *p, const char *kind, const char *hash)
{
	return xasprintf("%s/images/layers/%s-%s.cpio", p->cache, kind, hash);
}

static int ensure_base(struct prep *p, int *built, char *err)
{
	char *path = layer_path(p, "base", p->base_hash);
	char *dirs[2] = {NULL, NULL};
	int rc = fetch_unpack(p, &p->base_pkgs, dirs, err);
	if (rc == 0 && !is_file(path)) {
		say(p, "writing base layer (kernel %s)", p->kver);
		char *kroot = xasprintf("%s/root", dirs[0]);
		long long bytes = 0;
		rc = build_base(path, kroot, p->kver, dirs[1], p->init, &bytes, err);
		free(kroot);
		*built = 1;
	}
	free(dirs[0]);
	free(dirs[1]);
	free(path);
	return rc;
}

static int ensure_pkgs(struct prep *p, int *built, char *err)
{
	char *path = layer_path(p, "pkgs", p->pkgs_hash);
	if (is_file(path)) {
		free(path);
		return 0;
	}
	char **dirs = xcalloc(p->closure.n + 1, sizeof *dirs);
	int rc = fetch_unpack(p, &p->closure, dirs, err);
	struct initramfs *fs = initramfs_new();
	struct buf report = {0};
	if (rc == 0)
		rc = imgpkgs_fill(fs, &p->closure, dirs, p->names, p->n_names, &report, err);
	long long bytes = 0;
	if (rc == 0) {
		say(p, "writing package layer (%zu entries)", initramfs_count(fs));
		rc = initramfs_write(fs, path, &bytes, err);
		char *rp = xasprintf("%s.txt", path);
		write_file(rp, report.data ? report.data : "", report.len, 0644, NULL);
		free(rp);
		*built = 1;
	}
	if (rc == 0 && report.data && strstr(report.data, "warning: "))
		say(p, "%.200s", strstr(report.data, "warning: "));
	for (size_t i = 0; i < p->closure.n; i++)
		free(dirs[i]);
	free(dirs);
	buf_free(&report);
	initramfs_free(fs);
	free(path);
	return rc;
}

static int append_file(int out, const char *path, char *err)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return cl_err(err, "cannot open '%s': %s", path, strerror(errno));
	struct stat st;
	fstat(in, &st);
	off_t left = st.st_size;
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n <= 0) {
			close(in);
			return cl_err(err, "cannot copy '%s': %s", path, n < 0 ? strerror(errno) : "short copy");
		}
		left -= n;
	}
	close(in);
	return 0;
}

/* images/HASH.cpio = base layer [+ package layer], written under a temp
 * name and renamed, so a reader never sees half an image. */
static int write_image(struct prep *p, const char *final, char *err)
{
	char *tmp = xasprintf("%s.tmp.%d", final, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		cl_err(err, "cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	char *base = layer_path(p, "base", p->base_hash);
	char *pkgs = p->n_names ? layer_path(p, "pkgs", p->pkgs_hash) : NULL;
	int rc = append_file(fd, base, err);
	if (rc == 0 && pkgs)
		rc = append_file(fd, pkgs, err);
	if (close(fd) < 0 && rc == 0)
		rc = cl_err(err, "cannot write '%s': %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, final) < 0)
		rc = cl_err(err, "cannot create '%s': %s", final, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	free(base);
	free(pkgs);
	return rc;
}

static int lock_cache(struct prep *p, char *err)
{
	char *path = xasprintf("%s/lock", p->cache);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	if (fd < 0)
		return cl_err(err, "cannot create the cache lock in '%s': %s", p->cache, strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return cl_err(err, "cannot lock the cache '%s': %s", p->cache, strerror(errno));
		}
	}
	return fd;
}

static int resolve_all(struct prep *p, char *err)
{
	say(p, "resolving packages");
	if (resolve_base(p, err) < 0)
		return -1;
	if (p->n_names && deb_resolve(p->cache, p->names, p->n_names, &p->closure, err) < 0)
		return -1;
	return compute_hashes(p, err);
}

static char *kernel_path(struct prep *p)
{
	char *d = unpacked_dir(p, &p->base_pkgs.v[0]);
	char *k = xasprintf("%s/root/boot/vmlinuz-%s", d, p->kver);
	free(d);
	return k;
}

static int build_missing(struct prep *p, const char *final, int *built, char *err)
{
	int lock = lock_cache(p, err);
	if (lock < 0)
		return -1;
	int rc = ensure_base(p, built, err);
	if (rc == 0 && p->n_names)
		rc = ensure_pkgs(p, built, err);
	if (rc == 0 && !is_file(final)) {
		rc = write_image(p, final, err);
		*built = 1;
	}
	close(lock);
	return rc;
}

static void fill_out(struct prep *p, struct image_out *out, const char *final, const char *hash)
{
	char *k = kernel_path(p);
	snprintf(out->kernel, sizeof out->kernel, "%s", k);
	snprintf(out->initrd, sizeof out->initrd, "%s", final);
	snprintf(out->kernel_version, sizeof out->kernel_version, "%s", p->kver);
	snprintf(out->hash, sizeof out->hash, "%s", hash);
	struct stat st;
	out->size = stat(final, &st) == 0 ? (long long)st.st_size : 0;
	free(k);
}

static void prep_free(struct prep *p)
{
	free(p->cache);
	free(p->init);
	free(p->names);
	deb_list_free(&p->base_pkgs);
	deb_list_free(&p->closure);
}

int image_prepare(const struct image_req *req, struct image_out *out, image_progress_fn progress,
		  void *arg, char *err)
{
	memset(out, 0, sizeof *out);
	struct prep p = {.req = req, .progress = progress, .arg = arg};
	p.cache = req->cache_dir ? xstrdup(req->cache_dir) : image_default_cache_dir();
	collect_names(&p);
	char *layers = xasprintf("%s/images/layers", p.cache);
	int rc = mkdir_p(layers, 0755, err);
	free(layers);
	if (rc == 0 && !(p.init = find_init(req->assets_dir, err)))
		rc = -1;
	if (rc == 0)
		rc = resolve_all(&p, err);
	char hash[65] = "", *final = NULL, *kernel = NULL;
	if (rc == 0) {
		char *both = xasprintf("%s %s", p.base_hash, p.n_names ? p.pkgs_hash : "-");
		sha256_hex(both, strlen(both), hash);
		free(both);
		final = xasprintf("%s/images/%s.cpio", p.cache, hash);
		kernel = kernel_path(&p);
		if (!is_file(final) || !is_file(kernel))
			rc = build_missing(&p, final, &out->built, err);
	}
	if (rc == 0) {
		fill_out(&p, out, final, hash);
		say(&p, "%s image %lld MB", out->built ? "wrote" : "cached", (out->size + (1 << 19)) >> 20);
	}
	free(final);
	free(kernel);
	prep_free(&p);
	return rc;
}

/* ---- caplab doctor ------------------------------------------------------------ */

int image_doctor(const char *cache_dir, char *msg, size_t msglen, char *err)
{
	char *cache = cache_dir ? xstrdup(cache_dir) : image_default_cache_dir();
	char *pat = xasprintf("%s/unpacked/linux-image-*-cloud-amd64_*/root/boot/vmlinuz-*", cache);
	glob_t g;
	int cached = glob(pat, 0, NULL, &g) == 0;
	if (cached) {
		snprintf(msg, msglen, "guest kernel cached: %s", strrchr(g.gl_pathv[g.gl_pathc - 1], '/') + 9);
		globfree(&g);
	}
	free(pat);
	free(cache);
	if (cached)
		return 0;
	char *names[] = {KERNEL_META, BUSYBOX_PKG};
	if (deb_check_packages(names, 2, err) < 0)
		return -1;
	snprintf(msg, msglen, "guest kernel not cached yet; %s is fetchable (first start downloads it)",
		 KERNEL_META);
	return 0;
}

/* ---- per-node settings --------------------------------------------------------- */

/* 'text' for sh: only ' needs care ('\'' ends, escapes and reopens). */
static void shell_quote(struct buf *b, const char *s)
{
	buf_adds(b, "'");
	for (; s && *s; s++)
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_add(b, s, 1);
	buf_adds(b, "'");
}

static void assign(struct buf *b, const char *name, const char *value)
{
	buf_addf(b, "%s=", name);
	shell_quote(b, value);
	buf_adds(b, "\n");
}

static void assign_list(struct buf *b, const char *count, const char *prefix, char *const *v, size_t n)
{
	buf_addf(b, "%s=%zu\n", count, n);
	for (size_t i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof name, "%s_%zu", prefix, i + 1);
		assign(b, name, v[i]);
	}
}

static void assign_ifaces(struct buf *b, const struct image_node_cfg *c)
{
	buf_addf(b, "CAPLAB_NIFACES=%zu\n", c->n_ifaces);
	for (size_t i = 0; i < c->n_ifaces; i++) {
		char name[64];
		snprintf(name, sizeof name, "CAPLAB_IF_%zu_NAME", i + 1);
		assign(b, name, c->ifaces[i].name);
		snprintf(name, sizeof name, "CAPLAB_IF_%zu_MAC", i + 1);
		assign(b, name, c->ifaces[i].mac);
		snprintf(name, sizeof name, "CAPLAB_IF_%zu_ADDR", i + 1);
		assign(b, name, c->ifaces[i].addr ? c->ifaces[i].addr : "");
	}
}

static void assign_files(struct buf *b, const struct image_node_cfg *c)
{
	buf_addf(b, "CAPLAB_NFILES=%zu\n", c->n_files);
	for (size_t i = 0; i < c->n_files; i++) {
		char name[64];
		snprintf(name, sizeof name, "CAPLAB_FILE_%zu_PATH", i + 1);
		assign(b, name, c->files[i].path);
		buf_addf(b, "CAPLAB_FILE_%zu_MODE=%o\n", i + 1, (unsigned)c->files[i].mode & 07777);
		snprintf(name, sizeof name, "CAPLAB_FILE_%zu_DATA", i + 1);
		assign(b, name, c->files[i].content);
	}
}

static int valid_iface_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n < 16 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int image_write_node_config(const struct image_node_cfg *c, const char *path, char *err)
{
	for (size_t i = 0; i < c->n_ifaces; i++)
		if (!valid_iface_name(c->ifaces[i].name) || !c->ifaces[i].mac)
			return cl_err(err, "interface %zu of node '%s' needs a name (up to 15 of "
					   "[A-Za-z0-9_.-]) and a MAC", i + 1, c->hostname ? c->hostname : "?");
	for (size_t i = 0; i < c->n_files; i++)
		if (!c->files[i].path || c->files[i].path[0] != '/')
			return cl_err(err, "guest file %zu needs an absolute path", i + 1);
	struct buf b = {0};
	buf_adds(&b, "# caplab node settings, read by /init (generated)\n");
	assign(&b, "CAPLAB_HOSTNAME", c->hostname ? c->hostname : "caplab");
	assign(&b, "CAPLAB_TOKEN", c->token ? c->token : "");
	assign_ifaces(&b, c);
	assign_files(&b, c);
	assign_list(&b, "CAPLAB_NPRE", "CAPLAB_PRE", c->pre_ready, c->n_pre_ready);
	assign_list(&b, "CAPLAB_NRUN", "CAPLAB_RUN", c->run, c->n_run);
	assign(&b, "CAPLAB_KEYLOG", c->keylog ? c->keylog : "");
	int rc = write_file(path, b.data, b.len, 0600, err);
	buf_free(&b);
	return rc;
}

char *image_fw_cfg_arg(const char *path)
{
	struct buf b = {0};
	buf_adds(&b, "name=opt/caplab/config,file=");
	for (const char *s = path; *s; s++)
		buf_adds(&b, *s == ',' ? ",," : (char[]){*s, 0});
	return b.data;
}
