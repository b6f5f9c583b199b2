/* elfscan.h: the two facts caplab needs from ELF files when it builds a guest
 * image: which shared libraries a program needs (DT_NEEDED, PT_INTERP) and
 * what a kernel module's .modinfo says (its "depends=" list). 64-bit
 * little-endian only (the guest is x86_64). */
#ifndef CAPLAB_ELFSCAN_H
#define CAPLAB_ELFSCAN_H

#include <stddef.h>

struct elf_deps {
	char **needed;   /* DT_NEEDED sonames, in file order */
	size_t n_needed;
	char *interp;    /* PT_INTERP path or NULL */
};

/* 1 if path is an ELF file (by magic), 0 if not or unreadable. */
int elf_is_elf(const char *path);
/* Fills deps for an ELF file; a non-ELF or static file gives empty deps and
 * returns 0. Returns -1 only for a damaged ELF or an I/O error. */
int elf_read_deps(const char *path, struct elf_deps *deps, char *err);
void elf_deps_free(struct elf_deps *deps);
/* Value of KEY in a kernel module's .modinfo section ("depends", "name"...),
 * malloc'd; "" when the key is absent; NULL with err set on a bad file. */
char *elf_modinfo(const char *path, const char *key, char *err);

#endif
