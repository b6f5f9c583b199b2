/* vsock_vhost.c: the vhost-user side of the vsock backend (QEMU
 * docs/interop/vhost-user.rst): one front-end connection, its guest memory
 * table, the rx/tx rings and their kick/call eventfds. QEMU keeps the event
 * queue; only queues 0 (rx) and 1 (tx) come here. */
#include "vsock_int.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	VU_GET_FEATURES = 1, VU_SET_FEATURES, VU_SET_OWNER, VU_RESET_OWNER, VU_SET_MEM_TABLE,
	VU_SET_LOG_BASE, VU_SET_LOG_FD, VU_SET_VRING_NUM, VU_SET_VRING_ADDR, VU_SET_VRING_BASE,
	VU_GET_VRING_BASE, VU_SET_VRING_KICK, VU_SET_VRING_CALL, VU_SET_VRING_ERR,
	VU_GET_PROTOCOL_FEATURES, VU_SET_PROTOCOL_FEATURES, VU_GET_QUEUE_NUM, VU_SET_VRING_ENABLE,
	VU_GET_CONFIG = 24, VU_SET_CONFIG = 25, VU_GET_MAX_MEM_SLOTS = 36,
};

#define VU_VERSION 0x1
#define VU_FLAG_REPLY 0x4
#define VU_FLAG_NEED_REPLY 0x8
#define VU_NOFD 0x100
#define VU_MAX_PAYLOAD 4096

#define F_PROTOCOL_FEATURES (1ull << 30)
#define F_VERSION_1 (1ull << 32)
/* No EVENT_IDX or INDIRECT_DESC: not implemented, so not offered. */
#define OFFERED_FEATURES (F_VERSION_1 | F_PROTOCOL_FEATURES)
#define PF_REPLY_ACK (1ull << 3)
#define PF_CONFIG (1ull << 9)
#define OFFERED_PROTOCOL (PF_REPLY_ACK | PF_CONFIG)

struct vu_msg {
	uint32_t request, flags, size;
	union {
		uint64_t u64;
		struct { uint32_t index, num; } state;
		struct { uint32_t index, flags; uint64_t desc, used, avail, log; } addr;
		struct { uint32_t nregions, pad; struct { uint64_t gpa, size, uva, offset; } r[VQ_MAX_REGIONS]; } mem;
		struct { uint32_t offset, size, flags; uint8_t data[VU_MAX_PAYLOAD - 12]; } config;
		uint8_t raw[VU_MAX_PAYLOAD];
	} u;
} __attribute__((packed));

#define VU_HDR_SIZE 12

/* A received message with the fds that came with it. */
struct vu_in {
	struct vu_msg m;
	int fds[VQ_MAX_REGIONS];
	int nfds;
};

/* ---- rings ---- */

bool vsock_ring_running(const struct vsock_dev *d, int q)
{
	const struct vsock_ring *r = &d->ring[q];
	bool enabled = r->enabled || !(d->features & F_PROTOCOL_FEATURES);
	return d->vhost_fd >= 0 && r->kick_fd >= 0 && enabled && virtq_ready(&r->vq);
}

void vsock_flush(struct vsock_dev *d)
{
	for (int q = 0; q < VSOCK_NQ; q++)
		if (d->ring[q].vq.num && d->ring[q].vq.used)
			virtq_flush(&d->ring[q].vq);
}

static void process_tx(struct vsock_dev *d)
{
	struct virtq *vq = &d->ring[VSOCK_TXQ].vq;
	struct virtq_chain ch;
	int r;
	while (vsock_ring_running(d, VSOCK_TXQ) && (r = virtq_pop(vq, &d->mem, &ch)) != 0) {
		if (r < 0) {
			vsock_note(d, "malformed descriptor chain on the tx ring");
			continue;
		}
		vsock_tx_chain(d, &ch);
		virtq_push(vq, ch.head, 0);
	}
	if (vq->broken)
		snprintf(d->last_error, sizeof d->last_error, "guest tx ring index out of range");
}

/* New rx buffers: queued control packets first, then streams may read again. */
static void process_rx(struct vsock_dev *d)
{
	d->rx_starved = false;
	vsock_rx_flush_ctrl(d);
	vsock_update_all(d);
}

static void on_kick(int fd, int events, void *arg)
{
	(void)events;
	struct vsock_ring *r = arg;
	uint64_t n;
	while (read(fd, &n, sizeof n) == sizeof n)
		;
	if (r->index == VSOCK_TXQ)
		process_tx(r->dev);
	else
		process_rx(r->dev);
	vsock_flush(r->dev);
}

/* A ring starts when it has rings, a kick fd and (with protocol features)
 * SET_VRING_ENABLE; work the guest queued before that is picked up here. */
