/* ssh_int.h: what ssh.c (sessions), sshchan.c (execs, shells) and
 * sshcopy.c (SFTP copies on worker threads) share; other modules use ssh.h
 * only. */
#ifndef CAPLAB_SSH_INT_H
#define CAPLAB_SSH_INT_H

#include "ssh.h"
#include "keys.h"
#include "sftpcopy.h"
#include "util.h"

#include <libssh/libssh.h>
#include <pthread.h>
#include <stdatomic.h>

#define DEFAULT_TIMEOUT 30.0

enum phase { PH_DIALING, PH_HANDSHAKE, PH_AUTH, PH_READY, PH_FAILED };

struct sshc {
	char *node, *user, *vsock_path;
	const struct lab_keys *keys;
	struct sshc_dialer dialer;
	double timeout;
	sshc_state_fn state_fn;
	void *arg;
	enum phase phase;
	void *dial;
	uint64_t deadline, kick;
	int fd;
	ssh_session s;
	ssh_event ev;
	ssh_key client_key, host_key;
	struct sshc_chan *chans;
	struct sshc_copy *copies;
	int depth, dying;
	char *failure;
};

struct sshc_copy {
	struct sshc *c;
	struct sshc_copy *next;
	int upload;
	char *src, *dst;
	sshc_copy_fn done;
	void *arg;
	void *dial;
	int fd, efd, started;
	pthread_t thread;
	atomic_int cancel;
	/* the worker's own copies, so it shares nothing mutable with the loop */
	char *node, *user, *client_private, *host_public, *known_hosts, *key_dir;
	struct sftpcopy cx;
	int rc;
	char err[CL_ERRBUF];
};

/* A configured session on an open fd (our own options only: no ssh_config,
 * no ~/.ssh); NULL with err. */
ssh_session sshc_session_new(const char *node, const char *user, const char *key_dir,
			     const char *known_hosts, int fd, char *err);
int sshc_import_keys(const char *client_private, const char *host_public, ssh_key *client,
		     ssh_key *host, char *err);
/* The server's key must be the lab's pinned host key. */
int sshc_verify_host(ssh_session s, ssh_key pinned, const char *node, char *err);
/* Why publickey authentication failed, for messages. */
const char *sshc_auth_error(int rc);
/* ssh.c: the one place libssh runs for a connection, and asking for it
 * from the loop soon (after an API call). */
void sshc_pump(struct sshc *c);
void sshc_kick(struct sshc *c);
/* After a callback run outside sshc_pump (a timer) that may have called
 * sshc_free: frees c then. */
void sshc_settle(struct sshc *c);

/* sshchan.c, for ssh.c: the channels of c. release: libssh's side goes
 * (the session is going); end: each not yet ended reports -1 with msg
 * (kill: its remote process group is killed first; without kill, stops
 * once c is being freed); step: advance each (from sshc_pump); sweep: free
 * the ended ones. */
void sshc_chans_release(struct sshc *c);
void sshc_chans_end(struct sshc *c, const char *msg, int kill);
void sshc_chans_step(struct sshc *c);
void sshc_chans_sweep(struct sshc *c);

/* Ends a copy (its worker is told and joined) without calling back. */
void sshc_copy_stop(struct sshc_copy *cp);

#endif
