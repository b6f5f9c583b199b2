/* pcapng.c: the pcapng writer (draft-ietf-opsawg-pcapng), host byte order,
 * only the blocks caplab needs; the reader is pcapng_read.c. Every block is
 * laid out whole in one output buffer, which goes to the fd only at block
 * boundaries. */
#include "pcapng.h"
#include "pcapng_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUTBUF_SIZE (1u << 20)

struct pcapng_w {
	int fd;
	char *name;
	uint8_t *buf;
	size_t len, cap;
	uint64_t flushed;       /* bytes already written to fd */
	uint32_t *snaplens;     /* per interface id */
	uint32_t n_ifaces;
	char failed[CL_ERRBUF]; /* sticky write error, "" while fine */
};

struct opt {
	uint16_t code;
	uint16_t len;
	const void *data;
};

/* A block to lay out: fixed fields, variable body (padded), options. */
struct block {
	uint32_t type;
	const void *fixed;
	size_t fixed_len;
	const void *body;
	size_t body_len;
	const struct opt *opts;
	size_t n_opts;
};

static uint8_t *put(uint8_t *p, const void *src, size_t n)
{
	if (n)
		memcpy(p, src, n);
	return p + n;
}

static uint8_t *put_u16(uint8_t *p, uint16_t v) { return put(p, &v, 2); }
static uint8_t *put_u32(uint8_t *p, uint32_t v) { return put(p, &v, 4); }

/* pcapng timestamps are two 32-bit words, high first, each in file order. */
static uint8_t *put_ts(uint8_t *p, uint64_t ts)
{
	p = put_u32(p, (uint32_t)(ts >> 32));
	return put_u32(p, (uint32_t)ts);
}

static uint8_t *put_padded(uint8_t *p, const void *src, size_t n)
{
	p = put(p, src, n);
	memset(p, 0, pad4(n) - n);
	return p + pad4(n) - n;
}

static size_t opts_size(const struct opt *o, size_t n)
{
	size_t size = n ? 4 : 0; /* opt_endofopt */
	for (size_t i = 0; i < n; i++)
		size += 4 + pad4(o[i].len);
	return size;
}

static uint8_t *put_opts(uint8_t *p, const struct opt *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p = put_u16(p, o[i].code);
		p = put_u16(p, o[i].len);
		p = put_padded(p, o[i].data, o[i].len);
	}
	return n ? put_u32(p, OPT_ENDOFOPT) : p;
}

static int write_failed(struct pcapng_w *w, char *err)
{
	snprintf(w->failed, sizeof w->failed, "cannot write %s: %s%s", w->name, strerror(errno),
		 errno == ENOSPC ? " (free some disk space)" : "");
	return cl_err(err, "%s", w->failed);
}

int pcapng_flush(struct pcapng_w *w, char *err)
{
	if (w->failed[0])
		return cl_err(err, "%s", w->failed);
	size_t off = 0;
	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n < 0 ? errno : EIO; /* write() of 0 bytes sets no errno */
			return write_failed(w, err);
		}
		off += (size_t)n;
		w->flushed += (uint64_t)n;
	}
	w->len = 0;
	return 0;
}

uint64_t pcapng_tell(const struct pcapng_w *w) { return w->flushed + w->len; }

/* Room for n bytes at the end of the buffer: flush first if they do not fit
 * (so only whole blocks reach the file), grow for a block larger than it. */
static uint8_t *reserve(struct pcapng_w *w, size_t n, char *err)
{
	if (w->len + n > w->cap && pcapng_flush(w, err) < 0)
		return NULL;
	if (w->failed[0]) {
		cl_err(err, "%s", w->failed);
		return NULL;
	}
	if (n > w->cap) {
		w->buf = xrealloc(w->buf, n);
		w->cap = n;
	}
	return w->buf + w->len;
}

static int emit(struct pcapng_w *w, const struct block *b, char *err)
{
	size_t total = 12 + b->fixed_len + pad4(b->body_len) + opts_size(b->opts, b->n_opts);
	if (total > UINT32_MAX)
		return cl_err(err, "%s: a block of %zu bytes does not fit in pcapng", w->name, total);
	uint8_t *p = reserve(w, total, err);
	if (!p)
		return -1;
	p = put_u32(p, b->type);
	p = put_u32(p, (uint32_t)total);
	p = put(p, b->fixed, b->fixed_len);
	p = put_padded(p, b->body, b->body_len);
	p = put_opts(p, b->opts, b->n_opts);
	put_u32(p, (uint32_t)total);
	w->len += total;
	return 0;
}

