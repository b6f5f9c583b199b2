/* engine_int.h: what engine.c (start, stop, nodes) and engine-net.c
 * (switches, hubs, wirefilters) share; other modules use engine.h. */
#ifndef CAPLAB_ENGINE_INT_H
#define CAPLAB_ENGINE_INT_H

#include "engine.h"
#include "image.h"
#include "keys.h"
#include "lab.h"
#include "node.h"
#include "qemu.h"
#include "ssh.h"
#include "util.h"
#include "vde.h"
#include "vsock.h"

struct rt_switch {
	struct lab_switch *ls;
	char *dir;
	struct vde_proc *vp;
	int ready;
};

/* An impaired link: the node end plugs into a private hub; wirefilter joins
 * that hub to the switch (or to the peer's hub). */
struct rt_impair {
	struct lab_link *ll;
	char *hubdir[2];
	struct vde_proc *hub[2];
	int hub_ready[2];
	struct vde_proc *wf;
};

struct rt_node {
	struct lab_node *ln;
	struct node *node;
	char token[33];
	struct image_out img;
	int img_ok;
	char img_err[CL_ERRBUF];
	struct start_op *op; /* the start waiting for this node */
	struct vsock_dev *vsock;
	char *vsock_host; /* RUNDIR/NODE.vsock: CONNECT <port> reaches the guest */
	struct sshc *ssh;
	struct engine *e;
};

struct start_op {
	struct engine *e;
	struct cmd_ctx *ctx;
	struct rt_node **nodes;
	int n;
	int waiting_switches, prep_done, booting;
	int failed;
	char err[CL_ERRBUF];
	/* worker input/output */
	char *cache;
	int need_probe, offline;
	struct qemu_host host;
	char probe_err[CL_ERRBUF];
	int probe_ok;
};

struct engine {
	struct lab *lab;
	char *rundir, *cache, *out_dir, *name;
	int offline;
	int have_host;
	struct qemu_host host;
	struct rt_switch **sw;
	int nsw;
	struct rt_impair **imp;
	int nimp;
	struct rt_node **nodes; /* pointers: ops keep them across growth */
	int nnodes;
	struct start_op *starting;
	struct cmd_ctx *stopping;
	int stop_left;
	void (*shutdown_done)(void *);
	void *shutdown_arg;
	uint64_t shutdown_timer;
	int log_fd;
	int dying; /* engine_free runs: late worker results are dropped */
	char kernel_version[128];
	struct lab_keys *keys; /* per run: host key pinned, client key for root */
	struct control *control; /* RUNDIR/control: commands from other processes */
};

/* engine.c: a start fails with msg (the first one wins); a start checks
 * whether all it waits for (switches, images, boots) is there. */
void engine_op_fail(struct start_op *op, const char *msg);
void engine_op_check_done(struct start_op *op);

/* engine-net.c. start: every switch and the hubs of impaired links (the
 * start waits for each to be ready); wire: once they are, the wirefilters;
 * plug: where a node's interface plugs in (a vdeplug URL or switch dir,
 * malloc'd); stop: end their processes (kept for a later start); free: and
 * forget them. */
void engine_net_start(struct start_op *op);
void engine_net_wire(struct start_op *op);
char *engine_net_plug(struct engine *e, const struct lab_iface *ifc);
void engine_net_stop(struct engine *e);
void engine_net_free(struct engine *e);

#endif