static void ring_maybe_start(struct vsock_dev *d, int q)
{
	if (!vsock_ring_running(d, q))
		return;
	if (q == VSOCK_TXQ)
		process_tx(d);
	else
		process_rx(d);
	vsock_flush(d);
}

static void replace_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

static void ring_stop(struct vsock_dev *d, int q)
{
	struct vsock_ring *r = &d->ring[q];
	if (r->kick_fd >= 0)
		loop_unwatch(r->kick_fd);
	replace_fd(&r->kick_fd, -1);
}

static void ring_remap(struct vsock_dev *d, int q)
{
	struct vsock_ring *r = &d->ring[q];
	if (r->have_addr &&
	    virtq_map(&r->vq, &d->mem, r->num, r->desc, r->avail, r->used, d->last_error) < 0)
		r->vq.desc = NULL;
}

static void ring_reset(struct vsock_dev *d, int q)
{
	struct vsock_ring *r = &d->ring[q];
	ring_stop(d, q);
	replace_fd(&r->vq.call_fd, -1);
	memset(&r->vq, 0, sizeof r->vq);
	r->vq.call_fd = -1;
	r->enabled = r->have_addr = false;
	r->num = 0;
}

/* ---- guest memory ---- */

static void mem_unmap(struct vsock_dev *d)
{
	for (int i = 0; i < d->mem.n; i++)
		munmap(d->maps[i].addr, d->maps[i].len);
	d->mem.n = 0;
	for (int q = 0; q < VSOCK_NQ; q++) { /* rings pointed into the old table */
		d->ring[q].vq.desc = NULL;
		d->ring[q].vq.avail = NULL;
		d->ring[q].vq.used = NULL;
	}
}

/* Maps each region by its fd and offset (pc sends two regions of one memfd). */
static int set_mem_table(struct vsock_dev *d, struct vu_in *in)
{
	uint32_t n = in->m.u.mem.nregions;
	mem_unmap(d);
	if (n > VQ_MAX_REGIONS || (int)n != in->nfds || in->m.size < 8 + 32 * n)
		return cl_err(d->last_error, "vsock: bad memory table (%u regions, %d fds)", n, in->nfds);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t size = in->m.u.mem.r[i].size, off = in->m.u.mem.r[i].offset;
		void *p = mmap(NULL, size + off, PROT_READ | PROT_WRITE, MAP_SHARED, in->fds[i], 0);
		if (p == MAP_FAILED) {
			mem_unmap(d);
			return cl_err(d->last_error, "vsock: cannot map guest memory: %s (is it share=on?)",
				      strerror(errno));
		}
		d->maps[i].addr = p;
		d->maps[i].len = size + off;
		d->mem.r[i] = (struct vq_region){in->m.u.mem.r[i].gpa, size, in->m.u.mem.r[i].uva,
						  (uint8_t *)p + off};
		d->mem.n = (int)i + 1;
	}
	for (int q = 0; q < VSOCK_NQ; q++)
		ring_remap(d, q);
	return 0;
}

/* ---- the vhost-user session ---- */

static void session_end(struct vsock_dev *d)
{
	vsock_drop_all(d);
	for (int q = 0; q < VSOCK_NQ; q++)
		ring_reset(d, q);
	mem_unmap(d);
	d->features = d->proto_features = 0;
	if (d->vhost_fd >= 0) {
		loop_unwatch(d->vhost_fd);
		replace_fd(&d->vhost_fd, -1);
	}
}

static int reply(struct vsock_dev *d, struct vu_msg *m, uint32_t size)
{
	m->flags = VU_VERSION | VU_FLAG_REPLY;
	m->size = size;
	ssize_t n = send(d->vhost_fd, m, VU_HDR_SIZE + size, MSG_NOSIGNAL);
	return n == (ssize_t)(VU_HDR_SIZE + size) ? 0 : -1;
}

static int reply_u64(struct vsock_dev *d, struct vu_msg *m, uint64_t v)
{
	m->u.u64 = v;
	return reply(d, m, 8);
}

/* Answers GET_CONFIG from virtio_vsock_config: just the le64 guest CID. */
static int get_config(struct vsock_dev *d, struct vu_msg *m)
{
	uint8_t cfg[8];
	uint64_t cid = d->cid;
	memcpy(cfg, &cid, 8);
	uint32_t off = m->u.config.offset, size = m->u.config.size;
	if (size > sizeof m->u.config.data || m->size < 12)
		return -1;
	memset(m->u.config.data, 0, size);
	if (off < sizeof cfg)
		memcpy(m->u.config.data, cfg + off, size < sizeof cfg - off ? size : sizeof cfg - off);
	return reply(d, m, 12 + size);
}

