/* vsock_int.h: what vsock.c (streams, credit, host sockets) and
 * vsock_vhost.c (vhost-user protocol, rings, device life) share. Not for
 * other modules: they use vsock.h. */
#ifndef CAPLAB_VSOCK_INT_H
#define CAPLAB_VSOCK_INT_H

#include "util.h"
#include "virtq.h"
#include "vsock.h"

#include <stddef.h>

/* virtio-vsock packet header (virtio 1.2, 5.10.6), little-endian. */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));
_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio-vsock header is 44 bytes");

enum {
	VSOCK_TYPE_STREAM = 1,
	VSOCK_OP_REQUEST = 1, VSOCK_OP_RESPONSE, VSOCK_OP_RST, VSOCK_OP_SHUTDOWN,
	VSOCK_OP_RW, VSOCK_OP_CREDIT_UPDATE, VSOCK_OP_CREDIT_REQUEST,
	VSOCK_SHUT_RCV = 1, VSOCK_SHUT_SEND = 2,
};

enum { VSOCK_RXQ = 0, VSOCK_TXQ = 1, VSOCK_NQ = 2 };

struct vsock_dev;
struct vsock_ring {
	struct vsock_dev *dev;
	int index;
	struct virtq vq;
	int kick_fd;
	bool enabled;
	uint16_t num;
	bool have_addr;
	uint64_t desc, avail, used; /* QEMU virtual addresses */
};

struct conn;

struct vsock_dev {
	char *vhost_path, *host_path;
	uint32_t cid;
	int vhost_listen, vhost_fd, host_listen;
	uint64_t features, proto_features;
	struct vq_mem mem;
	struct { void *addr; size_t len; } maps[VQ_MAX_REGIONS];
	struct vsock_ring ring[VSOCK_NQ];
	struct conn *conns;
	int n_conns;
	uint32_t next_port;
	struct vsock_hdr *ctrl; /* control packets waiting for rx buffers */
	int n_ctrl, ctrl_head, cap_ctrl;
	bool rx_starved;        /* the guest's rx ring ran dry: wait for a kick */
	uint64_t to_guest, to_host, bad_packets;
	char last_error[CL_ERRBUF];
};

/* vsock_vhost.c */
bool vsock_ring_running(const struct vsock_dev *d, int q);
void vsock_flush(struct vsock_dev *d); /* publish used rings, one interrupt each */

/* vsock.c */
void vsock_note(struct vsock_dev *d, const char *what);
void vsock_tx_chain(struct vsock_dev *d, const struct virtq_chain *ch);
void vsock_rx_flush_ctrl(struct vsock_dev *d);
void vsock_update_all(struct vsock_dev *d);
void vsock_drop_all(struct vsock_dev *d);
void vsock_host_accept(int fd, int events, void *arg);

#endif
