/* test_vsock.c: the vhost-user-vsock backend against a front-end played by
 * this test: guest memory is a memfd in this process, the rings are built in
 * it by hand, vhost-user messages go over the real socket, and host clients
 * use real unix sockets. No VM; the backend runs on the real event loop. */
#include "unit.h"

#include "loop.h"
#include "util.h"
#include "virtq.h"
#include "vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CID 7
#define QN 16                  /* ring size */
#define MEM_SIZE (4u << 20)
#define MEM_GPA 0x100000ull     /* guest-physical base of our one region */
#define MEM_UVA 0x7f1200000000ull /* "QEMU's" virtual address for it */
#define RING_OFF(q) (0x1000u + (q) * 0x1000u)
#define BUF_OFF 0x10000u
#define BUF_SIZE (44u + 4096u)

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));
enum { OP_REQUEST = 1, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE, OP_CREDIT_REQUEST };

/* The fake front-end + guest driver. */
static struct {
	char dir[64], vhost[96], host[96];
	struct vsock_dev *dev;
	int vfd, memfd;
	uint8_t *mem;
	struct vring_desc *desc[2];
	struct vring_avail *avail[2];
	struct vring_used *used[2];
	uint16_t used_seen[2];
	int kick[2], call[2];
	uint32_t next_buf; /* bump allocator for tx payloads */
	uint16_t next_rx, next_tx; /* next descriptor to use per ring */
} G;

static uint64_t gpa_of(const void *p) { return MEM_GPA + (uint64_t)((const uint8_t *)p - G.mem); }

static void pump(void)
{
	for (int i = 0; i < 10; i++)
		loop_once(0.002);
}

/* ---- vhost-user messages ---- */

static void vu_send(uint32_t req, uint32_t flags, const void *payload, uint32_t size, const int *fds,
		    int nfds)
{
	uint8_t msg[512];
	uint32_t h[3] = {req, 1 | flags, size};
	memcpy(msg, h, 12);
	if (size)
		memcpy(msg + 12, payload, size);
	struct iovec iov = {msg, 12 + size};
	char cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(G.vfd, &mh, 0), 12 + size);
}

/* Waits (running the loop) for a reply; returns its payload size. */
static int vu_reply(void *payload, size_t cap)
{
	for (int i = 0; i < 500; i++) {
		struct pollfd p = {G.vfd, POLLIN, 0};
		if (poll(&p, 1, 0) == 1) {
			uint32_t h[3];
			assert_int_equal(recv(G.vfd, h, 12, MSG_WAITALL), 12);
			assert_true(h[1] & 0x4);
			assert_true(h[2] <= cap);
			if (h[2])
				assert_int_equal(recv(G.vfd, payload, h[2], MSG_WAITALL), h[2]);
			return (int)h[2];
		}
		loop_once(0.002);
	}
	fail_msg("no vhost-user reply");
	return -1;
}

static uint64_t vu_get_u64(uint32_t req)
{
	uint64_t v = 0;
	vu_send(req, 0, NULL, 0, NULL, 0);
	assert_int_equal(vu_reply(&v, 8), 8);
	return v;
}

static void vu_u64(uint32_t req, uint64_t v, int fd)
{
	vu_send(req, 0, &v, 8, &fd, fd >= 0);
	pump();
}

static void vu_state(uint32_t req, uint32_t index, uint32_t num)
{
	uint32_t s[2] = {index, num};
	vu_send(req, 0, s, 8, NULL, 0);
	pump();
}

/* SET_MEM_TABLE with one region; returns the REPLY_ACK status. */
static uint64_t vu_mem_table(int nfds)
{
	struct { uint32_t n, pad; uint64_t gpa, size, uva, off; } m = {1, 0, MEM_GPA, MEM_SIZE, MEM_UVA, 0};
	vu_send(5, 0x8, &m, sizeof m, &G.memfd, nfds);
	uint64_t status = 99;
	assert_int_equal(vu_reply(&status, 8), 8);
	return status;
}

