/* deb.c: resolve, download and unpack guest packages without root (see
 * deb.h). apt is used only through its command-line clients, as the host's
 * own tool for reading its package lists; .debs are unpacked by libarchive. */
#include "deb.h"
#include "proc.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APT_TIMEOUT 180.0
#define DOWNLOAD_TIMEOUT 900.0

/* ---- package lists ------------------------------------------------------- */

void deb_list_add(struct deb_list *l, const char *name, const char *version, const char *arch)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = (struct deb_pkg){xstrdup(name), xstrdup(version), xstrdup(arch)};
}

void deb_list_free(struct deb_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].version);
		free(l->v[i].arch);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const struct deb_pkg *deb_list_find(const struct deb_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

char *deb_id(const struct deb_pkg *p)
{
	struct buf b = {0};
	buf_addf(&b, "%s_", p->name);
	for (const char *s = p->version; *s; s++)
		if (*s == ':')
			buf_adds(&b, "%3a");
		else
			buf_add(&b, s, 1);
	buf_addf(&b, "_%s", p->arch);
	return b.data;
}

/* Debian policy 5.6.7: lower-case alphanumerics and + - . , at least two
 * characters, starting with an alphanumeric. Also keeps option-like words
 * away from apt's command line. */
static int valid_name(const char *s)
{
	if (strlen(s) < 2 || !isalnum((unsigned char)s[0]))
		return 0;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || strchr("+-.", *s)))
			return 0;
	return 1;
}

static int check_names(char *const *names, size_t n, char *err)
{
	for (size_t i = 0; i < n; i++)
		if (!valid_name(names[i]))
			return cl_err(err, "'%s' is not a valid Debian package name", names[i]);
	return 0;
}

int deb_lists_present(char *err)
{
	glob_t g;
	int rc = glob("/var/lib/apt/lists/*_Packages*", 0, NULL, &g);
	size_t n = rc == 0 ? g.gl_pathc : 0;
	if (rc == 0)
		globfree(&g);
	if (n == 0)
		return cl_err(err, "the host's apt package lists are missing (/var/lib/apt/lists): "
				   "run 'apt-get update' as root once; caplab only reads them");
	return 0;
}

/* ---- checking names: apt-cache policy ------------------------------------ */

/* Marks in found[] each name whose policy block has a real candidate. */
static void parse_policy(const char *out, char *const *names, size_t n, char *found)
{
	const char *cur = NULL;
	size_t curlen = 0;
	for (const char *line = out; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len > 1 && line[0] != ' ' && line[len - 1] == ':') {
			cur = line;
			curlen = len - 1;
		} else if (cur && !strncmp(line, "  Candidate: ", 13) && strncmp(line + 13, "(none)", 6)) {
			for (size_t i = 0; i < n; i++)
				if (strlen(names[i]) == curlen && !strncmp(names[i], cur, curlen))
					found[i] = 1;
		}
		line = nl ? nl + 1 : NULL;
	}
}

int deb_check_packages(char *const *names, size_t n, char *err)
{
	if (n == 0)
		return 0;
	if (check_names(names, n, err) < 0 || deb_lists_present(err) < 0)
		return -1;
	char **argv = xcalloc(n + 3, sizeof *argv);
	argv[0] = "apt-cache";
	argv[1] = "policy";
	for (size_t i = 0; i < n; i++)
		argv[i + 2] = names[i];
	char *out = NULL;
	int st = proc_run_capture(argv, &out, APT_TIMEOUT, err);
	free(argv);
	if (st != 0) {
		free(out);
		return st < 0 ? -1 : cl_err(err, "apt-cache policy failed (exit %d): is apt working?", st);
	}
	char *found = xcalloc(n, 1);
	parse_policy(out, names, n, found);
	free(out);
	struct buf miss = {0};
	for (size_t i = 0; i < n; i++)
		if (!found[i])
			buf_addf(&miss, "%s'%s'", miss.len ? ", " : "", names[i]);
	free(found);
	int rc = 0;
	if (miss.len)
		rc = cl_err(err, "unknown package %s: not installable from the host's apt sources "
				 "(check the name with 'apt-cache search')", miss.data);
	buf_free(&miss);
	return rc;
}

