/* vsock.c: virtio-vsock streams between a guest and host unix sockets, over
 * the rings that vsock_vhost.c sets up (see vsock.h for the host protocol).
 *
 * Flow control is virtio-vsock credit (virtio 1.2, 5.10.6.3): the guest may
 * send us at most buf_alloc - (its tx_cnt - our fwd_cnt) bytes, where fwd_cnt
 * counts bytes written to the host socket; bytes the host socket did not take
 * wait in the connection's out buffer, which credit therefore bounds. In the
 * other direction we read the host socket only while the guest has credit
 * and rx buffers for us, straight into its buffers. */
#include "vsock_int.h"
#include "util.h"
#include "loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_ALLOC (256u * 1024)  /* what each stream may hold for the host */
#define MAX_CONNS 1024
#define MAX_CTRL 4096             /* control packets waiting for rx buffers */
#define RX_BUDGET 64              /* rx buffers one host socket fills per turn */

enum conn_state { C_HANDSHAKE, C_CONNECTING, C_OPEN };

struct conn {
	struct conn *next;
	struct vsock_dev *dev;
	int fd, watched;
	enum conn_state state;
	uint32_t local_port, peer_port;
	struct buf out;            /* guest bytes the host socket has not taken */
	size_t out_off;
	uint32_t fwd_cnt, fwd_reported; /* our receive side, as virtio counts it */
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt; /* our send side */
	uint32_t guest_shut;       /* VSOCK_SHUT_* the guest announced */
	bool host_eof, wr_shut;
	bool early_data;           /* the client wrote before the guest answered */
};

static void conn_io(int fd, int events, void *arg);

void vsock_note(struct vsock_dev *d, const char *what)
{
	d->bad_packets++;
	snprintf(d->last_error, sizeof d->last_error, "%s", what);
}

/* ---- control packets towards the guest ---- */

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static struct vsock_hdr conn_hdr(struct conn *c, uint16_t op, uint32_t flags, uint32_t len)
{
	c->fwd_reported = c->fwd_cnt;
	return (struct vsock_hdr){
		.src_cid = VSOCK_HOST_CID, .dst_cid = c->dev->cid,
		.src_port = c->local_port, .dst_port = c->peer_port,
		.len = len, .type = VSOCK_TYPE_STREAM, .op = op, .flags = flags,
		.buf_alloc = BUF_ALLOC, .fwd_cnt = c->fwd_cnt,
	};
}

/* Places queued control packets into guest rx buffers, in order. */
void vsock_rx_flush_ctrl(struct vsock_dev *d)
{
	struct virtq *vq = &d->ring[VSOCK_RXQ].vq;
	struct virtq_chain ch;
	while (d->ctrl_head < d->n_ctrl && vsock_ring_running(d, VSOCK_RXQ)) {
		int r = virtq_pop(vq, &d->mem, &ch);
		if (r == 0) {
			d->rx_starved = true;
			break;
		}
		if (r < 0 || ch.in_len < sizeof(struct vsock_hdr)) {
			if (r > 0)
				virtq_push(vq, ch.head, 0);
			vsock_note(d, "guest rx buffer too small or malformed");
			continue;
		}
		iov_from_buf(ch.in, ch.n_in, 0, &d->ctrl[d->ctrl_head++], sizeof(struct vsock_hdr));
		virtq_push(vq, ch.head, sizeof(struct vsock_hdr));
	}
	if (d->ctrl_head == d->n_ctrl)
		d->ctrl_head = d->n_ctrl = 0;
}

static void send_hdr(struct vsock_dev *d, const struct vsock_hdr *h)
{
	if (d->n_ctrl - d->ctrl_head >= MAX_CTRL) {
		vsock_note(d, "guest sends packets but takes no replies: dropping");
		return;
	}
	if (d->n_ctrl == d->cap_ctrl) {
		d->cap_ctrl = d->cap_ctrl ? 2 * d->cap_ctrl : 64;
		d->ctrl = xrealloc(d->ctrl, (size_t)d->cap_ctrl * sizeof *d->ctrl);
	}
	d->ctrl[d->n_ctrl++] = *h;
	vsock_rx_flush_ctrl(d);
}

