/* bpf.h: tcpdump-syntax filters compiled by libpcap for Ethernet frames, as
 * captures and `expect` use them: compile once, match frames in memory with
 * pcap_offline_filter, and print the program the way `tcpdump -d` does. */
#ifndef CAPLAB_CBPF_H
#define CAPLAB_CBPF_H

#include <stdint.h>

/* The snap length filters are compiled for (libpcap's maximum for Ethernet). */
#define CBPF_SNAPLEN 262144

struct cbpf;

/* Compiles expr ("" or NULL: matches everything). NULL with libpcap's own
 * message in err on a syntax error. */
struct cbpf *cbpf_compile(const char *expr, char *err);
/* 1 when the frame passes; caplen bytes are at data, origlen is the wire
 * length (what `len` / `greater` test). */
int cbpf_match(const struct cbpf *f, const uint8_t *data, uint32_t caplen, uint32_t origlen);
/* The expression as given ("" for none). */
const char *cbpf_text(const struct cbpf *f);
/* The compiled program, one instruction per line as `tcpdump -d` prints it
 * (malloc'd). */
char *cbpf_dump(const struct cbpf *f);
void cbpf_free(struct cbpf *f);

#endif
