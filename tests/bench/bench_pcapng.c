/* bench_pcapng.c: caplab's pcapng writer against libpcap's pcap_dump on the
 * same frames (goal: pcapng >= 0.8x pcap_dump), plus the pcapng reader.
 * Usage: bench_pcapng [FRAMES] (default 1000000). Files go to $TMPDIR. */
#include "pcapng.h"
#include "util.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 3
#define POOL (4u << 20) /* frames are cut from this pool at varying offsets */

struct frames {
	size_t n;
	uint32_t *len, *off;
	uint8_t *pool;
	uint64_t bytes;
};

/* A traffic mix like a TCP transfer with its ACKs, DNS and pings: 40% small
 * (64-100 B), 20% medium (300-700 B), 40% full-size (1514 B). */
static uint32_t frame_len(uint32_t r)
{
	uint32_t kind = r % 10, jitter = r / 10;
	if (kind < 4)
		return 64 + jitter % 37;
	if (kind < 6)
		return 300 + jitter % 401;
	return 1514;
}

static void make_frames(struct frames *f, size_t n)
{
	uint32_t seed = 12345;
	f->n = n;
	f->len = xmalloc(n * sizeof *f->len);
	f->off = xmalloc(n * sizeof *f->off);
	f->pool = xmalloc(POOL);
	for (size_t i = 0; i < POOL; i++)
		f->pool[i] = (uint8_t)(i * 2654435761u >> 24);
	f->bytes = 0;
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		f->len[i] = frame_len(seed >> 8);
		f->off[i] = (seed >> 4) % (POOL - 1514);
		f->bytes += f->len[i];
	}
}

static uint64_t ts_of(size_t i) { return 1700000000000000000ull + i * 1000u; }

static double bench_pcap_dump(const struct frames *f, const char *path)
{
	unlink(path); /* truncating the last round's file in the page cache is not writing */
	double t0 = now_mono();
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, PCAPNG_MAX_SNAPLEN,
							    PCAP_TSTAMP_PRECISION_NANO);
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	if (!d) {
		fprintf(stderr, "bench_pcapng: pcap_dump_open %s: %s\n", path, pcap_geterr(dead));
		exit(1);
	}
	for (size_t i = 0; i < f->n; i++) {
		uint64_t ts = ts_of(i);
		struct pcap_pkthdr h = {.ts = {.tv_sec = (time_t)(ts / 1000000000u),
					       .tv_usec = (suseconds_t)(ts % 1000000000u)},
					.caplen = f->len[i], .len = f->len[i]};
		pcap_dump((u_char *)d, &h, f->pool + f->off[i]);
	}
	pcap_dump_close(d);
	double dt = now_mono() - t0;
	pcap_close(dead);
	return dt;
}

/* with_meta: direction flags and a label on every packet, as caplab writes. */
static double bench_pcapng(const struct frames *f, const char *path, bool with_meta)
{
	char err[CL_ERRBUF];
	struct pcapng_shb shb = {.userappl = "caplab bench"};
	unlink(path);
	double t0 = now_mono();
	struct pcapng_w *w = pcapng_open(path, &shb, err);
	struct pcapng_idb idb = {.name = "bench:eth0"};
	if (!w || pcapng_add_interface(w, &idb, err) < 0) {
		fprintf(stderr, "bench_pcapng: %s\n", err);
		exit(1);
	}
	for (size_t i = 0; i < f->n; i++) {
		struct pcapng_pkt p = {.ts_ns = ts_of(i), .data = f->pool + f->off[i],
				       .caplen = f->len[i], .origlen = f->len[i]};
		if (with_meta) {
			p.flags = i % 2 ? PCAPNG_DIR_IN : PCAPNG_DIR_OUT;
			p.comment = "tls handshake";
		}
		if (pcapng_write_packet(w, &p, err) < 0) {
			fprintf(stderr, "bench_pcapng: %s\n", err);
			exit(1);
		}
	}
	if (pcapng_close(w, err) < 0) {
		fprintf(stderr, "bench_pcapng: %s\n", err);
		exit(1);
	}
	return now_mono() - t0;
}

static double bench_reader(const struct frames *f, const char *path)
{
	char err[CL_ERRBUF];
	double t0 = now_mono();
	struct pcapng_r *r = pcapng_r_open(path, err);
	struct pcapng_rec rec;
	size_t n = 0;
	int rc;
	while (r && (rc = pcapng_read_packet(r, &rec, err)) > 0)
		n++;
	if (!r || rc < 0 || n != f->n) {
		fprintf(stderr, "bench_pcapng: reader: %s (%zu of %zu packets)\n", err, n, f->n);
		exit(1);
	}
	pcapng_r_close(r);
	return now_mono() - t0;
}

static double best_of(double *t)
{
	double best = t[0];
	for (int i = 1; i < ROUNDS; i++)
		best = t[i] < best ? t[i] : best;
	return best;
}

static void report(const char *what, const struct frames *f, double dt, double base)
{
	printf("%-34s %6.0f MB/s, %5.2f Mframes/s", what, f->bytes / dt / 1e6, f->n / dt / 1e6);
	if (base > 0)
		printf(" (%.2fx pcap_dump)", base / dt);
	printf("\n");
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *pcap_path = xasprintf("%s/bench_pcapng.%d.pcap", dir, (int)getpid());
	char *ng_path = xasprintf("%s/bench_pcapng.%d.pcapng", dir, (int)getpid());
	struct frames f;
	make_frames(&f, n);
	double t_pcap[ROUNDS], t_ng[ROUNDS], t_meta[ROUNDS], t_read[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) { /* interleaved, so drift hits all alike */
		t_pcap[r] = bench_pcap_dump(&f, pcap_path);
		t_ng[r] = bench_pcapng(&f, ng_path, false);
		t_meta[r] = bench_pcapng(&f, ng_path, true);
		t_read[r] = bench_reader(&f, ng_path);
	}
	double base = best_of(t_pcap), ratio = base / best_of(t_ng);
	printf("frames: %zu, %.1f MB of packet data (64-1514 B mix), best of %d, to %s\n", f.n,
	       f.bytes / 1e6, ROUNDS, dir);
	report("pcap_dump:", &f, base, 0);
	report("pcapng writer:", &f, best_of(t_ng), base);
	report("pcapng writer, direction + label:", &f, best_of(t_meta), base);
	report("pcapng reader, direction + label:", &f, best_of(t_read), 0);
	printf("goal pcapng >= 0.8x pcap_dump: %s (%.2fx)\n", ratio >= 0.8 ? "met" : "NOT met", ratio);
	unlink(pcap_path);
	unlink(ng_path);
	free(pcap_path);
	free(ng_path);
	free(f.len);
	free(f.off);
	free(f.pool);
	return 0;
}
