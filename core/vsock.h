/* vsock.h: a userspace vhost-user-vsock backend, one per node, on the event
 * loop (no threads, no /dev/vhost-vsock, no root).
 *
 * QEMU connects to vhost_path with
 *   -object memory-backend-memfd,id=mem,size=256M,share=on
 *   -chardev socket,id=vs,path=VHOST_PATH
 *   -device vhost-user-vsock-pci,chardev=vs       (pc; -numa node,memdev=mem)
 *   -device vhost-user-vsock-device,chardev=vs    (microvm; -machine memory-backend=mem)
 * and the guest gets guest_cid from GET_CONFIG. Host programs reach guest
 * ports the Firecracker "hybrid vsock" way: connect to host_path, write
 * "CONNECT <port>\n", read "OK <hostport>\n", then a raw byte stream; when
 * the guest refuses (or is not up yet) the socket is just closed: retry.
 * A guest connecting to CID 2 port P reaches the unix socket "<host_path>_P"
 * when one listens there, else gets RST.
 *
 * The backend must be listening before QEMU starts (QEMU never reconnects).
 * After QEMU goes away it keeps listening, so a restarted QEMU of the same
 * node may connect again; vsock_dev_free() ends it. */
#ifndef CAPLAB_VSOCK_H
#define CAPLAB_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#define VSOCK_HOST_CID 2

struct vsock_dev;

/* Listens on vhost_path and host_path (both replaced if stale). guest_cid
 * must be >= 3. NULL with err set on failure. */
struct vsock_dev *vsock_dev_new(const char *vhost_path, const char *host_path, uint32_t guest_cid,
				char *err);
/* Closes every socket and connection, unmaps guest memory, removes both
 * socket files. NULL is fine. */
void vsock_dev_free(struct vsock_dev *d);

struct vsock_stats {
	bool qemu_connected; /* a vhost-user front-end is attached */
	bool running;        /* both rings are set up, enabled and kicked */
	int connections;     /* open vsock streams (any state) */
	uint64_t to_guest, to_host;  /* payload bytes moved */
	uint64_t bad_packets;        /* malformed chains or headers dropped */
	char last_error[160];        /* last protocol problem seen, "" if none */
};
void vsock_dev_stats(const struct vsock_dev *d, struct vsock_stats *st);

/* Asynchronous host-side client of a (possibly in-process) backend: connects
 * to host_path, asks for guest port, and calls fn once, on the loop, with a
 * connected raw stream fd (the callee owns it) or with fd -1 and a message
 * (refused, timed out, no backend). Retries refused connections until
 * timeout seconds have passed, as the guest may not listen yet. */
typedef void (*vsock_dial_fn)(int fd, const char *err, void *arg);
struct vsock_dial;
struct vsock_dial *vsock_dial(const char *host_path, uint32_t port, double timeout,
			      vsock_dial_fn fn, void *arg);
/* Abandons a dial that has not called back yet; fn is never called. */
void vsock_dial_cancel(struct vsock_dial *dl);

#endif
