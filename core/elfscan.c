/* elfscan.c: DT_NEEDED/PT_INTERP of programs and .modinfo of kernel modules
 * (named elfscan, not elf: a core/elf.h would shadow the system <elf.h>),
 * read from a read-only mapping with every offset bounds-checked (the files
 * come from downloaded packages, so they are input, not trusted). */
#include "elfscan.h"
#include "util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct map {
	const unsigned char *p;
	size_t len;
};

static int map_open(const char *path, struct map *m, char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cl_err(err, "cannot open '%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		m->p = NULL;
		m->len = 0;
		return 0;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return cl_err(err, "cannot map '%s': %s", path, strerror(errno));
	m->p = p;
	m->len = (size_t)st.st_size;
	return 0;
}

static void map_close(struct map *m)
{
	if (m->p)
		munmap((void *)m->p, m->len);
}

static int in_bounds(const struct map *m, uint64_t off, uint64_t size)
{
	return off <= m->len && size <= m->len - off;
}

/* The ELF header if this is a 64-bit little-endian ELF, else NULL. */
static const Elf64_Ehdr *elf_header(const struct map *m)
{
	if (m->len < sizeof(Elf64_Ehdr) || memcmp(m->p, ELFMAG, SELFMAG))
		return NULL;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->p;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return NULL;
	return eh;
}

int elf_is_elf(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char magic[SELFMAG];
	ssize_t n = read(fd, magic, sizeof magic);
	close(fd);
	return n == SELFMAG && !memcmp(magic, ELFMAG, SELFMAG);
}

static const Elf64_Shdr *section(const struct map *m, const Elf64_Ehdr *eh, unsigned i)
{
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || i >= eh->e_shnum)
		return NULL;
	uint64_t off = eh->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr);
	if (!in_bounds(m, off, sizeof(Elf64_Shdr)))
		return NULL;
	return (const Elf64_Shdr *)(m->p + off);
}

/* A NUL-terminated string at off inside section sh, or NULL. */
static const char *section_str(const struct map *m, const Elf64_Shdr *sh, uint64_t off)
{
	if (!sh || off >= sh->sh_size || !in_bounds(m, sh->sh_offset, sh->sh_size))
		return NULL;
	const char *s = (const char *)m->p + sh->sh_offset + off;
	if (!memchr(s, '\0', sh->sh_size - off))
		return NULL;
	return s;
}

static void add_needed(struct elf_deps *d, const char *name)
{
	d->needed = xrealloc(d->needed, (d->n_needed + 1) * sizeof *d->needed);
	d->needed[d->n_needed++] = xstrdup(name);
}

static int read_dynamic(const struct map *m, const Elf64_Ehdr *eh, const Elf64_Shdr *dyn,
			struct elf_deps *d)
{
	const Elf64_Shdr *strtab = section(m, eh, dyn->sh_link);
	if (!strtab || !in_bounds(m, dyn->sh_offset, dyn->sh_size))
		return -1;
	const Elf64_Dyn *e = (const Elf64_Dyn *)(m->p + dyn->sh_offset);
	size_t n = dyn->sh_size / sizeof *e;
	for (size_t i = 0; i < n && e[i].d_tag != DT_NULL; i++) {
		if (e[i].d_tag != DT_NEEDED)
			continue;
		const char *s = section_str(m, strtab, e[i].d_un.d_val);
		if (!s)
			return -1;
		add_needed(d, s);
	}
	return 0;
}

static void read_interp(const struct map *m, const Elf64_Ehdr *eh, struct elf_deps *d)
{
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		uint64_t off = eh->e_phoff + (uint64_t)i * sizeof(Elf64_Phdr);
		if (!in_bounds(m, off, sizeof(Elf64_Phdr)))
			return;
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(m->p + off);
		if (ph->p_type != PT_INTERP || !in_bounds(m, ph->p_offset, ph->p_filesz))
			continue;
		const char *s = (const char *)m->p + ph->p_offset;
		if (ph->p_filesz && memchr(s, '\0', ph->p_filesz))
			d->interp = xstrdup(s);
	}
}

int elf_read_deps(const char *path, struct elf_deps *d, char *err)
{
	memset(d, 0, sizeof *d);
	struct map m;
	if (map_open(path, &m, err) < 0)
		return -1;
	const Elf64_Ehdr *eh = elf_header(&m);
	int rc = 0;
	for (unsigned i = 0; eh && i < eh->e_shnum && rc == 0; i++) {
		const Elf64_Shdr *sh = section(&m, eh, i);
		if (!sh)
			rc = -1;
		else if (sh->sh_type == SHT_DYNAMIC)
			rc = read_dynamic(&m, eh, sh, d);
	}
	if (eh && rc == 0)
		read_interp(&m, eh, d);
	map_close(&m);
	if (rc < 0) {
		elf_deps_free(d);
		return cl_err(err, "damaged ELF file '%s'", path);
	}
	return 0;
}

void elf_deps_free(struct elf_deps *d)
{
	for (size_t i = 0; i < d->n_needed; i++)
		free(d->needed[i]);
	free(d->needed);
	free(d->interp);
	memset(d, 0, sizeof *d);
}

static const Elf64_Shdr *find_section(const struct map *m, const Elf64_Ehdr *eh, const char *name)
{
	const Elf64_Shdr *names = section(m, eh, eh->e_shstrndx);
	for (unsigned i = 0; names && i < eh->e_shnum; i++) {
		const Elf64_Shdr *sh = section(m, eh, i);
		const char *s = sh ? section_str(m, names, sh->sh_name) : NULL;
		if (s && !strcmp(s, name))
			return in_bounds(m, sh->sh_offset, sh->sh_size) ? sh : NULL;
	}
	return NULL;
}

/* .modinfo is a sequence of "key=value\0" strings. */
static char *modinfo_lookup(const char *p, size_t len, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < len;) {
		const char *s = p + i;
		size_t n = strnlen(s, len - i);
		if (n > klen && s[klen] == '=' && !strncmp(s, key, klen))
			return xstrndup(s + klen + 1, n - klen - 1);
		i += n + 1;
	}
	return xstrdup("");
}

char *elf_modinfo(const char *path, const char *key, char *err)
{
	struct map m;
	if (map_open(path, &m, err) < 0)
		return NULL;
	const Elf64_Ehdr *eh = elf_header(&m);
	const Elf64_Shdr *sh = eh ? find_section(&m, eh, ".modinfo") : NULL;
	char *v = NULL;
	if (sh)
		v = modinfo_lookup((const char *)m.p + sh->sh_offset, sh->sh_size, key);
	else
		cl_err(err, "'%s' is not a kernel module (no .modinfo section)", path);
	map_close(&m);
	return v;
}
