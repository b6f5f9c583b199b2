/* sshd_fixture.h: Debian's real OpenSSH sshd for tests and benchmarks of
 * core/ssh.c, run exactly as a guest runs it behind socat: `sshd -i` with
 * the connection on stdin/stdout (here one end of a socketpair), with the
 * sshd config and keys a guest gets (guestssh.c, keys.c). sshd comes from
 * the openssh-server .deb, fetched and unpacked into caplab's cache by
 * deb.c, never installed on the host. As root, each sshd runs in a private
 * mount namespace (unshare -m) where /etc/passwd has the privilege
 * separation user and /run/sshd exists; the host's files are untouched.
 * Header-only (static functions): included by tests/unit/test_ssh.c and
 * tests/bench/bench_ssh.c, which the Makefile builds as single files. */
#ifndef CAPLAB_SSHD_FIXTURE_H
#define CAPLAB_SSHD_FIXTURE_H

#include "deb.h"
#include "guestssh.h"
#include "keys.h"
#include "loop.h"
#include "proc.h"
#include "ssh.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SSHFIX_NODE "t"

static struct {
	char dir[64];
	char *sshd, *libdir, *config, *wrapper;
	struct lab_keys *keys;
	struct proc *last_sshd; /* the sshd of the most recent dial */
	int dials;
} SF;

static char *cache_dir(void)
{
	const char *x = getenv("XDG_CACHE_HOME");
	if (x && *x)
		return xasprintf("%s/caplab", x);
	const char *h = getenv("HOME");
	return xasprintf("%s/.cache/caplab", h && *h ? h : "/tmp");
}

/* openssh-server and the one library the host may lack (libwrap0); the
 * rest of sshd's libraries are the host's own Debian 12 ones. */
static int get_sshd(char *err)
{
	char *cache = cache_dir(), *names[] = {"openssh-server"};
	struct deb_list all = {0}, want = {0};
	int rc = -1;
	if (mkdir_p(cache, 0755, err) < 0 || deb_resolve(cache, names, 1, &all, err) < 0)
		goto out;
	const char *pick[] = {"openssh-server", "libwrap0"};
	for (size_t i = 0; i < ARRAY_LEN(pick); i++) {
		const struct deb_pkg *p = deb_list_find(&all, pick[i]);
		if (p)
			deb_list_add(&want, p->name, p->version, p->arch);
	}
	if (deb_fetch(cache, &want, 0, NULL, NULL, err) < 0)
		goto out;
	for (size_t i = 0; i < want.n; i++) {
		char *d = deb_unpack(cache, &want.v[i], err);
		if (!d)
			goto out;
		if (!strcmp(want.v[i].name, "openssh-server"))
			SF.sshd = xasprintf("%s/root/usr/sbin/sshd", d);
		else
			SF.libdir = xasprintf("%s/root/usr/lib/x86_64-linux-gnu", d);
		free(d);
	}
	rc = SF.sshd ? 0 : cl_err(err, "openssh-server has no usr/sbin/sshd");
out:
	deb_list_free(&all);
	deb_list_free(&want);
	free(cache);
	return rc;
}

static const char *login_user(void)
{
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_name : "root";
}

/* As root, sshd insists on its privsep user and /run/sshd: give it both in
 * a private mount namespace. root's shell there is /bin/sh, as in a guest
 * (busybox sh): the host's bash would source root's ~/.bashrc for every
 * command run over ssh. */
static int write_root_wrapper(char *err)
{
	struct buf pw = {0};
	char *passwd = read_file("/etc/passwd", NULL, err);
	if (!passwd)
		return -1;
	buf_adds(&pw, "root:x:0:0:root:/root:/bin/sh\n");
	for (char *line = passwd, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line) - 1;
		if (strncmp(line, "root:", 5))
			buf_add(&pw, line, (size_t)(nl - line) + 1);
	}
	if (!strstr(passwd, "\nsshd:"))
		buf_adds(&pw, "sshd:x:64999:65534::/run/sshd:/usr/sbin/nologin\n");
	free(passwd);
	char *pwpath = xasprintf("%s/passwd", SF.dir);
	int rc = write_file(pwpath, pw.data, pw.len, 0644, err);
	buf_free(&pw);
	char *script = xasprintf("mount --bind %s /etc/passwd && mount -t tmpfs tmpfs /run && "
				 "mkdir -m 755 /run/sshd && LD_LIBRARY_PATH=%s exec %s -i -e -f %s\n",
				 pwpath, SF.libdir ? SF.libdir : "", SF.sshd, SF.config);
	SF.wrapper = xasprintf("%s/sshd.sh", SF.dir);
	if (rc == 0)
		rc = write_file(SF.wrapper, script, strlen(script), 0755, err);
	free(script);
	free(pwpath);
	return rc;
}

