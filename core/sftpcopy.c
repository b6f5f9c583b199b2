/* sftpcopy.c: recursive copies over blocking SFTP (see sftpcopy.h).
 * Uploads write big chunks (one round trip each: libssh 0.10 has no
 * pipelined write); downloads keep several reads in flight. */
#include "sftpcopy.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh/sftp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* OpenSSH's sftp-server takes messages up to 256 KiB. */
#define PUT_CHUNK (256 * 1024 - 1024)
#define GET_CHUNK (64 * 1024)
#define GET_DEPTH 16

struct job {
	sftp_session sftp;
	struct sftpcopy *cx;
	char *err;
	char *buf;
};

static const char *sftp_reason(sftp_session sftp)
{
	switch (sftp_get_error(sftp)) {
	case SSH_FX_EOF: return "unexpected end of file";
	case SSH_FX_NO_SUCH_FILE: return "no such file or directory";
	case SSH_FX_PERMISSION_DENIED: return "permission denied";
	case SSH_FX_FILE_ALREADY_EXISTS: return "file exists";
	case SSH_FX_OK: return ssh_get_error(sftp->session);
	default: return "failed";
	}
}

static int sftp_fail(struct job *j, const char *what, const char *path)
{
	return cl_err(j->err, "cannot %s '%s' on the node: %s", what, path, sftp_reason(j->sftp));
}

static int cancelled(struct job *j)
{
	if (j->cx->cancel && atomic_load(j->cx->cancel))
		return cl_err(j->err, "cancelled");
	return 0;
}

static const char *base_name(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	const char *s = path + n;
	while (s > path && s[-1] != '/')
		s--;
	return s;
}

/* cp -r naming: into an existing directory (or "dir/") goes src's basename. */
static char *dest_name(const char *dst, int dst_is_dir, const char *src)
{
	size_t n = strlen(dst);
	if (!dst_is_dir && !(n && dst[n - 1] == '/'))
		return xstrdup(dst);
	char *base = xstrdup(base_name(src));
	char *slash = strchr(base, '/');
	if (slash)
		*slash = '\0';
	char *r = xasprintf("%s%s%s", dst, n && dst[n - 1] == '/' ? "" : "/", base);
	free(base);
	return r;
}

/* ---- local → remote ---- */

static int put_any(struct job *j, const char *local, const char *remote);

static int put_times(struct job *j, const char *remote, const struct stat *st)
{
	struct timeval tv[2] = {{st->st_atim.tv_sec, st->st_atim.tv_nsec / 1000},
				{st->st_mtim.tv_sec, st->st_mtim.tv_nsec / 1000}};
	if (sftp_chmod(j->sftp, remote, st->st_mode & 07777) < 0)
		return sftp_fail(j, "set the mode of", remote);
	if (sftp_utimes(j->sftp, remote, tv) < 0)
		return sftp_fail(j, "set the times of", remote);
	return 0;
}

