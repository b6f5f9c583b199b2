/* capture.h: per-link packet capture through QEMU's own network filters.
 *
 * For each captured link and direction caplab listens on a unix socket and
 * adds, over the node's QMP connection,
 *   chardev-add {"id":"caplab-cN-out","backend":{"type":"socket","data":{
 *                "addr":{"type":"unix","data":{"path":SOCK}},"server":false}}}
 *   object-add  {"qom-type":"filter-mirror","id":"caplab-mN-out",
 *                "netdev":"net-eth0","queue":"rx","outdev":"caplab-cN-out"}
 * and removes them with object-del + chardev-remove. QEMU writes each frame
 * as a 4-byte big-endian length and the frame (vnet_hdr_support stays off),
 * synchronously from its main loop: it blocks rather than drops when caplab
 * reads slowly, and a frame the guest has sent is in the socket by the time
 * any later QMP reply is.
 *
 * Direction (measured with QEMU 7.2, microvm + virtio-net, two guests
 * pinging): a filter's queue is named from the netdev's side, so
 *   queue=rx  carries what the GUEST SENDS     -> outbound (PCAPNG_DIR_OUT)
 *   queue=tx  carries what the guest receives  -> inbound  (PCAPNG_DIR_IN)
 *
 * `capture` resolves only once both filters of every link are attached and
 * their sockets accepted; `stop` only once the filters are gone and every
 * byte they wrote is read and stored. Matched frames go to a pcapng spool
 * (RUNDIR/captures/NAME.spool, flushed after every read, so a kill -9 leaves
 * a readable file) and to a bounded in-memory ring for live views.
 * Timestamps are CLOCK_REALTIME at arrival, in ns, one clock for all links.
 *
 * Labels follow packet time: capture_set_label() first drains every
 * capture's sockets, so frames that arrived before it keep the old label. */
#ifndef CAPLAB_CAPTURE_H
#define CAPLAB_CAPTURE_H

#include <stdint.h>

#include "cmd.h"

struct capture;
struct qmp;
struct cmd_ctx;

#define CAPTURE_RING_LEN 10000 /* packets kept in memory per capture */
#define CAPTURE_RING_BYTES 128 /* bytes kept of each */

enum capture_state { CAPTURE_NEW, CAPTURE_STARTING, CAPTURE_RUNNING, CAPTURE_STOPPING,
		     CAPTURE_STOPPED, CAPTURE_FAILED };

struct capture_counters {
	uint64_t seen;    /* frames read from QEMU */
	uint64_t matched; /* passed the filter, stored */
	uint64_t bytes;   /* bytes of matched frames */
	uint64_t dropped; /* frames lost: cut by a dying stream or not stored; must be 0 */
};

/* How a capture reaches a node's QMP at start and stop time (nodes may be
 * restarted in between: never keep the pointer). NULL: node not running. */
typedef struct qmp *(*capture_qmp_fn)(const char *node, void *arg);
/* err is NULL on success. */
typedef void (*capture_done_fn)(struct capture *c, const char *err, void *arg);

/* ---- life cycle (used by the commands, tests and the bench) ---- */

/* A new capture, registered under name (which must be free: free a stopped
 * one with capture_free first). filter "" keeps everything; a bad filter
 * returns NULL with libpcap's message. The spool goes to
 * spool_dir/NAME.spool, sockets into spool_dir too. */
struct capture *capture_new(const char *name, const char *filter, const char *spool_dir,
			    capture_qmp_fn qmp_of, void *qmp_arg, char *err);
/* Adds a link before capture_start: label "a:eth0", node "a", netdev
 * "net-eth0", description for the pcapng IDB. Returns the link's index. */
int capture_add_link(struct capture *c, const char *label, const char *node, const char *netdev,
		     const char *description);
/* Writes the spool header and attaches the mirrors; done is called from the
 * loop once frames are being captured, or with an error after whatever was
 * attached has been removed again. */
void capture_start(struct capture *c, capture_done_fn done, void *arg);
/* Removes the mirrors and stores every frame they delivered; done from the
 * loop. A capture that is not running finishes at once (still via the loop). */
