/* ssh.c: libssh sessions to nodes, driven by the event loop (see ssh.h);
 * their channels (execs, shells) are in sshchan.c.
 *
 * A connection goes DIALING → HANDSHAKE → AUTH → READY (or FAILED).
 * sshc_pump() is the one place that calls libssh for a connection: on fd
 * readiness, on timers and on a deferred "kick" after an API call. Public
 * functions only change our own structures and kick, so callbacks may call
 * anything; sshc_free from inside sshc_pump() only marks the connection,
 * which sshc_pump() destroys on its way out. */
#include "ssh.h"
#include "ssh_int.h"
#include "loop.h"
#include "util.h"
#include "vsock.h"

#include <libssh/libssh.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CIPHERS "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr"
#define KEX "curve25519-sha256,curve25519-sha256@libssh.org"

static void destroy(struct sshc *c);

/* ---- sessions (shared by the loop's session and copy workers) ---- */

static int set_opts(ssh_session s, const char *node, const char *user, const char *key_dir,
		    const char *known_hosts)
{
	int no = 0;
	return (ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
		ssh_options_set(s, SSH_OPTIONS_HOST, node) < 0 || ssh_options_set(s, SSH_OPTIONS_USER, user) < 0 ||
		ssh_options_set(s, SSH_OPTIONS_SSH_DIR, key_dir) < 0 ||
		ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, known_hosts) < 0 ||
		ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, known_hosts) < 0 ||
		ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, "ssh-ed25519") < 0 ||
		ssh_options_set(s, SSH_OPTIONS_KEY_EXCHANGE, KEX) < 0 ||
		ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, CIPHERS) < 0 ||
		ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, CIPHERS) < 0 ||
		ssh_options_set(s, SSH_OPTIONS_COMPRESSION, "no") < 0)
		       ? -1
		       : 0;
}

/* A session on fd (which it then owns) that reads nothing of the user's:
 * no ~/.ssh, no ssh_config, no agent, no known_hosts outside RUNDIR. */
ssh_session sshc_session_new(const char *node, const char *user, const char *key_dir,
			       const char *known_hosts, int fd, char *err)
{
	ssh_session s = ssh_new();
	if (!s) {
		close(fd);
		cl_err(err, "cannot create an ssh session (libssh)");
		return NULL;
	}
	if (set_opts(s, node, user, key_dir, known_hosts) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_FD, &fd) < 0) {
		cl_err(err, "cannot set ssh options for node %s: %s", node, ssh_get_error(s));
		close(fd);
		ssh_free(s);
		return NULL;
	}
	return s;
}

int sshc_import_keys(const char *client_private, const char *host_public, ssh_key *client,
		       ssh_key *host, char *err)
{
	char *blob = keys_line_blob(host_public);
	int rc = (ssh_pki_import_privkey_base64(client_private, NULL, NULL, NULL, client) == SSH_OK &&
		  blob && ssh_pki_import_pubkey_base64(blob, SSH_KEYTYPE_ED25519, host) == SSH_OK)
			 ? 0
			 : cl_err(err, "cannot read the lab's ssh keys (libssh); restart the lab");
	free(blob);
	return rc;
}

/* Pinning: the node must present this lab's host key, nothing else. */
int sshc_verify_host(ssh_session s, ssh_key pinned, const char *node, char *err)
{
	ssh_key srv = NULL;
	if (ssh_get_server_publickey(s, &srv) != SSH_OK)
		return cl_err(err, "node %s sent no host key: %s", node, ssh_get_error(s));
	int same = ssh_key_cmp(srv, pinned, SSH_KEY_CMP_PUBLIC) == 0;
	ssh_key_free(srv);
	if (!same)
		return cl_err(err, "node %s presented a host key that is not this lab's; refusing to log in "
				   "(a stale socket or another lab's node?)", node);
	return 0;
}

const char *sshc_auth_error(int rc)
{
	return rc == SSH_AUTH_DENIED ? "it refused the lab's client key (is it in the image's authorized_keys?)"
				      : "authentication failed";
}

/* ---- connection state ---- */

static void kick_now(void *arg)
{
	struct sshc *c = arg;
	c->kick = 0;
	sshc_pump(c);
}

void sshc_kick(struct sshc *c)
{
	if (!c->kick && !c->dying)
		c->kick = loop_defer(kick_now, c);
}

