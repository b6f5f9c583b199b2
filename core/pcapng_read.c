/* pcapng_read.c: the pcapng reader (see pcapng.h): sections, interfaces,
 * enhanced packets, statistics and decryption secrets, in host byte order
 * (the other order is refused with a hint); a file cut short reads up to
 * its last whole block and says where it was cut. */
#include "pcapng.h"
#include "pcapng_int.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_MAX_BLOCK (64u << 20) /* larger than anything caplab writes; guards corrupt lengths */

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
