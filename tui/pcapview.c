/* pcapview.c: an incremental pcapng block parser for tailing a spool that
 * is still growing (core's pcapng reader works on whole files). Only what
 * the live views need: interface names and resolutions, and each packet's
 * time, direction flags and comment (its label). Host byte order only, as
 * caplab writes. */
#include "feed.h"

#include <stdio.h>
#include <string.h>

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint16_t u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* Ticks at resolution r (if_tsresol) to nanoseconds. */
static uint64_t to_ns(uint64_t t, uint8_t r)
{
	if (r & 0x80) { /* a power of two */
		int e = r & 0x7f;
		return e >= 30 ? t >> (e - 30) : t << (30 - e); /* ~ns, good enough for a view */
	}
	uint64_t div = 1;
	if (r > 9) {
		for (int i = 9; i < r; i++) div *= 10;
		return t / div;
	}
	for (int i = r; i < 9; i++) div *= 10;
	return t * div;
}

/* Calls fn for every option in [p, end). */
static void options(const uint8_t *p, const uint8_t *end, struct pcapng_view *v, int block)
{
	static char comment[4096], name[256];
	while (p + 4 <= end) {
		uint16_t code = u16(p), len = u16(p + 2);
		const uint8_t *val = p + 4;
		if (code == 0 || val + len > end)
			break;
		if (block == 1 && code == 2) { /* if_name */
			snprintf(name, sizeof name, "%.*s", (int)len, (const char *)val);
			v->if_name = name;
		} else if (block == 1 && code == 9 && len >= 1) {
			v->iface = val[0]; /* tsresol, carried to the caller below */
		} else if (block == 6 && code == 1) {
			snprintf(comment, sizeof comment, "%.*s", (int)len, (const char *)val);
			v->comment = comment;
		} else if (block == 6 && code == 2 && len == 4) {
			v->dir = (uint8_t)(u32(val) & PCAPNG_DIR_MASK);
		}
		p = val + ((len + 3u) & ~3u);
	}
}

static int parse_idb(struct pcapng_parser *ps, const uint8_t *b, uint32_t blen, struct pcapng_view *v)
{
	v->iface = 6;
	if (blen >= 20)
		options(b + 16, b + blen - 4, v, 1);
	if (ps->nif < 64)
		ps->tsresol[ps->nif] = (uint8_t)v->iface;
	v->iface = (uint32_t)ps->nif++;
	return 0;
}

static int parse_epb(struct pcapng_parser *ps, const uint8_t *b, uint32_t blen, struct pcapng_view *v)
{
	if (blen < 32)
		return -1;
	v->iface = u32(b + 8);
	uint64_t t = (uint64_t)u32(b + 12) << 32 | u32(b + 16);
	v->caplen = u32(b + 20);
	v->origlen = u32(b + 24);
	if (28 + (uint64_t)v->caplen + 4 > blen)
		return -1;
	v->data = b + 28;
	uint8_t r = v->iface < (uint32_t)ps->nif && v->iface < 64 ? ps->tsresol[v->iface] : 6;
	v->ts_ns = to_ns(t, r);
	options(b + 28 + ((v->caplen + 3u) & ~3u), b + blen - 4, v, 6);
	return 0;
}

int pcapng_view_next(struct pcapng_parser *ps, const uint8_t *buf, size_t len, struct pcapng_view *v)
{
	memset(v, 0, sizeof *v);
	if (len < 12)
		return 0;
	uint32_t type = u32(buf), blen = u32(buf + 4);
	if (blen < 12 || blen % 4 || blen > (1u << 26))
		return -1;
	if (len < blen)
		return 0;
	if (u32(buf + blen - 4) != blen)
		return -1;
	v->type = type;
	if (type == PCAPNG_BT_SHB) {
		if (blen < 28 || u32(buf + 8) != 0x1A2B3C4D)
			return -1; /* other byte order: not what caplab writes */
		ps->have_shb = 1;
		ps->nif = 0;
		return (int)blen;
	}
	if (!ps->have_shb)
		return -1;
	if (type == PCAPNG_BT_IDB && parse_idb(ps, buf, blen, v) < 0)
		return -1;
	if (type == PCAPNG_BT_EPB && parse_epb(ps, buf, blen, v) < 0)
		return -1;
	return (int)blen;
}
