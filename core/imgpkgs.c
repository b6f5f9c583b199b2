/* imgpkgs.c: package files, library closure and accounts for a guest image
 * layer (see imgpkgs.h). */
#include "imgpkgs.h"
#include "elfscan.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- paths ---------------------------------------------------------------- */

static void push_component(struct buf *b, const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.'))
		return;
	if (n == 2 && s[0] == '.' && s[1] == '.') {
		char *slash = strrchr(b->data ? b->data : "", '/');
		b->len = slash ? (size_t)(slash - b->data) : 0;
		if (b->data)
			b->data[b->len] = '\0';
		return;
	}
	if (b->len)
		buf_add(b, "/", 1);
	buf_add(b, s, n);
}

static char *fold_dots(const char *rel)
{
	struct buf b = {0};
	buf_add(&b, "", 0);
	for (const char *s = rel; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		push_component(&b, s, n);
		s += n + (e ? 1 : 0);
	}
	return b.data;
}

char *imgpkgs_usr_merge(const char *rel)
{
	static const char *const merged[] = {"bin", "sbin", "lib", "lib64"};
	char *p = fold_dots(rel);
	for (size_t i = 0; i < ARRAY_LEN(merged); i++) {
		size_t n = strlen(merged[i]);
		if (!strncmp(p, merged[i], n) && (p[n] == '/' || p[n] == '\0')) {
			char *q = xasprintf("usr/%s", p);
			free(p);
			return q;
		}
	}
	return p;
}

/* ---- the merged view of every unpacked package in the closure ------------ */

struct tree_ent {
	char *path; /* usr-merged, relative */
	char *src;  /* on disk */
	mode_t mode;
};

struct tree {
	struct tree_ent *v;
	size_t n, cap;
};

static void tree_add(struct tree *t, char *path, char *src, mode_t mode)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 1024;
		t->v = xrealloc(t->v, t->cap * sizeof *t->v);
	}
	t->v[t->n++] = (struct tree_ent){path, src, mode};
}

/* Calls fn for every entry under root/rel (depth first, parents first). */
typedef void (*walk_fn)(const char *rel, const char *src, mode_t mode, void *arg);

static void walk(const char *root, const char *rel, walk_fn fn, void *arg)
{
	char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		char *src = xasprintf("%s/%s", root, r);
		struct stat st;
		if (lstat(src, &st) == 0) {
			fn(r, src, st.st_mode, arg);
			if (S_ISDIR(st.st_mode))
				walk(root, r, fn, arg);
		}
		free(r);
		free(src);
	}
	if (d)
		closedir(d);
	free(dir);
}

static void tree_walk_fn(const char *rel, const char *src, mode_t mode, void *arg)
{
	tree_add(arg, imgpkgs_usr_merge(rel), xstrdup(src), mode);
}

static int tree_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tree_ent *)a)->path, ((const struct tree_ent *)b)->path);
}

static void tree_build(struct tree *t, char *const *dirs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *root = xasprintf("%s/root", dirs[i]);
		walk(root, "", tree_walk_fn, t);
		free(root);
	}
	/* Stable enough: equal paths are directories or diversions; any copy does. */
	qsort(t->v, t->n, sizeof *t->v, tree_cmp);
}

static const struct tree_ent *tree_find(const struct tree *t, const char *path)
{
	struct tree_ent key = {.path = (char *)path};
	return bsearch(&key, t->v, t->n, sizeof key, tree_cmp);
}

static void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].src);
	}
	free(t->v);
}

/* ---- a small string set (open addressing) ---------------------------------- */