static int put_data(struct job *j, int fd, sftp_file f, const char *local, const char *remote)
{
	for (;;) {
		ssize_t n = read(fd, j->buf, PUT_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cl_err(j->err, "cannot read '%s': %s", local, strerror(errno));
		if (n == 0)
			return 0;
		if (cancelled(j) < 0)
			return -1;
		if (sftp_write(f, j->buf, (size_t)n) != n)
			return sftp_fail(j, "write", remote);
		j->cx->bytes += (uint64_t)n;
	}
}

static int put_file(struct job *j, const char *local, const char *remote, const struct stat *st)
{
	int fd = open(local, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cl_err(j->err, "cannot open '%s': %s", local, strerror(errno));
	sftp_file f = sftp_open(j->sftp, remote, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!f) {
		close(fd);
		return sftp_fail(j, "create", remote);
	}
	int rc = put_data(j, fd, f, local, remote);
	close(fd);
	if (sftp_close(f) < 0 && rc == 0)
		rc = sftp_fail(j, "close", remote);
	return rc < 0 ? -1 : put_times(j, remote, st);
}

static int put_dir(struct job *j, const char *local, const char *remote, const struct stat *st)
{
	sftp_attributes a = sftp_stat(j->sftp, remote);
	int exists = a && a->type == SSH_FILEXFER_TYPE_DIRECTORY;
	sftp_attributes_free(a);
	if (!exists && sftp_mkdir(j->sftp, remote, 0700) < 0)
		return sftp_fail(j, "create directory", remote);
	DIR *d = opendir(local);
	if (!d)
		return cl_err(j->err, "cannot read directory '%s': %s", local, strerror(errno));
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *l = xasprintf("%s/%s", local, e->d_name), *r = xasprintf("%s/%s", remote, e->d_name);
		rc = put_any(j, l, r);
		free(l);
		free(r);
	}
	closedir(d);
	return rc < 0 ? -1 : put_times(j, remote, st);
}

static int put_link(struct job *j, const char *local, const char *remote)
{
	char target[4096];
	ssize_t n = readlink(local, target, sizeof target - 1);
	if (n < 0)
		return cl_err(j->err, "cannot read link '%s': %s", local, strerror(errno));
	target[n] = '\0';
	sftp_unlink(j->sftp, remote);
	if (sftp_symlink(j->sftp, target, remote) < 0)
		return sftp_fail(j, "create link", remote);
	return 0;
}

static int put_any(struct job *j, const char *local, const char *remote)
{
	struct stat st;
	if (lstat(local, &st) < 0)
		return cl_err(j->err, "cannot copy '%s': %s", local, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return put_dir(j, local, remote, &st);
	if (S_ISREG(st.st_mode))
		return put_file(j, local, remote, &st);
	if (S_ISLNK(st.st_mode))
		return put_link(j, local, remote);
	return cl_err(j->err, "cannot copy '%s': not a file, directory or symlink", local);
}

static sftp_session sftp_start(ssh_session s, char *err)
{
	sftp_session sftp = sftp_new(s);
	if (!sftp) {
		cl_err(err, "cannot start sftp: %s", ssh_get_error(s));
		return NULL;
	}
	if (sftp_init(sftp) < 0) {
		cl_err(err, "cannot start sftp (is the Subsystem sftp line in sshd's config?): %s",
		       ssh_get_error(s));
		sftp_free(sftp);
		return NULL;
	}
	return sftp;
}

int sftpcopy_put(ssh_session s, const char *local, const char *remote, struct sftpcopy *cx, char *err)
{
	struct job j = {.cx = cx, .err = err};
	if (!(j.sftp = sftp_start(s, err)))
		return -1;
	sftp_attributes a = sftp_stat(j.sftp, remote);
	char *dst = dest_name(remote, a && a->type == SSH_FILEXFER_TYPE_DIRECTORY, local);
	sftp_attributes_free(a);
	j.buf = xmalloc(PUT_CHUNK);
	int rc = put_any(&j, local, dst);
	free(j.buf);
	free(dst);
	sftp_free(j.sftp);
	return rc;
}

/* ---- remote → local ---- */

static int get_any(struct job *j, const char *remote, const char *local);

static int set_local_attrs(struct job *j, const char *local, sftp_attributes a)
{
	struct timespec ts[2] = {{(time_t)a->atime, 0}, {(time_t)a->mtime, 0}};
	if (chmod(local, a->permissions & 07777) < 0 || utimensat(AT_FDCWD, local, ts, 0) < 0)
		return cl_err(j->err, "cannot set mode/times of '%s': %s", local, strerror(errno));
	return 0;
}

static int write_all(struct job *j, int fd, const char *p, size_t n, const char *local)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return cl_err(j->err, "cannot write '%s': %s", local, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Keeps GET_DEPTH reads in flight; the size comes from the remote stat,
 * so a file that changes while copied is an error, not a silent gap. */
static int get_data(struct job *j, sftp_file f, uint64_t size, int fd, const char *remote, const char *local)
{
	uint32_t ids[GET_DEPTH], lens[GET_DEPTH];
	int head = 0, n = 0;
	uint64_t asked = 0, got = 0;
	while (got < size) {
		while (n < GET_DEPTH && asked < size) {
			uint32_t len = size - asked < GET_CHUNK ? (uint32_t)(size - asked) : GET_CHUNK;
			int id = sftp_async_read_begin(f, len);
			if (id < 0)
				return sftp_fail(j, "read", remote);
			ids[(head + n) % GET_DEPTH] = (uint32_t)id;
			lens[(head + n++) % GET_DEPTH] = len;
			asked += len;
		}
		if (cancelled(j) < 0)
			return -1;
		int r = sftp_async_read(f, j->buf, lens[head], ids[head]);
		if (r < 0)
			return sftp_fail(j, "read", remote);
		if ((uint32_t)r != lens[head])
			return cl_err(j->err, "cannot read '%s': it changed while being copied", remote);
		if (write_all(j, fd, j->buf, (size_t)r, local) < 0)
			return -1;
		got += (uint64_t)r;
		j->cx->bytes += (uint64_t)r;
		head = (head + 1) % GET_DEPTH;
		n--;
	}
	return 0;
}

static int get_file(struct job *j, const char *remote, const char *local, sftp_attributes a)
{
	sftp_file f = sftp_open(j->sftp, remote, O_RDONLY, 0);
	if (!f)
		return sftp_fail(j, "open", remote);
	int fd = open(local, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		sftp_close(f);
		return cl_err(j->err, "cannot create '%s': %s", local, strerror(errno));
	}
	int rc = get_data(j, f, a->size, fd, remote, local);
	if (close(fd) < 0 && rc == 0)
		rc = cl_err(j->err, "cannot write '%s': %s", local, strerror(errno));
	sftp_close(f);
	return rc < 0 ? -1 : set_local_attrs(j, local, a);
}

static int get_dir(struct job *j, const char *remote, const char *local, sftp_attributes a)
{
	if (mkdir(local, 0700) < 0 && errno != EEXIST)
		return cl_err(j->err, "cannot create directory '%s': %s", local, strerror(errno));
	sftp_dir d = sftp_opendir(j->sftp, remote);
	if (!d)
		return sftp_fail(j, "read directory", remote);
	int rc = 0;
	sftp_attributes e;
	while (rc == 0 && (e = sftp_readdir(j->sftp, d))) {
		if (strcmp(e->name, ".") && strcmp(e->name, "..")) {
			char *r = xasprintf("%s/%s", remote, e->name), *l = xasprintf("%s/%s", local, e->name);
			rc = get_any(j, r, l);
			free(r);
			free(l);
		}
		sftp_attributes_free(e);
	}
	if (rc == 0 && !sftp_dir_eof(d))
		rc = sftp_fail(j, "read directory", remote);
	sftp_closedir(d);
	return rc < 0 ? -1 : set_local_attrs(j, local, a);
}

static int get_link(struct job *j, const char *remote, const char *local)
{
	char *target = sftp_readlink(j->sftp, remote);
	if (!target)
		return sftp_fail(j, "read link", remote);
	unlink(local);
	int rc = symlink(target, local) < 0
			 ? cl_err(j->err, "cannot create link '%s': %s", local, strerror(errno))
			 : 0;
	ssh_string_free_char(target);
	return rc;
}

static int get_any(struct job *j, const char *remote, const char *local)
{
	sftp_attributes a = sftp_lstat(j->sftp, remote);
	if (!a)
		return sftp_fail(j, "copy", remote);
	int rc;
	if (a->type == SSH_FILEXFER_TYPE_DIRECTORY)
		rc = get_dir(j, remote, local, a);
	else if (a->type == SSH_FILEXFER_TYPE_REGULAR)
		rc = get_file(j, remote, local, a);
	else if (a->type == SSH_FILEXFER_TYPE_SYMLINK)
		rc = get_link(j, remote, local);
	else
		rc = cl_err(j->err, "cannot copy '%s': not a file, directory or symlink", remote);
	sftp_attributes_free(a);
	return rc;
}

int sftpcopy_get(ssh_session s, const char *remote, const char *local, struct sftpcopy *cx, char *err)
{
	struct job j = {.cx = cx, .err = err};
	if (!(j.sftp = sftp_start(s, err)))
		return -1;
	struct stat st;
	char *dst = dest_name(local, stat(local, &st) == 0 && S_ISDIR(st.st_mode), remote);
	j.buf = xmalloc(GET_CHUNK);
	int rc = get_any(&j, remote, dst);
	free(j.buf);
	free(dst);
	sftp_free(j.sftp);
	return rc;
}
