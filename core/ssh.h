/* ssh.h: one persistent libssh session per node, on the event loop.
 *
 * A connection (struct sshc) dials the node's sshd (by default over vsock:
 * vsock_dial(host_path, 22)), pins the lab's host key, logs in as root with
 * the lab's client key and then multiplexes channels on that one session:
 * execs, interactive shells. Everything is non-blocking: libssh runs with
 * ssh_set_blocking(0) and is driven from loop watchers, so a slow node never
 * holds up another. Copies use SFTP on a second session of their own, in a
 * worker thread (libssh 0.10's SFTP is blocking); their result comes back
 * through the loop.
 *
 * Callbacks never run inside a libssh call, and every sshc_* function may be
 * called from any callback (including sshc_free of the same connection). */
#ifndef CAPLAB_SSH_H
#define CAPLAB_SSH_H

#include <stddef.h>
#include <stdint.h>

struct lab_keys;
struct sshc;      /* a connection to one node */
struct sshc_chan; /* an exec or a shell on it */
struct sshc_copy; /* a running copy */

enum sshc_state { SSHC_CONNECTING, SSHC_READY, SSHC_FAILED };
/* READY once (msg NULL), or FAILED once with a message: "node b: ssh not
 * ready after 30 s: ...", "connection to node b lost". */
typedef void (*sshc_state_fn)(struct sshc *c, enum sshc_state st, const char *msg, void *arg);

/* How a connection reaches sshd: asynchronously, a connected byte stream. */
typedef void (*sshc_dial_done_fn)(int fd, const char *err, void *done_arg);
struct sshc_dialer {
	/* Starts a dial and calls done exactly once, on the loop (the callee
	 * owns fd), unless cancelled. Returns a handle for cancel. */
	void *(*dial)(void *ctx, double timeout, sshc_dial_done_fn done, void *done_arg);
	void (*cancel)(void *ctx, void *handle);
	void *ctx;
};

struct sshc_opts {
	const char *node;            /* for messages */
	const struct lab_keys *keys; /* must outlive the connection */
	const char *user;            /* NULL: root */
	double timeout;              /* dial + handshake + login, seconds; 0: 30 */
	struct sshc_dialer dialer;
};

/* Starts connecting at once; fn reports READY or FAILED. Never NULL. */
struct sshc *sshc_open(const struct sshc_opts *o, sshc_state_fn fn, void *arg);
/* sshc_open over the node's vsock backend (guest port 22). */
struct sshc *sshc_new(const char *node, const char *vsock_host_path, const struct lab_keys *keys,
		      sshc_state_fn fn, void *arg);
/* Disconnects. Running execs, shells and copies end with "connection to
 * node X closed"; the state callback is not called again. NULL is fine. */
void sshc_free(struct sshc *c);
enum sshc_state sshc_state(const struct sshc *c);
const char *sshc_node(const struct sshc *c);

#define SSHC_STDOUT 1
#define SSHC_STDERR 2
/* Output as it arrives; a pty shell only has SSHC_STDOUT. */
typedef void (*sshc_output_fn)(int stream, const char *data, size_t len, void *arg);
/* Called once at the end: status >= 0 is the exit status; status -1 with err
 * ("timed out after 2 s", "killed by signal KILL", "connection to node b
 * lost", "cancelled"). */
typedef void (*sshc_exit_fn)(int status, const char *err, void *arg);

/* argv as one POSIX shell command line: every word arrives verbatim
 * (single-quoted where needed, ' as '\''). malloc'd. */
char *sshc_quote_argv(char *const argv[]);

/* Runs argv on the node (the remote user's shell gets the quoted line).
 * May be called before READY (it waits for the login). stdin is at EOF
 * (like ssh -n). done runs when the node closes the channel, i.e. when the
 * command and whatever holds its stdout/stderr have exited (as with ssh).
 * timeout > 0: then the command's process group gets SIGKILL and done
 * reports "timed out after N s". NULL with err set only when the
 * connection has failed.
 * How the kill works: OpenSSH ignores "signal" requests for root sessions,
 * so the command line is prefixed with printf '\001caplab-pid %s\n' "$$" >&2
 * (that first stderr line is removed from the output) and the kill is a
 * `kill -9 -PID` on a second channel (sshd makes each command a session
 * leader). */
struct sshc_chan *sshc_exec(struct sshc *c, char *const argv[], double timeout, sshc_output_fn out,
			    sshc_exit_fn done, void *arg, char *err);
/* The same with a command line for the remote shell, used as it is. */
struct sshc_chan *sshc_exec_line(struct sshc *c, const char *cmdline, double timeout,
				 sshc_output_fn out, sshc_exit_fn done, void *arg, char *err);
/* An interactive login shell on a pty (TERM term, e.g. "xterm-256color"). */
struct sshc_chan *sshc_shell(struct sshc *c, const char *term, int cols, int rows,
			     sshc_output_fn out, sshc_exit_fn done, void *arg, char *err);
/* Queues bytes for a shell's stdin (keys), or an exec's after
 * sshc_chan_keep_stdin; never blocks. (Otherwise an exec's stdin is closed
 * and bytes written to it are dropped.) */
void sshc_chan_write(struct sshc_chan *ch, const void *data, size_t len);
/* Right after sshc_exec: the command's stdin stays open for
 * sshc_chan_write until sshc_chan_eof (like ssh without -n); after
 * sshc_shell only drained is set (a shell's stdin is open). drained(arg)
 * (the exec's arg), if not NULL, runs whenever the queued bytes have all
 * gone to the connection: a writer that stops at sshc_chan_queued() above
 * a limit resumes there. */
void sshc_chan_keep_stdin(struct sshc_chan *ch, void (*drained)(void *arg));
size_t sshc_chan_queued(const struct sshc_chan *ch);
/* While paused the channel's output is not delivered: libssh keeps it and
 * stops widening the SSH window, so the remote command blocks on its
 * writes (a slow reader of output). The end (done) waits for what was kept
 * to be delivered after the pause. */
void sshc_chan_pause_output(struct sshc_chan *ch, int paused);
/* Sends EOF on stdin once queued bytes are out. */
void sshc_chan_eof(struct sshc_chan *ch);
/* Forwards a window size change to a shell's pty. */
void sshc_shell_resize(struct sshc_chan *ch, int cols, int rows);
/* Kills the remote process group and forgets the channel: no callback runs
 * after this returns. */
void sshc_chan_cancel(struct sshc_chan *ch);

/* err NULL on success; bytes = file bytes moved. */
typedef void (*sshc_copy_fn)(const char *err, uint64_t bytes, void *arg);
/* local → remote and remote → local over SFTP; files and directories
 * (recursively), modes and modification times kept. A destination that is
 * an existing directory (or ends in '/') receives the source's basename, as
 * with cp -r. Relative remote paths are relative to the remote home.
 * NULL with err set only when the connection has failed. */
struct sshc_copy *sshc_copy_to(struct sshc *c, const char *local, const char *remote,
			       sshc_copy_fn done, void *arg, char *err);
struct sshc_copy *sshc_copy_from(struct sshc *c, const char *remote, const char *local,
				 sshc_copy_fn done, void *arg, char *err);
/* Stops a copy (a partial destination may remain); done is not called. */
void sshc_copy_cancel(struct sshc_copy *cp);

#endif