struct strset {
	char **slot;
	size_t cap, n;
};

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* 1 if s was added, 0 if it was there already. */
static int strset_add(struct strset *set, const char *s)
{
	if (2 * (set->n + 1) > set->cap) {
		struct strset big = {xcalloc(set->cap ? 2 * set->cap : 256, sizeof(char *)),
				     set->cap ? 2 * set->cap : 256, 0};
		for (size_t i = 0; i < set->cap; i++)
			if (set->slot[i])
				strset_add(&big, set->slot[i]), free(set->slot[i]);
		free(set->slot);
		*set = big;
	}
	size_t i = str_hash(s) & (set->cap - 1);
	for (; set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (!strcmp(set->slot[i], s))
			return 0;
	set->slot[i] = xstrdup(s);
	set->n++;
	return 1;
}

static void strset_free(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
}

/* ---- which packages are taken whole ---------------------------------------- */

/* The value of a control field (continuation lines joined), malloc'd, or NULL. */
static char *control_field(const char *control, const char *field)
{
	size_t fl = strlen(field);
	for (const char *line = control; line && *line;) {
		if (!strncasecmp(line, field, fl) && line[fl] == ':') {
			struct buf b = {0};
			const char *s = line + fl + 1;
			for (;;) {
				const char *nl = strchr(s, '\n');
				buf_add(&b, s, nl ? (size_t)(nl - s) : strlen(s));
				if (!nl || (nl[1] != ' ' && nl[1] != '\t'))
					break;
				s = nl + 1;
			}
			return b.data;
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return NULL;
}

static char *read_control(const char *dir)
{
	char *path = xasprintf("%s/control", dir);
	char *text = read_file(path, NULL, NULL);
	free(path);
	return text ? text : xstrdup("");
}

/* Base-system plumbing that a guest without systemd or dpkg never uses;
 * required/important/standard packages are skipped as well. */
static int never_whole(const char *name, const char *control)
{
	static const char *const skip[] = {"usrmerge", "runit-helper", "init-system-helpers",
					   "lsb-base", "sensible-utils", "debconf", "ucf", "adduser",
					   "systemd", "systemd-sysv", "dbus", "gcc-12-base", "netbase",
					   "ca-certificates"};
	for (size_t i = 0; i < ARRAY_LEN(skip); i++)
		if (!strcmp(name, skip[i]))
			return 1;
	if (!strncmp(name, "lib", 3)) /* libraries come in through DT_NEEDED */
		return 1;
	char *prio = control_field(control, "Priority");
	int base = prio && (strstr(prio, "required") || strstr(prio, "important") || strstr(prio, "standard"));
	free(prio);
	return base;
}

struct selection {
	const struct deb_list *closure;
	char *const *dirs;
	char *whole; /* per closure index */
};

static long closure_index(const struct deb_list *l, const char *name, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i].name) == n && !strncmp(l->v[i].name, name, n))
			return (long)i;
	return -1;
}

static void select_pkg(struct selection *s, size_t i, int requested);

/* "a (>= 1), b | c:any" -> for each clause the first alternative present. */
static void select_deps(struct selection *s, const char *deps)
{
	for (const char *c = deps; c && *c;) {
		const char *end = strchr(c, ',');
		const char *alt_end = end ? end : c + strlen(c);
		for (const char *a = c; a < alt_end;) {
			a += strspn(a, " \t|");
			size_t n = strcspn(a, " \t(:|,[");
			long k = closure_index(s->closure, a, n);
			if (k >= 0) {
				select_pkg(s, (size_t)k, 0);
				break;
			}
			const char *bar = memchr(a, '|', (size_t)(alt_end - a));
			a = bar ? bar : alt_end;
		}
		c = end ? end + 1 : NULL;
	}
}

static void select_pkg(struct selection *s, size_t i, int requested)
{
	if (s->whole[i])
		return;
	char *control = read_control(s->dirs[i]);
	if (requested || !never_whole(s->closure->v[i].name, control)) {
		s->whole[i] = 1;
		char *dep = control_field(control, "Depends");
		char *pre = control_field(control, "Pre-Depends");
		select_deps(s, dep);
		select_deps(s, pre);
		free(dep);
		free(pre);
	}
	free(control);
}

/* ---- files of whole packages ------------------------------------------------ */