static void send_ctrl(struct conn *c, uint16_t op, uint32_t flags)
{
	struct vsock_hdr h = conn_hdr(c, op, flags, 0);
	send_hdr(c->dev, &h);
}

/* RST for a packet that matches no stream (never in answer to an RST). */
static void send_rst_for(struct vsock_dev *d, const struct vsock_hdr *in)
{
	if (in->op == VSOCK_OP_RST)
		return;
	struct vsock_hdr h = {
		.src_cid = VSOCK_HOST_CID, .dst_cid = d->cid,
		.src_port = in->dst_port, .dst_port = in->src_port,
		.type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RST,
	};
	send_hdr(d, &h);
}

/* ---- connection table ---- */

static struct conn *conn_find(struct vsock_dev *d, uint32_t local, uint32_t peer)
{
	for (struct conn *c = d->conns; c; c = c->next)
		if (c->local_port == local && c->peer_port == peer && c->state != C_HANDSHAKE)
			return c;
	return NULL;
}

static struct conn *conn_new(struct vsock_dev *d, int fd, enum conn_state st)
{
	struct conn *c = xcalloc(1, sizeof *c);
	c->dev = d;
	c->fd = fd;
	c->state = st;
	c->next = d->conns;
	d->conns = c;
	d->n_conns++;
	c->watched = -1;
	return c;
}

static void conn_free(struct conn *c)
{
	struct vsock_dev *d = c->dev;
	for (struct conn **pp = &d->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	d->n_conns--;
	loop_unwatch(c->fd);
	close(c->fd);
	buf_free(&c->out);
	free(c);
}

/* Ends a stream from our side: the guest gets RST, the host a close. */
static void conn_reset(struct conn *c)
{
	if (c->state != C_HANDSHAKE)
		send_ctrl(c, VSOCK_OP_RST, 0);
	conn_free(c);
}

static void conn_update_watch(struct conn *c)
{
	struct vsock_dev *d = c->dev;
	int ev = 0;
	if (c->state == C_HANDSHAKE || (c->state == C_CONNECTING && !c->early_data))
		ev = LOOP_READ; /* while connecting: only to notice a client that gives up */
	if (c->state == C_OPEN) {
		if (!c->host_eof && !(c->guest_shut & VSOCK_SHUT_RCV) && peer_credit(c) &&
		    !d->rx_starved && vsock_ring_running(d, VSOCK_RXQ))
			ev |= LOOP_READ;
		if (c->out.len > c->out_off)
			ev |= LOOP_WRITE;
	}
	if (ev != c->watched)
		loop_watch(c->fd, ev, conn_io, c);
	c->watched = ev;
}

void vsock_update_all(struct vsock_dev *d)
{
	for (struct conn *c = d->conns; c; c = c->next)
		conn_update_watch(c);
}

void vsock_drop_all(struct vsock_dev *d)
{
	while (d->conns)
		conn_free(d->conns);
	d->n_ctrl = d->ctrl_head = 0;
	d->rx_starved = false;
}

/* ---- guest -> host ---- */

/* After a drain: half-close or close the host side as the guest asked.
 * Returns -1 when the stream is gone. */
static int conn_check_close(struct conn *c)
{
	if (c->out.len > c->out_off)
		return 0;
	if ((c->guest_shut & VSOCK_SHUT_SEND) && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	if (c->guest_shut == (VSOCK_SHUT_SEND | VSOCK_SHUT_RCV) ||
	    ((c->guest_shut & VSOCK_SHUT_SEND) && c->host_eof)) {
		conn_reset(c);
		return -1;
	}
	return 0;
}

/* Writes what the host socket takes; credits the guest for it. */
static int conn_write_out(struct conn *c)
{
	while (c->out.len > c->out_off) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			conn_reset(c); /* host reader is gone */
			return -1;
		}
		c->out_off += (size_t)n;
		c->fwd_cnt += (uint32_t)n;
		c->dev->to_host += (uint64_t)n;
	}
	if (c->out_off == c->out.len) {
		buf_reset(&c->out);
		c->out_off = 0;
	} else if (c->out_off > BUF_ALLOC) {
		memmove(c->out.data, c->out.data + c->out_off, c->out.len - c->out_off);
		c->out.len -= c->out_off;
		c->out_off = 0;
	}
	if (c->fwd_cnt - c->fwd_reported >= BUF_ALLOC / 4)
		send_ctrl(c, VSOCK_OP_CREDIT_UPDATE, 0);
	return conn_check_close(c);
}