static int session_closed(struct sshc *c)
{
	return !ssh_is_connected(c->s) || (ssh_get_status(c->s) & (SSH_CLOSED | SSH_CLOSED_ERROR));
}

static void on_fd(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;
	sshc_pump(arg);
}

static void update_watch(struct sshc *c)
{
	if (!c->s || c->fd < 0)
		return;
	int fl = ssh_get_poll_flags(c->s);
	loop_watch(c->fd, LOOP_READ | ((fl & SSH_WRITE_PENDING) ? LOOP_WRITE : 0), on_fd, c);
}

/* Drops the libssh side (session, event, fd watcher); ours stays. */
static void drop_session(struct sshc *c)
{
	sshc_chans_release(c);
	if (c->fd >= 0)
		loop_unwatch(c->fd);
	if (c->ev) {
		ssh_event_remove_session(c->ev, c->s);
		ssh_event_free(c->ev);
	}
	if (c->s) {
		if (c->phase == PH_READY && !session_closed(c))
			ssh_disconnect(c->s);
		ssh_free(c->s); /* closes fd */
	}
	c->ev = NULL;
	c->s = NULL;
	c->fd = -1;
}

/* The end of a connection: every channel ends with msg, then the owner hears. */
static void fail(struct sshc *c, const char *msg)
{
	if (c->phase == PH_FAILED)
		return;
	c->phase = PH_FAILED;
	c->failure = xstrdup(msg);
	if (c->dial)
		c->dialer.cancel(c->dialer.ctx, c->dial);
	c->dial = NULL;
	loop_cancel(c->deadline);
	drop_session(c);
	sshc_chans_end(c, msg, 0);
	if (!c->dying && c->state_fn)
		c->state_fn(c, SSHC_FAILED, msg, c->arg);
}

static void failf(struct sshc *c, const char *fmt, const char *detail)
{
	char *msg = xasprintf(fmt, c->node, detail);
	fail(c, msg);
	free(msg);
}

static void lost(struct sshc *c)
{
	char *msg = xasprintf("connection to node %s lost", c->node);
	fail(c, msg);
	free(msg);
}

/* Fails from a timer (outside pump): the owner may free c in its callback. */
static void fail_outside(struct sshc *c, const char *msg)
{
	c->depth++;
	fail(c, msg);
	c->depth--;
	sshc_settle(c);
}

static void on_early_failure(void *arg)
{
	struct sshc *c = arg;
	c->deadline = 0;
	char *msg = xstrdup(c->failure);
	free(c->failure);
	c->failure = NULL;
	fail_outside(c, msg);
	free(msg);
}

static void on_deadline(void *arg)
{
	struct sshc *c = arg;
	c->deadline = 0;
	char secs[32];
	snprintf(secs, sizeof secs, "%g", c->timeout);
	char *msg = xasprintf("node %s: ssh not ready after %s s (is sshd in the image and listening on "
			      "vsock port 22?)", c->node, secs);
	fail_outside(c, msg);
	free(msg);
}

static void on_dialed(int fd, const char *err, void *arg)
{
	struct sshc *c = arg;
	char e[CL_ERRBUF];
	c->dial = NULL;
	c->depth++;
	if (fd < 0) {
		failf(c, "node %s: cannot reach sshd: %s", err ? err : "dial failed");
	} else if (!(c->s = sshc_session_new(c->node, c->user, c->keys->dir, c->keys->known_hosts_path, fd, e))) {
		failf(c, "node %s: %s", e);
	} else {
		ssh_set_blocking(c->s, 0);
		c->fd = fd;
		c->phase = PH_HANDSHAKE;
		loop_watch(fd, LOOP_READ | LOOP_WRITE, on_fd, c);
	}
	c->depth--;
	if (c->dying)
		destroy(c);
	else if (c->phase == PH_HANDSHAKE)
		sshc_pump(c);
}

static void step_handshake(struct sshc *c)
{
	char e[CL_ERRBUF];
	int rc = ssh_connect(c->s);
	if (rc == SSH_AGAIN)
		return;
	if (rc != SSH_OK)
		return failf(c, "node %s: ssh handshake failed: %s", ssh_get_error(c->s));
	if (sshc_verify_host(c->s, c->host_key, c->node, e) < 0)
		return fail(c, e);
	c->phase = PH_AUTH;
}