static int excluded(const char *path)
{
	static const char *const prefixes[] = {"usr/share/doc", "usr/share/man", "usr/share/info",
					       "usr/share/locale", "usr/share/lintian", "usr/share/bug",
					       "usr/share/doc-base", "usr/lib/systemd", "etc/systemd",
					       "usr/share/bash-completion", "usr/share/zsh"};
	for (size_t i = 0; i < ARRAY_LEN(prefixes); i++) {
		size_t n = strlen(prefixes[i]);
		if (!strncmp(path, prefixes[i], n) && (path[n] == '/' || path[n] == '\0'))
			return 1;
	}
	return 0;
}

struct closure_state {
	struct initramfs *fs;
	const struct tree *tree;
	struct strset seen;    /* image paths already added */
	char **work;           /* ELF files still to scan (image paths) */
	size_t n_work, cap_work;
	struct buf missing;
	int failed;
	char *err;
};

static void push_work(struct closure_state *cs, const char *path)
{
	if (cs->n_work == cs->cap_work) {
		cs->cap_work = cs->cap_work ? 2 * cs->cap_work : 64;
		cs->work = xrealloc(cs->work, cs->cap_work * sizeof *cs->work);
	}
	cs->work[cs->n_work++] = xstrdup(path);
}

static void add_entry(struct closure_state *cs, const char *path, const char *src, mode_t mode)
{
	if (!strset_add(&cs->seen, path))
		return;
	if (initramfs_add_path(cs->fs, path, src, cs->err) < 0)
		cs->failed = 1;
	if (S_ISREG(mode) && elf_is_elf(src))
		push_work(cs, path);
}

static void whole_walk_fn(const char *rel, const char *src, mode_t mode, void *arg)
{
	char *path = imgpkgs_usr_merge(rel);
	/* the top-level bin, lib... are symlinks made by the base layer */
	if (!excluded(path) && strcmp(path, "usr/bin") && strcmp(path, "usr/sbin") &&
	    strcmp(path, "usr/lib") && strcmp(path, "usr/lib64"))
		add_entry(arg, path, src, mode);
	free(path);
}

/* ---- the shared-library closure ------------------------------------------ */

/* Adds path (following symlinks inside the merged tree, adding each link and
 * its target); returns 0, or -1 if it is nowhere in the closure. */
static int add_with_links(struct closure_state *cs, const char *path)
{
	char *cur = xstrdup(path);
	int rc = -1;
	for (int hops = 0; hops < 16; hops++) {
		const struct tree_ent *t = tree_find(cs->tree, cur);
		if (!t)
			break;
		add_entry(cs, t->path, t->src, t->mode);
		if (!S_ISLNK(t->mode)) {
			rc = 0;
			break;
		}
		char target[4096];
		ssize_t n = readlink(t->src, target, sizeof target - 1);
		if (n < 0)
			break;
		target[n] = '\0';
		char *dir = xstrndup(cur, strrchr(cur, '/') ? (size_t)(strrchr(cur, '/') - cur) : 0);
		char *joined = target[0] == '/' ? xstrdup(target + 1) : xasprintf("%s/%s", dir, target);
		free(dir);
		free(cur);
		cur = imgpkgs_usr_merge(joined);
		free(joined);
	}
	free(cur);
	return rc;
}

static void add_soname(struct closure_state *cs, const char *soname, const char *by)
{
	static const char *const libdirs[] = {"usr/lib/x86_64-linux-gnu", "usr/lib", "usr/lib64"};
	for (size_t i = 0; i < ARRAY_LEN(libdirs); i++) {
		char *p = xasprintf("%s/%s", libdirs[i], soname);
		int rc = add_with_links(cs, p);
		free(p);
		if (rc == 0)
			return;
	}
	buf_addf(&cs->missing, " %s (needed by /%s)", soname, by);
}