static int conn_guest_data(struct conn *c, const struct iovec *iov, int n, uint32_t len)
{
	if (c->out.len - c->out_off + len > 2 * BUF_ALLOC) {
		vsock_note(c->dev, "guest ignored vsock credit: stream reset");
		conn_reset(c);
		return -1;
	}
	/* Copy straight from guest memory into the buffer's free space. */
	size_t old = c->out.len;
	if (c->out.cap < old + len + 1) {
		c->out.cap = old + len + 1;
		c->out.data = xrealloc(c->out.data, c->out.cap);
	}
	iov_to_buf(iov, n, 0, c->out.data + old, len);
	c->out.len = old + len;
	c->out.data[c->out.len] = 0;
	return conn_write_out(c);
}

/* A guest connects to the host: CID 2 port P is the unix socket host_path_P. */
static void guest_connect(struct vsock_dev *d, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int len = snprintf(sa.sun_path, sizeof sa.sun_path, "%s_%u", d->host_path, h->dst_port);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->n_conns >= MAX_CONNS || len >= (int)sizeof sa.sun_path || fd < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (fd >= 0)
			close(fd);
		send_rst_for(d, h);
		return;
	}
	struct conn *c = conn_new(d, fd, C_OPEN);
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	send_ctrl(c, VSOCK_OP_RESPONSE, 0);
	conn_update_watch(c);
}

static void guest_response(struct conn *c)
{
	char line[32];
	int n = snprintf(line, sizeof line, "OK %u\n", c->local_port);
	/* A fresh socket's buffer is empty, so this short line always fits. */
	if (c->state != C_CONNECTING || send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		conn_reset(c);
		return;
	}
	c->state = C_OPEN;
	conn_update_watch(c);
}