static int ring_index(struct vsock_dev *d, uint32_t index)
{
	if (index < VSOCK_NQ)
		return (int)index;
	snprintf(d->last_error, sizeof d->last_error, "vsock: front-end used queue %u", index);
	return -1;
}

/* Takes the message's single fd (or none when the NOFD bit is set). */
static int take_fd(struct vu_in *in)
{
	if ((in->m.u.u64 & VU_NOFD) || in->nfds < 1)
		return -1;
	int fd = in->fds[0];
	in->fds[0] = -1;
	return fd;
}

static int vring_fd_msg(struct vsock_dev *d, struct vu_in *in)
{
	int q = ring_index(d, (uint32_t)(in->m.u.u64 & 0xff));
	int fd = take_fd(in);
	if (q < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct vsock_ring *r = &d->ring[q];
	if (in->m.request == VU_SET_VRING_CALL) {
		replace_fd(&r->vq.call_fd, fd);
	} else if (in->m.request == VU_SET_VRING_KICK) {
		ring_stop(d, q);
		r->kick_fd = fd;
		if (fd >= 0)
			loop_watch(fd, LOOP_READ, on_kick, r);
		ring_maybe_start(d, q);
	} else if (fd >= 0) {
		close(fd); /* SET_VRING_ERR: we never report ring errors */
	}
	return 0;
}

static int vring_state_msg(struct vsock_dev *d, struct vu_msg *m)
{
	int q = ring_index(d, m->u.state.index);
	if (q < 0)
		return -1;
	struct vsock_ring *r = &d->ring[q];
	switch (m->request) {
	case VU_SET_VRING_NUM:
		r->num = (uint16_t)m->u.state.num;
		return m->u.state.num && m->u.state.num <= VQ_MAX_SIZE ? 0 : -1;
	case VU_SET_VRING_BASE:
		r->vq.last_avail = (uint16_t)m->u.state.num;
		return 0;
	case VU_SET_VRING_ENABLE:
		r->enabled = m->u.state.num != 0;
		ring_maybe_start(d, q);
		return 0;
	default: /* GET_VRING_BASE stops the ring; the guest forgets its streams */
		ring_stop(d, q);
		vsock_drop_all(d);
		m->u.state.num = r->vq.last_avail;
		return reply(d, m, 8);
	}
}

static int vring_addr_msg(struct vsock_dev *d, struct vu_msg *m)
{
	int q = ring_index(d, m->u.addr.index);
	if (q < 0)
		return -1;
	struct vsock_ring *r = &d->ring[q];
	r->desc = m->u.addr.desc;
	r->avail = m->u.addr.avail;
	r->used = m->u.addr.used;
	r->have_addr = true;
	ring_remap(d, q);
	if (!r->vq.desc)
		return -1;
	ring_maybe_start(d, q);
	return 0;
}

/* Handles one message; returns 1 when it sent its own reply, 0 done, -1 failed. */
static int handle(struct vsock_dev *d, struct vu_in *in)
{
	struct vu_msg *m = &in->m;
	switch (m->request) {
	case VU_GET_FEATURES: return reply_u64(d, m, OFFERED_FEATURES) < 0 ? -1 : 1;
	case VU_SET_FEATURES: d->features = m->u.u64 & OFFERED_FEATURES; return 0;
	case VU_GET_PROTOCOL_FEATURES: return reply_u64(d, m, OFFERED_PROTOCOL) < 0 ? -1 : 1;
	case VU_SET_PROTOCOL_FEATURES: d->proto_features = m->u.u64 & OFFERED_PROTOCOL; return 0;
	case VU_GET_QUEUE_NUM: return reply_u64(d, m, VSOCK_NQ) < 0 ? -1 : 1;
	case VU_GET_MAX_MEM_SLOTS: return reply_u64(d, m, VQ_MAX_REGIONS) < 0 ? -1 : 1;
	case VU_SET_OWNER: return 0;
	case VU_RESET_OWNER:
		vsock_drop_all(d);
		for (int q = 0; q < VSOCK_NQ; q++)
			ring_reset(d, q);
		return 0;
	case VU_SET_MEM_TABLE: return set_mem_table(d, in);
	case VU_SET_VRING_NUM: case VU_SET_VRING_BASE: case VU_SET_VRING_ENABLE:
		return vring_state_msg(d, m);
	case VU_GET_VRING_BASE: return vring_state_msg(d, m) < 0 ? -1 : 1;
	case VU_SET_VRING_ADDR: return vring_addr_msg(d, m);
	case VU_SET_VRING_KICK: case VU_SET_VRING_CALL: case VU_SET_VRING_ERR:
		return vring_fd_msg(d, in);
	case VU_GET_CONFIG: return get_config(d, m) < 0 ? -1 : 1;
	case VU_SET_CONFIG: return 0;
	default:
		snprintf(d->last_error, sizeof d->last_error, "vsock: unsupported vhost-user request %u",
			 m->request);
		return -1;
	}
}

/* Reads one message and its fds; -1 when the front-end is gone or broken. */
static int read_msg(int fd, struct vu_in *in)
{
	char cbuf[CMSG_SPACE(VQ_MAX_REGIONS * sizeof(int))];
	struct iovec iov = {&in->m, VU_HDR_SIZE};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof cbuf};
	in->nfds = 0;
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(in->fds + in->nfds, CMSG_DATA(c), (size_t)k * sizeof(int));
			in->nfds += k;
		}
	if (n != VU_HDR_SIZE || in->m.size > VU_MAX_PAYLOAD)
		return -1;
	if (in->m.size && recv(fd, &in->m.u, in->m.size, MSG_WAITALL) != (ssize_t)in->m.size)
		return -1;
	return 0;
}

