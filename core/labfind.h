/* labfind.h: finding a running lab from another caplab process (caplab ssh,
 * caplab ctl). A running lab is a runtime dir RUNTIME_BASE/NAME-PID whose
 * PID is alive; what a client needs from it is one socket file in that dir
 * (NODE.vsock, control). */
#ifndef CAPLAB_LABFIND_H
#define CAPLAB_LABFIND_H

#include "util.h"

struct labfind {
	int found;        /* running labs that match and have the file */
	int idle;         /* running labs that match but lack it (starting, stopping) */
	struct buf names; /* runtime dir names of the found ones, ", "-separated */
	char *first;      /* path of the first found runtime dir (malloc'd), or NULL */
};

/* Scans base for running labs matching lab (NULL: any; a lab name "two" or
 * a runtime dir name "two-4242") and sorts them by whether `file` is a
 * socket in their runtime dir. Fills *m; free it with labfind_clear(). */
void labfind_scan(const char *base, const char *lab, const char *file, struct labfind *m);
void labfind_clear(struct labfind *m);

#endif
