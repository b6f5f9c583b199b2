/* sshcopy.c: copies to and from a node. libssh 0.10's SFTP is blocking, so
 * each copy dials its own connection and runs a blocking SFTP session on a
 * worker thread; the result comes back to the loop through an eventfd. */
#include "ssh_int.h"
#include "loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- public: copies (worker thread, own session) ---- */

static void copy_login(struct sshc_copy *cp, ssh_session s)
{
	ssh_key client = NULL, host = NULL;
	if (sshc_import_keys(cp->client_private, cp->host_public, &client, &host, cp->err) < 0)
		goto out;
	if (ssh_connect(s) != SSH_OK) {
		cl_err(cp->err, "ssh handshake failed: %s", ssh_get_error(s));
		goto out;
	}
	if (sshc_verify_host(s, host, cp->node, cp->err) < 0)
		goto out;
	int rc = ssh_userauth_publickey(s, NULL, client);
	if (rc != SSH_AUTH_SUCCESS) {
		cl_err(cp->err, "ssh login failed: %s", sshc_auth_error(rc));
		goto out;
	}
	cp->rc = 0;
out:
	ssh_key_free(client);
	ssh_key_free(host);
}

static void *copy_worker(void *arg)
{
	struct sshc_copy *cp = arg;
	cp->rc = -1;
	ssh_session s = sshc_session_new(cp->node, cp->user, cp->key_dir, cp->known_hosts, dup(cp->fd), cp->err);
	if (s) {
		long secs = 30;
		ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &secs);
		copy_login(cp, s);
		if (cp->rc == 0)
			cp->rc = cp->upload ? sftpcopy_put(s, cp->src, cp->dst, &cp->cx, cp->err)
					    : sftpcopy_get(s, cp->src, cp->dst, &cp->cx, cp->err);
		if (cp->rc == 0)
			ssh_disconnect(s);
		ssh_free(s);
	}
	uint64_t one = 1;
	if (write(cp->efd, &one, sizeof one) < 0) {
		/* cannot happen with an eventfd below its limit */
	}
	return NULL;
}

static void copy_free(struct sshc_copy *cp)
{
	if (cp->c)
		for (struct sshc_copy **p = &cp->c->copies; *p; p = &(*p)->next)
			if (*p == cp) {
				*p = cp->next;
				break;
			}
	if (cp->efd >= 0) {
		loop_unwatch(cp->efd);
		close(cp->efd);
	}
	if (cp->fd >= 0)
		close(cp->fd);
	free(cp->src);
	free(cp->dst);
	free(cp->node);
	free(cp->user);
	free(cp->client_private);
	free(cp->host_public);
	free(cp->known_hosts);
	free(cp->key_dir);
	free(cp);
}

static void copy_finish(struct sshc_copy *cp, const char *err)
{
	sshc_copy_fn done = cp->done;
	void *arg = cp->arg;
	uint64_t bytes = cp->cx.bytes;
	char *msg = err ? xasprintf("copy %s node %s failed: %s", cp->upload ? "to" : "from", cp->node, err) : NULL;
	copy_free(cp);
	if (done)
		done(msg, bytes, arg);
	free(msg);
}

static void on_copy_done(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;
	struct sshc_copy *cp = arg;
	pthread_join(cp->thread, NULL);
	cp->started = 0;
	copy_finish(cp, cp->rc < 0 ? cp->err : NULL);
}

static void on_copy_dialed(int fd, const char *err, void *arg)
{
	struct sshc_copy *cp = arg;
	cp->dial = NULL;
	if (fd < 0)
		return copy_finish(cp, err ? err : "cannot reach sshd");
	cp->fd = fd;
	cp->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cp->efd < 0 || pthread_create(&cp->thread, NULL, copy_worker, cp) != 0)
		return copy_finish(cp, "cannot start a copy thread");
	cp->started = 1;
	loop_watch(cp->efd, LOOP_READ, on_copy_done, cp);
}

/* Stops a copy without calling done: the worker's socket is shut down, so
 * a blocked libssh call returns at once, and the thread is joined. */
void sshc_copy_stop(struct sshc_copy *cp)
{
	atomic_store(&cp->cancel, 1);
	if (cp->dial && cp->c)
		cp->c->dialer.cancel(cp->c->dialer.ctx, cp->dial);
	if (cp->started) {
		shutdown(cp->fd, SHUT_RDWR);
		pthread_join(cp->thread, NULL);
	}
	copy_free(cp);
}

static struct sshc_copy *copy_start(struct sshc *c, int upload, const char *src, const char *dst,
				    sshc_copy_fn done, void *arg, char *err)
{
	if (c->phase == PH_FAILED || c->dying) {
		cl_err(err, "%s", c->failure ? c->failure : "connection closed");
		return NULL;
	}
	struct sshc_copy *cp = xcalloc(1, sizeof *cp);
	*cp = (struct sshc_copy){.c = c, .upload = upload, .src = xstrdup(src), .dst = xstrdup(dst),
				 .done = done, .arg = arg, .fd = -1, .efd = -1, .node = xstrdup(c->node),
				 .user = xstrdup(c->user), .client_private = xstrdup(c->keys->client_private),
				 .host_public = xstrdup(c->keys->host_public),
				 .known_hosts = xstrdup(c->keys->known_hosts_path), .key_dir = xstrdup(c->keys->dir)};
	atomic_init(&cp->cancel, 0);
	cp->cx.cancel = &cp->cancel;
	cp->next = c->copies;
	c->copies = cp;
	cp->dial = c->dialer.dial(c->dialer.ctx, c->timeout, on_copy_dialed, cp);
	return cp;
}

struct sshc_copy *sshc_copy_to(struct sshc *c, const char *local, const char *remote, sshc_copy_fn done,
			       void *arg, char *err)
{
	return copy_start(c, 1, local, remote, done, arg, err);
}

struct sshc_copy *sshc_copy_from(struct sshc *c, const char *remote, const char *local, sshc_copy_fn done,
				 void *arg, char *err)
{
	return copy_start(c, 0, remote, local, done, arg, err);
}

void sshc_copy_cancel(struct sshc_copy *cp) { sshc_copy_stop(cp); }