static void scan_elf(struct closure_state *cs, const char *path)
{
	const struct tree_ent *t = tree_find(cs->tree, path);
	if (!t)
		return;
	struct elf_deps d;
	char err[CL_ERRBUF];
	if (elf_read_deps(t->src, &d, err) < 0)
		return; /* a damaged ELF is shipped as is; the guest will say more */
	for (size_t i = 0; i < d.n_needed; i++)
		add_soname(cs, d.needed[i], path);
	if (d.interp && d.interp[0] == '/') {
		char *ip = imgpkgs_usr_merge(d.interp + 1);
		if (add_with_links(cs, ip) < 0)
			buf_addf(&cs->missing, " %s (interpreter of /%s)", d.interp, path);
		free(ip);
	}
	elf_deps_free(&d);
}

static void library_closure(struct closure_state *cs)
{
	while (cs->n_work > 0) {
		char *path = cs->work[--cs->n_work];
		scan_elf(cs, path);
		free(path);
	}
}

/* ---- accounts: Debian's static base plus `adduser --system` users -------- */

static const char base_passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"bin:x:2:2:bin:/bin:/usr/sbin/nologin\n"
	"sys:x:3:3:sys:/dev:/usr/sbin/nologin\n"
	"sync:x:4:65534:sync:/bin:/bin/sync\n"
	"games:x:5:60:games:/usr/games:/usr/sbin/nologin\n"
	"man:x:6:12:man:/var/cache/man:/usr/sbin/nologin\n"
	"lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin\n"
	"mail:x:8:8:mail:/var/mail:/usr/sbin/nologin\n"
	"news:x:9:9:news:/var/spool/news:/usr/sbin/nologin\n"
	"uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin\n"
	"proxy:x:13:13:proxy:/bin:/usr/sbin/nologin\n"
	"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
	"backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n"
	"list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin\n"
	"irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin\n"
	"_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

static const char base_group[] =
	"root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nlp:x:7:\n"
	"mail:x:8:\nnews:x:9:\nuucp:x:10:\nman:x:12:\nproxy:x:13:\nkmem:x:15:\ndialout:x:20:\n"
	"fax:x:21:\nvoice:x:22:\ncdrom:x:24:\nfloppy:x:25:\ntape:x:26:\nsudo:x:27:\naudio:x:29:\n"
	"dip:x:30:\nwww-data:x:33:\nbackup:x:34:\noperator:x:37:\nlist:x:38:\nirc:x:39:\nsrc:x:40:\n"
	"shadow:x:42:\nutmp:x:43:\nvideo:x:44:\nsasl:x:45:\nplugdev:x:46:\nstaff:x:50:\n"
	"games:x:60:\nusers:x:100:\nnogroup:x:65534:\n";

struct accounts {
	struct buf passwd, group;
	struct buf rundirs, dirs;  /* newline-separated */
	unsigned next_uid, next_gid;
};

/* The id of name in an /etc/passwd or /etc/group text, or -1. */
static long lookup_id(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *l = text; l && *l;) {
		if (!strncmp(l, name, n) && l[n] == ':') {
			const char *f = strchr(l + n + 1, ':');
			return f ? strtol(f + 1, NULL, 10) : -1;
		}
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	return -1;
}

static long add_group(struct accounts *ac, const char *name)
{
	long gid = lookup_id(ac->group.data, name);
	if (gid < 0) {
		gid = ac->next_gid++;
		buf_addf(&ac->group, "%s:x:%ld:\n", name, gid);
	}
	return gid;
}

struct adduser_args {
	const char *name, *home, *shell, *ingroup;
	int system, group, is_addgroup;
};

/* Takes words of one `adduser`/`addgroup` command line; ignores lines with
 * shell variables in the name (we cannot know their value). */