static void setup_ring(int q)
{
	uint8_t *base = G.mem + RING_OFF(q);
	G.desc[q] = (struct vring_desc *)base;
	G.avail[q] = (struct vring_avail *)(base + 16 * QN);
	G.used[q] = (struct vring_used *)(base + 0x800);
	vu_state(8, (uint32_t)q, QN);                     /* SET_VRING_NUM */
	struct { uint32_t index, flags; uint64_t desc, used, avail, log; } a = {
		(uint32_t)q, 0, MEM_UVA + RING_OFF(q), MEM_UVA + RING_OFF(q) + 0x800,
		MEM_UVA + RING_OFF(q) + 16 * QN, 0};
	vu_send(9, 0, &a, sizeof a, NULL, 0);              /* SET_VRING_ADDR */
	vu_state(10, (uint32_t)q, 0);                     /* SET_VRING_BASE */
	G.call[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	G.kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vu_u64(13, (uint64_t)q, G.call[q]);                /* SET_VRING_CALL */
	vu_u64(12, (uint64_t)q, G.kick[q]);                /* SET_VRING_KICK */
	vu_state(18, (uint32_t)q, 1);                     /* SET_VRING_ENABLE */
}

static void vu_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", G.vhost);
	G.vfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(G.vfd, (struct sockaddr *)&sa, sizeof sa), 0);
}

static void handshake(void)
{
	vu_connect();
	uint64_t f = vu_get_u64(1);
	vu_u64(2, f, -1);
	uint64_t pf = vu_get_u64(15);
	vu_u64(16, pf, -1);
	vu_send(3, 0, NULL, 0, NULL, 0);
	assert_int_equal(vu_mem_table(1), 0);
	setup_ring(0);
	setup_ring(1);
}

static int setup(void **state)
{
	(void)state;
	memset(&G, 0, sizeof G);
	snprintf(G.dir, sizeof G.dir, "/tmp/test_vsock.XXXXXX");
	assert_non_null(mkdtemp(G.dir));
	snprintf(G.vhost, sizeof G.vhost, "%s/vhost", G.dir);
	snprintf(G.host, sizeof G.host, "%s/vsock", G.dir);
	char err[CL_ERRBUF];
	G.dev = vsock_dev_new(G.vhost, G.host, CID, err);
	assert_non_null(G.dev);
	G.memfd = memfd_create("guest", MFD_CLOEXEC);
	assert_int_equal(ftruncate(G.memfd, MEM_SIZE), 0);
	G.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, G.memfd, 0);
	assert_true(G.mem != MAP_FAILED);
	G.next_buf = BUF_OFF + 64 * BUF_SIZE;
	handshake();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vsock_dev_free(G.dev);
	loop_reset();
	close(G.vfd);
	for (int q = 0; q < 2; q++) {
		close(G.kick[q]);
		close(G.call[q]);
	}
	munmap(G.mem, MEM_SIZE);
	close(G.memfd);
	rm_rf(G.dir);
	return 0;
}

/* ---- the guest driver ---- */

static void kick(int q)
{
	uint64_t one = 1;
	assert_int_equal(write(G.kick[q], &one, 8), 8);
}

static void make_avail(int q, uint16_t head)
{
	G.avail[q]->ring[G.avail[q]->idx % QN] = head;
	__atomic_store_n(&G.avail[q]->idx, (uint16_t)(G.avail[q]->idx + 1), __ATOMIC_RELEASE);
}

/* Posts n rx buffers (one writable descriptor each) and kicks. */
static void rx_post(int n)
{
	for (int i = 0; i < n; i++, G.next_rx++) {
		uint16_t d = G.next_rx % QN;
		G.desc[0][d] = (struct vring_desc){gpa_of(G.mem + BUF_OFF + d * BUF_SIZE), BUF_SIZE,
						   VRING_DESC_F_WRITE, 0};
		make_avail(0, d);
	}
	kick(0);
}

