/* kmod.h: which guest kernel modules an image carries. The boot set
 * (virtio, vsock, fw_cfg) is loaded by /init in the order of
 * etc/caplab/modules.boot; the extras (bridges, tunnels, netem, nftables,
 * ...) are there for `modprobe NAME` in -run commands. */
#ifndef CAPLAB_KMOD_H
#define CAPLAB_KMOD_H

#include "initramfs.h"
#include "util.h"

/* Adds the modules of kernel kver unpacked under kroot (lib/modules/KVER)
 * to fs, with usr/lib/modules/KVER/modules.dep and etc/caplab/modules.boot;
 * -1 with err when a boot module is missing. */
int kmod_add(struct initramfs *fs, const char *kroot, const char *kver, char *err);
/* The module lists as text, for the hash that keys an image layer. */
void kmod_describe(struct buf *b);

#endif