static void on_vhost_msg(int fd, int events, void *arg)
{
	(void)events;
	struct vsock_dev *d = arg;
	struct vu_in in;
	memset(&in.m, 0, VU_HDR_SIZE + 64);
	int rc = read_msg(fd, &in) < 0 ? -2 : handle(d, &in);
	for (int i = 0; i < in.nfds; i++)
		if (in.fds[i] >= 0)
			close(in.fds[i]);
	if (rc == -2) {
		session_end(d); /* QEMU went away (or spoke garbage): forget the guest */
		return;
	}
	if (rc <= 0 && (in.m.flags & VU_FLAG_NEED_REPLY) && (d->proto_features & PF_REPLY_ACK))
		reply_u64(d, &in.m, rc < 0);
}

static void on_vhost_accept(int fd, int events, void *arg)
{
	(void)events;
	struct vsock_dev *d = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (d->vhost_fd >= 0) {
		close(cfd); /* one front-end per backend */
		return;
	}
	/* Messages arrive whole; the timeout only bounds a broken front-end. */
	struct timeval tv = {2, 0};
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	d->vhost_fd = cfd;
	loop_watch(cfd, LOOP_READ, on_vhost_msg, d);
}

/* ---- life ---- */

static int listen_unix(const char *path, char *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return cl_err(err, "vsock: socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cl_err(err, "vsock: socket: %s", strerror(errno));
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		return cl_err(err, "vsock: cannot listen on %s: %s", path, strerror(e));
	}
	return fd;
}

struct vsock_dev *vsock_dev_new(const char *vhost_path, const char *host_path, uint32_t guest_cid,
				char *err)
{
	if (guest_cid < 3 || guest_cid == UINT32_MAX) {
		cl_err(err, "vsock: guest cid %u is reserved (use 3 or more)", guest_cid);
		return NULL;
	}
	struct vsock_dev *d = xcalloc(1, sizeof *d);
	d->cid = guest_cid;
	d->vhost_fd = d->host_listen = -1;
	d->next_port = 1024;
	for (int q = 0; q < VSOCK_NQ; q++) {
		d->ring[q].dev = d;
		d->ring[q].index = q;
		d->ring[q].kick_fd = d->ring[q].vq.call_fd = -1;
	}
	d->vhost_listen = listen_unix(vhost_path, err);
	d->vhost_path = xstrdup(vhost_path);
	if (d->vhost_listen >= 0)
		d->host_listen = listen_unix(host_path, err);
	d->host_path = xstrdup(host_path);
	if (d->host_listen < 0) {
		vsock_dev_free(d);
		return NULL;
	}
	loop_watch(d->vhost_listen, LOOP_READ, on_vhost_accept, d);
	loop_watch(d->host_listen, LOOP_READ, vsock_host_accept, d);
	return d;
}

void vsock_dev_free(struct vsock_dev *d)
{
	if (!d)
		return;
	session_end(d);
	if (d->vhost_listen >= 0) {
		loop_unwatch(d->vhost_listen);
		close(d->vhost_listen);
		unlink(d->vhost_path);
	}
	if (d->host_listen >= 0) {
		loop_unwatch(d->host_listen);
		close(d->host_listen);
		unlink(d->host_path);
	}
	free(d->ctrl);
	free(d->vhost_path);
	free(d->host_path);
	free(d);
}

void vsock_dev_stats(const struct vsock_dev *d, struct vsock_stats *st)
{
	memset(st, 0, sizeof *st);
	st->qemu_connected = d->vhost_fd >= 0;
	st->running = vsock_ring_running(d, VSOCK_RXQ) && vsock_ring_running(d, VSOCK_TXQ);
	st->connections = d->n_conns;
	st->to_guest = d->to_guest;
	st->to_host = d->to_host;
	st->bad_packets = d->bad_packets;
	snprintf(st->last_error, sizeof st->last_error, "%.159s", d->last_error);
}