static void parse_adduser(char **w, size_t n, struct adduser_args *a)
{
	memset(a, 0, sizeof *a);
	a->is_addgroup = !strcmp(w[0], "addgroup") || !strcmp(w[0], "groupadd");
	for (size_t i = 1; i < n; i++) {
		const char *s = w[i];
		if (!strcmp(s, "--system"))
			a->system = 1;
		else if (!strcmp(s, "--group"))
			a->group = 1;
		else if (!strcmp(s, "--home") && i + 1 < n)
			a->home = w[++i];
		else if (!strcmp(s, "--shell") && i + 1 < n)
			a->shell = w[++i];
		else if (!strcmp(s, "--ingroup") && i + 1 < n)
			a->ingroup = w[++i];
		else if ((!strcmp(s, "--gecos") || !strcmp(s, "--uid") || !strcmp(s, "--gid") ||
			  !strcmp(s, "--firstuid") || !strcmp(s, "--lastuid")) && i + 1 < n)
			i++;
		else if (s[0] != '-' && s[0] != '>' && s[0] != '2' && s[0] != '|' && !a->name)
			a->name = s;
	}
}

static void apply_adduser(struct accounts *ac, const struct adduser_args *a)
{
	if (!a->system || !a->name || strpbrk(a->name, "$`\"'\\:"))
		return;
	if (a->is_addgroup) {
		add_group(ac, a->name);
		return;
	}
	if (lookup_id(ac->passwd.data, a->name) >= 0)
		return;
	long gid = a->group ? add_group(ac, a->name) : a->ingroup ? add_group(ac, a->ingroup) : 65534;
	const char *home = a->home ? a->home : "/nonexistent";
	buf_addf(&ac->passwd, "%s:x:%u:%ld::%s:%s\n", a->name, ac->next_uid++, gid, home,
		 a->shell ? a->shell : "/usr/sbin/nologin");
	if (!strncmp(home, "/run/", 5))
		buf_addf(&ac->rundirs, "%s\n", home);
}

/* Splits a shell line into words (quotes dropped; good enough for the
 * literal adduser/mkdir lines of maintainer scripts). */
static size_t split_words(char *line, char **w, size_t max)
{
	size_t n = 0;
	for (char *s = line; *s && n < max;) {
		s += strspn(s, " \t");
		if (!*s || *s == '#' || *s == ';' || *s == '&')
			break;
		char q = (*s == '"' || *s == '\'') ? *s++ : 0;
		w[n++] = s;
		s += q ? strcspn(s, q == '"' ? "\"" : "'") : strcspn(s, " \t;&");
		if (*s)
			*s++ = '\0';
	}
	return n;
}

static void scan_postinst_line(struct accounts *ac, char *line)
{
	char *w[32];
	size_t n = split_words(line, w, ARRAY_LEN(w));
	if (n < 2)
		return;
	if (!strcmp(w[0], "adduser") || !strcmp(w[0], "addgroup")) {
		struct adduser_args a;
		parse_adduser(w, n, &a);
		apply_adduser(ac, &a);
	} else if (!strcmp(w[0], "mkdir")) {
		for (size_t i = 1; i < n; i++)
			if (w[i][0] == '/' && !strpbrk(w[i], "$`*?"))
				buf_addf(!strncmp(w[i], "/run/", 5) ? &ac->rundirs : &ac->dirs, "%s\n", w[i]);
	}
}

static void scan_postinst(struct accounts *ac, const char *dir)
{
	char *path = xasprintf("%s/postinst", dir);
	char *text = read_file(path, NULL, NULL);
	free(path);
	char *save = NULL;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save))
		scan_postinst_line(ac, l);
	free(text);
}

