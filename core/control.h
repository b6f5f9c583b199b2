/* control.h: the control socket of a running lab (RUNDIR/control, 0600),
 * like tmux's server socket: other processes (`caplab ctl`, scripts with
 * socat) send commands in the caplab language and read the replies.
 *
 * Protocol, line-oriented. A client sends command lines, one per line;
 * each is parsed as "<control>" and run on a command queue of its own
 * connection, in order, a failure not stopping later lines. Every command
 * gets exactly one final reply, in order (a line with `a; b` gets two, an
 * empty or comment-only line one `ok`):
 *
 *   ok
 *   error MESSAGE          (parse errors: "<control>:1:COL: ...")
 *
 * Before its final reply, a command may get lines about it, each one line:
 *
 *   out NODE STREAM TEXT   a line of its exec output (STREAM stdout|stderr;
 *                          a last line without newline is sent at its end)
 *   msg TEXT               a message of the lab while it ran
 *   warn TEXT              an error the lab reported while it ran (not its own)
 *   state NODE STATE       a node changed state while it ran
 *   progress NODE TEXT     long work going on (NODE may be "-")
 *
 * Messages, states and progress are the lab's, reported while the command
 * runs; they may also come from work someone else started. A client that
 * half-closes gets the remaining replies, then the lab closes the
 * connection; one that goes away leaves its commands running, replies
 * dropped. Paths in commands are the lab's: relative to its out dir
 * (caplab run -o DIR), else to the directory the lab was started in. */
#ifndef CAPLAB_CONTROL_H
#define CAPLAB_CONTROL_H

struct engine;
struct control;

/* The file name of the socket in the runtime dir. */
#define CONTROL_SOCKET "control"

/* Listens on path (a unix socket, mode 0600) on the loop; NULL with err. */
struct control *control_new(struct engine *e, const char *path, char *err);
/* The lab is going away: the socket is removed, no new command starts
 * (queued ones get "error ... shutting down"); running ones finish and are
 * answered. Idempotent. */
void control_stop(struct control *c);
/* Closes every connection (a running command's queue is freed with it:
 * call after whatever could still resume commands is gone). NULL is fine. */
void control_free(struct control *c);

#endif
