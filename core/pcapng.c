/* pcapng.c: pcapng writer and reader (draft-ietf-opsawg-pcapng), host byte
 * order, only the blocks caplab needs. Writer: every block is laid out whole
 * in one output buffer, which goes to the fd only at block boundaries. */
#include "pcapng.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define BYTE_ORDER_SWAPPED 0x4D3C2B1Au
#define OUTBUF_SIZE (1u << 20)
#define OPT_MAX 65535u
#define READ_MAX_BLOCK (64u << 20) /* larger than anything caplab writes; guards corrupt lengths */

/* Option codes (per block type; 0 and 1 are common to all). */
enum {
	OPT_ENDOFOPT = 0,
	OPT_COMMENT = 1,
	SHB_HARDWARE = 2,
	SHB_OS = 3,
	SHB_USERAPPL = 4,
	IF_NAME = 2,
	IF_DESCRIPTION = 3,
	IF_TSRESOL = 9,
	IF_FILTER = 11,
	EPB_FLAGS = 2,
	EPB_PACKETID = 5,
	ISB_STARTTIME = 2, /* ISB_STARTTIME + i matches PCAPNG_ST_* bit i */
};

static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

/* ---------------------------------------------------------------- writer */

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

/* ---------------------------------------------------------------- reader */

struct iface_info {
	struct pcapng_idb idb;
	char *strs[3]; /* name, description, filter */
};

struct pcapng_r {
	FILE *f;
	char *name;
	uint8_t *blk; /* the current block, whole */
	size_t cap;
	uint64_t offset; /* of the next block */
	bool seen_shb;
	bool truncated;
	uint64_t cut_at;
	struct pcapng_shb shb;
	char *shb_strs[4]; /* comment, hardware, os, userappl */
	struct iface_info *ifs;
	uint32_t n_ifs;
	char *comment; /* NUL-terminated copy of the current EPB's comment */
};

/* An option inside a block body. */
struct optv {
	uint16_t code, len;
	const uint8_t *val;
};

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t get_ts(const uint8_t *p) { return (uint64_t)get_u32(p) << 32 | get_u32(p + 4); }

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* 1: an option in *o and *p moved past it; 0: end of options; -1: malformed. */
static int next_opt(const uint8_t **p, const uint8_t *end, struct optv *o)
{
	if (end - *p < 4)
		return 0;
	memcpy(&o->code, *p, 2);
	memcpy(&o->len, *p + 2, 2);
	if (o->code == OPT_ENDOFOPT)
		return 0;
	if ((size_t)(end - *p) < 4 + pad4(o->len))
		return -1;
	o->val = *p + 4;
	*p += 4 + pad4(o->len);
	return 1;
}

static int corrupt(struct pcapng_r *r, uint64_t at, const char *what, char *err)
{
	return cl_err(err, "%s: corrupt pcapng block at offset %llu: %s", r->name,
		      (unsigned long long)at, what);
}

/* The file ended inside the block at `at`: a crash cut it. Stop cleanly. */
static int cut(struct pcapng_r *r, uint64_t at, char *err)
{
	if (ferror(r->f))
		return cl_err(err, "cannot read %s: %s", r->name, strerror(errno));
	r->truncated = true;
	r->cut_at = at;
	return 0;
}

static void grow_blk(struct pcapng_r *r, size_t n)
{
	if (n > r->cap) {
		r->blk = xrealloc(r->blk, n);
		r->cap = n;
	}
}

/* A section header must come first; its magic also tells the byte order. */
static int check_magic(struct pcapng_r *r, uint32_t type, char *err)
{
	uint8_t m[4];
	if (type != PCAPNG_BT_SHB)
		return r->seen_shb ? 1 : cl_err(err, "%s: not a pcapng file (no section header)", r->name);
	if (fread(m, 1, 4, r->f) < 4)
		return cut(r, r->offset, err);
	memcpy(r->blk + 8, m, 4);
	if (get_u32(m) == BYTE_ORDER_SWAPPED)
		return cl_err(err, "%s: pcapng in the other byte order is not supported "
				   "(convert it with editcap)", r->name);
	if (get_u32(m) != BYTE_ORDER_MAGIC)
		return cl_err(err, "%s: not a pcapng file (bad byte-order magic)", r->name);
	return 1;
}

