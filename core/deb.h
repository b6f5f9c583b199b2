/* deb.h: Debian packages for guests, fetched and unpacked as an ordinary
 * user into caplab's cache; nothing is ever installed on the host.
 *
 * Resolution asks the host's apt (its package lists, read-only) what a set of
 * names needs, as if nothing were installed (`apt-get -s install` with
 * Dir::State::status=/dev/null); downloads use `apt-get download` in a
 * private directory; unpacking is libarchive, in process. Layout under the
 * cache dir: debs/NAME_VERSION_ARCH.deb, unpacked/NAME_VERSION_ARCH/{root/,
 * control, postinst}, resolved/SHA.txt (the last resolution of a name set,
 * which lets an offline machine without apt lists rebuild from the cache). */
#ifndef CAPLAB_DEB_H
#define CAPLAB_DEB_H

#include <stddef.h>

struct deb_pkg {
	char *name;
	char *version;
	char *arch;
};

struct deb_list {
	struct deb_pkg *v;
	size_t n;
};

typedef void (*deb_progress_fn)(const char *line, void *arg);

/* 0 when the host has apt package lists (apt-get update has run). */
int deb_lists_present(char *err);
/* Every name must be a package apt can install (a candidate version);
 * else -1 naming the first unknown one(s). Needs the apt lists. */
int deb_check_packages(char *const *names, size_t n, char *err);
/* The dependency closure of names (Recommends off), exact versions. A
 * resolution is saved and reused while the host's apt lists are unchanged
 * (so a warm start runs no apt at all); a new one first checks the names
 * (deb_check_packages). Without apt lists, the saved one is used if any.
 * Resolution never touches the network. */
int deb_resolve(const char *cache_dir, char *const *names, size_t n, struct deb_list *out,
		char *err);
/* Downloads the .debs of pkgs not yet in cache_dir/debs. offline: fails
 * naming every missing file instead. */
int deb_fetch(const char *cache_dir, const struct deb_list *pkgs, int offline,
	      deb_progress_fn progress, void *arg, char *err);
/* Unpacks once into cache_dir/unpacked/ID; returns that directory (malloc'd).
 * Safe against concurrent callers (unpack to a temp dir, then rename). */
char *deb_unpack(const char *cache_dir, const struct deb_pkg *p, char *err);

/* "name_version_arch" with ':' as %3a, as apt-get download names files. */
char *deb_id(const struct deb_pkg *p);
const struct deb_pkg *deb_list_find(const struct deb_list *l, const char *name);
void deb_list_add(struct deb_list *l, const char *name, const char *version, const char *arch);
void deb_list_free(struct deb_list *l);

#endif