/* Takes the next packet the backend put into rx: 1, or 0 when none. */
static int rx_take(struct hdr *h, char *data, size_t cap)
{
	pump();
	if (G.used_seen[0] == __atomic_load_n(&G.used[0]->idx, __ATOMIC_ACQUIRE))
		return 0;
	struct vring_used_elem e = G.used[0]->ring[G.used_seen[0]++ % QN];
	uint8_t *buf = G.mem + BUF_OFF + e.id * BUF_SIZE;
	assert_true(e.len >= sizeof *h);
	memcpy(h, buf, sizeof *h);
	assert_int_equal(e.len, sizeof *h + h->len);
	assert_true(h->len <= cap);
	memcpy(data, buf + sizeof *h, h->len);
	return 1;
}

static struct hdr rx_expect(uint16_t op)
{
	struct hdr h;
	static char data[4096];
	assert_int_equal(rx_take(&h, data, sizeof data), 1);
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_cid, 2);
	assert_int_equal(h.dst_cid, CID);
	return h;
}

static uint16_t tx_desc(uint16_t d, const void *p, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *buf = G.mem + G.next_buf;
	G.next_buf += (len + 15) & ~15u;
	if (G.next_buf > MEM_SIZE - 0x20000)
		G.next_buf = BUF_OFF + 64 * BUF_SIZE;
	memcpy(buf, p, len);
	G.desc[1][d] = (struct vring_desc){gpa_of(buf), len, flags, next};
	return d;
}

/* Sends one packet as header + payload descriptors (no kick). */
static void tx_queue(struct hdr h, const void *payload, uint32_t len)
{
	uint16_t d0 = G.next_tx++ % QN, d1 = G.next_tx++ % QN;
	h.len = len;
	h.src_cid = h.src_cid ? h.src_cid : CID;
	h.dst_cid = h.dst_cid ? h.dst_cid : 2;
	h.type = 1;
	tx_desc(d0, &h, sizeof h, len ? VRING_DESC_F_NEXT : 0, d1);
	if (len)
		tx_desc(d1, payload, len, 0, 0);
	make_avail(1, d0);
}

static void tx_send(struct hdr h, const void *payload, uint32_t len)
{
	tx_queue(h, payload, len);
	kick(1);
	pump();
}

static struct hdr guest_hdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t buf_alloc,
			    uint32_t fwd_cnt)
{
	return (struct hdr){.src_port = src_port, .dst_port = dst_port, .op = op,
			    .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt};
}

/* ---- host side ---- */

static int host_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

static ssize_t host_read(int fd, char *buf, size_t cap)
{
	pump();
	return recv(fd, buf, cap, MSG_DONTWAIT);
}

/* Opens a stream from the host to guest port 5000; returns the host fd and
 * the backend's port in *local. */
static int open_stream(uint32_t guest_buf_alloc, uint32_t *local)
{
	int fd = host_connect(G.host);
	assert_int_equal(write(fd, "CONNECT 5000\n", 13), 13);
	struct hdr req = rx_expect(OP_REQUEST);
	assert_int_equal(req.dst_port, 5000);
	assert_true(req.src_port >= 1024);
	tx_send(guest_hdr(OP_RESPONSE, 5000, req.src_port, guest_buf_alloc, 0), NULL, 0);
	char line[32];
	ssize_t n = host_read(fd, line, sizeof line - 1);
	assert_true(n > 0);
	line[n] = 0;
	char want[32];
	snprintf(want, sizeof want, "OK %u\n", req.src_port);
	assert_string_equal(line, want);
	*local = req.src_port;
	return fd;
}

/* ---- tests ---- */

static void test_features_and_config(void **state)
{
	(void)state;
	uint64_t f = vu_get_u64(1);
	assert_true(f & (1ull << 30));  /* PROTOCOL_FEATURES: QEMU needs it */
	assert_true(f & (1ull << 32));  /* VERSION_1: vhost-user-vsock-pci needs it */
	assert_false(f & (1ull << 29)); /* no EVENT_IDX: not implemented */
	assert_false(f & (1ull << 28)); /* no INDIRECT_DESC */
	assert_true(vu_get_u64(15) & (1ull << 9)); /* CONFIG: the CID comes from us */
	struct { uint32_t off, size, flags; uint64_t cid; } __attribute__((packed)) cfg = {0, 8, 0, 0};
	vu_send(24, 0, &cfg, sizeof cfg, NULL, 0);
	assert_int_equal(vu_reply(&cfg, sizeof cfg), sizeof cfg);
	assert_int_equal(cfg.cid, CID);
	assert_int_equal(vu_get_u64(17), 2); /* GET_QUEUE_NUM */
	struct vsock_stats st;
	vsock_dev_stats(G.dev, &st);
	assert_true(st.qemu_connected && st.running);
}

