/* lab-link.c: links, their addresses, and the deterministic address plan
 * (rules in lab.h). Addresses are IPv4, kept in host byte order. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "util.h"

#define IFACE_MAX 15

static uint32_t mask_of(int prefix) { return prefix ? 0xffffffffu << (32 - prefix) : 0; }

static int has_ip(const struct lab_iface *f)
{
	return f->ip_mode == LAB_IP_SET || (f->ip_mode == LAB_IP_PLAN && f->planned);
}

static int segment_of(const struct lab_iface *f)
{
	return f->link->sw ? f->link->sw->segment : f->link->segment;
}

static void ip_str(uint32_t ip, char out[16])
{
	struct in_addr a = {htonl(ip)};
	inet_ntop(AF_INET, &a, out, 16);
}

static void mac_str(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Every end of every link, in link order, then end order. */
#define FOR_EACH_END(lab, f)                                                    \
	for (int i_ = 0; i_ < (lab)->nlinks; i_++)                              \
		for (int e_ = 0; e_ < 2; e_++)                                  \
			if (((f) = &(lab)->links[i_]->end[e_])->node)

static struct lab_iface *ip_user(const struct lab *lab, uint32_t ip)
{
	struct lab_iface *f;
	FOR_EACH_END(lab, f)
	if (has_ip(f) && f->ip == ip)
		return f;
	return NULL;
}

static struct lab_iface *mac_user(const struct lab *lab, const uint8_t mac[6])
{
	struct lab_iface *f;
	FOR_EACH_END(lab, f)
	if (f->mac_set && memcmp(f->mac, mac, 6) == 0)
		return f;
	return NULL;
}

static void where(const struct lab_iface *f, char *out, size_t n)
{
	if (f->link->sw)
		snprintf(out, n, "on switch %s", f->link->sw->name);
	else
		snprintf(out, n, "on the link to %s", lab_peer(f)->label);
}

/* Two ends of one node in overlapping subnets on different segments: the
 * node could not tell which interface a destination is on. */
static int overlap_error(const struct lab_iface *f, const struct lab_iface *g, struct pos pos,
			 struct diag_list *dl)
{
	int p = f->prefix < g->prefix ? f->prefix : g->prefix;
	if (!has_ip(g) || g == f || (f->ip & mask_of(p)) != (g->ip & mask_of(p)))
		return 0;
	char a[16], b[16], w[64];
	ip_str(f->ip & mask_of(f->prefix), a);
	ip_str(g->ip & mask_of(g->prefix), b);
	where(g, w, sizeof(w));
	diag_error(dl, pos,
		   "subnet %s/%d of %s overlaps %s/%d of %s %s: node %s could not tell them apart",
		   a, f->prefix, f->label, b, g->prefix, g->label, w, f->node->name);
	return -1;
}

static int check_overlap(const struct lab *lab, const struct lab_iface *f, struct pos pos,
			 struct diag_list *dl)
{
	struct lab_iface *g;
	FOR_EACH_END(lab, g)
	if (g->node == f->node && segment_of(g) != segment_of(f) && overlap_error(f, g, pos, dl) < 0)
		return -1;
	return 0;
}

static int parse_cidr(const struct word *w, struct lab_iface *f, struct diag_list *dl)
{
	if (strcmp(w->text, "none") == 0) {
		f->ip_mode = LAB_IP_NONE;
		return 0;
	}
	const char *slash = strchr(w->text, '/');
	if (!slash) {
		diag_error(dl, w->pos, "-ip '%s' needs a prefix length, e.g. %s/24 (or 'none')", w->text,
			   w->text);
		return -1;
	}
	char *addr = xstrndup(w->text, (size_t)(slash - w->text));
	struct in_addr a;
	int ok = inet_pton(AF_INET, addr, &a) == 1;
	free(addr);
	if (!ok) {
		diag_error(dl, w->pos, "-ip '%s' is not an IPv4 address/prefix like 10.0.0.1/24", w->text);
		return -1;
	}
	long prefix = -1;
	if (strlen(slash + 1) <= 2 && isdigit((unsigned char)slash[1]) &&
	    (!slash[2] || isdigit((unsigned char)slash[2])))
		prefix = strtol(slash + 1, NULL, 10);
	if (prefix < 1 || prefix > 32) {
		diag_error(dl, w->pos, "-ip '%s': the prefix length must be 1 to 32", w->text);
		return -1;
	}
	f->ip_mode = LAB_IP_SET;
	f->ip = ntohl(a.s_addr);
	f->prefix = (int)prefix;
	uint32_t host = f->ip & ~mask_of(f->prefix);
	if (prefix <= 30 && (host == 0 || host == ~mask_of(f->prefix))) {
		diag_error(dl, w->pos, "-ip '%s' is the %s address of its subnet: use a host address",
			   w->text, host ? "broadcast" : "network");
		return -1;
	}
	return 0;
}