static int write_config(char *err)
{
	char *ak = xasprintf("%s/authorized_keys", SF.dir);
	char *line = xasprintf("%s\n", SF.keys->client_public);
	char *text = guestssh_sshd_config(SF.keys->host_key_path, ak);
	SF.config = xasprintf("%s/sshd_config", SF.dir);
	int rc = (write_file(ak, line, strlen(line), 0600, err) < 0 ||
		  write_file(SF.config, text, strlen(text), 0644, err) < 0)
			 ? -1
			 : 0;
	free(ak);
	free(line);
	free(text);
	return rc;
}

/* ---- fixture: a dialer that starts one sshd -i per connection ---- */

struct tdial {
	int fd;
	uint64_t timer;
	sshc_dial_done_fn done;
	void *arg;
};

static void tdial_deliver(void *arg)
{
	struct tdial *d = arg;
	d->done(d->fd, d->fd < 0 ? "cannot start sshd" : NULL, d->arg);
	free(d);
}

static struct proc *start_sshd(int fd)
{
	char err[CL_ERRBUF];
	char *logpath = xasprintf("%s/sshd.log", SF.dir);
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	free(logpath);
	struct proc_opts o = {.stdin_fd = fd, .stdout_fd = fd, .stderr_fd = logfd};
	struct proc *p;
	if (getuid() == 0) {
		char *argv[] = {"unshare", "-m", "sh", SF.wrapper, NULL};
		p = proc_start("sshd", argv, &o, NULL, NULL, err);
	} else {
		char *env = xasprintf("LD_LIBRARY_PATH=%s", SF.libdir ? SF.libdir : "");
		char *envp[] = {env, "PATH=/usr/bin:/bin", NULL};
		char *argv[] = {SF.sshd, "-i", "-e", "-f", SF.config, NULL};
		o.envp = envp;
		p = proc_start("sshd", argv, &o, NULL, NULL, err);
		free(env);
	}
	if (!p)
		fprintf(stderr, "test_ssh: %s\n", err);
	close(logfd);
	return p;
}

static void *tdial(void *ctx, double timeout, sshc_dial_done_fn done, void *arg)
{
	(void)ctx;
	(void)timeout;
	struct tdial *d = xcalloc(1, sizeof *d);
	int sv[2];
	d->done = done;
	d->arg = arg;
	d->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
		SF.last_sshd = start_sshd(sv[1]);
		close(sv[1]);
		d->fd = SF.last_sshd ? sv[0] : (close(sv[0]), -1);
	}
	SF.dials++;
	d->timer = loop_defer(tdial_deliver, d);
	return d;
}

static void tdial_cancel(void *ctx, void *handle)
{
	(void)ctx;
	struct tdial *d = handle;
	loop_cancel(d->timer);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

/* After get_sshd(): a lab dir with keys and the guest's sshd config. */
static int sshfix_init(char *err)
{
	snprintf(SF.dir, sizeof SF.dir, "/tmp/caplab-test-ssh.XXXXXX");
	if (!mkdtemp(SF.dir))
		return cl_err(err, "cannot create a temporary directory: %s", strerror(errno));
	if (!(SF.keys = keys_create(SF.dir, err)) || write_config(err) < 0 ||
	    (getuid() == 0 && write_root_wrapper(err) < 0))
		return -1;
	return 0;
}

static struct sshc_opts sshfix_opts(const struct lab_keys *keys)
{
	return (struct sshc_opts){.node = SSHFIX_NODE, .keys = keys, .user = login_user(), .timeout = 20,
				  .dialer = {.dial = tdial, .cancel = tdial_cancel}};
}

static void sshfix_cleanup(void)
{
	keys_free(SF.keys);
	proc_kill_all(2);
	if (!getenv("KEEP") && SF.dir[0])
		rm_rf(SF.dir);
	free(SF.sshd);
	free(SF.libdir);
	free(SF.config);
	free(SF.wrapper);
}

#endif