/* Length of the valid UTF-8 character at s, 0 if the bytes there are not one
 * (overlongs, surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_char_len(const unsigned char *s, size_t left)
{
	unsigned c = s[0], lo = 0x80, hi = 0xBF;
	size_t n;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	/* second-byte limits that rule out overlongs, surrogates, > U+10FFFF */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (left < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* A UTF-8 string option: s as is when valid, else a copy (*copy, to free)
 * with '?' for each bad byte; cut at a character boundary to fit 65535. */
static struct opt str_opt(uint16_t code, const char *s, char **copy)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;
	*copy = NULL;
	while (i < len) {
		size_t n = utf8_char_len(u + i, len - i);
		if (i + (n ? n : 1) > OPT_MAX)
			break;
		if (!n && !*copy)
			*copy = xstrndup(s, len);
		if (!n)
			(*copy)[i] = '?';
		i += n ? n : 1;
	}
	return (struct opt){code, (uint16_t)i, *copy ? *copy : s};
}

/* Appends a string option if s is set; copies[] collects what to free. */
static void add_str(struct opt *o, size_t *n, uint16_t code, const char *s, char **copies)
{
	if (s && *s) {
		o[*n] = str_opt(code, s, &copies[*n]);
		(*n)++;
	}
}

static void free_copies(char **copies, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
}

static int write_shb(struct pcapng_w *w, const struct pcapng_shb *shb, char *err)
{
	uint8_t fixed[16], *p = fixed;
	p = put_u32(p, BYTE_ORDER_MAGIC);
	p = put_u16(p, 1); /* major */
	p = put_u16(p, 0); /* minor */
	int64_t section_len = -1; /* unknown: the file is written as a stream */
	put(p, &section_len, 8);
	struct opt o[4];
	char *copies[4] = {0};
	size_t n = 0;
	add_str(o, &n, OPT_COMMENT, shb->comment, copies);
	add_str(o, &n, SHB_HARDWARE, shb->hardware, copies);
	add_str(o, &n, SHB_OS, shb->os, copies);
	add_str(o, &n, SHB_USERAPPL, shb->userappl, copies);
	int rc = emit(w, &(struct block){PCAPNG_BT_SHB, fixed, sizeof fixed, NULL, 0, o, n}, err);
	free_copies(copies, ARRAY_LEN(copies));
	return rc;
}

struct pcapng_w *pcapng_fdopen(int fd, const char *name, const struct pcapng_shb *shb, char *err)
{
	static const struct pcapng_shb none;
	struct pcapng_w *w = xcalloc(1, sizeof *w);
	w->fd = fd;
	w->name = xstrdup(name);
	w->cap = OUTBUF_SIZE;
	w->buf = xmalloc(w->cap);
	if (write_shb(w, shb ? shb : &none, err) < 0) {
		pcapng_close(w, NULL);
		return NULL;
	}
	return w;
}

struct pcapng_w *pcapng_open(const char *path, const struct pcapng_shb *shb, char *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		cl_err(err, "cannot create capture file %s: %s", path, strerror(errno));
		return NULL;
	}
	return pcapng_fdopen(fd, path, shb, err);
}

/* if_filter: a type byte (0 = libpcap filter string), then the string. */
static int filter_opt(struct pcapng_w *w, const char *filter, struct opt *o, char **copy,
		      char *err)
{
	size_t len = strlen(filter);
	if (len + 1 > OPT_MAX)
		return cl_err(err, "%s: capture filter of %zu bytes is too long for pcapng", w->name,
			      len);
	*copy = xmalloc(len + 1);
	(*copy)[0] = 0;
	memcpy(*copy + 1, filter, len);
	*o = (struct opt){IF_FILTER, (uint16_t)(len + 1), *copy};
	return 0;
}

int pcapng_add_interface(struct pcapng_w *w, const struct pcapng_idb *idb, char *err)
{
	uint32_t snaplen = idb->snaplen ? idb->snaplen : PCAPNG_MAX_SNAPLEN;
	uint8_t fixed[8], *p = fixed, tsresol = 9;
	p = put_u16(p, idb->linktype ? idb->linktype : PCAPNG_LINKTYPE_ETHERNET);
	p = put_u16(p, 0);
	put_u32(p, snaplen);
	struct opt o[4];
	char *copies[4] = {0};
	size_t n = 0;
	add_str(o, &n, IF_NAME, idb->name, copies);
	add_str(o, &n, IF_DESCRIPTION, idb->description, copies);
	o[n++] = (struct opt){IF_TSRESOL, 1, &tsresol};
	int rc = 0;
	if (idb->filter && *idb->filter)
		rc = filter_opt(w, idb->filter, &o[n++], &copies[3], err);
	if (rc == 0)
		rc = emit(w, &(struct block){PCAPNG_BT_IDB, fixed, sizeof fixed, NULL, 0, o, n}, err);
	free_copies(copies, ARRAY_LEN(copies));
	if (rc < 0)
		return -1;
	w->snaplens = xrealloc(w->snaplens, (w->n_ifaces + 1) * sizeof *w->snaplens);
	w->snaplens[w->n_ifaces] = snaplen;
	return (int)w->n_ifaces++;
}

