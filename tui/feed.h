/* feed.h: the TUI's packet feeds (feed.c), the incremental pcapng block
 * parser they use to tail a growing spool (pcapview.c), and the built-in
 * one-line summary used when tshark is missing (dissect.c). */
#ifndef CAPLAB_TUI_FEED_H
#define CAPLAB_TUI_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "pcapng.h"
#include "util.h"

/* ---- pcapview.c ---- */
struct pcapng_parser {
	int have_shb;
	int nif;
	uint8_t tsresol[64]; /* per interface, as in if_tsresol */
};

/* One block, pointing into the caller's buffer. */
struct pcapng_view {
	uint32_t type;
	const char *if_name; /* IDB */
	uint32_t iface;      /* EPB */
	uint64_t ts_ns;
	const uint8_t *data;
	uint32_t caplen, origlen;
	uint8_t dir;          /* PCAPNG_DIR_IN/OUT or 0 */
	const char *comment;  /* EPB: the label (copied into a static buffer), or NULL */
};

/* Parses the block at buf: its length (> 0) when complete, 0 when more bytes
 * are needed, -1 when the data is not pcapng this reader handles. */
int pcapng_view_next(struct pcapng_parser *ps, const uint8_t *buf, size_t len, struct pcapng_view *v);

/* ---- dissect.c ---- */
/* Protocol and info columns for an Ethernet frame (malloc'd strings). */
void dissect_summary(const uint8_t *d, uint32_t len, char **proto, char **info);

/* ---- feed.c ---- */
struct tpkt {
	uint32_t no;
	uint64_t ts_ns;
	const char *iface; /* the link, owned by the feed */
	uint8_t dir;
	char *label;
	uint8_t *data;
	uint32_t caplen, origlen;
	char *proto, *info;
	int from_tshark;
};

struct proc;
struct feed {
	char *name;
	int fd;
	struct buf raw; /* bytes read but not yet a complete block */
	struct pcapng_parser parser;
	int corrupt;
	char **ifnames;
	int nif;
	struct tpkt *v; /* the newest FEED_MAX_PKTS frames, numbered from v[0].no */
	int n, cap;
	uint64_t total, bytes, first_ts, saved_total;
	double rate, rate_t;
	uint64_t rate_total;
	struct proc *ts;
	int ts_in, ts_out, tshark_missing;
	struct buf ts_wbuf, ts_rbuf;
	size_t ts_woff;
};

struct feed *feed_get(const char *name);
struct tpkt *feed_packet(struct feed *f, uint32_t no);
void feeds_poll(void);
void feeds_free(void);
/* The spool file of a capture (malloc'd), or NULL when there is none. */
char *feed_spool(const char *name);

#endif
