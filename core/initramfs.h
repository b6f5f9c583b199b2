/* initramfs.h: one initramfs layer, collected as a list of entries and
 * written as an uncompressed cpio (newc) archive with libarchive. Paths are
 * relative to the guest's / (no leading slash); everything is owned by root.
 * When a path is added twice the last one wins, as when the kernel unpacks
 * concatenated archives. Missing parent directories are added (0755). */
#ifndef CAPLAB_INITRAMFS_H
#define CAPLAB_INITRAMFS_H

#include <stddef.h>
#include <sys/types.h>

struct initramfs;

struct initramfs *initramfs_new(void);
void initramfs_free(struct initramfs *fs);

/* A copy of the file, directory or symlink at src (lstat: links stay links). */
int initramfs_add_path(struct initramfs *fs, const char *path, const char *src, char *err);
void initramfs_add_dir(struct initramfs *fs, const char *path, mode_t perm);
void initramfs_add_data(struct initramfs *fs, const char *path, mode_t perm, const void *data,
			size_t len);
void initramfs_add_symlink(struct initramfs *fs, const char *path, const char *target);
void initramfs_add_chardev(struct initramfs *fs, const char *path, mode_t perm, unsigned major,
			   unsigned minor);
int initramfs_has(const struct initramfs *fs, const char *path);
size_t initramfs_count(const struct initramfs *fs);

/* Writes the archive to path (via a temp file and rename). */
int initramfs_write(struct initramfs *fs, const char *path, long long *bytes, char *err);

#endif