static int check_iface(struct pcapng_w *w, uint32_t iface, char *err)
{
	if (iface < w->n_ifaces)
		return 0;
	return cl_err(err, "%s: interface %u is not defined (%u defined): add it first", w->name,
		      iface, w->n_ifaces);
}

static int check_packet(struct pcapng_w *w, const struct pcapng_pkt *p, char *err)
{
	if (check_iface(w, p->iface, err) < 0)
		return -1;
	if (p->caplen > p->origlen)
		return cl_err(err, "%s: packet has %u captured bytes but is only %u long", w->name,
			      p->caplen, p->origlen);
	if (p->caplen > w->snaplens[p->iface])
		return cl_err(err, "%s: packet of %u bytes exceeds interface %u's snaplen %u",
			      w->name, p->caplen, p->iface, w->snaplens[p->iface]);
	return 0;
}

int pcapng_write_packet(struct pcapng_w *w, const struct pcapng_pkt *p, char *err)
{
	if (check_packet(w, p, err) < 0)
		return -1;
	uint8_t fixed[20], *f = fixed;
	f = put_u32(f, p->iface);
	f = put_ts(f, p->ts_ns);
	f = put_u32(f, p->caplen);
	put_u32(f, p->origlen);
	struct opt o[3];
	char *copies[3] = {0};
	size_t n = 0;
	if (p->flags)
		o[n++] = (struct opt){EPB_FLAGS, 4, &p->flags};
	add_str(o, &n, OPT_COMMENT, p->comment, copies);
	if (p->packet_id)
		o[n++] = (struct opt){EPB_PACKETID, 8, &p->packet_id};
	int rc = emit(w, &(struct block){PCAPNG_BT_EPB, fixed, sizeof fixed, p->data, p->caplen, o, n},
		      err);
	free_copies(copies, ARRAY_LEN(copies));
	return rc;
}

int pcapng_write_stats(struct pcapng_w *w, uint32_t iface, const struct pcapng_stats *st,
		       char *err)
{
	if (check_iface(w, iface, err) < 0)
		return -1;
	uint8_t fixed[12], *f = fixed;
	f = put_u32(f, iface);
	put_ts(f, st->ts_ns);
	/* Values in PCAPNG_ST_* bit order; times as two 32-bit words like put_ts. */
	uint8_t vals[6][8];
	put_ts(vals[0], st->start_ns);
	put_ts(vals[1], st->end_ns);
	const uint64_t counters[4] = {st->ifrecv, st->ifdrop, st->filteraccept, st->osdrop};
	for (unsigned i = 0; i < 4; i++)
		memcpy(vals[2 + i], &counters[i], 8);
	struct opt o[6];
	size_t n = 0;
	for (unsigned i = 0; i < 6; i++)
		if (st->have & (1u << i))
			o[n++] = (struct opt){(uint16_t)(ISB_STARTTIME + i), 8, vals[i]};
	return emit(w, &(struct block){PCAPNG_BT_ISB, fixed, sizeof fixed, NULL, 0, o, n}, err);
}

int pcapng_write_dsb(struct pcapng_w *w, uint32_t secrets_type, const void *data, size_t len,
		     char *err)
{
	if (len > UINT32_MAX - 64)
		return cl_err(err, "%s: %zu bytes of secrets do not fit in pcapng", w->name, len);
	uint8_t fixed[8], *f = fixed;
	f = put_u32(f, secrets_type);
	put_u32(f, (uint32_t)len);
	return emit(w, &(struct block){PCAPNG_BT_DSB, fixed, sizeof fixed, data, len, NULL, 0}, err);
}

int pcapng_close(struct pcapng_w *w, char *err)
{
	if (!w)
		return 0;
	int rc = pcapng_flush(w, err);
	if (close(w->fd) < 0 && rc == 0) {
		rc = write_failed(w, err);
	}
	free(w->buf);
	free(w->snaplens);
	free(w->name);
	free(w);
	return rc;
}
