/* test_capture.c: capture logic without VMs. Frames are fed through a
 * socketpair in QEMU's filter-mirror framing (4-byte big-endian length +
 * frame); filters are checked against the real tcpdump; exports are read
 * back with the pcapng reader and tshark. */
#include "unit.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf.h"
#include "capture.h"
#include "export.h"
#include "loop.h"
#include "pcapng.h"
#include "proc.h"
#include "util.h"

static char dir[64];

/* ---------- synthetic frames ---------- */

enum { F_ARP, F_ICMP, F_TCP80, F_TCP22, F_UDP53, F_ICMP6, F_N };

static size_t make_frame(int kind, uint8_t *f, int seq)
{
	static const uint8_t a[6] = {0x52, 0x54, 0, 0xca, 1, 0}, b[6] = {0x52, 0x54, 0, 0xca, 2, 0};
	memset(f, 0, 128);
	memcpy(f, b, 6);
	memcpy(f + 6, a, 6);
	if (kind == F_ARP) {
		f[12] = 0x08, f[13] = 0x06;
		uint8_t arp[] = {0, 1, 8, 0, 6, 4, 0, 1};
		memcpy(f + 14, arp, sizeof arp);
		return 42;
	}
	if (kind == F_ICMP6) {
		f[12] = 0x86, f[13] = 0xdd, f[14] = 0x60, f[19] = 8, f[20] = 58, f[21] = 64;
		f[54] = 128;
		return 62;
	}
	f[12] = 0x08, f[13] = 0x00;
	uint8_t *ip = f + 14;
	ip[0] = 0x45, ip[8] = 64;
	ip[9] = kind == F_ICMP ? 1 : kind == F_UDP53 ? 17 : 6;
	ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
	uint8_t *l4 = ip + 20;
	int port = kind == F_TCP80 ? 80 : kind == F_TCP22 ? 22 : 53;
	if (kind == F_ICMP)
		l4[0] = 8, l4[7] = (uint8_t)seq;
	else
		l4[0] = 0x9c, l4[1] = 0x40, l4[2] = 0, l4[3] = (uint8_t)port, l4[12] = 0x50;
	size_t len = 14 + 20 + (kind == F_ICMP ? 64 : kind == F_UDP53 ? 8 + 20 : 20);
	ip[2] = (uint8_t)((len - 14) >> 8), ip[3] = (uint8_t)(len - 14);
	return len;
}