/* ---- resolution: apt-get -s install -------------------------------------- */

/* "Inst libc6 (2.36-9+deb12u13 Debian:12.12/stable [amd64]) []": the
 * architecture is the last [...] inside the parentheses ("all" for
 * arch-independent packages); a trailing "[]" lists what gets replaced. */
static int parse_inst_line(const char *line, struct deb_list *out)
{
	char name[256], version[256], arch[64];
	const char *open = strchr(line, '(');
	const char *close = open ? strchr(open, ')') : NULL;
	const char *lb = NULL;
	for (const char *p = open; p && p < close; p++)
		if (*p == '[')
			lb = p;
	if (sscanf(line, "Inst %255s (%255s", name, version) != 2 || !lb ||
	    sscanf(lb, "[%63[^]]]", arch) != 1)
		return -1;
	deb_list_add(out, name, version, arch);
	return 0;
}

static void parse_simulation(const char *text, struct deb_list *out)
{
	for (const char *line = text; line && *line;) {
		if (!strncmp(line, "Inst ", 5))
			parse_inst_line(line, out);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
}

static char *names_key(char *const *names, size_t n)
{
	struct buf b = {0};
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s\n", names[i]);
	char hex[65];
	sha256_hex(b.data ? b.data : "", b.len, hex);
	buf_free(&b);
	return xstrdup(hex);
}

static char *resolved_path(const char *cache_dir, char *const *names, size_t n)
{
	char *key = names_key(names, n);
	char *p = xasprintf("%s/resolved/%s.txt", cache_dir, key);
	free(key);
	return p;
}

/* Identifies the state of the host's apt lists (names, sizes, mtimes), so a
 * resolution is reused until `apt-get update` changes them: resolving costs
 * ~1.5 s of apt's time, reusing it nothing. */
static int lists_fingerprint(char out[65])
{
	glob_t g;
	if (glob("/var/lib/apt/lists/*_Packages*", 0, NULL, &g) != 0)
		return -1;
	struct buf b = {0};
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat st;
		if (stat(g.gl_pathv[i], &st) == 0)
			buf_addf(&b, "%s %lld %lld.%09ld\n", g.gl_pathv[i], (long long)st.st_size,
				 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	}
	globfree(&g);
	sha256_hex(b.data ? b.data : "", b.len, out);
	buf_free(&b);
	return 0;
}

static void save_resolution(const char *cache_dir, const char *path, const char *fp,
			    const struct deb_list *l)
{
	char *dir = xasprintf("%s/resolved", cache_dir);
	int rc = mkdir_p(dir, 0755, NULL);
	free(dir);
	if (rc < 0)
		return;
	struct buf b = {0};
	buf_addf(&b, "# lists %s\n", fp);
	for (size_t i = 0; i < l->n; i++)
		buf_addf(&b, "%s %s %s\n", l->v[i].name, l->v[i].version, l->v[i].arch);
	write_file(path, b.data, b.len, 0644, NULL);
	buf_free(&b);
}

/* Loads a saved resolution; with fp, only if it was made from those lists. */
static int load_resolution(const char *path, const char *fp, struct deb_list *out)
{
	char *text = read_file(path, NULL, NULL);
	if (!text)
		return -1;
	char *save = NULL;
	int ok = 1, stamped = 0;
	for (char *line = strtok_r(text, "\n", &save); ok && line; line = strtok_r(NULL, "\n", &save)) {
		char name[256], version[256], arch[64];
		if (!strncmp(line, "# lists ", 8)) {
			stamped = 1;
			ok = !fp || !strcmp(line + 8, fp);
		}
		else if (sscanf(line, "%255s %255s %63s", name, version, arch) == 3)
			deb_list_add(out, name, version, arch);
	}
	free(text);
	if (!ok || (fp && !stamped) || out->n == 0) {
		deb_list_free(out);
		return -1;
	}
	return 0;
}

static char **simulate_argv(const char *cache_dir, char *const *names, size_t n, char **cache_opt)
{
	static char *fixed[] = {"apt-get", "-s", "-q", "install", "-o", "Dir::State::status=/dev/null",
				"-o", "Debug::NoLocking=1", "-o", "APT::Install-Recommends=false",
				"-o", NULL};
	size_t nf = ARRAY_LEN(fixed) - 1;
	char **argv = xcalloc(nf + 1 + n + 1, sizeof *argv);
	memcpy(argv, fixed, nf * sizeof *argv);
	*cache_opt = xasprintf("Dir::Cache=%s/apt", cache_dir);
	argv[nf] = *cache_opt;
	for (size_t i = 0; i < n; i++)
		argv[nf + 1 + i] = names[i];
	return argv;
}

static int simulate_install(const char *cache_dir, char *const *names, size_t n,
			    struct deb_list *out, char *err)
{
	char *dir = xasprintf("%s/apt/archives/partial", cache_dir);
	int rc = mkdir_p(dir, 0755, err);
	free(dir);
	if (rc < 0)
		return -1;
	char *cache_opt;
	char **argv = simulate_argv(cache_dir, names, n, &cache_opt);
	char *text = NULL;
	int st = proc_run_capture(argv, &text, APT_TIMEOUT, err);
	free(argv);
	free(cache_opt);
	if (st == 0)
		parse_simulation(text, out);
	free(text);
	if (st < 0)
		return -1;
	if (st != 0 || out->n == 0)
		return cl_err(err, "apt-get cannot resolve the guest packages (exit %d); "
				   "'apt-get -s install' on them shows why", st);
	return 0;
}

int deb_resolve(const char *cache_dir, char *const *names, size_t n, struct deb_list *out,
		char *err)
{
	memset(out, 0, sizeof *out);
	if (check_names(names, n, err) < 0)
		return -1;
	char *saved = resolved_path(cache_dir, names, n);
	char fp[65], lists_err[CL_ERRBUF];
	int rc = 0;
	if (lists_fingerprint(fp) < 0 || deb_lists_present(lists_err) < 0) {
		if (load_resolution(saved, NULL, out) < 0)
			rc = cl_err(err, "%s (and no cached resolution of these packages exists)", lists_err);
	} else if (load_resolution(saved, fp, out) < 0) {
		/* checking first turns apt's failure into a message naming the package */
		rc = deb_check_packages(names, n, err);
		if (rc == 0)
			rc = simulate_install(cache_dir, names, n, out, err);
		if (rc == 0)
			save_resolution(cache_dir, saved, fp, out);
	}
	free(saved);
	if (rc < 0)
		deb_list_free(out);
	return rc;
}

/* ---- download: apt-get download into a private directory ----------------- */

static char *deb_file(const char *cache_dir, const struct deb_pkg *p)
{
	char *id = deb_id(p);
	char *path = xasprintf("%s/debs/%s.deb", cache_dir, id);
	free(id);
	return path;
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static void collect_missing(const char *cache_dir, const struct deb_list *pkgs, struct deb_list *miss)
{
	for (size_t i = 0; i < pkgs->n; i++) {
		char *path = deb_file(cache_dir, &pkgs->v[i]);
		if (!is_file(path))
			deb_list_add(miss, pkgs->v[i].name, pkgs->v[i].version, pkgs->v[i].arch);
		free(path);
	}
}

static char *missing_text(const struct deb_list *miss)
{
	struct buf b = {0};
	for (size_t i = 0; i < miss->n && i < 12; i++)
		buf_addf(&b, "%s%s=%s", i ? ", " : "", miss->v[i].name, miss->v[i].version);
	if (miss->n > 12)
		buf_addf(&b, " and %zu more", miss->n - 12);
	return b.data;
}

static int run_download(const char *cache_dir, const char *dir, const struct deb_list *miss, char *err)
{
	char *cache_opt = xasprintf("Dir::Cache=%s/apt", cache_dir);
	size_t nf = 8;
	char **argv = xcalloc(nf + miss->n + 1, sizeof *argv);
	char *fixed[] = {"env", "-C", (char *)dir, "apt-get", "download", "-q", "-o", cache_opt};
	memcpy(argv, fixed, sizeof fixed);
	for (size_t i = 0; i < miss->n; i++)
		argv[nf + i] = xasprintf("%s=%s", miss->v[i].name, miss->v[i].version);
	char *out = NULL;
	int st = proc_run_capture(argv, &out, DOWNLOAD_TIMEOUT, err);
	for (size_t i = 0; i < miss->n; i++)
		free(argv[nf + i]);
	free(argv);
	free(cache_opt);
	free(out);
	if (st < 0)
		return -1;
	if (st != 0)
		return cl_err(err, "apt-get download of guest packages failed (exit %d): is the "
				   "Debian archive reachable? (offline: use a cache filled earlier)", st);
	return 0;
}

/* Moves each downloaded file into debs/ (rename is atomic, so a concurrent
 * caplab sees either no file or a whole one). */
static int adopt_downloads(const char *cache_dir, const char *dir, const struct deb_list *miss,
			   char *err)
{
	for (size_t i = 0; i < miss->n; i++) {
		char *id = deb_id(&miss->v[i]);
		char *from = xasprintf("%s/%s.deb", dir, id);
		char *to = deb_file(cache_dir, &miss->v[i]);
		int rc = rename(from, to);
		if (rc < 0)
			cl_err(err, "apt-get did not deliver '%s.deb': %s", id, strerror(errno));
		free(id);
		free(from);
		free(to);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int deb_fetch(const char *cache_dir, const struct deb_list *pkgs, int offline,
	      deb_progress_fn progress, void *arg, char *err)
{
	char *dir = xasprintf("%s/debs/.dl-%d", cache_dir, (int)getpid());
	struct deb_list miss = {0};
	collect_missing(cache_dir, pkgs, &miss);
	int rc = 0;
	if (miss.n && offline) {
		char *t = missing_text(&miss);
		rc = cl_err(err, "offline, and %zu guest package(s) are not cached: %s", miss.n, t);
		free(t);
	} else if (miss.n && (rc = mkdir_p(dir, 0755, err)) == 0) {
		char line[128];
		snprintf(line, sizeof line, "fetching %zu package%s", miss.n, miss.n == 1 ? "" : "s");
		if (progress)
			progress(line, arg);
		rc = run_download(cache_dir, dir, &miss, err);
		if (rc == 0)
			rc = adopt_downloads(cache_dir, dir, &miss, err);
		rm_rf(dir);
	}
	free(dir);
	deb_list_free(&miss);
	return rc;
}

/* ---- unpacking: libarchive reads the ar container and the inner tars ---- */

struct nested {
	struct archive *outer;
	char block[65536];
};

static la_ssize_t nested_read(struct archive *a, void *cd, const void **buf)
{
	(void)a;
	struct nested *n = cd;
	*buf = n->block;
	return archive_read_data(n->outer, n->block, sizeof n->block);
}

static const char *strip_dot(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p == '/')
		p++;
	return p;
}

static int copy_data(struct archive *in, struct archive *out)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(out, buf, size, off) < ARCHIVE_OK)
			return -1;
	return r == ARCHIVE_EOF ? 0 : -1;
}

/* Rewrites an entry to land under dest; 0 if it should be skipped. */
static int retarget(struct archive_entry *e, const char *dest, int control_only)
{
	const char *rel = strip_dot(archive_entry_pathname(e));
	if (!*rel)
		return 0;
	if (control_only && strcmp(rel, "control") && strcmp(rel, "postinst") && strcmp(rel, "conffiles"))
		return 0;
	char *path = xasprintf("%s/%s", dest, rel);
	archive_entry_set_pathname(e, path);
	free(path);
	const char *hl = archive_entry_hardlink(e);
	if (hl) {
		char *target = xasprintf("%s/%s", dest, strip_dot(hl));
		archive_entry_set_hardlink(e, target);
		free(target);
	}
	/* Keep every directory writable and searchable by us, so the cache can
	 * always be updated and removed by the user who made it. */
	if (archive_entry_filetype(e) == AE_IFDIR)
		archive_entry_set_perm(e, archive_entry_perm(e) | 0700);
	return 1;
}

static int extract_tar(struct archive *outer, const char *dest, int control_only, char *err)
{
	struct nested *n = xmalloc(sizeof *n);
	n->outer = outer;
	struct archive *in = archive_read_new();
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	struct archive *out = archive_write_disk_new();
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
						    ARCHIVE_EXTRACT_SECURE_NODOTDOT);
	int rc = archive_read_open(in, n, NULL, nested_read, NULL) == ARCHIVE_OK ? 0 : -1;
	struct archive_entry *e;
	int r;
	while (rc == 0 && (r = archive_read_next_header(in, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN || (retarget(e, dest, control_only) &&
					 (archive_write_header(out, e) < ARCHIVE_WARN || copy_data(in, out) < 0 ||
					  archive_write_finish_entry(out) < ARCHIVE_WARN)))
			rc = cl_err(err, "cannot unpack into '%s': %s", dest,
				    archive_error_string(archive_errno(out) ? out : in));
	}
	archive_read_free(in);
	archive_write_free(out);
	free(n);
	return rc;
}

static int unpack_deb(const char *deb, const char *dir, char *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_ar(a);
	if (archive_read_open_filename(a, deb, 65536) != ARCHIVE_OK) {
		cl_err(err, "cannot read '%s': %s", deb, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	char *root = xasprintf("%s/root", dir);
	struct archive_entry *e;
	int rc = 0, seen_data = 0;
	while (rc == 0 && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		if (!strncmp(name, "data.tar", 8)) {
			seen_data = 1;
			rc = extract_tar(a, root, 0, err);
		} else if (!strncmp(name, "control.tar", 11)) {
			rc = extract_tar(a, dir, 1, err);
		}
	}
	archive_read_free(a);
	free(root);
	if (rc == 0 && !seen_data)
		rc = cl_err(err, "'%s' is not a Debian package (no data.tar member)", deb);
	return rc;
}

char *deb_unpack(const char *cache_dir, const struct deb_pkg *p, char *err)
{
	char *id = deb_id(p);
	char *final = xasprintf("%s/unpacked/%s", cache_dir, id);
	char *tmp = xasprintf("%s/unpacked/.tmp-%s-%d", cache_dir, id, (int)getpid());
	char *deb = deb_file(cache_dir, p);
	struct stat st;
	int rc = 0;
	if (stat(final, &st) < 0) {
		rm_rf(tmp);
		char *root = xasprintf("%s/root", tmp);
		rc = mkdir_p(root, 0755, err);
		free(root);
		if (rc == 0)
			rc = unpack_deb(deb, tmp, err);
		/* Losing a race to another caplab is fine: its tree is the same. */
		if (rc == 0 && rename(tmp, final) < 0 && errno != EEXIST && errno != ENOTEMPTY)
			rc = cl_err(err, "cannot create '%s': %s", final, strerror(errno));
		rm_rf(tmp);
	}
	free(id);
	free(tmp);
	free(deb);
	if (rc < 0) {
		free(final);
		return NULL;
	}
	return final;
}
