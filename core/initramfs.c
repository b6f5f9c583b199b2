/* initramfs.c: collect entries, then write them sorted (parents before
 * children) as cpio newc through libarchive. File contents are streamed from
 * their source files at write time, so a layer costs no memory per byte. */
#include "initramfs.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct entry {
	char *path;
	mode_t mode;       /* type and permissions */
	char *src;         /* regular file: copy from here, or */
	char *data;        /* regular file contents, or symlink target */
	size_t len;
	unsigned major, minor;
	size_t seq;        /* insertion order: the later of two equal paths wins */
};

struct initramfs {
	struct entry *v;
	size_t n, cap;
	size_t seq;
};

struct initramfs *initramfs_new(void) { return xcalloc(1, sizeof(struct initramfs)); }

void initramfs_free(struct initramfs *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].path);
		free(fs->v[i].src);
		free(fs->v[i].data);
	}
	free(fs->v);
	free(fs);
}

static struct entry *add(struct initramfs *fs, const char *path, mode_t mode)
{
	while (*path == '/')
		path++;
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? 2 * fs->cap : 256;
		fs->v = xrealloc(fs->v, fs->cap * sizeof *fs->v);
	}
	struct entry *e = &fs->v[fs->n++];
	*e = (struct entry){.path = xstrdup(path), .mode = mode, .seq = fs->seq++};
	return e;
}

void initramfs_add_dir(struct initramfs *fs, const char *path, mode_t perm)
{
	add(fs, path, S_IFDIR | (perm & 07777));
}

void initramfs_add_data(struct initramfs *fs, const char *path, mode_t perm, const void *data,
			size_t len)
{
	struct entry *e = add(fs, path, S_IFREG | (perm & 07777));
	e->data = xmalloc(len + 1);
	memcpy(e->data, data, len);
	e->len = len;
}

void initramfs_add_symlink(struct initramfs *fs, const char *path, const char *target)
{
	struct entry *e = add(fs, path, S_IFLNK | 0777);
	e->data = xstrdup(target);
	e->len = strlen(target);
}

void initramfs_add_chardev(struct initramfs *fs, const char *path, mode_t perm, unsigned major,
			   unsigned minor)
{
	struct entry *e = add(fs, path, S_IFCHR | (perm & 07777));
	e->major = major;
	e->minor = minor;
}

int initramfs_add_path(struct initramfs *fs, const char *path, const char *src, char *err)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return cl_err(err, "cannot stat '%s': %s", src, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		initramfs_add_dir(fs, path, st.st_mode);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(src, target, sizeof target - 1);
		if (n < 0)
			return cl_err(err, "cannot read link '%s': %s", src, strerror(errno));
		target[n] = '\0';
		initramfs_add_symlink(fs, path, target);
	} else if (S_ISREG(st.st_mode)) {
		struct entry *e = add(fs, path, S_IFREG | (st.st_mode & 07777));
		e->src = xstrdup(src);
		e->len = (size_t)st.st_size;
	}
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static int by_path_then_seq(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

int initramfs_has(const struct initramfs *fs, const char *path)
{
	for (size_t i = 0; i < fs->n; i++)
		if (!strcmp(fs->v[i].path, path))
			return 1;
	return 0;
}

size_t initramfs_count(const struct initramfs *fs) { return fs->n; }

/* Adds a directory entry for every parent that has none (after sorting,
 * a parent is either present or missing from the whole list). */
static void add_parents(struct initramfs *fs)
{
	size_t n = fs->n;
	for (size_t i = 0; i < n; i++) {
		char *p = xstrdup(fs->v[i].path);
		for (char *s = strrchr(p, '/'); s; s = strrchr(p, '/')) {
			*s = '\0';
			struct entry key = {.path = p};
			if (bsearch(&key, fs->v, n, sizeof key, by_path))
				break;
			initramfs_add_dir(fs, p, 0755);
			fs->v[fs->n - 1].seq = 0; /* an explicit entry wins */
		}
		free(p);
	}
}

/* Sorted by path; of equal paths only the last added stays. */
static void normalize(struct initramfs *fs)
{
	qsort(fs->v, fs->n, sizeof *fs->v, by_path_then_seq);
	add_parents(fs);
	qsort(fs->v, fs->n, sizeof *fs->v, by_path_then_seq);
	size_t w = 0;
	for (size_t i = 0; i < fs->n; i++) {
		if (i + 1 < fs->n && !strcmp(fs->v[i].path, fs->v[i + 1].path)) {
			free(fs->v[i].path);
			free(fs->v[i].src);
			free(fs->v[i].data);
			continue;
		}
		fs->v[w++] = fs->v[i];
	}
	fs->n = w;
}

static int copy_src(struct archive *a, const struct entry *e, char *err)
{
	int fd = open(e->src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cl_err(err, "cannot open '%s': %s", e->src, strerror(errno));
	static char block[1 << 16];
	size_t left = e->len;
	while (left > 0) {
		ssize_t n = read(fd, block, left < sizeof block ? left : sizeof block);
		if (n <= 0) {
			close(fd);
			return cl_err(err, "'%s' changed while writing the image", e->src);
		}
		if (archive_write_data(a, block, (size_t)n) != n) {
			close(fd);
			return cl_err(err, "cannot write image: %s", archive_error_string(a));
		}
		left -= (size_t)n;
	}
	close(fd);
	return 0;
}

static int write_entry(struct archive *a, struct archive_entry *ae, const struct entry *e,
		       long ino, char *err)
{
	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_mode(ae, e->mode);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_nlink(ae, S_ISDIR(e->mode) ? 2 : 1);
	archive_entry_set_ino(ae, ino); /* unique, so the kernel sees no hard links */
	archive_entry_set_mtime(ae, 0, 0);
	if (S_ISLNK(e->mode))
		archive_entry_set_symlink(ae, e->data);
	if (S_ISCHR(e->mode)) {
		archive_entry_set_rdevmajor(ae, e->major);
		archive_entry_set_rdevminor(ae, e->minor);
	}
	archive_entry_set_size(ae, S_ISREG(e->mode) ? (la_int64_t)e->len : 0);
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		return cl_err(err, "cannot write image entry '%s': %s", e->path, archive_error_string(a));
	if (!S_ISREG(e->mode) || !e->len)
		return 0;
	if (e->src)
		return copy_src(a, e, err);
	if (archive_write_data(a, e->data, e->len) != (la_ssize_t)e->len)
		return cl_err(err, "cannot write image: %s", archive_error_string(a));
	return 0;
}

static int write_archive(struct initramfs *fs, const char *tmp, char *err)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_cpio_newc(a);
	archive_write_add_filter_none(a);
	archive_write_set_bytes_in_last_block(a, 1); /* no 10 KiB of trailing zeros */
	if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		cl_err(err, "cannot create '%s': %s", tmp, archive_error_string(a));
		archive_write_free(a);
		return -1;
	}
	struct archive_entry *ae = archive_entry_new();
	int rc = 0;
	for (size_t i = 0; i < fs->n && rc == 0; i++)
		rc = write_entry(a, ae, &fs->v[i], (long)i + 1, err);
	archive_entry_free(ae);
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = cl_err(err, "cannot finish '%s': %s", tmp, archive_error_string(a));
	archive_write_free(a);
	return rc;
}

int initramfs_write(struct initramfs *fs, const char *path, long long *bytes, char *err)
{
	normalize(fs);
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int rc = write_archive(fs, tmp, err);
	struct stat st;
	if (rc == 0 && stat(tmp, &st) == 0 && bytes)
		*bytes = st.st_size;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = cl_err(err, "cannot create '%s': %s", path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}