static void send_frame(int fd, const uint8_t *f, size_t len)
{
	uint8_t h[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
	assert_int_equal(write(fd, h, 4), 4);
	assert_int_equal(write(fd, f, len), (ssize_t)len);
}

static void send_kind(int fd, int kind, int seq)
{
	uint8_t f[256];
	send_frame(fd, f, make_frame(kind, f, seq));
}

/* A capture named name on one link fed by the returned fd. */
static struct capture *fed_capture(const char *name, const char *filter, int *feed, unsigned dir_)
{
	char err[CL_ERRBUF];
	struct capture *c = capture_new(name, filter, dir, NULL, NULL, err);
	assert_non_null(c);
	capture_add_link(c, strchr(name, ':') ? name : "a:eth0", "a", "net-eth0", "node a, switch lan");
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(capture_attach_stream(c, 0, dir_, sv[0], err), 0);
	*feed = sv[1];
	return c;
}

/* ---------- filters ---------- */

static void test_bad_filter_has_libpcap_message(void **state)
{
	(void)state;
	char err[CL_ERRBUF];
	assert_null(cbpf_compile("tcp port", err));
	assert_non_null(strstr(err, "syntax error"));
	assert_null(capture_new("x", "host 999.1.1.1", dir, NULL, NULL, err));
	assert_non_null(strstr(err, "bad filter 'host 999.1.1.1'"));
	assert_null(capture_find("x")); /* nothing changed */
}

static void test_dump_like_tcpdump_d(void **state)
{
	(void)state;
	char err[CL_ERRBUF], *out = NULL;
	struct cbpf *f = cbpf_compile("icmp", err);
	char *mine = cbpf_dump(f);
	char *argv[] = {"tcpdump", "-d", "-y", "EN10MB", "icmp", NULL};
	/* tcpdump -d needs an interface for the link type: use a pcap file */
	char path[128];
	snprintf(path, sizeof path, "%s/empty.pcap", dir);
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
	pcap_dump_close(pcap_dump_open(p, path));
	pcap_close(p);
	char *argv2[] = {"tcpdump", "-d", "-r", path, "icmp", NULL};
	(void)argv;
	assert_int_equal(proc_run_capture(argv2, &out, 10, err), 0);
	assert_string_equal(mine, out);
	free(out);
	free(mine);
	cbpf_free(f);
}

/* The frames tcpdump keeps from path for expr, as a bitmask: frame k has
 * the timestamp k+1 s, which `-tt` prints first on each line. */
static unsigned tcpdump_keeps(char *path, const char *expr)
{
	char err[CL_ERRBUF], *out = NULL;
	char *argv[] = {"tcpdump", "-nn", "-tt", "-r", path, (char *)expr, NULL};
	assert_int_equal(proc_run_capture(argv, &out, 10, err), 0);
	unsigned mask = 0;
	for (char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		mask |= 1u << (atoi(l) - 1);
	free(out);
	return mask;
}

static void test_filter_matches_tcpdump(void **state)
{
	(void)state;
	const char *exprs[] = {"icmp", "tcp port 80", "not arp", "udp or icmp6"};
	char path[128], err[CL_ERRBUF];
	snprintf(path, sizeof path, "%s/frames.pcap", dir);
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
	pcap_dumper_t *d = pcap_dump_open(p, path);
	uint8_t f[F_N][256];
	size_t len[F_N];
	for (int k = 0; k < F_N; k++) {
		len[k] = make_frame(k, f[k], k);
		struct pcap_pkthdr h = {.ts = {k + 1, 0}, .caplen = (bpf_u_int32)len[k], .len = (bpf_u_int32)len[k]};
		pcap_dump((u_char *)d, &h, f[k]);
	}
	pcap_dump_close(d);
	pcap_close(p);
	for (size_t e = 0; e < ARRAY_LEN(exprs); e++) {
		struct cbpf *b = cbpf_compile(exprs[e], err);
		unsigned mine = 0;
		for (int k = 0; k < F_N; k++)
			mine |= (unsigned)cbpf_match(b, f[k], (uint32_t)len[k], (uint32_t)len[k]) << k;
		unsigned want = tcpdump_keeps(path, exprs[e]);
		assert_int_not_equal(want, 0);
		assert_int_equal(mine, want);
		cbpf_free(b);
	}
}

/* ---------- capture: counters, labels, spool, ring ---------- */

static int count_spool(const char *path, const char **labels, unsigned *dirs, int max)
{
	char err[CL_ERRBUF];
	struct pcapng_r *r = pcapng_r_open(path, err);
	assert_non_null(r);
	struct pcapng_rec rec;
	int n = 0;
	while (pcapng_read_packet(r, &rec, err) == 1) {
		if (n < max && labels)
			labels[n] = rec.pkt.comment && *rec.pkt.comment ? strdup(rec.pkt.comment) : NULL;
		if (n < max && dirs)
			dirs[n] = rec.pkt.flags;
		n++;
	}
	pcapng_r_close(r);
	return n;
}

static void test_filter_and_counters(void **state)
{
	(void)state;
	int fd;
	struct capture *c = fed_capture("cnt", "icmp", &fd, PCAPNG_DIR_OUT);
	for (int i = 0; i < 3; i++) {
		send_kind(fd, F_ARP, i);
		send_kind(fd, F_ICMP, i);
	}
	capture_drain(c);
	struct capture_info in;
	capture_get_info(c, &in);
	assert_int_equal(in.total.seen, 6);
	assert_int_equal(in.total.matched, 3);
	assert_int_equal(in.total.bytes, 3 * 98);
	assert_int_equal(in.total.dropped, 0);
	unsigned dirs[8];
	assert_int_equal(count_spool(in.spool_path, NULL, dirs, 8), 3);
	assert_int_equal(dirs[0], PCAPNG_DIR_OUT);
	/* a frame cut by the end of the stream is a drop */
	uint8_t h[4] = {0, 0, 0, 98};
	assert_int_equal(write(fd, h, 4), 4);
	close(fd);
	capture_drain(c);
	capture_get_info(c, &in);
	assert_int_equal(in.total.dropped, 1);
	capture_free(c);
}

static void test_label_follows_packet_time(void **state)
{
	(void)state;
	int fd;
	struct capture *c = fed_capture("lbl", "", &fd, PCAPNG_DIR_IN);
	capture_set_label("first");
	send_kind(fd, F_ICMP, 1); /* still in the socket when the label changes */
	send_kind(fd, F_ICMP, 2);
	capture_set_label("second\nline, ünïcode");
	send_kind(fd, F_ICMP, 3);
	capture_set_label(NULL);
	send_kind(fd, F_ICMP, 4);
	capture_drain(c);
	struct capture_info in;
	capture_get_info(c, &in);
	const char *labels[4];
	assert_int_equal(count_spool(in.spool_path, labels, NULL, 4), 4);
	assert_string_equal(labels[0], "first");
	assert_string_equal(labels[1], "first");
	assert_string_equal(labels[2], "second\nline, ünïcode");
	assert_null(labels[3]);
	struct capture_pkt p;
	assert_int_equal(capture_ring_get(c, 3, &p), 0);
	assert_string_equal(p.label, "second\nline, ünïcode");
	assert_int_equal(p.dir, PCAPNG_DIR_IN);
	for (int i = 0; i < 3; i++)
		free((char *)labels[i]);
	close(fd);
	capture_free(c);
}

static void test_ring_is_bounded(void **state)
{
	(void)state;
	int fd;
	struct capture *c = fed_capture("ring", "", &fd, PCAPNG_DIR_OUT);
	int total = CAPTURE_RING_LEN + 50;
	for (int i = 0; i < total; i++) {
		send_kind(fd, F_ICMP, i);
		if (i % 100 == 99)
			capture_drain(c); /* keep the socket buffer from filling */
	}
	capture_drain(c);
	assert_int_equal(capture_ring_next(c), total + 1);
	assert_int_equal(capture_ring_first(c), 51);
	struct capture_pkt p;
	assert_int_equal(capture_ring_get(c, 50, &p), -1);
	assert_int_equal(capture_ring_get(c, 51, &p), 0);
	assert_int_equal(p.no, 51);
	assert_int_equal(capture_ring_get(c, (uint64_t)total, &p), 0);
	assert_int_equal(p.data[34 + 7], (uint8_t)(total - 1)); /* icmp seq byte */
	assert_int_equal(capture_ring_get(c, (uint64_t)total + 1, &p), -1);
	close(fd);
	capture_free(c);
}

static void test_spool_readable_after_cut(void **state)
{
	(void)state;
	int fd;
	struct capture *c = fed_capture("cut", "", &fd, PCAPNG_DIR_OUT);
	for (int i = 0; i < 10; i++)
		send_kind(fd, F_TCP80, i);
	capture_drain(c); /* flushes: the file is what a kill -9 would leave */
	struct capture_info in;
	capture_get_info(c, &in);
	char *copy = xasprintf("%s/cut.pcapng", dir), *data;
	size_t len;
	char err[CL_ERRBUF];
	assert_non_null(data = read_file(in.spool_path, &len, err));
	assert_int_equal(write_file(copy, data, len - 20, 0644, err), 0); /* cut in the last block */
	free(data);
	struct pcapng_r *r = pcapng_r_open(copy, err);
	struct pcapng_rec rec;
	int n = 0;
	while (pcapng_read_packet(r, &rec, err) == 1)
		n++;
	uint64_t at;
	assert_int_equal(n, 9);
	assert_true(pcapng_r_truncated(r, &at));
	pcapng_r_close(r);
	free(copy);
	close(fd);
	capture_free(c);
}

/* ---------- export ---------- */

static char *run_tool(char **argv)
{
	char err[CL_ERRBUF], *out = NULL;
	int rc = proc_run_capture(argv, &out, 20, err);
	assert_int_equal(rc, 0);
	return out;
}

static void test_export_merges_by_time(void **state)
{
	(void)state;
	int fa, fb;
	struct capture *a = fed_capture("a:eth0", "", &fa, PCAPNG_DIR_OUT);
	struct capture *b = fed_capture("b:eth0", "icmp", &fb, PCAPNG_DIR_IN);
	capture_set_label("ping");
	for (int i = 0; i < 5; i++) { /* alternate so the merge must interleave */
		send_kind(fa, F_ICMP, i);
		capture_drain(a);
		send_kind(fb, F_ICMP, i);
		send_kind(fb, F_ARP, i);
		capture_drain(b);
	}
	capture_set_label(NULL);
	char err[CL_ERRBUF];
	char *path = xasprintf("%s/out.pcapng", dir);
	struct export_req *req = export_snapshot(path, 0, NULL, 0, err);
	assert_non_null(req);
	req->provenance = xstrdup("lab: test\nhost: unit");
	struct export_result res;
	assert_int_equal(export_write(req, &res, err), 0);
	assert_int_equal(res.packets, 10);
	char *argv[] = {"tshark", "-r", path, "-T", "fields", "-e", "frame.interface_name", "-e",
			"frame.packet_flags_direction", "-e", "frame.comment", "-e",
			"frame.time_epoch", NULL};
	char *out = run_tool(argv);
	int lines = 0;
	double prev = 0;
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"), lines++) {
		const char *want = lines % 2 == 0 ? "a:eth0\t0x00000002\tping\t"
						  : "b:eth0\t0x00000001\tping\t";
		assert_memory_equal(l, want, strlen(want));
		double t = atof(strrchr(l, '\t') + 1);
		assert_true(t >= prev);
		prev = t;
	}
	assert_int_equal(lines, 10);
	free(out);
	char *cap[] = {"capinfos", "-c", path, NULL};
	out = run_tool(cap);
	assert_non_null(strstr(out, "Number of packets:   10"));
	free(out);
	char *js = xasprintf("%s.json", path);
	char *m = read_file(js, NULL, err);
	assert_non_null(m);
	assert_non_null(strstr(m, "\"sha256\": \""));
	assert_non_null(strstr(m, res.sha256));
	assert_non_null(strstr(m, "\"first\": 1"));
	free(m);
	free(js);
	export_req_free(req);
	/* classic pcap: one file per capture, tcpdump reads them */
	req = export_snapshot(path, 1, NULL, 0, err);
	free(req->path);
	req->path = xasprintf("%s/out.pcap", dir);
	assert_int_equal(export_write(req, &res, err), 0);
	char *pb = xasprintf("%s/out-b_eth0.pcap", dir);
	char *td[] = {"tcpdump", "-nn", "-r", pb, NULL};
	out = run_tool(td);
	assert_non_null(strstr(out, "ICMP echo request"));
	free(out);
	free(pb);
	export_req_free(req);
	free(path);
	close(fa);
	close(fb);
	capture_free_all();
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_capture.%d", (int)getpid());
	char err[CL_ERRBUF];
	if (mkdir_p(dir, 0700, err) < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_filter_has_libpcap_message),
		cmocka_unit_test(test_dump_like_tcpdump_d),
		cmocka_unit_test(test_filter_matches_tcpdump),
		cmocka_unit_test(test_filter_and_counters),
		cmocka_unit_test(test_label_follows_packet_time),
		cmocka_unit_test(test_ring_is_bounded),
		cmocka_unit_test(test_spool_readable_after_cut),
		cmocka_unit_test(test_export_merges_by_time),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	capture_free_all();
	loop_reset();
	if (!getenv("KEEP"))
		rm_rf(dir);
	return rc;
}