static int parse_mac(const struct word *w, struct lab_iface *f, struct diag_list *dl)
{
	unsigned m[6];
	char end;
	if (strlen(w->text) != 17 ||
	    sscanf(w->text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
		   &end) != 6) {
		diag_error(dl, w->pos, "-mac '%s' is not a MAC address like 52:54:00:12:34:56", w->text);
		return -1;
	}
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)w->text[3 * i]) || !isxdigit((unsigned char)w->text[3 * i + 1])) {
			diag_error(dl, w->pos, "-mac '%s' is not a MAC address like 52:54:00:12:34:56",
				   w->text);
			return -1;
		}
		f->mac[i] = (uint8_t)m[i];
	}
	if (m[0] & 1) {
		diag_error(dl, w->pos, "-mac '%s' is a multicast address: the first byte must be even",
			   w->text);
		return -1;
	}
	static const uint8_t zero[6];
	if (memcmp(f->mac, zero, 6) == 0) {
		diag_error(dl, w->pos, "-mac '%s' is not a usable address", w->text);
		return -1;
	}
	f->mac_set = 1;
	return 0;
}

/* NODE:IFACE for one end. */
static int parse_end(const struct lab *lab, const struct word *w, struct lab_iface *f,
		     struct diag_list *dl)
{
	const char *colon = strchr(w->text, ':');
	if (!colon) {
		diag_error(dl, w->pos, "expected NODE:IFACE, got '%s'", w->text);
		return -1;
	}
	struct word nw = {xstrndup(w->text, (size_t)(colon - w->text)), w->pos, w->quoted};
	f->node = lab_want_node(lab, &nw, dl);
	free(nw.text);
	if (!f->node)
		return -1;
	struct pos ipos = w->pos;
	ipos.col += w->quoted ? 0 : (int)(colon - w->text) + 1;
	const char *ifname = colon + 1;
	if (!lab_valid_name(ifname, IFACE_MAX) || strcmp(ifname, "lo") == 0) {
		diag_error(dl, ipos, strcmp(ifname, "lo") == 0
				? "interface name '%s' is reserved for loopback"
				: "invalid interface name '%s': use letters, digits, '-', '_' and '.' (at most 15)",
			   ifname);
		return -1;
	}
	struct lab_iface *used = lab_iface(lab, f->node->name, ifname);
	if (used) {
		diag_error(dl, w->pos, "interface %s is already used by the link at %s:%d", w->text,
			   used->link->pos.src->name, used->link->pos.line);
		return -1;
	}
	f->name = xstrdup(ifname);
	f->label = xstrdup(w->text);
	return 0;
}

static int parse_other_end(const struct lab *lab, const struct word *w, struct lab_link *l,
			   struct diag_list *dl)
{
	if (strchr(w->text, ':'))
		return parse_end(lab, w, &l->end[1], dl);
	l->sw = lab_switch(lab, w->text);
	if (l->sw)
		return 0;
	const char **names = xcalloc((size_t)lab->nswitches + 1, sizeof(char *));
	for (int i = 0; i < lab->nswitches; i++)
		names[i] = lab->switches[i]->name;
	const char *s = diag_suggest(w->text, names, lab->nswitches);
	if (s)
		diag_error(dl, w->pos, "unknown switch '%s': did you mean '%s'?", w->text, s);
	else if (lab_node(lab, w->text))
		diag_error(dl, w->pos, "'%s' is a node: name its interface, e.g. %s:eth0", w->text, w->text);
	else
		diag_error(dl, w->pos, "unknown switch '%s': define it with 'switch %s' first", w->text,
			   w->text);
	free(names);
	return -1;
}