static bool known_type(uint32_t type)
{
	return type == PCAPNG_BT_SHB || type == PCAPNG_BT_IDB || type == PCAPNG_BT_EPB ||
	       type == PCAPNG_BT_ISB || type == PCAPNG_BT_DSB;
}

/* Blocks we do not parse are seeked over, not read: only the trailer is. */
static int skip_block(struct pcapng_r *r, uint32_t len, char *err)
{
	uint8_t trailer[4];
	if (fseeko(r->f, (off_t)len - 12, SEEK_CUR) < 0 || fread(trailer, 1, 4, r->f) < 4)
		return cut(r, r->offset, err);
	if (get_u32(trailer) != len)
		return corrupt(r, r->offset, "trailing length differs", err);
	return 1;
}

/* Reads the next whole block into r->blk (unknown types: header only). Returns 1, 0 at the end (clean or
 * cut; see r->truncated) or -1. */
static int read_block(struct pcapng_r *r, uint32_t *type, uint32_t *len, char *err)
{
	grow_blk(r, 16);
	size_t got = fread(r->blk, 1, 8, r->f);
	if (got < 8)
		return got == 0 && !ferror(r->f) && r->seen_shb ? 0 : cut(r, r->offset, err);
	*type = get_u32(r->blk);
	*len = get_u32(r->blk + 4);
	int rc = check_magic(r, *type, err);
	if (rc <= 0)
		return rc;
	if (*len < 12 || *len % 4 || (*type == PCAPNG_BT_SHB && *len < 28))
		return corrupt(r, r->offset, "bad block length", err);
	if (*len > READ_MAX_BLOCK)
		return corrupt(r, r->offset, "block larger than 64 MiB", err);
	if (!known_type(*type))
		return skip_block(r, *len, err);
	grow_blk(r, *len);
	size_t have = *type == PCAPNG_BT_SHB ? 12 : 8;
	if (fread(r->blk + have, 1, *len - have, r->f) < *len - have)
		return cut(r, r->offset, err);
	if (get_u32(r->blk + *len - 4) != *len)
		return corrupt(r, r->offset, "trailing length differs", err);
	return 1;
}

static void set_str(char **slot, const struct optv *o)
{
	free(*slot);
	*slot = xstrndup((const char *)o->val, o->len);
}

static void reset_section(struct pcapng_r *r)
{
	for (size_t i = 0; i < ARRAY_LEN(r->shb_strs); i++) {
		free(r->shb_strs[i]);
		r->shb_strs[i] = NULL;
	}
	for (uint32_t i = 0; i < r->n_ifs; i++)
		for (size_t j = 0; j < ARRAY_LEN(r->ifs[i].strs); j++)
			free(r->ifs[i].strs[j]);
	free(r->ifs);
	r->ifs = NULL;
	r->n_ifs = 0;
}

static int parse_shb(struct pcapng_r *r, const uint8_t *body, const uint8_t *end, char *err)
{
	uint16_t major;
	memcpy(&major, body + 4, 2);
	if (major != 1)
		return corrupt(r, r->offset, "unsupported pcapng major version", err);
	reset_section(r);
	r->seen_shb = true;
	struct optv o;
	const uint8_t *p = body + 16;
	int rc;
	while ((rc = next_opt(&p, end, &o)) > 0)
		if (o.code >= OPT_COMMENT && o.code <= SHB_USERAPPL && !r->shb_strs[o.code - 1])
			set_str(&r->shb_strs[o.code - 1], &o);
	r->shb = (struct pcapng_shb){.comment = r->shb_strs[0], .hardware = r->shb_strs[1],
				     .os = r->shb_strs[2], .userappl = r->shb_strs[3]};
	return rc < 0 ? corrupt(r, r->offset, "bad section header options", err) : 0;
}

static void idb_option(struct iface_info *in, const struct optv *o)
{
	if (o->code == IF_NAME)
		set_str(&in->strs[0], o);
	else if (o->code == IF_DESCRIPTION)
		set_str(&in->strs[1], o);
	else if (o->code == IF_TSRESOL && o->len >= 1)
		in->idb.tsresol = o->val[0];
	else if (o->code == IF_FILTER && o->len >= 1 && o->val[0] == 0)
		set_str(&in->strs[2], &(struct optv){o->code, (uint16_t)(o->len - 1), o->val + 1});
}