void capture_stop(struct capture *c, capture_done_fn done, void *arg);
/* Tests: attach a connected stream (socketpair end) as the frame source of
 * link/direction (PCAPNG_DIR_IN or _OUT) of a capture started with no
 * links' mirrors, and mark it running. Takes the fd. */
int capture_attach_stream(struct capture *c, int link, unsigned dir, int fd, char *err);
/* Reads everything the sockets hold right now and flushes the spool. */
void capture_drain(struct capture *c);
void capture_drain_all(void);
/* Stops reading, closes everything, unregisters and frees (the spool file
 * stays). Watchers get their NULL call first. */
void capture_free(struct capture *c);
/* Frees every capture (engine shutdown). */
void capture_free_all(void);

/* Packet watchers (expect, live views): fn runs for every stored packet,
 * and once with data NULL when the capture is freed. fn may unwatch itself. */
typedef void (*capture_pkt_fn)(struct capture *c, const uint8_t *data, uint32_t len, void *arg);
void capture_watch(struct capture *c, capture_pkt_fn fn, void *arg);
void capture_unwatch(struct capture *c, capture_pkt_fn fn, void *arg);

/* ---- labels ---- */
/* Drains all captures, then sets the label (NULL or "" clears it). */
void capture_set_label(const char *text);
const char *capture_label(void); /* NULL when none */
struct capture_label_mark {
	const char *label; /* NULL: cleared */
	uint64_t ts_ns;    /* when it was set */
};
/* Every `label` so far, in order. */
int capture_label_marks(const struct capture_label_mark **out);

/* ---- read-only snapshots (TUI, export, manifest) ---- */
int capture_count(void);
struct capture *capture_at(int i);
struct capture *capture_find(const char *name);

struct capture_info {
	const char *name, *filter, *spool_path;
	enum capture_state state;
	int nlinks;
	uint64_t start_ns, stop_ns; /* 0 until started / stopped */
	struct capture_counters total;
};
void capture_get_info(const struct capture *c, struct capture_info *out);
const char *capture_name(const struct capture *c);
const char *capture_state_name(enum capture_state st);
const char *capture_link_label(const struct capture *c, int link);
const char *capture_link_description(const struct capture *c, int link);
struct capture_counters capture_link_counters(const struct capture *c, int link);
/* Bytes of complete blocks in the spool (everything up to the last drain). */
uint64_t capture_spool_size(const struct capture *c);
/* The compiled filter as `tcpdump -d` prints it (malloc'd). */
char *capture_filter_dump(const struct capture *c);

/* The live ring: packets first..next-1 (numbers of matched packets, from 1)
 * are available; older ones have been overwritten. */
struct capture_pkt {
	uint64_t no, ts_ns;
	int link;
	unsigned dir;      /* PCAPNG_DIR_IN / PCAPNG_DIR_OUT */
	const char *label; /* NULL: none */
	uint32_t len, caplen; /* wire length, bytes at data (<= CAPTURE_RING_BYTES) */
	const uint8_t *data;
};
uint64_t capture_ring_first(const struct capture *c);
uint64_t capture_ring_next(const struct capture *c);
/* 0 and *out (pointers valid until the next loop iteration), or -1 when no
 * is not in the ring. */
int capture_ring_get(const struct capture *c, uint64_t no, struct capture_pkt *out);

/* ---- commands (the lead wires these into the command table) ---- */
/* capture [-n NAME] [-f FILTER] [-d] LINK... */
enum cmd_ret capture_cmd_start(struct cmd *cmd, struct cmd_ctx *ctx);
/* stop-capture [NAME...] (none: all running) */
enum cmd_ret capture_cmd_stop(struct cmd *cmd, struct cmd_ctx *ctx);
/* label [TEXT] */
enum cmd_ret capture_cmd_label(struct cmd *cmd, struct cmd_ctx *ctx);
/* expect [-t SECONDS] [-c COUNT] [-none] CAPTURE FILTER: counts packets of
 * CAPTURE matching FILTER since the capture started (its spool is scanned
 * first, then new packets are counted as they arrive). Default: 1 packet
 * within 10 s. -none succeeds when none has arrived at the timeout and
 * fails as soon as one does. */
enum cmd_ret capture_cmd_expect(struct cmd *cmd, struct cmd_ctx *ctx);

#endif
