/* runtime.h: where a running lab keeps its files, and the user's cache.
 * Runtime dir: $XDG_RUNTIME_DIR/caplab/LAB-PID (fallback /tmp/caplab-UID/LAB-PID),
 * mode 0700, removed when the lab ends. Cache: $XDG_CACHE_HOME/caplab
 * (default ~/.cache/caplab). */
#ifndef CAPLAB_RUNTIME_H
#define CAPLAB_RUNTIME_H

/* Creates the runtime dir for lab `name`; returns its malloc'd path. */
char *runtime_dir_create(const char *lab_name, char *err);
/* Removes it (and everything in it). */
void runtime_dir_remove(const char *path);
/* The base under which every lab's runtime dir lives (malloc'd). */
char *runtime_base(void);
/* $XDG_CACHE_HOME/caplab or ~/.cache/caplab (malloc'd); created on demand. */
char *cache_dir(char *err);

#endif
