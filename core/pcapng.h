/* pcapng.h: a small pcapng writer and reader (draft-ietf-opsawg-pcapng).
 *
 * libpcap cannot write pcapng and Wireshark's libwiretap is GPL and GLib-typed,
 * so caplab writes the few blocks it needs itself: SHB, IDB, EPB, ISB, DSB.
 * Files are written in host byte order with nanosecond timestamps
 * (if_tsresol = 9).
 *
 * Crash safety: every block is assembled whole in the output buffer and the
 * buffer is written only at block boundaries, so a file cut by a crash (or a
 * kill -9 after pcapng_flush) ends with complete blocks; the reader also
 * tolerates a cut last block (pcapng_r_truncated). */
#ifndef CAPLAB_PCAPNG_H
#define CAPLAB_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAPNG_LINKTYPE_ETHERNET 1
#define PCAPNG_MAX_SNAPLEN 262144 /* what Wireshark and libpcap accept for Ethernet */

/* epb_flags bits 0-1: direction relative to the interface (the node). */
#define PCAPNG_DIR_IN 1u
#define PCAPNG_DIR_OUT 2u
#define PCAPNG_DIR_MASK 3u

/* Decryption Secrets Block secrets types. */
#define PCAPNG_SECRETS_TLS 0x544c534bu       /* NSS key log (SSLKEYLOGFILE) */
#define PCAPNG_SECRETS_WIREGUARD 0x57474b4cu /* WireGuard key log */

/* Block types, as the reader reports them in pcapng_rec.type. */
#define PCAPNG_BT_SHB 0x0A0D0D0Au
#define PCAPNG_BT_IDB 1u
#define PCAPNG_BT_ISB 5u
#define PCAPNG_BT_EPB 6u
#define PCAPNG_BT_DSB 10u

/* Section header. Any string may be NULL (option left out). */
struct pcapng_shb {
	const char *userappl; /* "caplab 0.1.0" */
	const char *comment;  /* provenance; may be multi-line */
	const char *hardware;
	const char *os;
};

/* One interface (a captured link). Strings may be NULL. */
struct pcapng_idb {
	uint16_t linktype;       /* 0 means Ethernet */
	uint32_t snaplen;        /* 0 means PCAPNG_MAX_SNAPLEN */
	const char *name;        /* "client:eth0" */
	const char *description; /* node, switch, MACs, IPs */
	const char *filter;      /* libpcap filter string */
	uint8_t tsresol;         /* reader only: the file's if_tsresol (writer: always 9) */
};

/* One packet (Enhanced Packet Block). */
struct pcapng_pkt {
	uint32_t iface;        /* id from pcapng_add_interface */
	uint64_t ts_ns;        /* CLOCK_REALTIME, ns since the epoch */
	const uint8_t *data;
	uint32_t caplen, origlen;
	uint32_t flags;        /* epb_flags; PCAPNG_DIR_*; 0 leaves it out */
	const char *comment;   /* the label (UTF-8, newlines fine); NULL or "" leaves it out */
	uint64_t packet_id;    /* epb_packetid; 0 leaves it out */
};

/* Interface statistics; `have` says which counters are written/were read. */
enum {
	PCAPNG_ST_START = 1 << 0,
	PCAPNG_ST_END = 1 << 1,
	PCAPNG_ST_IFRECV = 1 << 2,
	PCAPNG_ST_IFDROP = 1 << 3,
	PCAPNG_ST_FILTERACCEPT = 1 << 4,
	PCAPNG_ST_OSDROP = 1 << 5,
};
struct pcapng_stats {
	unsigned have;        /* PCAPNG_ST_* bits */
	uint64_t ts_ns;       /* when the statistics were taken (block timestamp) */
	uint64_t start_ns, end_ns;
	uint64_t ifrecv, ifdrop, filteraccept, osdrop;
};

/* ---- writer ---- */
struct pcapng_w;

/* Creates (truncates) path, mode 0644, and writes the section header. */
struct pcapng_w *pcapng_open(const char *path, const struct pcapng_shb *shb, char *err);
/* Same on an open blocking fd (file or pipe); the writer owns fd from now on
 * (pcapng_close closes it). name is for messages. */
struct pcapng_w *pcapng_fdopen(int fd, const char *name, const struct pcapng_shb *shb, char *err);

/* Returns the new interface's id (0, 1, ...) or -1. */
int pcapng_add_interface(struct pcapng_w *w, const struct pcapng_idb *idb, char *err);

/* caplen must be <= origlen and <= the interface's snaplen. Comments that are
 * not valid UTF-8 get '?' for each bad byte; longer than 65535 bytes, they are
 * cut at a character boundary. */
int pcapng_write_packet(struct pcapng_w *w, const struct pcapng_pkt *p, char *err);
int pcapng_write_stats(struct pcapng_w *w, uint32_t iface, const struct pcapng_stats *st,
		       char *err);
/* secrets_type: PCAPNG_SECRETS_TLS with the SSLKEYLOGFILE text, ... */
int pcapng_write_dsb(struct pcapng_w *w, uint32_t secrets_type, const void *data, size_t len,
		     char *err);

/* Writes what is buffered (complete blocks only). */
int pcapng_flush(struct pcapng_w *w, char *err);
/* Bytes in the file once everything buffered is flushed. */
uint64_t pcapng_tell(const struct pcapng_w *w);
/* Flushes, closes and frees (always frees; -1 if the last flush failed). */
int pcapng_close(struct pcapng_w *w, char *err);

/* ---- reader ---- */
struct pcapng_r;

/* One block. Pointers stay valid until the next pcapng_read/pcapng_r_close. */
struct pcapng_rec {
	uint32_t type;               /* PCAPNG_BT_* or any other block type */
	uint64_t offset;             /* where the block starts in the file */
	struct pcapng_pkt pkt;       /* EPB; ts_ns converted from the IDB's if_tsresol */
	uint32_t iface;              /* IDB: its new id; ISB: its interface */
	struct pcapng_stats stats;   /* ISB */
	uint32_t secrets_type;       /* DSB */
	const uint8_t *secrets;
	size_t secrets_len;
};

struct pcapng_r *pcapng_r_open(const char *path, char *err);
/* 1: a block in rec; 0: end of file (check pcapng_r_truncated); -1: error
 * (not pcapng, other byte order, corrupt block). SHB and IDB are returned as
 * records too; their contents are in pcapng_r_shb / pcapng_r_iface. */
int pcapng_read(struct pcapng_r *r, struct pcapng_rec *rec, char *err);
/* Like pcapng_read but skips everything except EPBs. */
int pcapng_read_packet(struct pcapng_r *r, struct pcapng_rec *rec, char *err);
/* Section header and interfaces of the current section (seen so far). */
const struct pcapng_shb *pcapng_r_shb(const struct pcapng_r *r);
uint32_t pcapng_r_ifaces(const struct pcapng_r *r);
const struct pcapng_idb *pcapng_r_iface(const struct pcapng_r *r, uint32_t id);
/* After pcapng_read returned 0: true when the file ended inside a block
 * (a crash cut it); offset of that last, partial block in *at. */
bool pcapng_r_truncated(const struct pcapng_r *r, uint64_t *at);
void pcapng_r_close(struct pcapng_r *r);

#endif
