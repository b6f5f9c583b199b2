/* sftpcopy.h: recursive file copies over libssh's (blocking) SFTP.
 *
 * Runs in a worker thread on a session of its own (see ssh.c); nothing here
 * touches the event loop. Files and directories, modes and modification
 * times kept, symlinks copied as symlinks. A destination that is an existing
 * directory, or ends in '/', receives the source's basename (cp -r). */
#ifndef CAPLAB_SFTPCOPY_H
#define CAPLAB_SFTPCOPY_H

#include <libssh/libssh.h>
#include <stdatomic.h>
#include <stdint.h>

struct sftpcopy {
	const atomic_int *cancel; /* checked between chunks */
	uint64_t bytes;           /* file bytes moved so far */
};

/* local → remote on an authenticated session. */
int sftpcopy_put(ssh_session s, const char *local, const char *remote, struct sftpcopy *cx, char *err);
/* remote → local on an authenticated session. */
int sftpcopy_get(ssh_session s, const char *remote, const char *local, struct sftpcopy *cx, char *err);

#endif
