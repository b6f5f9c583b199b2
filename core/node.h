/* node.h: one node's life: defined -> building -> booting -> ready ->
 * stopping -> stopped, or crashed when QEMU ends by itself. A node owns its
 * QEMU process, its QMP connection and its serial console (logged to
 * RUNDIR/NODE.console.log and watched for the guest's readiness line). */
#ifndef CAPLAB_NODE_H
#define CAPLAB_NODE_H

#include "qemu.h"

enum node_state {
	NODE_DEFINED,
	NODE_BUILDING,
	NODE_BOOTING,
	NODE_READY,
	NODE_STOPPING,
	NODE_STOPPED,
	NODE_CRASHED,
};

struct node;
struct qmp;

/* State changes; msg says why for failures ("qemu exited with status 1: ..."). */
typedef void (*node_state_fn)(struct node *n, enum node_state st, const char *msg, void *arg);

struct node_boot {
	const struct qemu_host *host;
	struct qemu_node_args qemu; /* console/qmp paths are filled in by node_boot */
	const char *ready_token;    /* the guest prints "caplab-ready TOKEN" */
	double timeout;             /* seconds until a boot without readiness fails */
};

struct node *node_new(const char *name, const char *rundir, node_state_fn fn, void *arg);
void node_free(struct node *n); /* kills QEMU if still running */

const char *node_name(const struct node *n);
enum node_state node_state(const struct node *n);
const char *node_state_name(enum node_state st);
int node_pid(const struct node *n); /* -1 when not running */
struct qmp *node_qmp(const struct node *n);
const char *node_console_log(const struct node *n);
/* Seconds since QEMU was started for the current boot. */
double node_boot_seconds(const struct node *n);

/* The guest printed its readiness line. With a hook set, the node stays
 * BOOTING until node_set_ready() (the engine waits for SSH); the boot timeout
 * still applies. */
typedef void (*node_up_fn)(struct node *n, void *arg);
void node_set_up_hook(struct node *n, node_up_fn fn, void *arg);
void node_set_ready(struct node *n);
/* Marks the node as building its image (start has begun). */
void node_set_building(struct node *n);
/* Starts QEMU; the state callback reports READY or a failure later. */
int node_boot(struct node *n, const struct node_boot *b, char *err);
/* Fails a node that never got to boot (image error...). */
void node_fail(struct node *n, const char *msg);
/* QMP quit, then SIGTERM, then SIGKILL; STOPPED is reported when reaped. */
void node_stop(struct node *n);

#endif