static void shadow_of(const char *passwd, struct buf *out)
{
	for (const char *l = passwd; l && *l;) {
		size_t n = strcspn(l, ":");
		buf_add(out, l, n);
		buf_adds(out, ":*:19000:0:99999:7:::\n");
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
}

static void write_accounts(struct initramfs *fs, struct accounts *ac)
{
	struct buf shadow = {0};
	shadow_of(ac->passwd.data, &shadow);
	initramfs_add_data(fs, "etc/passwd", 0644, ac->passwd.data, ac->passwd.len);
	initramfs_add_data(fs, "etc/group", 0644, ac->group.data, ac->group.len);
	initramfs_add_data(fs, "etc/shadow", 0640, shadow.data, shadow.len);
	buf_free(&shadow);
}

static void accounts_init(struct accounts *ac)
{
	memset(ac, 0, sizeof *ac);
	buf_adds(&ac->passwd, base_passwd);
	buf_adds(&ac->group, base_group);
	ac->next_uid = 100;
	ac->next_gid = 101;
}

static void accounts_free(struct accounts *ac)
{
	buf_free(&ac->passwd);
	buf_free(&ac->group);
	buf_free(&ac->rundirs);
	buf_free(&ac->dirs);
}

void imgpkgs_add_base_accounts(struct initramfs *fs)
{
	struct accounts ac;
	accounts_init(&ac);
	write_accounts(fs, &ac);
	accounts_free(&ac);
}

/* ---- the layer ----------------------------------------------------------- */

static void add_listed_dirs(struct initramfs *fs, const char *list)
{
	char *copy = xstrdup(list ? list : "");
	char *save = NULL;
	for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save))
		initramfs_add_dir(fs, d, 0755);
	free(copy);
}

static int take_whole_packages(struct closure_state *cs, const struct selection *sel,
			       struct accounts *ac, struct buf *report)
{
	for (size_t i = 0; i < sel->closure->n; i++) {
		if (!sel->whole[i])
			continue;
		char *root = xasprintf("%s/root", sel->dirs[i]);
		walk(root, "", whole_walk_fn, cs);
		free(root);
		scan_postinst(ac, sel->dirs[i]);
		if (report)
			buf_addf(report, "%s %s\n", sel->closure->v[i].name, sel->closure->v[i].version);
	}
	return cs->failed ? -1 : 0;
}

static int select_requested(struct selection *sel, char *const *requested, size_t n, char *err)
{
	for (size_t r = 0; r < n; r++) {
		long k = closure_index(sel->closure, requested[r], strlen(requested[r]));
		if (k < 0)
			return cl_err(err, "package '%s' is not in its own resolved closure "
					   "(a virtual package? name a real one)", requested[r]);
		select_pkg(sel, (size_t)k, 1);
	}
	return 0;
}

int imgpkgs_fill(struct initramfs *fs, const struct deb_list *closure, char *const *dirs,
		 char *const *requested, size_t n_requested, struct buf *report, char *err)
{
	struct selection sel = {closure, dirs, xcalloc(closure->n + 1, 1)};
	struct tree tree = {0};
	struct closure_state cs = {.fs = fs, .tree = &tree, .err = err};
	struct accounts ac;
	accounts_init(&ac);
	int rc = select_requested(&sel, requested, n_requested, err);
	if (rc == 0) {
		tree_build(&tree, dirs, closure->n);
		rc = take_whole_packages(&cs, &sel, &ac, report);
	}
	if (rc == 0) {
		library_closure(&cs);
		rc = cs.failed ? -1 : 0;
	}
	/* Not fatal: a plugin may need a library only some setups have. */
	if (rc == 0 && cs.missing.len && report)
		buf_addf(report, "warning: shared libraries not found in the closure:%s\n", cs.missing.data);
	if (rc == 0) {
		write_accounts(fs, &ac);
		add_listed_dirs(fs, ac.dirs.data);
		initramfs_add_data(fs, "etc/caplab/rundirs", 0644, ac.rundirs.data ? ac.rundirs.data : "",
				   ac.rundirs.len);
	}
	for (size_t i = 0; i < cs.n_work; i++)
		free(cs.work[i]);
	free(cs.work);
	strset_free(&cs.seen);
	buf_free(&cs.missing);
	tree_free(&tree);
	accounts_free(&ac);
	free(sel.whole);
	return rc;
}
