/* image.h: the guest's kernel and initramfs, built from Debian packages and
 * cached by content hash under $XDG_CACHE_HOME/caplab (see deb.h).
 *
 * An image is a concatenation of uncompressed cpio (newc) layers, which the
 * kernel's initramfs loader unpacks in order (a later entry replaces an
 * earlier one of the same path):
 *   base  busybox (applets as symlinks), /init (assets/init), kernel modules
 *         for virtio net/console/vsock + fw_cfg loaded at boot, a lean set of
 *         net modules loadable later by name (modprobe; modules.dep is made
 *         here), minimal /etc.
 *   pkgs  the requested packages (docs, man pages, locales left out), the
 *         shared-library closure of their ELF files (DT_NEEDED), system users
 *         and directories their maintainer scripts would create.
 * Per-node settings are not in the image: they go in a small file that QEMU
 * passes with -fw_cfg and /init reads (image_write_node_config). */
#ifndef CAPLAB_IMAGE_H
#define CAPLAB_IMAGE_H

#include <stddef.h>

#define IMAGE_PATH_MAX 4096

struct image_req {
	const char *cache_dir;          /* NULL: $XDG_CACHE_HOME/caplab, ~/.cache/caplab */
	char *const *packages;          /* the node's -packages */
	size_t n_packages;
	char *const *base_packages;     /* in every image, e.g. openssh-server socat */
	size_t n_base_packages;
	const char *assets_dir;         /* NULL: $CAPLAB_ASSETS, else assets/ next to or
	                                   above the executable, else CAPLAB_DATADIR/assets */
	int offline;                    /* never download; name what is missing */
};

/* Fixed-size so a builder child process can hand it back through a pipe. */
struct image_out {
	char kernel[IMAGE_PATH_MAX];    /* vmlinuz, for qemu -kernel */
	char initrd[IMAGE_PATH_MAX];    /* images/HASH.cpio, for qemu -initrd */
	char kernel_version[128];       /* "6.1.0-NN-cloud-amd64" */
	char hash[65];
	int built;                      /* 1: this call wrote a layer or the image; 0: all cached */
	long long size;                 /* bytes of the initrd */
};

/* Short human lines: "fetching 12 packages", "unpacking curl", "writing image 23 MB". */
typedef void (*image_progress_fn)(const char *line, void *arg);

/* Resolves, fetches, unpacks and writes what is missing; synchronous (run it
 * in a child process when a loop must stay responsive). Two processes may
 * build at once: the cache takes a lock and files appear by rename. An
 * unknown package fails before anything is downloaded, naming it. */
int image_prepare(const struct image_req *req, struct image_out *out, image_progress_fn progress,
		  void *arg, char *err);

/* The cache directory used when req->cache_dir is NULL (malloc'd). */
char *image_default_cache_dir(void);

/* For `caplab doctor`: 0 and a line in msg when the guest kernel is cached or
 * fetchable ("guest kernel 6.1.0-NN-cloud-amd64 cached"), else -1 with err
 * saying what to do. Does not download. */
int image_doctor(const char *cache_dir, char *msg, size_t msglen, char *err);

struct image_iface {
	const char *name;   /* lab name: eth0, wan0 */
	const char *mac;    /* 52:54:00:..; the NIC with this MAC gets the name */
	const char *addr;   /* "10.0.0.1/24", or NULL/"" for none */
};

struct image_file {
	const char *path;    /* absolute path in the guest */
	const char *content; /* text */
	int mode;            /* e.g. 0600 */
};

struct image_node_cfg {
	const char *hostname;
	const char *token;                 /* printed as "caplab-ready TOKEN" */
	const struct image_iface *ifaces;
	size_t n_ifaces;
	char *const *run;                  /* -run commands: sh -c, background, in order */
	size_t n_run;
	char *const *pre_ready;            /* sh -c, foreground, before readiness (sshd) */
	size_t n_pre_ready;
	const struct image_file *files;    /* written before anything runs (keys) */
	size_t n_files;
	const char *keylog;                /* node -keylog: SSLKEYLOGFILE of the -run
	                                      commands (IMAGE_KEYLOG_FILE), or NULL */
};

/* Where a -keylog node's TLS programs log their secrets (NSS key log
 * format); `save` reads it back over SSH for the pcapng's DSB. */
#define IMAGE_KEYLOG_FILE "/var/lib/caplab/keylog.txt"

/* Writes the node's settings to path (a shell file of single-quoted
 * assignments that /init sources; any byte but NUL survives). QEMU gets it
 * with: -fw_cfg <image_fw_cfg_arg(path)>, i.e.
 *   -fw_cfg name=opt/caplab/config,file=PATH     (commas in PATH doubled)
 * on both microvm and pc; the guest needs nothing on the command line. */
int image_write_node_config(const struct image_node_cfg *cfg, const char *path, char *err);
char *image_fw_cfg_arg(const char *path);

#endif
