/* keys.h: the SSH keys of one lab run, made fresh in RUNDIR/keys (0700).
 *
 * Two ed25519 pairs: a host key that every node's sshd presents (the guest
 * gets its private half; caplab pins the public half, so there is no
 * trust-on-first-use prompt and no known_hosts outside RUNDIR), and a client
 * key that caplab logs in with (the guest gets its public half as root's
 * authorized key). Nothing from the user's ~/.ssh or agent is read or sent.
 *
 * Files: host (0600), client (0600), client.pub, known_hosts
 * ("* ssh-ed25519 AAAA..." so `ssh -o UserKnownHostsFile=...` works too). */
#ifndef CAPLAB_KEYS_H
#define CAPLAB_KEYS_H

struct lab_keys {
	char *dir;              /* RUNDIR/keys */
	char *host_key_path;    /* host private key, OpenSSH format */
	char *client_key_path;  /* client private key, OpenSSH format */
	char *known_hosts_path; /* pins host_public for any host name */
	char *host_private;     /* text of host_key_path (for the guest only) */
	char *host_public;      /* "ssh-ed25519 AAAA... caplab-host" */
	char *client_private;   /* text of client_key_path */
	char *client_public;    /* "ssh-ed25519 AAAA... caplab" (authorized_keys line) */
};

/* Generates both pairs and writes RUNDIR/keys; NULL with err set on failure. */
struct lab_keys *keys_create(const char *rundir, char *err);
/* Reads the keys a running lab wrote (e.g. for `caplab ssh` in another process). */
struct lab_keys *keys_load(const char *rundir, char *err);
void keys_free(struct lab_keys *k);

/* The base64 blob of a "TYPE BASE64 [COMMENT]" line (malloc'd), NULL if malformed. */
char *keys_line_blob(const char *line);

#endif
