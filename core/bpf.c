/* bpf.c: libpcap does the work (compiler, interpreter, disassembler); this
 * file only keeps a compiled program with its text. */
#include "bpf.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct cbpf {
	char *text;
	struct bpf_program prog;
};

struct cbpf *cbpf_compile(const char *expr, char *err)
{
	if (!expr)
		expr = "";
	pcap_t *p = pcap_open_dead(DLT_EN10MB, CBPF_SNAPLEN);
	if (!p) {
		cl_err(err, "libpcap could not open a dead Ethernet handle");
		return NULL;
	}
	struct cbpf *f = xcalloc(1, sizeof *f);
	/* optimize=1 as tcpdump does, so `capture -d` shows what tcpdump -d shows */
	if (pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		cl_err(err, "%s", pcap_geterr(p));
		pcap_close(p);
		free(f);
		return NULL;
	}
	pcap_close(p);
	f->text = xstrdup(expr);
	return f;
}

int cbpf_match(const struct cbpf *f, const uint8_t *data, uint32_t caplen, uint32_t origlen)
{
	struct pcap_pkthdr h = {.caplen = caplen, .len = origlen};
	return pcap_offline_filter(&f->prog, &h, data) != 0;
}

const char *cbpf_text(const struct cbpf *f) { return f->text; }

char *cbpf_dump(const struct cbpf *f)
{
	struct buf b = {0};
	for (u_int i = 0; i < f->prog.bf_len; i++)
		buf_addf(&b, "%s\n", bpf_image(&f->prog.bf_insns[i], (int)i));
	if (!b.data)
		buf_adds(&b, "");
	return b.data;
}

void cbpf_free(struct cbpf *f)
{
	if (!f)
		return;
	pcap_freecode(&f->prog);
	free(f->text);
	free(f);
}
