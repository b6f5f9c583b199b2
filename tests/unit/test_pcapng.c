/* test_pcapng.c: the pcapng writer and reader, checked against our own reader
 * and against the real tools users will open the files with (tshark,
 * capinfos, editcap, tcpdump, libpcap). */
#include "unit.h"

#include "pcapng.h"
#include "util.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[4096];

/* ------------------------------------------------------------ helpers */

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* Runs argv (no shell); stdout and stderr captured. Returns the exit status. */
static int run(char *const argv[], char **out, char **errtext)
{
	char *paths[2] = {tmp_path("run.out"), tmp_path("run.err")};
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fds[2] = {open(paths[0], O_WRONLY | O_CREAT | O_TRUNC, 0600),
			      open(paths[1], O_WRONLY | O_CREAT | O_TRUNC, 0600)};
		dup2(fds[0], 1);
		dup2(fds[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	char err[CL_ERRBUF];
	char *texts[2];
	for (int i = 0; i < 2; i++) {
		texts[i] = read_file(paths[i], NULL, err);
		assert_non_null(texts[i]);
		unlink(paths[i]);
		free(paths[i]);
	}
	out ? (void)(*out = texts[0]) : free(texts[0]);
	errtext ? (void)(*errtext = texts[1]) : free(texts[1]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Wireshark tools print this when run as root; it says nothing about the file. */
static void drop_root_warning(char *s)
{
	const char *w = "Running as user \"root\" and group \"root\". This could be dangerous.\n";
	char *p = strstr(s, w);
	if (p)
		memmove(p, p + strlen(w), strlen(p + strlen(w)) + 1);
}

static char *tshark_fields(const char *path, const char *fields_csv, char **errtext, int *rc)
{
	char *argv[32] = {"tshark", "-n", "-r", (char *)path, "-T", "fields", "-E", "separator=|"};
	int n = 8;
	char *copy = xstrdup(fields_csv), *save = NULL;
	for (char *f = strtok_r(copy, ",", &save); f && n < 30; f = strtok_r(NULL, ",", &save)) {
		argv[n++] = "-e";
		argv[n++] = f;
	}
	char *out;
	*rc = run(argv, &out, errtext);
	drop_root_warning(*errtext);
	free(copy);
	return out;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static struct pcapng_w *open_or_fail(const char *path, const struct pcapng_shb *shb)
{
	char err[CL_ERRBUF] = "";
	struct pcapng_w *w = pcapng_open(path, shb, err);
	if (!w)
		fail_msg("pcapng_open: %s", err);
	return w;
}

static int add_iface(struct pcapng_w *w, const char *name, const char *descr, const char *filter)
{
	char err[CL_ERRBUF] = "";
	struct pcapng_idb idb = {.name = name, .description = descr, .filter = filter};
	int id = pcapng_add_interface(w, &idb, err);
	if (id < 0)
		fail_msg("pcapng_add_interface: %s", err);
	return id;
}

static void close_ok(struct pcapng_w *w)
{
	char err[CL_ERRBUF] = "";
	if (pcapng_close(w, err) < 0)
		fail_msg("pcapng_close: %s", err);
}

/* A plausible Ethernet/IPv4 frame of len bytes whose payload encodes seed. */
static uint8_t *make_frame(size_t len, unsigned seed)
{
	uint8_t *f = xmalloc(len);
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed * 31 + i * 7);
	static const uint8_t hdr[14] = {0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x00};
	memcpy(f, hdr, len < 14 ? len : 14);
	return f;
}

static void write_pkt(struct pcapng_w *w, uint32_t iface, uint64_t ts, size_t len, unsigned seed,
		      uint32_t flags, const char *comment, uint64_t id)
{
	char err[CL_ERRBUF] = "";
	uint8_t *f = make_frame(len, seed);
	struct pcapng_pkt p = {.iface = iface, .ts_ns = ts, .data = f, .caplen = (uint32_t)len,
			       .origlen = (uint32_t)len, .flags = flags, .comment = comment,
			       .packet_id = id};
	if (pcapng_write_packet(w, &p, err) < 0)
		fail_msg("pcapng_write_packet: %s", err);
	free(f);
}

static struct pcapng_r *ropen(const char *path)
{
	char err[CL_ERRBUF] = "";
	struct pcapng_r *r = pcapng_r_open(path, err);
	if (!r)
		fail_msg("pcapng_r_open: %s", err);
	return r;
}

/* Packets our reader finds; *cut says whether the file ended inside a block. */
static int count_packets(const char *path, bool *cut)
{
	char err[CL_ERRBUF] = "";
	struct pcapng_r *r = ropen(path);
	struct pcapng_rec rec;
	int n = 0, rc;
	while ((rc = pcapng_read_packet(r, &rec, err)) > 0)
		n++;
	if (rc < 0)
		fail_msg("pcapng_read: %s", err);
	*cut = pcapng_r_truncated(r, NULL);
	pcapng_r_close(r);
	return n;
}

static void copy_prefix(const char *from, const char *to, size_t len)
{
	char err[CL_ERRBUF];
	size_t n;
	char *data = read_file(from, &n, err);
	assert_non_null(data);
	assert_true(len <= n);
	assert_int_equal(write_file(to, data, len, 0644, err), 0);
	free(data);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* ------------------------------------------------------------ a typical file */

static const struct pcapng_shb lab_shb = {
	.userappl = "caplab " CAPLAB_VERSION,
	.comment = "lab: demo.lab\nsha256 demo.lab: 0123abcd\nqemu 7.2.0, guest kernel 6.1.0-cloud",
	.hardware = "x86_64",
	.os = "Debian GNU/Linux 12",
};
#define T0 1700000000123456789ull
#define LABEL_UTF8 "handshake ✓ — étape 2\nsecond line"
#define LABEL_UTF8_TSHARK "handshake ✓ — étape 2\\nsecond line"
static const char keylog[] = "CLIENT_RANDOM 0011223344556677 8899aabbccddeeff\n"
			     "SERVER_HANDSHAKE_TRAFFIC_SECRET 00 11\n";

/* Two interfaces, five packets (directions, labels, ids), secrets, stats. */
static char *write_lab_file(const char *name)
{
	char *path = tmp_path(name), err[CL_ERRBUF] = "";
	struct pcapng_w *w = open_or_fail(path, &lab_shb);
	int a = add_iface(w, "client:eth0", "node client, switch lan, 52:54:00:00:00:01 10.0.0.1/24",
			  "icmp or arp");
	int b = add_iface(w, "server:eth0", "node server", NULL);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(pcapng_write_dsb(w, PCAPNG_SECRETS_TLS, keylog, strlen(keylog), err), 0);
	write_pkt(w, 0, T0, 98, 1, PCAPNG_DIR_OUT, "ping", 1);
	write_pkt(w, 1, T0 + 1000, 98, 1, PCAPNG_DIR_IN, "ping", 2);
	write_pkt(w, 1, T0 + 2000, 98, 2, PCAPNG_DIR_OUT, LABEL_UTF8, 3);
	write_pkt(w, 0, T0 + 3000, 98, 2, PCAPNG_DIR_IN, LABEL_UTF8, 4);
	write_pkt(w, 0, T0 + 4000, 60, 3, 0, NULL, 0);
	struct pcapng_stats st = {.have = PCAPNG_ST_START | PCAPNG_ST_END | PCAPNG_ST_IFRECV |
					  PCAPNG_ST_IFDROP | PCAPNG_ST_FILTERACCEPT | PCAPNG_ST_OSDROP,
				  .ts_ns = T0 + 9000, .start_ns = T0 - 5, .end_ns = T0 + 9000,
				  .ifrecv = 7, .ifdrop = 0, .filteraccept = 3, .osdrop = 0};
	assert_int_equal(pcapng_write_stats(w, 0, &st, err), 0);
	st.have = PCAPNG_ST_IFRECV | PCAPNG_ST_IFDROP;
	st.ifrecv = 2;
	st.ifdrop = 5;
	assert_int_equal(pcapng_write_stats(w, 1, &st, err), 0);
	close_ok(w);
	return path;
}

/* ------------------------------------------------------------ round trip */

static void expect_packet(struct pcapng_r *r, uint32_t iface, uint64_t ts, size_t len,
			  unsigned seed, uint32_t flags, const char *comment, uint64_t id)
{
	char err[CL_ERRBUF] = "";
	struct pcapng_rec rec;
	assert_int_equal(pcapng_read(r, &rec, err), 1);
	assert_int_equal(rec.type, PCAPNG_BT_EPB);
	assert_int_equal(rec.pkt.iface, iface);
	assert_true(rec.pkt.ts_ns == ts);
	assert_int_equal(rec.pkt.caplen, len);
	assert_int_equal(rec.pkt.origlen, len);
	uint8_t *f = make_frame(len, seed);
	assert_memory_equal(rec.pkt.data, f, len);
	free(f);
	assert_int_equal(rec.pkt.flags, flags);
	if (comment)
		assert_string_equal(rec.pkt.comment, comment);
	else
		assert_null(rec.pkt.comment);
	assert_true(rec.pkt.packet_id == id);
}

static void expect_header_blocks(struct pcapng_r *r)
{
	char err[CL_ERRBUF] = "";
	struct pcapng_rec rec;
	assert_int_equal(pcapng_read(r, &rec, err), 1);
	assert_int_equal(rec.type, PCAPNG_BT_SHB);
	const struct pcapng_shb *shb = pcapng_r_shb(r);
	assert_string_equal(shb->userappl, lab_shb.userappl);
	assert_string_equal(shb->comment, lab_shb.comment);
	assert_string_equal(shb->hardware, lab_shb.hardware);
	assert_string_equal(shb->os, lab_shb.os);
	for (uint32_t i = 0; i < 2; i++) {
		assert_int_equal(pcapng_read(r, &rec, err), 1);
		assert_int_equal(rec.type, PCAPNG_BT_IDB);
		assert_int_equal(rec.iface, i);
	}
	assert_int_equal(pcapng_r_ifaces(r), 2);
	const struct pcapng_idb *a = pcapng_r_iface(r, 0), *b = pcapng_r_iface(r, 1);
	assert_string_equal(a->name, "client:eth0");
	assert_string_equal(a->description, "node client, switch lan, 52:54:00:00:00:01 10.0.0.1/24");
	assert_string_equal(a->filter, "icmp or arp");
	assert_int_equal(a->linktype, PCAPNG_LINKTYPE_ETHERNET);
	assert_int_equal(a->snaplen, PCAPNG_MAX_SNAPLEN);
	assert_int_equal(a->tsresol, 9);
	assert_string_equal(b->name, "server:eth0");
	assert_null(b->filter);
	assert_null(pcapng_r_iface(r, 2));
	assert_int_equal(pcapng_read(r, &rec, err), 1);
	assert_int_equal(rec.type, PCAPNG_BT_DSB);
	assert_int_equal(rec.secrets_type, PCAPNG_SECRETS_TLS);
	assert_int_equal(rec.secrets_len, strlen(keylog));
	assert_memory_equal(rec.secrets, keylog, strlen(keylog));
}

static void expect_stats_blocks(struct pcapng_r *r)
{
	char err[CL_ERRBUF] = "";
	struct pcapng_rec rec;
	assert_int_equal(pcapng_read(r, &rec, err), 1);
	assert_int_equal(rec.type, PCAPNG_BT_ISB);
	assert_int_equal(rec.iface, 0);
	assert_int_equal(rec.stats.have, 0x3f);
	assert_true(rec.stats.ts_ns == T0 + 9000);
	assert_true(rec.stats.start_ns == T0 - 5);
	assert_true(rec.stats.end_ns == T0 + 9000);
	assert_int_equal(rec.stats.ifrecv, 7);
	assert_int_equal(rec.stats.ifdrop, 0);
	assert_int_equal(rec.stats.filteraccept, 3);
	assert_int_equal(rec.stats.osdrop, 0);
	assert_int_equal(pcapng_read(r, &rec, err), 1);
	assert_int_equal(rec.iface, 1);
	assert_int_equal(rec.stats.have, PCAPNG_ST_IFRECV | PCAPNG_ST_IFDROP);
	assert_int_equal(rec.stats.ifrecv, 2);
	assert_int_equal(rec.stats.ifdrop, 5);
}

static void roundtrip_every_block_and_option(void **state)
{
	(void)state;
	char *path = write_lab_file("lab.pcapng"), err[CL_ERRBUF] = "";
	assert_int_equal(file_size(path) % 4, 0);
	struct pcapng_r *r = ropen(path);
	expect_header_blocks(r);
	expect_packet(r, 0, T0, 98, 1, PCAPNG_DIR_OUT, "ping", 1);
	expect_packet(r, 1, T0 + 1000, 98, 1, PCAPNG_DIR_IN, "ping", 2);
	expect_packet(r, 1, T0 + 2000, 98, 2, PCAPNG_DIR_OUT, LABEL_UTF8, 3);
	expect_packet(r, 0, T0 + 3000, 98, 2, PCAPNG_DIR_IN, LABEL_UTF8, 4);
	expect_packet(r, 0, T0 + 4000, 60, 3, 0, NULL, 0);
	expect_stats_blocks(r);
	struct pcapng_rec rec;
	assert_int_equal(pcapng_read(r, &rec, err), 0);
	assert_false(pcapng_r_truncated(r, NULL));
	pcapng_r_close(r);
	unlink(path);
	free(path);
}

/* ------------------------------------------------------------ real tools */

static void tshark_reads_names_directions_labels_times(void **state)
{
	(void)state;
	char *path = write_lab_file("tshark.pcapng"), *errtext;
	int rc;
	char *out = tshark_fields(path,
				  "frame.interface_name,frame.packet_flags_direction,frame.comment,"
				  "frame.time_epoch,frame.len,frame.interface_description",
				  &errtext, &rc);
	assert_string_equal(errtext, "");
	assert_int_equal(rc, 0);
	const char *want =
		"client:eth0|0x00000002|ping|1700000000.123456789|98|"
		"node client, switch lan, 52:54:00:00:00:01 10.0.0.1/24\n"
		"server:eth0|0x00000001|ping|1700000000.123457789|98|node server\n"
		"server:eth0|0x00000002|" LABEL_UTF8_TSHARK "|1700000000.123458789|98|node server\n"
		"client:eth0|0x00000001|" LABEL_UTF8_TSHARK "|1700000000.123459789|98|"
		"node client, switch lan, 52:54:00:00:00:01 10.0.0.1/24\n"
		"client:eth0|||1700000000.123460789|60|"
		"node client, switch lan, 52:54:00:00:00:01 10.0.0.1/24\n";
	assert_string_equal(out, want);
	free(out);
	free(errtext);
	unlink(path);
	free(path);
}

static void expect_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

static void capinfos_shows_header_interfaces_stats_secrets(void **state)
{
	(void)state;
	char *path = write_lab_file("capinfos.pcapng"), *out, *errtext;
	assert_int_equal(run((char *[]){"capinfos", path, NULL}, &out, &errtext), 0);
	drop_root_warning(errtext);
	assert_string_equal(errtext, "");
	expect_contains(out, "File type:           Wireshark/... - pcapng");
	expect_contains(out, "Number of packets:   5\n");
	expect_contains(out, "Capture application: caplab " CAPLAB_VERSION "\n");
	expect_contains(out, "Capture hardware:    x86_64\n");
	expect_contains(out, "Capture oper-sys:    Debian GNU/Linux 12\n");
	/* capinfos shows the multi-line comment with newlines as spaces */
	expect_contains(out, "Capture comment:     lab: demo.lab sha256 demo.lab: 0123abcd qemu");
	expect_contains(out, "Number of interfaces in file: 2\n");
	expect_contains(out, "Name = client:eth0\n");
	expect_contains(out, "Filter string = icmp or arp\n");
	expect_contains(out, "Time precision = nanoseconds (9)\n");
	expect_contains(out, "Number of stat entries = 1\n");
	expect_contains(out, "Number of packets = 3\n");
	expect_contains(out, "Number of decryption secrets in file: 1\n");
	expect_contains(out, "Strict time order:   True\n");
	free(out);
	free(errtext);
	assert_int_equal(run((char *[]){"capinfos", "-k", path, NULL}, &out, NULL), 0);
	expect_contains(out, "Capture comment:     lab: demo.lab");
	free(out);
	unlink(path);
	free(path);
}

static void tcpdump_reads_every_packet(void **state)
{
	(void)state;
	char *path = write_lab_file("tcpdump.pcapng"), *out, *errtext;
	assert_int_equal(run((char *[]){"tcpdump", "-n", "-r", path, NULL}, &out, &errtext), 0);
	assert_int_equal(count_lines(out), 5);
	char *want = xasprintf("reading from file %s, link-type EN10MB (Ethernet), snapshot length "
			       "262144\n", path);
	assert_string_equal(errtext, want);
	free(want);
	free(out);
	free(errtext);
	unlink(path);
	free(path);
}

static void libpcap_reads_data_and_nanosecond_times(void **state)
{
	(void)state;
	char *path = write_lab_file("libpcap.pcapng"), errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p)
		fail_msg("libpcap: %s", errbuf);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	static const struct { uint64_t ts; unsigned len, seed; } want[] = {
		{T0, 98, 1}, {T0 + 1000, 98, 1}, {T0 + 2000, 98, 2}, {T0 + 3000, 98, 2},
		{T0 + 4000, 60, 3}};
	struct pcap_pkthdr *h;
	const u_char *data;
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		assert_int_equal(pcap_next_ex(p, &h, &data), 1);
		assert_true((uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec == want[i].ts);
		assert_int_equal(h->caplen, want[i].len);
		uint8_t *f = make_frame(want[i].len, want[i].seed);
		assert_memory_equal(data, f, want[i].len);
		free(f);
	}
	assert_int_equal(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(p);
	unlink(path);
	free(path);
}

/* Finds the first DSB in a file with our reader; returns its secrets. */
static char *first_secrets(const char *path, uint32_t *type)
{
	char err[CL_ERRBUF] = "";
	struct pcapng_r *r = ropen(path);
	struct pcapng_rec rec;
	char *found = NULL;
	while (!found && pcapng_read(r, &rec, err) > 0)
		if (rec.type == PCAPNG_BT_DSB) {
			found = xstrndup((const char *)rec.secrets, rec.secrets_len);
			*type = rec.secrets_type;
		}
	pcapng_r_close(r);
	return found;
}

/* editcap (wiretap) must parse our DSB to copy it, and its own DSB must read
 * back through our reader: both directions agree with Wireshark. */
static void secrets_block_agrees_with_editcap(void **state)
{
	(void)state;
	char *ours = write_lab_file("dsb.pcapng"), *copy = tmp_path("dsb-copy.pcapng");
	char *keys = tmp_path("keys.txt"), *plain = tmp_path("plain.pcapng");
	char *injected = tmp_path("injected.pcapng"), err[CL_ERRBUF], *out;
	uint32_t type = 0;
	assert_int_equal(run((char *[]){"editcap", ours, copy, NULL}, NULL, NULL), 0);
	char *s = first_secrets(copy, &type);
	assert_non_null(s);
	assert_int_equal(type, PCAPNG_SECRETS_TLS);
	assert_string_equal(s, keylog);
	free(s);
	assert_int_equal(write_file(keys, keylog, strlen(keylog), 0600, err), 0);
	assert_int_equal(run((char *[]){"editcap", "--discard-all-secrets", ours, plain, NULL}, NULL,
			     NULL), 0);
	assert_null(first_secrets(plain, &type));
	char *spec = xasprintf("tls,%s", keys);
	assert_int_equal(run((char *[]){"editcap", "--inject-secrets", spec, plain, injected, NULL},
			     NULL, NULL), 0);
	s = first_secrets(injected, &type);
	assert_non_null(s);
	assert_string_equal(s, keylog);
	free(s);
	/* a display filter over a file with secrets runs (the TLS dissector loads them) */
	assert_int_equal(run((char *[]){"tshark", "-r", ours, "-Y", "tls", NULL}, &out, NULL), 0);
	free(out);
	char *paths[] = {ours, copy, keys, plain, injected, spec};
	for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
		if (i < 5)
			unlink(paths[i]);
		free(paths[i]);
	}
}

/* ------------------------------------------------------------ odd inputs */

static void empty_capture_is_valid(void **state)
{
	(void)state;
	char *path = tmp_path("empty.pcapng"), *errtext, *out;
	struct pcapng_w *w = open_or_fail(path, &lab_shb);
	add_iface(w, "client:eth0", NULL, "tcp port 80");
	close_ok(w);
	int rc;
	out = tshark_fields(path, "frame.number", &errtext, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "");
	assert_string_equal(errtext, "");
	free(out);
	free(errtext);
	assert_int_equal(run((char *[]){"capinfos", path, NULL}, &out, NULL), 0);
	expect_contains(out, "Number of packets:   0\n");
	expect_contains(out, "Number of interfaces in file: 1\n");
	free(out);
	bool cut;
	assert_int_equal(count_packets(path, &cut), 0);
	assert_false(cut);
	unlink(path);
	free(path);
}

static void zero_interfaces_is_valid_and_packets_are_refused(void **state)
{
	(void)state;
	char *path = tmp_path("noif.pcapng"), *errtext, *out, err[CL_ERRBUF] = "";
	struct pcapng_w *w = open_or_fail(path, NULL);
	uint8_t frame[60] = {0};
	struct pcapng_pkt p = {.iface = 0, .data = frame, .caplen = 60, .origlen = 60};
	assert_int_equal(pcapng_write_packet(w, &p, err), -1);
	expect_contains(err, "interface 0 is not defined");
	struct pcapng_stats st = {0};
	assert_int_equal(pcapng_write_stats(w, 0, &st, err), -1);
	close_ok(w);
	int rc;
	out = tshark_fields(path, "frame.number", &errtext, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "");
	assert_string_equal(errtext, "");
	free(out);
	free(errtext);
	struct pcapng_r *r = ropen(path);
	struct pcapng_rec rec;
	assert_int_equal(pcapng_read(r, &rec, err), 1);
	assert_int_equal(rec.type, PCAPNG_BT_SHB);
	assert_null(pcapng_r_shb(r)->userappl);
	assert_int_equal(pcapng_read(r, &rec, err), 0);
	assert_int_equal(pcapng_r_ifaces(r), 0);
	assert_false(pcapng_r_truncated(r, NULL));
	pcapng_r_close(r);
	unlink(path);
	free(path);
}

static void large_frames_up_to_snaplen(void **state)
{
	(void)state;
	char *path = tmp_path("big.pcapng"), *errtext, err[CL_ERRBUF] = "";
	struct pcapng_w *w = open_or_fail(path, &lab_shb);
	add_iface(w, "a:eth0", NULL, NULL);
	write_pkt(w, 0, T0, 65536, 9, PCAPNG_DIR_OUT, "64k", 1);
	write_pkt(w, 0, T0 + 1, PCAPNG_MAX_SNAPLEN, 10, PCAPNG_DIR_IN, "256k", 2);
	write_pkt(w, 0, T0 + 2, 1, 11, 0, "1 byte", 3); /* not a multiple of 4 either */
	uint8_t *f = make_frame(PCAPNG_MAX_SNAPLEN + 1, 0);
	struct pcapng_pkt p = {.data = f, .caplen = PCAPNG_MAX_SNAPLEN + 1,
			       .origlen = PCAPNG_MAX_SNAPLEN + 1};
	assert_int_equal(pcapng_write_packet(w, &p, err), -1);
	expect_contains(err, "exceeds interface 0's snaplen 262144");
	p.caplen = 100;
	p.origlen = 99;
	assert_int_equal(pcapng_write_packet(w, &p, err), -1);
	expect_contains(err, "100 captured bytes but is only 99 long");
	p.origlen = 1500; /* a snapped packet is fine */
	assert_int_equal(pcapng_write_packet(w, &p, err), 0);
	free(f);
	close_ok(w);
	int rc;
	char *out = tshark_fields(path, "frame.len,frame.cap_len,frame.comment", &errtext, &rc);
	assert_string_equal(errtext, "");
	assert_int_equal(rc, 0);
	assert_string_equal(out, "65536|65536|64k\n262144|262144|256k\n1|1|1 byte\n1500|100|\n");
	free(out);
	free(errtext);
	struct pcapng_r *r = ropen(path);
	struct pcapng_rec rec;
	assert_int_equal(pcapng_read_packet(r, &rec, err), 1);
	assert_int_equal(rec.pkt.caplen, 65536);
	f = make_frame(65536, 9);
	assert_memory_equal(rec.pkt.data, f, 65536);
	free(f);
	pcapng_r_close(r);
	unlink(path);
	free(path);
}

static void labels_utf8_invalid_and_overlong(void **state)
{
	(void)state;
	char *path = tmp_path("labels.pcapng"), *errtext;
	char *longlabel = xmalloc(70001);
	for (size_t i = 0; i < 70000; i += 2)
		memcpy(longlabel + i, "é", 2); /* 2-byte characters: the cut must not split one */
	longlabel[70000] = 0;
	struct pcapng_w *w = open_or_fail(path, &lab_shb);
	add_iface(w, "a:eth0", NULL, NULL);
	write_pkt(w, 0, T0, 60, 1, PCAPNG_DIR_OUT, "bad \xff\xfe utf8 \xe2\x82 end", 1);
	write_pkt(w, 0, T0 + 1, 60, 2, PCAPNG_DIR_OUT, "surrogate \xed\xa0\x80 overlong \xc0\xaf", 2);
	write_pkt(w, 0, T0 + 2, 60, 3, PCAPNG_DIR_OUT, longlabel, 3);
	write_pkt(w, 0, T0 + 3, 60, 4, PCAPNG_DIR_OUT, "", 4); /* empty label: no option */
	write_pkt(w, 0, T0 + 4, 60, 5, PCAPNG_DIR_OUT, "line1\nline2\r\n\ttab 𝄞 end", 5);
	close_ok(w);
	struct pcapng_r *r = ropen(path);
	struct pcapng_rec rec;
	char err[CL_ERRBUF] = "";
	assert_int_equal(pcapng_read_packet(r, &rec, err), 1);
	assert_string_equal(rec.pkt.comment, "bad ?? utf8 ?? end");
	assert_int_equal(pcapng_read_packet(r, &rec, err), 1);
	assert_string_equal(rec.pkt.comment, "surrogate ??? overlong ??");
	assert_int_equal(pcapng_read_packet(r, &rec, err), 1);
	assert_int_equal(strlen(rec.pkt.comment), 65534);
	assert_memory_equal(rec.pkt.comment, longlabel, 65534);
	assert_int_equal(pcapng_read_packet(r, &rec, err), 1);
	assert_null(rec.pkt.comment);
	assert_int_equal(pcapng_read_packet(r, &rec, err), 1);
	assert_string_equal(rec.pkt.comment, "line1\nline2\r\n\ttab 𝄞 end");
	pcapng_r_close(r);
	int rc;
	char *out = tshark_fields(path, "frame.number", &errtext, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(errtext, "");
	assert_int_equal(count_lines(out), 5);
	free(out);
	free(errtext);
	free(longlabel);
	unlink(path);
	free(path);
}

/* ------------------------------------------------------------ crashes and cuts */

/* Cut the file at every byte of its last block: our reader and libpcap
 * stop cleanly after the previous packet, tshark and capinfos still show it. */
static void cut_last_block_at_every_offset(void **state)
{
	(void)state;
	char *path = tmp_path("whole.pcapng"), *cutp = tmp_path("cut.pcapng");
	struct pcapng_w *w = open_or_fail(path, &lab_shb);
	add_iface(w, "a:eth0", NULL, NULL);
	for (unsigned i = 0; i < 3; i++)
		write_pkt(w, 0, T0 + i, 60, i, PCAPNG_DIR_OUT, "before", i + 1);
	uint64_t last = pcapng_tell(w);
	write_pkt(w, 0, T0 + 3, 20, 3, PCAPNG_DIR_IN, "cut", 4);
	close_ok(w);
	size_t size = (size_t)file_size(path);
	for (size_t at = last; at < size; at++) {
		copy_prefix(path, cutp, at);
		bool cut;
		assert_int_equal(count_packets(cutp, &cut), 3);
		assert_int_equal(cut, at != last); /* at a block boundary the file is whole */
		char errbuf[PCAP_ERRBUF_SIZE];
		pcap_t *p = pcap_open_offline(cutp, errbuf);
		assert_non_null(p);
		struct pcap_pkthdr *h;
		const u_char *d;
		int n = 0;
		while (pcap_next_ex(p, &h, &d) == 1)
			n++;
		assert_int_equal(n, 3);
		pcap_close(p);
		char *out;
		run((char *[]){"capinfos", "-c", "-M", cutp, NULL}, &out, NULL);
		expect_contains(out, "Number of packets:   3\n");
		free(out);
		/* tshark is slow to start: every 4th offset, plus the block header bytes */
		if ((at - last) % 4 && at - last > 8)
			continue;
		int rc;
		char *errtext;
		out = tshark_fields(cutp, "frame.comment", &errtext, &rc);
		assert_string_equal(out, "before\nbefore\nbefore\n");
		if (at != last)
			expect_contains(errtext, "cut short in the middle of a packet");
		free(out);
		free(errtext);
	}
	unlink(path);
	unlink(cutp);
	free(path);
	free(cutp);
}

/* A writer killed with SIGKILL leaves everything up to its last flush. */
static void kill9_keeps_everything_flushed(void **state)
{
	(void)state;
	char *path = tmp_path("killed.pcapng");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[CL_ERRBUF];
		struct pcapng_w *w = open_or_fail(path, &lab_shb);
		add_iface(w, "a:eth0", NULL, NULL);
		for (unsigned i = 0; i < 1000; i++)
			write_pkt(w, 0, T0 + i, 1000, i, PCAPNG_DIR_OUT, "flushed", i + 1);
		if (pcapng_flush(w, err) < 0)
			_exit(1);
		for (unsigned i = 0; i < 50; i++)
			write_pkt(w, 0, T0 + 2000 + i, 100, i, PCAPNG_DIR_IN, "lost", 0);
		raise(SIGKILL);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	bool cut;
	assert_int_equal(count_packets(path, &cut), 1000);
	assert_false(cut);
	int rc;
	char *errtext, *out = tshark_fields(path, "frame.comment", &errtext, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(errtext, "");
	assert_int_equal(count_lines(out), 1000);
	assert_null(strstr(out, "lost"));
	free(out);
	free(errtext);
	unlink(path);
	free(path);
}

/* While writing (no explicit flush), the file on disk only ever ends at a
 * block boundary, even when blocks straddle the buffer size. */
static void buffered_output_ends_at_block_boundaries(void **state)
{
	(void)state;
	char *path = tmp_path("stream.pcapng");
	struct pcapng_w *w = open_or_fail(path, &lab_shb);
	add_iface(w, "a:eth0", NULL, NULL);
	int checks = 0;
	for (unsigned i = 0; i < 40000; i++) {
		write_pkt(w, 0, T0 + i, 64 + (i * 131) % 1437, i, PCAPNG_DIR_OUT, "x", i + 1);
		if (i % 997)
			continue;
		bool cut;
		int n = count_packets(path, &cut);
		assert_int_equal(cut, file_size(path) == 0); /* empty: nothing written out yet */
		assert_true(n <= (int)i + 1);
		checks += n > 0;
	}
	assert_true(checks > 10); /* the buffer was written out many times */
	assert_true((uint64_t)file_size(path) < pcapng_tell(w)); /* the rest is still buffered */
	close_ok(w);
	assert_true((uint64_t)file_size(path) > 40000u * 64);
	bool cut;
	assert_int_equal(count_packets(path, &cut), 40000);
	unlink(path);
	free(path);
}

/* ------------------------------------------------------------ big files */

#define FILLER_BLOCK (8u << 20) /* under wiretap's 16 MiB block limit */

/* Writes a local-use block (type with the top bit set, skipped by readers)
 * of FILLER_BLOCK bytes as a hole: the file grows past 4 GiB on no disk. */
static int write_filler(int fd)
{
	uint32_t hdr[2] = {0x80000bad, FILLER_BLOCK};
	if (write(fd, hdr, 8) != 8 || lseek(fd, FILLER_BLOCK - 12, SEEK_CUR) < 0)
		return -1;
	return write(fd, &hdr[1], 4) == 4 ? 0 : -1;
}

static void offsets_past_4_gib(void **state)
{
	(void)state;
	char *path = tmp_path("huge.pcapng"), err[CL_ERRBUF] = "";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	struct pcapng_w *w = pcapng_fdopen(fd, path, &lab_shb, err);
	assert_non_null(w);
	add_iface(w, "a:eth0", NULL, NULL);
	write_pkt(w, 0, T0, 100, 1, PCAPNG_DIR_OUT, "first", 1);
	assert_int_equal(pcapng_flush(w, err), 0);
	unsigned fillers = (unsigned)((4ull << 30) / FILLER_BLOCK) + 2;
	for (unsigned i = 0; i < fillers; i++)
		if (write_filler(fd) < 0) {
			pcapng_close(w, NULL);
			unlink(path);
			free(path);
			skip(); /* no room for a sparse 4 GiB file here */
		}
	write_pkt(w, 0, T0 + 1, 100, 2, PCAPNG_DIR_IN, "past 4 GiB", 2);
	close_ok(w);
	struct pcapng_r *r = ropen(path);
	struct pcapng_rec rec;
	assert_int_equal(pcapng_read_packet(r, &rec, err), 1);
	for (unsigned i = 0; i < fillers; i++) { /* unknown blocks come back as such */
		assert_int_equal(pcapng_read(r, &rec, err), 1);
		assert_int_equal(rec.type, 0x80000bad);
	}
	assert_int_equal(pcapng_read_packet(r, &rec, err), 1);
	assert_true(rec.offset > (4ull << 30));
	assert_string_equal(rec.pkt.comment, "past 4 GiB");
	assert_int_equal(pcapng_read_packet(r, &rec, err), 0);
	assert_false(pcapng_r_truncated(r, NULL));
	pcapng_r_close(r);
	/* not through tshark: it reads the holes (~1.5 s per GiB), and pcapng
	 * holds no offsets, so nothing of ours changes past 4 GiB for it */
	unlink(path);
	free(path);
}

/* ------------------------------------------------------------ reader errors */

static void reader_rejects_what_is_not_pcapng(void **state)
{
	(void)state;
	char *path = tmp_path("notpcapng"), err[CL_ERRBUF] = "";
	struct pcapng_rec rec;
	const uint8_t classic[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
	assert_int_equal(write_file(path, classic, sizeof classic, 0644, err), 0);
	struct pcapng_r *r = ropen(path);
	assert_int_equal(pcapng_read(r, &rec, err), -1);
	expect_contains(err, "not a pcapng file");
	pcapng_r_close(r);
	/* a corrupt length inside a file is an error, not a cut */
	char *good = write_lab_file("corrupt.pcapng"), *data;
	size_t n;
	data = read_file(good, &n, err);
	uint32_t bad = 13;
	memcpy(data + 4, &bad, 4); /* the SHB's length */
	assert_int_equal(write_file(path, data, n, 0644, err), 0);
	r = ropen(path);
	assert_int_equal(pcapng_read(r, &rec, err), -1);
	expect_contains(err, "corrupt pcapng block at offset 0");
	pcapng_r_close(r);
	assert_null(pcapng_r_open("/nonexistent/x.pcapng", err));
	expect_contains(err, "cannot open capture file /nonexistent/x.pcapng");
	assert_null(pcapng_open("/nonexistent/x.pcapng", NULL, err));
	expect_contains(err, "cannot create capture file /nonexistent/x.pcapng");
	free(data);
	unlink(good);
	unlink(path);
	free(good);
	free(path);
}

static void write_errors_are_reported_and_sticky(void **state)
{
	(void)state;
	char err[CL_ERRBUF] = "";
	int fd = open("/dev/full", O_WRONLY);
	if (fd < 0)
		skip();
	struct pcapng_w *w = pcapng_fdopen(fd, "/dev/full", &lab_shb, err);
	assert_non_null(w);
	add_iface(w, "a:eth0", NULL, NULL);
	assert_int_equal(pcapng_flush(w, err), -1);
	expect_contains(err, "cannot write /dev/full: No space left on device");
	err[0] = 0;
	uint8_t frame[60] = {0};
	struct pcapng_pkt p = {.data = frame, .caplen = 60, .origlen = 60};
	assert_int_equal(pcapng_write_packet(w, &p, err), -1);
	expect_contains(err, "cannot write /dev/full");
	assert_int_equal(pcapng_close(w, err), -1);
}

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/test_pcapng.XXXXXX", base);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rm_rf(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_every_block_and_option),
		cmocka_unit_test(tshark_reads_names_directions_labels_times),
		cmocka_unit_test(capinfos_shows_header_interfaces_stats_secrets),
		cmocka_unit_test(tcpdump_reads_every_packet),
		cmocka_unit_test(libpcap_reads_data_and_nanosecond_times),
		cmocka_unit_test(secrets_block_agrees_with_editcap),
		cmocka_unit_test(empty_capture_is_valid),
		cmocka_unit_test(zero_interfaces_is_valid_and_packets_are_refused),
		cmocka_unit_test(large_frames_up_to_snaplen),
		cmocka_unit_test(labels_utf8_invalid_and_overlong),
		cmocka_unit_test(cut_last_block_at_every_offset),
		cmocka_unit_test(kill9_keeps_everything_flushed),
		cmocka_unit_test(buffered_output_ends_at_block_boundaries),
		cmocka_unit_test(offsets_past_4_gib),
		cmocka_unit_test(reader_rejects_what_is_not_pcapng),
		cmocka_unit_test(write_errors_are_reported_and_sticky),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