static int parse_idb(struct pcapng_r *r, const uint8_t *body, const uint8_t *end,
		     struct pcapng_rec *rec, char *err)
{
	if (end - body < 8)
		return corrupt(r, r->offset, "interface description too short", err);
	r->ifs = xrealloc(r->ifs, (r->n_ifs + 1) * sizeof *r->ifs);
	struct iface_info *in = &r->ifs[r->n_ifs];
	memset(in, 0, sizeof *in);
	memcpy(&in->idb.linktype, body, 2);
	in->idb.snaplen = get_u32(body + 4);
	in->idb.tsresol = 6; /* the spec's default: microseconds */
	rec->iface = r->n_ifs++;
	struct optv o;
	const uint8_t *p = body + 8;
	int rc;
	while ((rc = next_opt(&p, end, &o)) > 0)
		idb_option(in, &o);
	in->idb.name = in->strs[0];
	in->idb.description = in->strs[1];
	in->idb.filter = in->strs[2];
	return rc < 0 ? corrupt(r, r->offset, "bad interface description options", err) : 0;
}

__extension__ typedef unsigned __int128 u128;

/* Converts a timestamp in units of the interface's if_tsresol to ns. */
static uint64_t ts_to_ns(uint64_t ts, uint8_t tsresol)
{
	unsigned e = tsresol & 0x7f;
	if (tsresol & 0x80) /* units of 2^-e s */
		return e >= 64 ? 0 : (uint64_t)(((u128)ts * 1000000000u) >> e);
	uint64_t scale = 1;
	for (unsigned i = 0; i < (e > 9 ? e - 9 : 9 - e) && i < 19; i++)
		scale *= 10;
	return e > 9 ? ts / scale : ts * scale;
}

static int get_iface(struct pcapng_r *r, const uint8_t *body, uint32_t *id, char *err)
{
	*id = get_u32(body);
	if (*id < r->n_ifs)
		return 0;
	return corrupt(r, r->offset, "packet on an undefined interface", err);
}

static void epb_option(struct pcapng_r *r, struct pcapng_pkt *p, const struct optv *o)
{
	if (o->code == EPB_FLAGS && o->len == 4)
		p->flags = get_u32(o->val);
	else if (o->code == EPB_PACKETID && o->len == 8)
		p->packet_id = get_u64(o->val);
	else if (o->code == OPT_COMMENT && !p->comment) {
		free(r->comment);
		r->comment = xstrndup((const char *)o->val, o->len);
		p->comment = r->comment;
	}
}

static int parse_epb(struct pcapng_r *r, const uint8_t *body, const uint8_t *end,
		     struct pcapng_rec *rec, char *err)
{
	struct pcapng_pkt *p = &rec->pkt;
	if (end - body < 20 || get_iface(r, body, &p->iface, err) < 0)
		return end - body < 20 ? corrupt(r, r->offset, "packet block too short", err) : -1;
	p->ts_ns = ts_to_ns(get_ts(body + 4), r->ifs[p->iface].idb.tsresol);
	p->caplen = get_u32(body + 12);
	p->origlen = get_u32(body + 16);
	p->data = body + 20;
	if ((size_t)(end - p->data) < pad4(p->caplen))
		return corrupt(r, r->offset, "captured length exceeds the block", err);
	struct optv o;
	const uint8_t *q = p->data + pad4(p->caplen);
	int rc;
	while ((rc = next_opt(&q, end, &o)) > 0)
		epb_option(r, p, &o);
	return rc < 0 ? corrupt(r, r->offset, "bad packet options", err) : 0;
}