static void step_auth(struct sshc *c)
{
	int rc = ssh_userauth_publickey(c->s, NULL, c->client_key);
	if (rc == SSH_AUTH_AGAIN)
		return;
	if (rc != SSH_AUTH_SUCCESS)
		return failf(c, "node %s: ssh login failed: %s", sshc_auth_error(rc));
	c->ev = ssh_event_new();
	if (!c->ev || ssh_event_add_session(c->ev, c->s) != SSH_OK)
		return failf(c, "node %s: %s", "cannot watch the ssh session (libssh)");
	c->phase = PH_READY;
	loop_cancel(c->deadline);
	c->deadline = 0;
	if (c->state_fn)
		c->state_fn(c, SSHC_READY, NULL, c->arg);
}

static void step_ready(struct sshc *c)
{
	if (ssh_event_dopoll(c->ev, 0) == SSH_ERROR || session_closed(c))
		return lost(c);
	sshc_chans_step(c);
	if (c->phase == PH_READY && !c->dying && session_closed(c))
		lost(c);
}

void sshc_pump(struct sshc *c)
{
	c->depth++;
	if (c->phase == PH_HANDSHAKE)
		step_handshake(c);
	if (c->phase == PH_AUTH && !c->dying)
		step_auth(c);
	if (c->phase == PH_READY && !c->dying)
		step_ready(c);
	c->depth--;
	if (c->depth > 0)
		return;
	if (c->dying)
		return destroy(c);
	sshc_chans_sweep(c);
	update_watch(c);
}

/* ---- public: connections ---- */

static void *vsock_dialer(void *ctx, double timeout, sshc_dial_done_fn done, void *arg)
{
	return vsock_dial(ctx, 22, timeout, done, arg);
}

static void vsock_dialer_cancel(void *ctx, void *handle)
{
	(void)ctx;
	vsock_dial_cancel(handle);
}

struct sshc *sshc_open(const struct sshc_opts *o, sshc_state_fn fn, void *arg)
{
	struct sshc *c = xcalloc(1, sizeof *c);
	c->node = xstrdup(o->node);
	c->user = xstrdup(o->user ? o->user : "root");
	c->keys = o->keys;
	c->dialer = o->dialer;
	c->timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
	c->state_fn = fn;
	c->arg = arg;
	c->fd = -1;
	char e[CL_ERRBUF];
	if (sshc_import_keys(o->keys->client_private, o->keys->host_public, &c->client_key, &c->host_key, e) < 0) {
		c->failure = xasprintf("node %s: %s", c->node, e);
		c->deadline = loop_defer(on_early_failure, c);
		return c;
	}
	c->deadline = loop_timer(c->timeout, on_deadline, c);
	c->dial = c->dialer.dial(c->dialer.ctx, c->timeout, on_dialed, c);
	return c;
}

struct sshc *sshc_new(const char *node, const char *vsock_host_path, const struct lab_keys *keys,
		      sshc_state_fn fn, void *arg)
{
	char *path = xstrdup(vsock_host_path);
	struct sshc_opts o = {.node = node, .keys = keys,
			      .dialer = {.dial = vsock_dialer, .cancel = vsock_dialer_cancel, .ctx = path}};
	struct sshc *c = sshc_open(&o, fn, arg);
	c->vsock_path = path;
	return c;
}


static void destroy(struct sshc *c)
{
	loop_cancel(c->kick);
	loop_cancel(c->deadline);
	if (c->dial)
		c->dialer.cancel(c->dialer.ctx, c->dial);
	c->dial = NULL;
	char *msg = xasprintf("connection to node %s closed", c->node);
	sshc_chans_end(c, msg, 1);
	sshc_chans_sweep(c);
	while (c->copies)
		sshc_copy_stop(c->copies);
	free(msg);
	drop_session(c);
	ssh_key_free(c->client_key);
	ssh_key_free(c->host_key);
	free(c->node);
	free(c->user);
	free(c->vsock_path);
	free(c->failure);
	free(c);
}

void sshc_settle(struct sshc *c)
{
	if (c->dying && c->depth == 0)
		destroy(c);
}

void sshc_free(struct sshc *c)
{
	if (!c || c->dying)
		return;
	c->dying = 1;
	if (c->depth == 0)
		destroy(c);
}

enum sshc_state sshc_state(const struct sshc *c)
{
	return c->phase == PH_READY ? SSHC_READY : c->phase == PH_FAILED ? SSHC_FAILED : SSHC_CONNECTING;
}

const char *sshc_node(const struct sshc *c) { return c->node; }
