/* dissect.c: a small built-in summary of Ethernet frames (ARP, IPv4/IPv6,
 * ICMP, TCP with flags, UDP), in Wireshark's words, for when tshark is
 * missing or has not answered yet. Never reads past len. */
#include "feed.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void ip4s(const uint8_t *p, char *out) { sprintf(out, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]); }

static void tcp_flags(unsigned f, char *out, size_t len)
{
	static const char *const names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
	static const int order[] = {1, 0, 2, 3, 4, 5, 6, 7}; /* Wireshark prints SYN before FIN */
	out[0] = '\0';
	for (int i = 0; i < 8; i++)
		if (f & (1u << order[i]))
			snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? ", " : "", names[order[i]]);
}

static void l4(int proto, const uint8_t *p, uint32_t len, char *pr, char *info, size_t il)
{
	if (proto == 6 && len >= 20) {
		char fl[64];
		tcp_flags(p[13], fl, sizeof fl);
		unsigned hl = (p[12] >> 4) * 4u;
		snprintf(pr, 16, "TCP");
		snprintf(info, il, "%u → %u [%s] Seq=%u%s Win=%u Len=%u", be16(p), be16(p + 2), fl, be32(p + 4),
			 "", be16(p + 14), len > hl ? len - hl : 0);
		if (p[13] & 0x10)
			snprintf(info + strlen(info), il - strlen(info), " Ack=%u", be32(p + 8));
	} else if (proto == 17 && len >= 8) {
		snprintf(pr, 16, "UDP");
		snprintf(info, il, "%u → %u Len=%u", be16(p), be16(p + 2), be16(p + 4) >= 8 ? be16(p + 4) - 8 : 0);
	} else if ((proto == 1 || proto == 58) && len >= 8) {
		int v6 = proto == 58;
		unsigned t = p[0];
		const char *what = (!v6 && t == 8) || (v6 && t == 128) ? "Echo (ping) request"
				 : (!v6 && t == 0) || (v6 && t == 129) ? "Echo (ping) reply"
				 : !v6 && t == 3 ? "Destination unreachable" : !v6 && t == 11 ? "Time-to-live exceeded"
				 : v6 && t == 135 ? "Neighbor Solicitation" : v6 && t == 136 ? "Neighbor Advertisement"
				 : v6 && t == 133 ? "Router Solicitation" : NULL;
		snprintf(pr, 16, v6 ? "ICMPv6" : "ICMP");
		if (what && (t == 8 || t == 0 || t == 128 || t == 129))
			snprintf(info, il, "%s  id=0x%04x, seq=%u", what, be16(p + 4), be16(p + 6));
		else if (what)
			snprintf(info, il, "%s", what);
		else
			snprintf(info, il, "type %u code %u", t, p[1]);
	}
}

static void ipv4(const uint8_t *p, uint32_t len, char *pr, char *info, size_t il)
{
	char s[16], d[16];
	if (len < 20 || (p[0] >> 4) != 4) {
		snprintf(pr, 16, "IPv4");
		snprintf(info, il, "truncated");
		return;
	}
	unsigned hl = (p[0] & 15) * 4u;
	ip4s(p + 12, s);
	ip4s(p + 16, d);
	snprintf(pr, 16, "IPv4");
	snprintf(info, il, "%s → %s proto %u", s, d, p[9]);
	if (hl <= len && (be16(p + 6) & 0x1fff) == 0) {
		char l4info[200] = "";
		l4(p[9], p + hl, len - hl, pr, l4info, sizeof l4info);
		if (l4info[0])
			snprintf(info, il, "%s → %s  %s", s, d, l4info);
	}
}

static void ipv6(const uint8_t *p, uint32_t len, char *pr, char *info, size_t il)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	snprintf(pr, 16, "IPv6");
	if (len < 40) {
		snprintf(info, il, "truncated");
		return;
	}
	inet_ntop(AF_INET6, p + 8, s, sizeof s);
	inet_ntop(AF_INET6, p + 24, d, sizeof d);
	char l4info[200] = "";
	l4(p[6], p + 40, len - 40, pr, l4info, sizeof l4info);
	snprintf(info, il, "%s → %s  %s", s, d, l4info[0] ? l4info : "");
}

static void arp(const uint8_t *p, uint32_t len, char *pr, char *info, size_t il)
{
	char sip[16], tip[16];
	snprintf(pr, 16, "ARP");
	if (len < 28) {
		snprintf(info, il, "truncated");
		return;
	}
	ip4s(p + 14, sip);
	ip4s(p + 24, tip);
	if (be16(p + 6) == 1)
		snprintf(info, il, "Who has %s? Tell %s", tip, sip);
	else
		snprintf(info, il, "%s is at %02x:%02x:%02x:%02x:%02x:%02x", sip, p[8], p[9], p[10], p[11], p[12], p[13]);
}

void dissect_summary(const uint8_t *d, uint32_t len, char **proto, char **info)
{
	char pr[16] = "ETH", in[512] = "";
	if (len < 14) {
		snprintf(in, sizeof in, "short frame (%u bytes)", len);
	} else {
		unsigned type = be16(d + 12), off = 14;
		if (type == 0x8100 && len >= 18)
			type = be16(d + 16), off = 18;
		if (type == 0x0806)
			arp(d + off, len - off, pr, in, sizeof in);
		else if (type == 0x0800)
			ipv4(d + off, len - off, pr, in, sizeof in);
		else if (type == 0x86dd)
			ipv6(d + off, len - off, pr, in, sizeof in);
		else
			snprintf(in, sizeof in, "%02x:%02x:%02x:%02x:%02x:%02x → %02x:%02x:%02x:%02x:%02x:%02x type 0x%04x",
				 d[6], d[7], d[8], d[9], d[10], d[11], d[0], d[1], d[2], d[3], d[4], d[5], type);
	}
	*proto = xstrdup(pr);
	*info = xstrdup(in);
}
