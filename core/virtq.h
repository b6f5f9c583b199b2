/* virtq.h: split virtqueues (virtio 1.x, 2.7) over guest memory that a
 * vhost-user front-end (QEMU) shared with us. Everything the guest wrote is
 * untrusted: every index and address is bounds-checked before use, and a bad
 * chain or ring is reported, never followed. Little-endian hosts only (x86). */
#ifndef CAPLAB_VIRTQ_H
#define CAPLAB_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VQ_MAX_REGIONS 8
#define VQ_MAX_SIZE 32768 /* the largest queue size virtio allows */
#define VQ_MAX_IOV 64     /* segments we follow in one chain */

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
struct vring_avail {
	uint16_t flags, idx;
	uint16_t ring[];
};
struct vring_used_elem {
	uint32_t id, len;
};
struct vring_used {
	uint16_t flags, idx;
	struct vring_used_elem ring[];
};

/* One region of guest memory: guest-physical address, QEMU's virtual address
 * for it (ring addresses come as those) and where it is mapped here. */
struct vq_region {
	uint64_t gpa, size, uva;
	uint8_t *host;
};
struct vq_mem {
	int n;
	struct vq_region r[VQ_MAX_REGIONS];
};

/* Host pointer for [addr, addr+len) when the whole range lies inside one
 * region, else NULL. */
void *vq_mem_gpa(const struct vq_mem *m, uint64_t gpa, uint64_t len);
void *vq_mem_uva(const struct vq_mem *m, uint64_t uva, uint64_t len);

struct virtq {
	uint16_t num; /* 0: not configured */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail; /* next avail entry we will take */
	uint16_t used_idx;   /* our used index, published by virtq_flush */
	uint16_t published;  /* used->idx as last written */
	int call_fd;         /* eventfd to interrupt the guest, -1: none */
	bool broken;         /* avail index went wild: stop until reset */
};

/* A descriptor chain: device-readable segments (out) then writable (in). */
struct virtq_chain {
	uint16_t head;
	int n_out, n_in;
	size_t out_len, in_len;
	struct iovec out[VQ_MAX_IOV], in[VQ_MAX_IOV];
};

/* Points vq at rings already translated to host memory. */
void virtq_init(struct virtq *vq, uint16_t num, void *desc, void *avail, void *used);
/* Translates QEMU virtual ring addresses through m; -1 with err when a ring
 * lies outside guest memory or num is not a power of two <= VQ_MAX_SIZE. */
int virtq_map(struct virtq *vq, const struct vq_mem *m, uint16_t num, uint64_t desc_uva,
	      uint64_t avail_uva, uint64_t used_uva, char *err);
bool virtq_ready(const struct virtq *vq);
/* Takes the next available chain: 1 = got one, 0 = ring empty (or broken),
 * -1 = the chain was malformed (it is returned to the guest as used with
 * length 0; call again for the next one). */
int virtq_pop(struct virtq *vq, const struct vq_mem *m, struct virtq_chain *ch);
/* Gives back the chain just popped, unused (no data to put in it after all). */
void virtq_unpop(struct virtq *vq);
/* Records a used chain; the guest sees it only after virtq_flush. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);
/* Publishes pushed chains and interrupts the guest once, unless it asked
 * not to be. Returns 1 when the guest was signalled. */
int virtq_flush(struct virtq *vq);
/* Number of chains the guest has made available and we have not taken. */
unsigned virtq_avail_count(const struct virtq *vq);

/* Copy between flat memory and an iovec, starting skip bytes in. */
size_t iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, int n, size_t skip, const void *buf, size_t len);
/* Makes dst the part of src after skip bytes, at most len bytes; returns its count. */
int iov_slice(const struct iovec *src, int n, size_t skip, size_t len, struct iovec *dst);

#endif
