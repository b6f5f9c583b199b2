/* qmp.h: an asynchronous QMP client on the event loop, one per node.
 *
 * caplab listens (qmp_listen) before it starts QEMU, and QEMU connects with
 *   -chardev socket,id=qmp,path=RUNDIR/NODE.qmp,server=off -mon chardev=qmp,mode=control
 * so there is no start-up race. After accept(), qmp_attach() takes the fd:
 * it reads the greeting, negotiates capabilities by itself and holds back
 * commands issued earlier until that is done. Replies are matched by "id";
 * events and the end of the connection arrive through callbacks. Nothing
 * here blocks, except qmp_command_sync(), which runs the loop (tests, probes). */
#ifndef CAPLAB_QMP_H
#define CAPLAB_QMP_H

#include <jansson.h>

struct qmp;

/* A reply: on success result is the "return" value and error is NULL; on
 * failure result is NULL and error is a message such as
 * "qmp query-foo on node a: The command query-foo has not been found
 * (CommandNotFound)" or "qmp connection to node a closed". result is
 * borrowed: json_incref() it to keep it after the callback returns. */
typedef void (*qmp_reply_fn)(struct qmp *q, json_t *result, const char *error, void *arg);

/* Every member may be NULL. Callbacks may call qmp_command() and qmp_free(). */
struct qmp_callbacks {
	/* Capabilities negotiated; held-back commands are being sent. */
	void (*ready)(struct qmp *q, void *arg);
	/* An asynchronous event ("SHUTDOWN", "STOP", "RESET", ...); data is the
	 * event's "data" member or NULL, borrowed. */
	void (*event)(struct qmp *q, const char *name, json_t *data, void *arg);
	/* The connection ended (EOF, socket error, malformed input from QEMU);
	 * called once, after every pending command got its error callback.
	 * reason: "qmp connection to node a closed[: why]". q stays valid until
	 * qmp_free(), but qmp_command() now fails. */
	void (*closed)(struct qmp *q, const char *reason, void *arg);
};

/* Returns a non-blocking, close-on-exec unix socket listening on path
 * (mode 0600; a stale socket file at path is removed first), or -1. */
int qmp_listen(const char *path, char *err);

/* Takes ownership of fd, a connected stream socket (from accept()), and
 * watches it on the loop. cb is copied. Never fails. */
struct qmp *qmp_attach(int fd, const struct qmp_callbacks *cb, void *arg);

/* Name used in messages, e.g. "node a" (default "fd N"). */
void qmp_set_name(struct qmp *q, const char *name);
const char *qmp_name(const struct qmp *q);

/* The greeting's {"QMP": {...}} object once received (else NULL), borrowed:
 * version.qemu.major etc. */
json_t *qmp_greeting(const struct qmp *q);
/* 1 once capabilities are negotiated and the connection is still open. */
int qmp_is_ready(const struct qmp *q);

/* Sends {"execute": name, "arguments": args, "id": N}; args is stolen and may
 * be NULL. fn (may be NULL) is called exactly once with the reply or an error,
 * always from the loop, never from inside qmp_command(). Returns the id
 * (> 0), or -1 if the connection is already closed (fn is then not called). */
int qmp_command(struct qmp *q, const char *name, json_t *args, qmp_reply_fn fn, void *arg);

/* Forgets the callback of command id; its reply, when it comes, is dropped. */
void qmp_cancel(struct qmp *q, int id);

/* Runs the loop until the reply arrives or timeout seconds pass. Returns the
 * "return" value (a new reference: json_decref it) or NULL with err set.
 * For tests and start-up probes only: it nests the loop. */
json_t *qmp_command_sync(struct qmp *q, const char *name, json_t *args, double timeout, char *err);

/* Closes the connection and frees q. Pending callbacks are dropped (none is
 * called after this); safe from inside any qmp callback, where the memory is
 * released only once that callback returns. */
void qmp_free(struct qmp *q);

#endif