static int check_unique(const struct lab *lab, const struct lab_link_spec *s,
			const struct lab_iface *f, struct diag_list *dl)
{
	struct lab_iface *u;
	char buf[18];
	if (f->ip_mode == LAB_IP_SET && (u = ip_user(lab, f->ip))) {
		ip_str(f->ip, buf);
		diag_error(dl, s->ip->pos, "address %s is already used by %s", buf, u->label);
		return -1;
	}
	if (f->mac_set && (u = mac_user(lab, f->mac))) {
		mac_str(f->mac, buf);
		diag_error(dl, s->mac->pos, "MAC %s is already used by %s", buf, u->label);
		return -1;
	}
	return 0;
}

static void free_link(struct lab_link *l)
{
	for (int e = 0; e < 2; e++) {
		free(l->end[e].name);
		free(l->end[e].label);
	}
	free(l);
}

static void commit_link(struct lab *lab, const struct cmd *cmd, struct lab_link *l)
{
	for (int e = 0; e < 2; e++) {
		struct lab_iface *f = &l->end[e];
		f->link = l;
		if (f->node)
			f->index = f->node->nifaces++;
	}
	if (!l->sw)
		l->segment = ++lab->nsegments;
	l->pos = cmd->pos;
	source_ref(l->pos.src);
	lab->links = xrealloc(lab->links, (size_t)(lab->nlinks + 1) * sizeof(*lab->links));
	lab->links[lab->nlinks++] = l;
}

int lab_add_link(struct lab *lab, const struct cmd *cmd, const struct lab_link_spec *s,
		 struct diag_list *dl)
{
	struct lab_link *l = xcalloc(1, sizeof(*l));
	l->delay_ms = s->delay_ms;
	l->loss_pct = s->loss_pct;
	l->rate_kbit = s->rate_kbit;
	int bad = parse_end(lab, s->a, &l->end[0], dl);
	bad |= parse_other_end(lab, s->b, l, dl);
	if (!bad && !l->sw && l->end[0].node == l->end[1].node) {
		diag_error(dl, s->b->pos, "a point-to-point link needs two different nodes");
		bad = -1;
	}
	bad |= s->ip ? parse_cidr(s->ip, &l->end[0], dl) : 0;
	bad |= s->mac ? parse_mac(s->mac, &l->end[0], dl) : 0;
	if (!bad)
		bad = check_unique(lab, s, &l->end[0], dl);
	if (!bad && l->end[0].ip_mode == LAB_IP_SET) {
		/* segment_of() needs the link in place: a new p2p link is its own segment */
		l->end[0].link = l;
		l->segment = lab->nsegments + 1;
		bad = check_overlap(lab, &l->end[0], s->ip->pos, dl);
	}
	if (bad) {
		free_link(l);
		return -1;
	}
	commit_link(lab, cmd, l);
	return 0;
}

/* ---- the plan ---- */

struct subnet {
	uint32_t net;
	int prefix; /* 0: not known yet */
};

static int subnets_overlap(struct subnet a, struct subnet b)
{
	int p = a.prefix < b.prefix ? a.prefix : b.prefix;
	return a.prefix && b.prefix && (a.net & mask_of(p)) == (b.net & mask_of(p));
}

/* The subnet of each segment from the first address on it, if any. */
static void known_subnets(const struct lab *lab, struct subnet *sn)
{
	struct lab_iface *f;
	FOR_EACH_END(lab, f)
	{
		struct subnet *s = &sn[segment_of(f)];
		if (has_ip(f) && !s->prefix)
			*s = (struct subnet){f->ip & mask_of(f->prefix), f->prefix};
	}
}

