/* virtq.c: split virtqueue access for the vhost-user backend. The guest can
 * write anything into its rings at any time, so indices are read once,
 * addresses are translated with their length, and chains are bounded. */
#include "virtq.h"
#include "util.h"

#include <string.h>
#include <unistd.h>

static void *region_ptr(const struct vq_region *r, uint64_t base, uint64_t addr, uint64_t len)
{
	if (addr < base || addr - base > r->size || len > r->size - (addr - base))
		return NULL;
	return r->host + (addr - base);
}

void *vq_mem_gpa(const struct vq_mem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->n; i++) {
		void *p = region_ptr(&m->r[i], m->r[i].gpa, gpa, len);
		if (p)
			return p;
	}
	return NULL;
}

void *vq_mem_uva(const struct vq_mem *m, uint64_t uva, uint64_t len)
{
	for (int i = 0; i < m->n; i++) {
		void *p = region_ptr(&m->r[i], m->r[i].uva, uva, len);
		if (p)
			return p;
	}
	return NULL;
}

void virtq_init(struct virtq *vq, uint16_t num, void *desc, void *avail, void *used)
{
	vq->num = num;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->broken = false;
	vq->used_idx = vq->published = used ? __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) : 0;
}

int virtq_map(struct virtq *vq, const struct vq_mem *m, uint16_t num, uint64_t desc_uva,
	      uint64_t avail_uva, uint64_t used_uva, char *err)
{
	if (num == 0 || (num & (num - 1)))
		return cl_err(err, "vsock: virtqueue size %u is not a power of two", num);
	void *d = vq_mem_uva(m, desc_uva, 16ull * num);
	void *a = vq_mem_uva(m, avail_uva, 6ull + 2ull * num);
	void *u = vq_mem_uva(m, used_uva, 6ull + 8ull * num);
	if (!d || !a || !u)
		return cl_err(err, "vsock: virtqueue rings lie outside guest memory");
	uint16_t keep = vq->last_avail;
	virtq_init(vq, num, d, a, u);
	vq->last_avail = keep;
	return 0;
}

bool virtq_ready(const struct virtq *vq) { return vq->num && vq->desc && !vq->broken; }

unsigned virtq_avail_count(const struct virtq *vq)
{
	if (!virtq_ready(vq))
		return 0;
	uint16_t idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	return (uint16_t)(idx - vq->last_avail);
}

/* Appends the guest range [addr, addr+len) to the chain's iovec, split where
 * it crosses from one memory region into the next. */
static int chain_add(struct virtq_chain *ch, const struct vq_mem *m, uint64_t addr, uint32_t len,
		     bool writable)
{
	struct iovec *iov = writable ? ch->in : ch->out;
	int *n = writable ? &ch->n_in : &ch->n_out;
	while (len) {
		uint64_t part = len;
		void *p;
		while (!(p = vq_mem_gpa(m, addr, part)))
			if ((part /= 2) == 0)
				return -1;
		if (*n == VQ_MAX_IOV)
			return -1;
		iov[(*n)++] = (struct iovec){p, (size_t)part};
		*(writable ? &ch->in_len : &ch->out_len) += part;
		addr += part;
		len -= (uint32_t)part;
	}
	return 0;
}

/* Follows the chain from head; -1 on a bad index, a loop, an indirect table
 * (not negotiated), a readable segment after a writable one, or a bad address. */
static int chain_walk(struct virtq *vq, const struct vq_mem *m, uint16_t head, struct virtq_chain *ch)
{
	memset(ch, 0, offsetof(struct virtq_chain, out));
	ch->head = head;
	uint16_t i = head;
	for (unsigned hops = 0;; hops++) {
		if (i >= vq->num || hops >= vq->num)
			return -1;
		struct vring_desc d = vq->desc[i]; /* one read: the guest may change it */
		bool w = d.flags & VRING_DESC_F_WRITE;
		if ((d.flags & VRING_DESC_F_INDIRECT) || (!w && ch->n_in))
			return -1;
		if (chain_add(ch, m, d.addr, d.len, w) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop(struct virtq *vq, const struct vq_mem *m, struct virtq_chain *ch)
{
	unsigned avail = virtq_avail_count(vq);
	if (avail == 0)
		return 0;
	if (avail > vq->num) {
		vq->broken = true; /* the guest moved idx by more than the ring holds */
		return 0;
	}
	uint16_t head = vq->avail->ring[vq->last_avail % vq->num];
	vq->last_avail++;
	if (head < vq->num && chain_walk(vq, m, head, ch) == 0)
		return 1;
	virtq_push(vq, head < vq->num ? head : 0, 0);
	return -1;
}

void virtq_unpop(struct virtq *vq) { vq->last_avail--; }

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->num];
	e->id = head;
	e->len = len;
	vq->used_idx++;
}

int virtq_flush(struct virtq *vq)
{
	if (!vq->used || vq->published == vq->used_idx)
		return 0;
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
	vq->published = vq->used_idx;
	/* The guest's flag must be read after the index is visible (virtio 2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if ((__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT) ||
	    vq->call_fd < 0)
		return 0;
	uint64_t one = 1;
	return write(vq->call_fd, &one, sizeof one) == sizeof one;
}

size_t iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf, size_t len)
{
	size_t done = 0;
	for (int i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - skip;
		if (k > len - done)
			k = len - done;
		memcpy((char *)buf + done, (char *)iov[i].iov_base + skip, k);
		done += k;
		skip = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, int n, size_t skip, const void *buf, size_t len)
{
	size_t done = 0;
	for (int i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - skip;
		if (k > len - done)
			k = len - done;
		memcpy((char *)iov[i].iov_base + skip, (const char *)buf + done, k);
		done += k;
		skip = 0;
	}
	return done;
}

int iov_slice(const struct iovec *src, int n, size_t skip, size_t len, struct iovec *dst)
{
	int k = 0;
	for (int i = 0; i < n && len; i++) {
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		size_t part = src[i].iov_len - skip;
		if (part > len)
			part = len;
		dst[k++] = (struct iovec){(char *)src[i].iov_base + skip, part};
		len -= part;
		skip = 0;
	}
	return k;
}
