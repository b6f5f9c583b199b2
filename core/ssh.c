/* ssh.c: libssh sessions to nodes, driven by the event loop (see ssh.h).
 *
 * A connection goes DIALING → HANDSHAKE → AUTH → READY (or FAILED). pump()
 * is the one place that calls libssh for a connection: on fd readiness, on
 * timers and on a deferred "kick" after an API call. Public functions only
 * change our own structures and kick, so callbacks may call anything;
 * sshc_free from inside pump() only marks the connection, which pump()
 * destroys on its way out. */
#include "ssh.h"
#include "ssh_int.h"
#include "keys.h"
#include "loop.h"
#include "sftpcopy.h"
#include "util.h"
#include "vsock.h"

#include <errno.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define CIPHERS "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr"
#define KEX "curve25519-sha256,curve25519-sha256@libssh.org"

enum chan_kind { CH_EXEC, CH_SHELL };
enum chan_phase { CP_WAIT, CP_OPEN, CP_PTY, CP_START, CP_RUN, CP_DONE };

struct sshc_chan {
	struct sshc *c;
	struct sshc_chan *next;
	enum chan_kind kind;
	enum chan_phase phase;
	char *cmd, *term;
	int cols, rows, resize;
	double timeout;
	uint64_t timer;
	int timed_out, cancelled;
	sshc_output_fn out;
	sshc_exit_fn done;
	void *arg;
	ssh_channel ch;
	struct ssh_channel_callbacks_struct cb;
	struct buf in;
	size_t in_off;
	void (*drained)(void *arg); /* in emptied (stdin back-pressure) */
	int paused; /* output not taken: libssh keeps it and the window shrinks */
	int kept;   /* libssh holds output withheld during a pause */
	int want_eof, eof_sent;
	int closed, exit_status;
	char *exit_signal;
	/* the remote pid (session leader, = its process group), announced on
	 * the first stderr line so a timeout or cancel can kill the group */
	int pid_known;
	long pid;
	struct buf head;
};

/* OpenSSH refuses "signal" requests for root sessions (it skips post-auth
 * privilege separation for root), so caplab kills a command's process group
 * from a second channel. The command announces its pid first. */
#define PID_MARK "\001caplab-pid "
#define PID_PREFIX "printf '\\001caplab-pid %%s\\n' \"$$\" >&2; "


static void pump(struct sshc *c);
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
	pump(c);
}

static void kick(struct sshc *c)
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
	pump(arg);
}

static void update_watch(struct sshc *c)
{
	if (!c->s || c->fd < 0)
		return;
	int fl = ssh_get_poll_flags(c->s);
	loop_watch(c->fd, LOOP_READ | ((fl & SSH_WRITE_PENDING) ? LOOP_WRITE : 0), on_fd, c);
}

static void chan_release(struct sshc_chan *ch);
static void chan_end(struct sshc_chan *ch, int status, const char *err);

