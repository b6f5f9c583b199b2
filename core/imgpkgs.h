/* imgpkgs.h: what a guest image takes from unpacked Debian packages: the
 * files of the packages a node asked for (without docs, man pages, locales),
 * the shared libraries their programs need (DT_NEEDED, followed through the
 * whole dependency closure), and the accounts and directories their
 * maintainer scripts would have made (maintainer scripts never run). Used
 * by image.c; paths follow Debian's merged /usr (bin -> usr/bin ...). */
#ifndef CAPLAB_IMGPKGS_H
#define CAPLAB_IMGPKGS_H

#include "deb.h"
#include "initramfs.h"
#include "util.h"

/* Adds to fs: the selected packages' files, their library closure found in
 * the unpacked closure (dirs[i] is the unpacked dir of closure->v[i]),
 * /etc/passwd, group, shadow with system users, /etc/caplab/rundirs.
 * report gets one line per package taken whole ("NAME VERSION") and a
 * "warning: ..." line for libraries found nowhere in the closure. */
int imgpkgs_fill(struct initramfs *fs, const struct deb_list *closure, char *const *dirs,
		 char *const *requested, size_t n_requested, struct buf *report, char *err);

/* /etc/passwd, group, shadow with Debian's static base accounts only. */
void imgpkgs_add_base_accounts(struct initramfs *fs);

/* "bin/x" -> "usr/bin/x" (also sbin, lib, lib64); other paths unchanged.
 * Also folds "." and ".." components. malloc'd. */
char *imgpkgs_usr_merge(const char *rel);

#endif