static int subnet_free(const struct lab *lab, const struct subnet *sn, struct subnet cand)
{
	for (int s = 1; s <= lab->nsegments; s++)
		if (subnets_overlap(sn[s], cand))
			return 0;
	struct lab_iface *f;
	FOR_EACH_END(lab, f)
	if (has_ip(f) && (f->ip & mask_of(24)) == cand.net)
		return 0;
	return 1;
}

/* 10.0.<segment>.0/24, or the next free /24 after it. */
static void plan_subnets(const struct lab *lab, struct subnet *sn)
{
	for (int s = 1; s <= lab->nsegments; s++) {
		for (int k = 0; !sn[s].prefix && k < 254; k++) {
			struct subnet cand = {(10u << 24) | ((uint32_t)((s - 1 + k) % 254 + 1) << 8), 24};
			if (subnet_free(lab, sn, cand))
				sn[s] = cand;
		}
	}
}

static int plan_ip(const struct lab *lab, struct lab_iface *f, struct subnet s, struct diag_list *dl)
{
	uint32_t size = s.prefix == 32 ? 1 : 1u << (32 - s.prefix);
	uint32_t first = s.prefix >= 31 ? 0 : 1, last = s.prefix >= 31 ? size - 1 : size - 2;
	for (uint32_t h = first; s.prefix && h <= last; h++) {
		if (!ip_user(lab, s.net + h)) {
			f->ip = s.net + h;
			f->prefix = s.prefix;
			f->planned = 1;
			return 0;
		}
	}
	char net[16];
	ip_str(s.net, net);
	diag_error(dl, f->link->pos, "no free address left in %s/%d for %s: give it one with -ip", net,
		   s.prefix, f->label);
	f->ip_mode = LAB_IP_NONE; /* reported once */
	return -1;
}

static void plan_mac(const struct lab *lab, struct lab_iface *f)
{
	uint8_t mac[6] = {0x52, 0x54, 0x00, 0xca, (uint8_t)f->node->index, (uint8_t)f->index};
	for (int k = 0; k < 256 && mac_user(lab, mac); k++)
		mac[5]++;
	memcpy(f->mac, mac, 6);
	f->mac_set = 1;
}

int lab_plan(struct lab *lab, struct diag_list *dl)
{
	struct subnet *sn = xcalloc((size_t)lab->nsegments + 1, sizeof(*sn));
	struct lab_iface **fresh = xcalloc((size_t)lab->nlinks * 2 + 1, sizeof(*fresh));
	int nfresh = 0, bad = 0;
	known_subnets(lab, sn);
	plan_subnets(lab, sn);
	struct lab_iface *f;
	FOR_EACH_END(lab, f)
	{
		if (!f->mac_set)
			plan_mac(lab, f);
		if (f->ip_mode != LAB_IP_PLAN || f->planned)
			continue;
		if (plan_ip(lab, f, sn[segment_of(f)], dl) < 0)
			bad = -1;
		else
			fresh[nfresh++] = f;
	}
	for (int i = 0; i < nfresh; i++)
		bad |= check_overlap(lab, fresh[i], fresh[i]->link->pos, dl);
	free(fresh);
	free(sn);
	return bad;
}

void lab_print_plan(const struct lab *lab, FILE *out)
{
	struct lab_iface *f;
	FOR_EACH_END(lab, f)
	{
		char mac[18] = "-", ip[40] = "none", peer[80];
		if (f->mac_set)
			mac_str(f->mac, mac);
		if (has_ip(f)) {
			ip_str(f->ip, ip);
			snprintf(ip + strlen(ip), sizeof(ip) - strlen(ip), "/%d", f->prefix);
		}
		if (f->link->sw)
			snprintf(peer, sizeof(peer), "switch %s%s", f->link->sw->name,
				 f->link->sw->hub ? " (hub)" : "");
		else
			snprintf(peer, sizeof(peer), "peer %s", lab_peer(f)->label);
		fprintf(out, "%-20s %s  %-18s %s\n", f->label, mac, ip, peer);
	}
}