/* Drops the libssh side (session, event, fd watcher); ours stays. */
static void drop_session(struct sshc *c)
{
	for (struct sshc_chan *ch = c->chans; ch; ch = ch->next)
		chan_release(ch);
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
	for (struct sshc_chan *ch = c->chans; ch && !c->dying; ch = ch->next)
		chan_end(ch, -1, msg);
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
	if (c->dying)
		destroy(c);
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
		pump(c);
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

/* ---- channels ---- */

static void deliver(struct sshc_chan *ch, int stream, const char *data, size_t len)
{
	if (len && !ch->cancelled && ch->phase != CP_DONE && ch->out && !ch->c->dying)
		ch->out(stream, data, len, ch->arg);
}

/* Takes the pid line off the front of stderr; the rest is the command's. */
static void take_pid_line(struct sshc_chan *ch, const char *data, size_t len, int final)
{
	buf_add(&ch->head, data, len);
	char *nl = memchr(ch->head.data, '\n', ch->head.len);
	if (!nl && ch->head.len < 64 && !final)
		return;
	size_t mark = strlen(PID_MARK);
	size_t skip = 0;
	if (nl && ch->head.len >= mark && !memcmp(ch->head.data, PID_MARK, mark)) {
		ch->pid = strtol(ch->head.data + mark, NULL, 10);
		skip = (size_t)(nl - ch->head.data) + 1;
	}
	ch->pid_known = 1;
	deliver(ch, SSHC_STDERR, ch->head.data + skip, ch->head.len - skip);
	buf_free(&ch->head);
}

static void consume(struct sshc_chan *ch, const char *data, size_t len, int is_stderr)
{
	if (is_stderr && ch->kind == CH_EXEC && !ch->pid_known)
		take_pid_line(ch, data, len, 0);
	else
		deliver(ch, is_stderr ? SSHC_STDERR : SSHC_STDOUT, data, len);
}

static int on_chan_data(ssh_session s, ssh_channel chan, void *data, uint32_t len, int is_stderr,
			void *arg)
{
	(void)s;
	(void)chan;
	struct sshc_chan *ch = arg;
	if (ch->paused) {
		ch->kept = 1;
		return 0;
	}
	consume(ch, data, len, is_stderr);
	return (int)len;
}

/* After a pause: what libssh kept, in order; reading it reopens the
 * window. */
static void take_kept_output(struct sshc_chan *ch)
{
	char b[16384];
	if (!ch->kept)
		return;
	ch->kept = 0;
	for (int is_stderr = 0; is_stderr < 2 && ch->ch; is_stderr++) {
		for (;;) {
			if (ch->paused) { /* paused again by the consumer */
				ch->kept = 1;
				return;
			}
			int n = ssh_channel_read_nonblocking(ch->ch, b, sizeof b, is_stderr);
			if (n <= 0)
				break;
			consume(ch, b, (size_t)n, is_stderr);
		}
	}
}

static void on_chan_close(ssh_session s, ssh_channel chan, void *arg)
{
	(void)s;
	(void)chan;
	((struct sshc_chan *)arg)->closed = 1;
}

static void on_chan_status(ssh_session s, ssh_channel chan, int status, void *arg)
{
	(void)s;
	(void)chan;
	((struct sshc_chan *)arg)->exit_status = status;
}

static void on_chan_signal(ssh_session s, ssh_channel chan, const char *sig, int core, const char *msg,
			   const char *lang, void *arg)
{
	(void)s;
	(void)chan;
	(void)core;
	(void)msg;
	(void)lang;
	struct sshc_chan *ch = arg;
	free(ch->exit_signal);
	ch->exit_signal = xstrdup(sig ? sig : "?");
}

/* Gives the libssh channel back: no more callbacks into ch. */
static void chan_release(struct sshc_chan *ch)
{
	if (!ch->ch)
		return;
	ssh_remove_channel_callbacks(ch->ch, &ch->cb);
	if (ssh_channel_is_open(ch->ch))
		ssh_channel_close(ch->ch);
	ssh_channel_free(ch->ch);
	ch->ch = NULL;
}

/* The exec is over for its owner: one call of done (unless cancelled). */
static void chan_end(struct sshc_chan *ch, int status, const char *err)
{
	if (ch->phase == CP_DONE)
		return;
	ch->phase = CP_DONE;
	loop_cancel(ch->timer);
	ch->timer = 0;
	if (!ch->cancelled && ch->done)
		ch->done(status, err, ch->arg);
}

static struct sshc_chan *chan_new(struct sshc *c, enum chan_kind kind, double timeout, sshc_output_fn out,
				  sshc_exit_fn done, void *arg, char *err);

/* SIGKILL to the command's process group (sshd made it a session leader),
 * from a channel of its own; then the channel goes. */
static void chan_kill(struct sshc_chan *ch)
{
	if (ch->ch && ch->pid > 1 && !ch->closed && ch->c->phase == PH_READY) {
		struct sshc_chan *k = chan_new(ch->c, CH_EXEC, 10, NULL, NULL, NULL, NULL);
		if (k) {
			k->cmd = xasprintf("kill -9 -%ld 2>/dev/null || kill -9 %ld", ch->pid, ch->pid);
			k->pid_known = 1;
		}
	}
	chan_release(ch);
}

static void chan_finished(struct sshc_chan *ch)
{
	if (ch->exit_signal) {
		char *e = xasprintf("killed by signal %s", ch->exit_signal);
		chan_end(ch, -1, e);
		free(e);
	} else if (ch->exit_status >= 0) {
		chan_end(ch, ch->exit_status, NULL);
	} else {
		char *e = xasprintf("node %s closed the channel without an exit status", ch->c->node);
		chan_end(ch, -1, e);
		free(e);
	}
	chan_release(ch);
}

static void chan_fail(struct sshc_chan *ch, const char *what)
{
	char *e = xasprintf("node %s: cannot %s: %s", ch->c->node, what, ssh_get_error(ch->c->s));
	chan_end(ch, -1, e);
	free(e);
	chan_release(ch);
}

static void chan_flush(struct sshc_chan *ch)
{
	if (ch->in.len > ch->in_off) {
		int n = ssh_channel_write(ch->ch, ch->in.data + ch->in_off, (uint32_t)(ch->in.len - ch->in_off));
		if (n > 0)
			ch->in_off += (size_t)n;
		if (ch->in_off == ch->in.len) {
			buf_reset(&ch->in);
			ch->in_off = 0;
			if (ch->drained)
				ch->drained(ch->arg);
		}
	}
	if (ch->want_eof && !ch->eof_sent && ch->in.len == 0) {
		ssh_channel_send_eof(ch->ch);
		ch->eof_sent = 1;
	}
	if (ch->resize) {
		ssh_channel_change_pty_size(ch->ch, ch->cols, ch->rows);
		ch->resize = 0;
	}
}

static void chan_open(struct sshc_chan *ch)
{
	ch->ch = ssh_channel_new(ch->c->s);
	ssh_callbacks_init(&ch->cb);
	ch->cb.userdata = ch;
	ch->cb.channel_data_function = on_chan_data;
	ch->cb.channel_close_function = on_chan_close;
	ch->cb.channel_exit_status_function = on_chan_status;
	ch->cb.channel_exit_signal_function = on_chan_signal;
	if (ch->ch)
		ssh_set_channel_callbacks(ch->ch, &ch->cb);
	ch->phase = CP_OPEN;
}

/* Moves one channel as far as libssh lets it without waiting. */
static void chan_step(struct sshc_chan *ch)
{
	int rc;
	if (ch->phase == CP_WAIT)
		chan_open(ch);
	if (!ch->ch)
		return chan_fail(ch, "create a channel");
	if (ch->phase == CP_OPEN) {
		if ((rc = ssh_channel_open_session(ch->ch)) == SSH_AGAIN)
			return;
		if (rc != SSH_OK)
			return chan_fail(ch, "open a session channel");
		ch->phase = ch->kind == CH_SHELL ? CP_PTY : CP_START;
	}
	if (ch->phase == CP_PTY) {
		if ((rc = ssh_channel_request_pty_size(ch->ch, ch->term, ch->cols, ch->rows)) == SSH_AGAIN)
			return;
		if (rc != SSH_OK)
			return chan_fail(ch, "get a pty");
		ch->phase = CP_START;
		ch->resize = 0;
	}
	if (ch->phase == CP_START) {
		rc = ch->kind == CH_SHELL ? ssh_channel_request_shell(ch->ch) : ssh_channel_request_exec(ch->ch, ch->cmd);
		if (rc == SSH_AGAIN)
			return;
		if (rc != SSH_OK)
			return chan_fail(ch, ch->kind == CH_SHELL ? "start a shell" : "start the command");
		ch->phase = CP_RUN;
	}
	if (ch->paused)
		return chan_flush(ch); /* the end waits until kept output is taken */
	take_kept_output(ch);
	if (ch->closed && !ch->paused) {
		if (ch->head.len)
			take_pid_line(ch, "", 0, 1);
		return chan_finished(ch);
	}
	chan_flush(ch);
}

static void chan_free(struct sshc_chan *ch)
{
	loop_cancel(ch->timer);
	buf_free(&ch->in);
	buf_free(&ch->head);
	free(ch->cmd);
	free(ch->term);
	free(ch->exit_signal);
	free(ch);
}

/* An ended channel we can free: done was called (or cancelled) and libssh
 * no longer points at it. */
static void sweep(struct sshc *c)
{
	for (struct sshc_chan **p = &c->chans; *p;) {
		struct sshc_chan *ch = *p;
		if (ch->phase != CP_DONE && !ch->cancelled) {
			p = &ch->next;
			continue;
		}
		if (ch->cancelled && ch->phase != CP_DONE)
			chan_end(ch, -1, "cancelled");
		if (ch->ch)
			chan_kill(ch);
		*p = ch->next;
		chan_free(ch);
	}
}

static void step_ready(struct sshc *c)
{
	if (ssh_event_dopoll(c->ev, 0) == SSH_ERROR || session_closed(c))
		return lost(c);
	for (struct sshc_chan *ch = c->chans; ch && !c->dying && c->phase == PH_READY; ch = ch->next) {
		if (ch->timed_out && ch->phase != CP_DONE) {
			char *e = xasprintf("timed out after %g s", ch->timeout);
			chan_kill(ch);
			chan_end(ch, -1, e);
			free(e);
		} else if (ch->phase != CP_DONE && !ch->cancelled) {
			chan_step(ch);
		}
	}
	if (c->phase == PH_READY && !c->dying && session_closed(c))
		lost(c);
}

static void pump(struct sshc *c)
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
	sweep(c);
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
	for (struct sshc_chan *ch = c->chans; ch; ch = ch->next) {
		chan_kill(ch);
		chan_end(ch, -1, msg);
	}
	sweep(c);
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

/* ---- public: execs and shells ---- */

/* Characters that never need quoting in a POSIX shell word. */
static int plain_word(const char *w)
{
	if (!*w)
		return 0;
	for (const char *p = w; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-", *p))
			return 0;
	return 1;
}

char *sshc_quote_argv(char *const argv[])
{
	struct buf b = {0};
	for (int i = 0; argv[i]; i++) {
		if (i)
			buf_adds(&b, " ");
		if (plain_word(argv[i])) {
			buf_adds(&b, argv[i]);
			continue;
		}
		buf_adds(&b, "'");
		for (const char *p = argv[i]; *p; p++)
			buf_adds(&b, *p == '\'' ? "'\\''" : (char[]){*p, 0});
		buf_adds(&b, "'");
	}
	if (!b.data)
		buf_adds(&b, "");
	return b.data;
}

static void on_chan_timeout(void *arg)
{
	struct sshc_chan *ch = arg;
	ch->timer = 0;
	ch->timed_out = 1;
	if (ch->phase == CP_WAIT || !ch->ch) {
		/* never started on the node: nothing to kill */
		char *e = xasprintf("timed out after %g s", ch->timeout);
		ch->c->depth++;
		chan_end(ch, -1, e);
		ch->c->depth--;
		free(e);
		if (ch->c->dying)
			return destroy(ch->c);
	}
	pump(ch->c);
}

static struct sshc_chan *chan_new(struct sshc *c, enum chan_kind kind, double timeout, sshc_output_fn out,
				  sshc_exit_fn done, void *arg, char *err)
{
	if (c->phase == PH_FAILED || c->dying) {
		cl_err(err, "%s", c->failure ? c->failure : "connection closed");
		return NULL;
	}
	struct sshc_chan *ch = xcalloc(1, sizeof *ch);
	*ch = (struct sshc_chan){.c = c, .kind = kind, .timeout = timeout, .out = out, .done = done,
				 .arg = arg, .exit_status = -1};
	struct sshc_chan **p = &c->chans;
	while (*p)
		p = &(*p)->next;
	*p = ch;
	if (timeout > 0)
		ch->timer = loop_timer(timeout, on_chan_timeout, ch);
	kick(c);
	return ch;
}

struct sshc_chan *sshc_exec_line(struct sshc *c, const char *cmdline, double timeout, sshc_output_fn out,
				 sshc_exit_fn done, void *arg, char *err)
{
	struct sshc_chan *ch = chan_new(c, CH_EXEC, timeout, out, done, arg, err);
	if (ch) {
		ch->cmd = xasprintf(PID_PREFIX "%s", cmdline);
		ch->want_eof = 1; /* stdin at EOF, like ssh -n: nothing waits for input */
	}
	return ch;
}

struct sshc_chan *sshc_exec(struct sshc *c, char *const argv[], double timeout, sshc_output_fn out,
			    sshc_exit_fn done, void *arg, char *err)
{
	char *line = sshc_quote_argv(argv);
	struct sshc_chan *ch = sshc_exec_line(c, line, timeout, out, done, arg, err);
	free(line);
	return ch;
}

struct sshc_chan *sshc_shell(struct sshc *c, const char *term, int cols, int rows, sshc_output_fn out,
			     sshc_exit_fn done, void *arg, char *err)
{
	struct sshc_chan *ch = chan_new(c, CH_SHELL, 0, out, done, arg, err);
	if (ch) {
		ch->term = xstrdup(term ? term : "xterm-256color");
		ch->cols = cols;
		ch->rows = rows;
	}
	return ch;
}

void sshc_chan_write(struct sshc_chan *ch, const void *data, size_t len)
{
	if (ch->want_eof)
		return;
	buf_add(&ch->in, data, len);
	kick(ch->c);
}

void sshc_chan_keep_stdin(struct sshc_chan *ch, void (*drained)(void *arg))
{
	ch->want_eof = 0;
	ch->drained = drained;
}

size_t sshc_chan_queued(const struct sshc_chan *ch)
{
	return ch->in.len - ch->in_off;
}

void sshc_chan_pause_output(struct sshc_chan *ch, int paused)
{
	ch->paused = paused;
	if (!paused)
		kick(ch->c);
}

void sshc_chan_eof(struct sshc_chan *ch)
{
	ch->want_eof = 1;
	kick(ch->c);
}

void sshc_shell_resize(struct sshc_chan *ch, int cols, int rows)
{
	ch->cols = cols;
	ch->rows = rows;
	ch->resize = 1;
	kick(ch->c);
}

void sshc_chan_cancel(struct sshc_chan *ch)
{
	ch->cancelled = 1;
	loop_cancel(ch->timer);
	ch->timer = 0;
	if (ch->c->phase != PH_READY && ch->c->depth == 0) {
		/* no session to pump: unlink now */
		struct sshc *c = ch->c;
		for (struct sshc_chan **p = &c->chans; *p; p = &(*p)->next)
			if (*p == ch) {
				*p = ch->next;
				break;
			}
		chan_free(ch);
		return;
	}
	kick(ch->c);
}