static void guest_packet(struct vsock_dev *d, const struct vsock_hdr *h, const struct iovec *iov,
			 int n)
{
	struct conn *c = conn_find(d, h->dst_port, h->src_port);
	if (!c) {
		if (h->op == VSOCK_OP_REQUEST)
			guest_connect(d, h);
		else
			send_rst_for(d, h);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		guest_response(c);
		return;
	case VSOCK_OP_RST:
		conn_free(c);
		return;
	case VSOCK_OP_RW:
		if (c->state != C_OPEN || conn_guest_data(c, iov, n, h->len) < 0)
			return;
		break;
	case VSOCK_OP_SHUTDOWN:
		c->guest_shut |= h->flags & (VSOCK_SHUT_RCV | VSOCK_SHUT_SEND);
		if (conn_check_close(c) < 0)
			return;
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		send_ctrl(c, VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	default: /* REQUEST on an existing stream, or garbage */
		conn_reset(c);
		return;
	}
	conn_update_watch(c);
}

/* One chain from the guest's tx ring: a header and h.len payload bytes. */
void vsock_tx_chain(struct vsock_dev *d, const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	if (iov_to_buf(ch->out, ch->n_out, 0, &h, sizeof h) != sizeof h) {
		vsock_note(d, "guest tx packet shorter than a vsock header");
		return;
	}
	if (h.src_cid != d->cid || h.dst_cid != VSOCK_HOST_CID || h.type != VSOCK_TYPE_STREAM ||
	    h.len > ch->out_len - sizeof h) {
		vsock_note(d, "guest tx packet with a bad address, type or length");
		if (h.len <= ch->out_len - sizeof h && h.type != VSOCK_TYPE_STREAM)
			send_rst_for(d, &h);
		return;
	}
	struct iovec payload[VQ_MAX_IOV];
	int n = iov_slice(ch->out, ch->n_out, sizeof h, h.len, payload);
	guest_packet(d, &h, payload, n);
}

/* ---- host -> guest ---- */

static int conn_host_eof(struct conn *c, bool error)
{
	if (error) {
		conn_reset(c);
		return -1;
	}
	c->host_eof = true;
	send_ctrl(c, VSOCK_OP_SHUTDOWN, VSOCK_SHUT_SEND);
	return conn_check_close(c);
}

/* Reads the host socket straight into guest rx buffers while there is credit. */
static int conn_rx(struct conn *c)
{
	struct vsock_dev *d = c->dev;
	struct virtq *vq = &d->ring[VSOCK_RXQ].vq;
	struct virtq_chain ch;
	for (int budget = RX_BUDGET; budget > 0 && vsock_ring_running(d, VSOCK_RXQ); budget--) {
		uint32_t credit = peer_credit(c);
		if (!credit || d->n_ctrl > d->ctrl_head)
			break;
		int r = virtq_pop(vq, &d->mem, &ch);
		if (r == 0) {
			d->rx_starved = true;
			break;
		}
		if (r < 0 || ch.in_len <= sizeof(struct vsock_hdr)) {
			if (r > 0)
				virtq_push(vq, ch.head, 0);
			vsock_note(d, "guest rx buffer too small or malformed");
			continue;
		}
		size_t room = ch.in_len - sizeof(struct vsock_hdr);
		struct iovec iov[VQ_MAX_IOV];
		int k = iov_slice(ch.in, ch.n_in, sizeof(struct vsock_hdr), room < credit ? room : credit, iov);
		ssize_t n = readv(c->fd, iov, k);
		if (n <= 0) {
			virtq_unpop(vq);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			return conn_host_eof(c, n < 0);
		}
		struct vsock_hdr h = conn_hdr(c, VSOCK_OP_RW, 0, (uint32_t)n);
		iov_from_buf(ch.in, ch.n_in, 0, &h, sizeof h);
		virtq_push(vq, ch.head, (uint32_t)(sizeof h + (size_t)n));
		c->tx_cnt += (uint32_t)n;
		d->to_guest += (uint64_t)n;
	}
	return 0;
}

/* ---- host side: the hybrid-vsock handshake ---- */

static uint32_t alloc_local_port(struct vsock_dev *d, uint32_t peer)
{
	for (;;) {
		uint32_t p = d->next_port++;
		if (d->next_port < 1024 || d->next_port > 0x7fffffff)
			d->next_port = 1024;
		if (!conn_find(d, p, peer))
			return p;
	}
}

/* Reads exactly one "CONNECT <port>\n" line, leaving later bytes queued. */
static void conn_handshake(struct conn *c)
{
	char line[64];
	ssize_t n = recv(c->fd, line, sizeof line - 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c);
		return;
	}
	line[n] = 0;
	char *nl = strchr(line, '\n');
	if (!nl) {
		if (n == (ssize_t)sizeof line - 1)
			conn_free(c); /* not our protocol */
		return;
	}
	ssize_t len = nl - line + 1;
	unsigned port;
	char extra;
	if (recv(c->fd, line, (size_t)len, MSG_DONTWAIT) != len)
		len = 0;
	line[len > 0 ? len - 1 : 0] = 0;
	if (!len || sscanf(line, "CONNECT %u%c", &port, &extra) != 1 ||
	    !vsock_ring_running(c->dev, VSOCK_RXQ)) {
		conn_free(c);
		return;
	}
	c->peer_port = port;
	c->local_port = alloc_local_port(c->dev, port);
	c->state = C_CONNECTING;
	send_ctrl(c, VSOCK_OP_REQUEST, 0);
	conn_update_watch(c);
}

/* A client that hangs up before the guest answered: tell the guest. */
static void conn_connecting_io(struct conn *c)
{
	char byte;
	ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_reset(c);
		return;
	}
	c->early_data = n > 0;
	conn_update_watch(c);
}

static void conn_io(int fd, int events, void *arg)
{
	(void)fd;
	struct conn *c = arg;
	struct vsock_dev *d = c->dev;
	if (c->state == C_HANDSHAKE)
		conn_handshake(c);
	else if (c->state == C_CONNECTING)
		conn_connecting_io(c);
	else if (!((events & LOOP_WRITE) && conn_write_out(c) < 0) &&
		 !((events & LOOP_READ) && conn_rx(c) < 0))
		conn_update_watch(c);
	vsock_flush(d);
}

void vsock_host_accept(int fd, int events, void *arg)
{
	(void)events;
	struct vsock_dev *d = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (d->n_conns >= MAX_CONNS) {
		close(cfd);
		return;
	}
	conn_update_watch(conn_new(d, cfd, C_HANDSHAKE));
}
