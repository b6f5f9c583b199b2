/* sshchan.c: execs and shells as channels on a node's SSH connection (see
 * ssh.h for the API, ssh_int.h for what ssh.c and this file share).
 *
 * A channel goes WAIT → OPEN → (PTY) → START → RUN → DONE. Like the rest
 * of the client, only sshc_pump() (through sshc_chans_step) calls libssh;
 * the public functions change our structures and kick the connection. */
#include "ssh.h"
#include "ssh_int.h"
#include "loop.h"
#include "util.h"

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
void sshc_chans_sweep(struct sshc *c)
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

/* ---- all channels of a connection (for ssh.c) ---- */

void sshc_chans_release(struct sshc *c)
{
	for (struct sshc_chan *ch = c->chans; ch; ch = ch->next)
		chan_release(ch);
}

void sshc_chans_end(struct sshc *c, const char *msg, int kill)
{
	for (struct sshc_chan *ch = c->chans; ch && (kill || !c->dying); ch = ch->next) {
		if (kill)
			chan_kill(ch);
		chan_end(ch, -1, msg);
	}
}

void sshc_chans_step(struct sshc *c)
{
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
}

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
			return sshc_settle(ch->c);
	}
	sshc_pump(ch->c);
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
	sshc_kick(c);
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
	sshc_kick(ch->c);
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
		sshc_kick(ch->c);
}

void sshc_chan_eof(struct sshc_chan *ch)
{
	ch->want_eof = 1;
	sshc_kick(ch->c);
}

void sshc_shell_resize(struct sshc_chan *ch, int cols, int rows)
{
	ch->cols = cols;
	ch->rows = rows;
	ch->resize = 1;
	sshc_kick(ch->c);
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
	sshc_kick(ch->c);
}