static int parse_isb(struct pcapng_r *r, const uint8_t *body, const uint8_t *end,
		     struct pcapng_rec *rec, char *err)
{
	if (end - body < 12 || get_iface(r, body, &rec->iface, err) < 0)
		return end - body < 12 ? corrupt(r, r->offset, "statistics block too short", err) : -1;
	struct pcapng_stats *st = &rec->stats;
	uint8_t tsresol = r->ifs[rec->iface].idb.tsresol;
	st->ts_ns = ts_to_ns(get_ts(body + 4), tsresol);
	uint64_t *vals[6] = {&st->start_ns, &st->end_ns, &st->ifrecv, &st->ifdrop,
			     &st->filteraccept, &st->osdrop};
	struct optv o;
	const uint8_t *p = body + 12;
	int rc;
	while ((rc = next_opt(&p, end, &o)) > 0) {
		unsigned i = o.code - ISB_STARTTIME;
		if (o.code < ISB_STARTTIME || i >= 6 || o.len != 8)
			continue;
		*vals[i] = i < 2 ? ts_to_ns(get_ts(o.val), tsresol) : get_u64(o.val);
		st->have |= 1u << i;
	}
	return rc < 0 ? corrupt(r, r->offset, "bad statistics options", err) : 0;
}

static int parse_dsb(struct pcapng_r *r, const uint8_t *body, const uint8_t *end,
		     struct pcapng_rec *rec, char *err)
{
	if (end - body < 8)
		return corrupt(r, r->offset, "decryption secrets block too short", err);
	rec->secrets_type = get_u32(body);
	rec->secrets_len = get_u32(body + 4);
	rec->secrets = body + 8;
	if ((size_t)(end - rec->secrets) < rec->secrets_len)
		return corrupt(r, r->offset, "secrets length exceeds the block", err);
	return 0;
}

static int parse_block(struct pcapng_r *r, struct pcapng_rec *rec, uint32_t len, char *err)
{
	if (!known_type(rec->type))
		return 0; /* skipped, not in r->blk */
	const uint8_t *body = r->blk + 8, *end = r->blk + len - 4;
	switch (rec->type) {
	case PCAPNG_BT_SHB: return parse_shb(r, body, end, err);
	case PCAPNG_BT_IDB: return parse_idb(r, body, end, rec, err);
	case PCAPNG_BT_EPB: return parse_epb(r, body, end, rec, err);
	case PCAPNG_BT_ISB: return parse_isb(r, body, end, rec, err);
	case PCAPNG_BT_DSB: return parse_dsb(r, body, end, rec, err);
	default: return 0;
	}
}

int pcapng_read(struct pcapng_r *r, struct pcapng_rec *rec, char *err)
{
	uint32_t type, len;
	memset(rec, 0, sizeof *rec);
	if (r->truncated)
		return 0;
	int rc = read_block(r, &type, &len, err);
	if (rc <= 0)
		return rc;
	rec->type = type;
	rec->offset = r->offset;
	if (parse_block(r, rec, len, err) < 0)
		return -1;
	r->offset += len;
	return 1;
}

int pcapng_read_packet(struct pcapng_r *r, struct pcapng_rec *rec, char *err)
{
	int rc;
	while ((rc = pcapng_read(r, rec, err)) > 0)
		if (rec->type == PCAPNG_BT_EPB)
			return 1;
	return rc;
}

struct pcapng_r *pcapng_r_open(const char *path, char *err)
{
	FILE *f = fopen(path, "rbe");
	if (!f) {
		cl_err(err, "cannot open capture file %s: %s", path, strerror(errno));
		return NULL;
	}
	struct pcapng_r *r = xcalloc(1, sizeof *r);
	r->f = f;
	r->name = xstrdup(path);
	return r;
}

const struct pcapng_shb *pcapng_r_shb(const struct pcapng_r *r) { return &r->shb; }
uint32_t pcapng_r_ifaces(const struct pcapng_r *r) { return r->n_ifs; }

const struct pcapng_idb *pcapng_r_iface(const struct pcapng_r *r, uint32_t id)
{
	return id < r->n_ifs ? &r->ifs[id].idb : NULL;
}

bool pcapng_r_truncated(const struct pcapng_r *r, uint64_t *at)
{
	if (at)
		*at = r->cut_at;
	return r->truncated;
}

void pcapng_r_close(struct pcapng_r *r)
{
	if (!r)
		return;
	reset_section(r);
	fclose(r->f);
	free(r->blk);
	free(r->comment);
	free(r->name);
	free(r);
}