static void test_mem_table_without_fd_is_refused(void **state)
{
	(void)state;
	assert_int_not_equal(vu_mem_table(0), 0);
	struct vsock_stats st;
	vsock_dev_stats(G.dev, &st);
	assert_false(st.running); /* the old table is gone, and with it the rings */
	assert_int_equal(vu_mem_table(1), 0);
	/* a new table re-translates the rings set up before */
	vsock_dev_stats(G.dev, &st);
	assert_true(st.running);
}

static void test_host_connects_and_data_flows(void **state)
{
	(void)state;
	rx_post(8);
	uint32_t local;
	int fd = open_stream(65536, &local);
	assert_int_equal(write(fd, "hello", 5), 5);
	pump();
	struct hdr h;
	char data[4096];
	assert_int_equal(rx_take(&h, data, sizeof data), 1);
	assert_int_equal(h.op, OP_RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(data, "hello", 5);
	assert_int_equal(h.src_port, local);
	assert_int_equal(h.dst_port, 5000);
	assert_true(h.buf_alloc >= 65536);
	tx_send(guest_hdr(OP_RW, 5000, local, 65536, 5), "world", 5);
	char buf[16];
	assert_int_equal(host_read(fd, buf, sizeof buf), 5);
	assert_memory_equal(buf, "world", 5);
	close(fd);
}

static void test_client_bytes_after_connect_line_wait_for_the_guest(void **state)
{
	(void)state;
	rx_post(8);
	int fd = host_connect(G.host);
	assert_int_equal(write(fd, "CONNECT 5000\nearly", 18), 18);
	struct hdr h = rx_expect(OP_REQUEST);
	char data[4096];
	assert_int_equal(rx_take(&h, data, sizeof data), 0); /* nothing before RESPONSE */
	tx_send(guest_hdr(OP_RESPONSE, 5000, h.src_port, 65536, 0), NULL, 0);
	assert_int_equal(rx_take(&h, data, sizeof data), 1);
	assert_int_equal(h.op, OP_RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(data, "early", 5);
	close(fd);
}

static void test_client_giving_up_while_connecting_resets(void **state)
{
	(void)state;
	rx_post(8);
	int fd = host_connect(G.host);
	assert_int_equal(write(fd, "CONNECT 5000\n", 13), 13);
	struct hdr req = rx_expect(OP_REQUEST);
	close(fd);
	struct hdr rst = rx_expect(OP_RST);
	assert_int_equal(rst.src_port, req.src_port);
	struct vsock_stats st;
	vsock_dev_stats(G.dev, &st);
	assert_int_equal(st.connections, 0);
}

static void test_guest_credit_limits_host_data(void **state)
{
	(void)state;
	rx_post(8);
	uint32_t local;
	int fd = open_stream(1000, &local);
	char big[3000];
	memset(big, 'x', sizeof big);
	assert_int_equal(write(fd, big, sizeof big), (ssize_t)sizeof big);
	pump();
	struct hdr h;
	char data[4096];
	uint32_t got = 0;
	while (rx_take(&h, data, sizeof data))
		got += h.len;
	assert_int_equal(got, 1000); /* exactly the guest's buf_alloc */
	tx_send(guest_hdr(OP_CREDIT_UPDATE, 5000, local, 1000, 1000), NULL, 0);
	pump();
	got = 0;
	while (rx_take(&h, data, sizeof data))
		got += h.len;
	assert_int_equal(got, 1000);
	close(fd);
}

static void test_backend_pushes_credit_update(void **state)
{
	(void)state;
	rx_post(8);
	uint32_t local;
	int fd = open_stream(65536, &local);
	static char chunk[16384];
	memset(chunk, 'y', sizeof chunk);
	uint32_t sent = 0;
	for (int i = 0; i < 5; i++, sent += sizeof chunk)
		tx_queue(guest_hdr(OP_RW, 5000, local, 65536, 0), chunk, sizeof chunk);
	kick(1);
	pump();
	char buf[65536];
	ssize_t total = 0, n;
	while ((n = host_read(fd, buf, sizeof buf)) > 0)
		total += n;
	assert_int_equal(total, sent);
	struct hdr h = rx_expect(OP_CREDIT_UPDATE); /* unasked: a Linux guest never asks */
	assert_true(h.fwd_cnt >= 65536 && h.fwd_cnt <= sent); /* after a quarter of buf_alloc */
	close(fd);
}

static void test_no_rx_buffers_waits_then_resumes(void **state)
{
	(void)state;
	int fd = host_connect(G.host);
	assert_int_equal(write(fd, "CONNECT 5000\n", 13), 13);
	struct hdr h;
	char data[4096];
	assert_int_equal(rx_take(&h, data, sizeof data), 0); /* no buffer yet */
	rx_post(1);
	h = rx_expect(OP_REQUEST);
	uint32_t local = h.src_port;
	tx_send(guest_hdr(OP_RESPONSE, 5000, local, 1 << 20, 0), NULL, 0);
	char line[32];
	assert_true(host_read(fd, line, sizeof line) > 0);
	static char big[10000];
	assert_int_equal(write(fd, big, sizeof big), (ssize_t)sizeof big);
	assert_int_equal(rx_take(&h, data, sizeof data), 0);
	rx_post(1);
	assert_int_equal(rx_take(&h, data, sizeof data), 1);
	assert_int_equal(h.len, 4096);
	rx_post(4);
	uint32_t got = 4096;
	while (rx_take(&h, data, sizeof data))
		got += h.len;
	assert_int_equal(got, sizeof big);
	close(fd);
}

static void test_guest_shutdown_closes_host_and_sends_rst(void **state)
{
	(void)state;
	rx_post(8);
	uint32_t local;
	int fd = open_stream(65536, &local);
	tx_send(guest_hdr(OP_RW, 5000, local, 65536, 0), "bye", 3);
	struct hdr shut = guest_hdr(OP_SHUTDOWN, 5000, local, 65536, 0);
	shut.flags = 3; /* what close() in a Linux guest sends */
	tx_send(shut, NULL, 0);
	char buf[16];
	assert_int_equal(host_read(fd, buf, sizeof buf), 3);
	assert_int_equal(host_read(fd, buf, sizeof buf), 0); /* EOF */
	rx_expect(OP_RST);
	close(fd);
}

static void test_host_half_close_reaches_guest(void **state)
{
	(void)state;
	rx_post(8);
	uint32_t local;
	int fd = open_stream(65536, &local);
	shutdown(fd, SHUT_WR);
	pump();
	struct hdr h = rx_expect(OP_SHUTDOWN);
	assert_int_equal(h.flags, 2); /* we will send no more */
	tx_send(guest_hdr(OP_RW, 5000, local, 65536, 0), "late", 4);
	char buf[16];
	assert_int_equal(host_read(fd, buf, sizeof buf), 4); /* the other way still works */
	struct hdr shut = guest_hdr(OP_SHUTDOWN, 5000, local, 65536, 0);
	shut.flags = 2; /* shutdown(SHUT_WR) in the guest */
	tx_send(shut, NULL, 0);
	h = rx_expect(OP_RST);
	assert_int_equal(host_read(fd, buf, sizeof buf), 0);
	close(fd);
}

static void test_guest_connects_to_host(void **state)
{
	(void)state;
	rx_post(8);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s_6000", G.host);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 1), 0);
	tx_send(guest_hdr(OP_REQUEST, 40000, 6000, 65536, 0), NULL, 0);
	struct hdr h = rx_expect(OP_RESPONSE);
	assert_int_equal(h.src_port, 6000);
	assert_int_equal(h.dst_port, 40000);
	int afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	tx_send(guest_hdr(OP_RW, 40000, 6000, 65536, 0), "ping", 4);
	char buf[8];
	assert_int_equal(recv(afd, buf, sizeof buf, MSG_DONTWAIT), 4);
	tx_send(guest_hdr(OP_REQUEST, 40001, 6001, 65536, 0), NULL, 0); /* nobody there */
	h = rx_expect(OP_RST);
	assert_int_equal(h.dst_port, 40001);
	close(afd);
	close(lfd);
}

static void test_bad_guest_packets_do_not_hurt(void **state)
{
	(void)state;
	rx_post(8);
	struct vsock_stats before, after;
	vsock_dev_stats(G.dev, &before);
	/* RW for a stream that does not exist: RST */
	tx_send(guest_hdr(OP_RW, 1, 2, 0, 0), "x", 1);
	rx_expect(OP_RST);
	/* descriptor outside guest memory */
	G.desc[1][8] = (struct vring_desc){MEM_GPA + MEM_SIZE - 8, 64, 0, 0};
	make_avail(1, 8);
	/* descriptor chain that loops on itself */
	G.desc[1][9] = (struct vring_desc){MEM_GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 9};
	make_avail(1, 9);
	/* head index out of range */
	make_avail(1, QN + 3);
	/* header claiming more payload than the chain holds */
	struct hdr h = guest_hdr(OP_RW, 1, 2, 0, 0);
	h.src_cid = CID;
	h.dst_cid = 2;
	h.type = 1;
	h.len = 100000;
	tx_desc(10, &h, sizeof h, 0, 0);
	make_avail(1, 10);
	/* a wrong source CID */
	struct hdr spoof = guest_hdr(OP_REQUEST, 1, 2, 0, 0);
	spoof.src_cid = 99;
	tx_queue(spoof, NULL, 0);
	kick(1);
	pump();
	vsock_dev_stats(G.dev, &after);
	assert_int_equal(after.bad_packets - before.bad_packets, 5);
	char data[4096];
	assert_int_equal(rx_take(&h, data, sizeof data), 0); /* nothing answered */
	/* the used ring got every chain back, bad ones with length 0 */
	assert_int_equal(G.used[1]->idx, G.avail[1]->idx);
	/* an avail index that jumps past the ring size stops the ring, nothing more */
	G.avail[1]->idx += QN + 5;
	kick(1);
	pump();
	vsock_dev_stats(G.dev, &after);
	assert_false(after.running);
}

static void test_one_interrupt_per_batch(void **state)
{
	(void)state;
	uint64_t n;
	while (read(G.call[1], &n, 8) == 8)
		;
	for (int i = 0; i < 4; i++)
		tx_queue(guest_hdr(OP_CREDIT_UPDATE, 1, 2, 0, 0), NULL, 0);
	kick(1);
	pump();
	assert_int_equal(read(G.call[1], &n, 8), 8);
	assert_int_equal(n, 1);
	assert_int_equal(G.used[1]->idx, G.avail[1]->idx);
}

static void test_ring_stop_and_disconnect_drop_streams(void **state)
{
	(void)state;
	rx_post(8);
	uint32_t local;
	int fd = open_stream(65536, &local);
	uint32_t s[2] = {1, 0};
	vu_send(11, 0, s, 8, NULL, 0); /* GET_VRING_BASE: the guest driver is stopping */
	assert_int_equal(vu_reply(s, 8), 8);
	assert_int_equal(s[0], 1);
	assert_int_equal(s[1], G.avail[1]->idx);
	char buf[8];
	assert_int_equal(host_read(fd, buf, sizeof buf), 0); /* closed */
	close(fd);
	/* QEMU goes away: the backend forgets it and takes the next one */
	close(G.vfd);
	pump();
	struct vsock_stats st;
	vsock_dev_stats(G.dev, &st);
	assert_false(st.qemu_connected);
	fd = host_connect(G.host);
	assert_int_equal(write(fd, "CONNECT 5000\n", 13), 13);
	assert_int_equal(host_read(fd, buf, sizeof buf), 0); /* no guest: refused */
	close(fd);
	memset(G.mem, 0, 0x10000);
	memset(G.used_seen, 0, sizeof G.used_seen);
	G.next_rx = G.next_tx = 0;
	for (int q = 0; q < 2; q++) {
		close(G.kick[q]);
		close(G.call[q]);
	}
	handshake();
	vsock_dev_stats(G.dev, &st);
	assert_true(st.running);
}

/* ---- vsock_dial ---- */

static int dial_done, dial_fd = -2;
static char dial_err[CL_ERRBUF];

static void on_dial(int fd, const char *err, void *arg)
{
	(void)arg;
	dial_done = 1;
	dial_fd = fd;
	snprintf(dial_err, sizeof dial_err, "%s", err ? err : "");
}

static void test_dial_retries_refusals_and_times_out(void **state)
{
	(void)state;
	rx_post(16);
	dial_done = 0;
	vsock_dial(G.host, 22, 0.3, on_dial, NULL);
	int refused = 0;
	double end = now_mono() + 2;
	while (!dial_done && now_mono() < end) {
		struct hdr h;
		char data[64];
		if (rx_take(&h, data, sizeof data) && h.op == OP_REQUEST) {
			refused++;
			tx_send(guest_hdr(OP_RST, 22, h.src_port, 0, 0), NULL, 0);
			rx_post(1);
		}
	}
	assert_true(dial_done);
	assert_int_equal(dial_fd, -1);
	assert_true(refused >= 2);
	assert_non_null(strstr(dial_err, "refused"));
}

static void test_dial_connects(void **state)
{
	(void)state;
	rx_post(8);
	dial_done = 0;
	vsock_dial(G.host, 22, 2, on_dial, NULL);
	struct hdr h;
	char data[64];
	for (int i = 0; i < 20 && !rx_take(&h, data, sizeof data); i++)
		;
	assert_int_equal(h.op, OP_REQUEST);
	tx_send(guest_hdr(OP_RESPONSE, 22, h.src_port, 65536, 0), NULL, 0);
	tx_send(guest_hdr(OP_RW, 22, h.src_port, 65536, 0), "SSH-2.0-x\r\n", 11);
	pump();
	assert_true(dial_done);
	assert_true(dial_fd >= 0);
	char buf[32];
	assert_int_equal(recv(dial_fd, buf, sizeof buf, MSG_DONTWAIT), 11); /* stream starts clean */
	assert_memory_equal(buf, "SSH-2.0-x\r\n", 11);
	close(dial_fd);
}

static void test_virtq_translation_bounds(void **state)
{
	(void)state;
	uint8_t mem[4096];
	struct vq_mem m = {.n = 1, .r = {{0x1000, sizeof mem, 0x9000, mem}}};
	assert_ptr_equal(vq_mem_gpa(&m, 0x1000, 4096), mem);
	assert_ptr_equal(vq_mem_gpa(&m, 0x1ff0, 16), mem + 0xff0);
	assert_null(vq_mem_gpa(&m, 0x1ff0, 17));
	assert_null(vq_mem_gpa(&m, 0xfff, 1));
	assert_null(vq_mem_gpa(&m, UINT64_MAX - 4, 16)); /* no wrap-around */
	assert_ptr_equal(vq_mem_uva(&m, 0x9010, 1), mem + 16);
	struct virtq vq = {0};
	vq.call_fd = -1;
	assert_int_equal(virtq_map(&vq, &m, 12, 0x9000, 0x9100, 0x9200, NULL), -1); /* not 2^n */
	assert_int_equal(virtq_map(&vq, &m, 512, 0x9000, 0x9000, 0x9000, NULL), -1); /* too big */
	assert_int_equal(virtq_map(&vq, &m, 8, 0x9000, 0x9100, 0x9200, NULL), 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_virtq_translation_bounds),
		cmocka_unit_test_setup_teardown(test_features_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_without_fd_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_connects_and_data_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_bytes_after_connect_line_wait_for_the_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_giving_up_while_connecting_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_credit_limits_host_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_pushes_credit_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_rx_buffers_waits_then_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_shutdown_closes_host_and_sends_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_half_close_reaches_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_connects_to_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_guest_packets_do_not_hurt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_interrupt_per_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_stop_and_disconnect_drop_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dial_retries_refusals_and_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dial_connects, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
