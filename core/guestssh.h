/* guestssh.h: what a node needs to serve SSH on vsock port 22.
 *
 * The guest runs Debian's OpenSSH sshd in inetd mode, one per connection,
 * with the vsock stream as its stdin/stdout:
 *   socat VSOCK-LISTEN:22,fork EXEC:'/usr/sbin/sshd -i -e -f CONFIG',nofork
 * (nofork: the accepted socket is sshd's stdin/stdout, no relay process).
 * Needs in the image: packages openssh-server and socat; /etc/passwd with
 * root (an existing shell, e.g. /bin/sh; password field not starting with
 * '!') and the privilege separation user sshd (home /run/sshd, shell
 * /usr/sbin/nologin); /run/sshd (0755, root) — the listen command creates it.
 * Per node (the files below, through image_node_cfg.files): the lab's host
 * private key, root's authorized key (the lab's client public key) and the
 * sshd configuration. No other secret enters a guest. */
#ifndef CAPLAB_GUESTSSH_H
#define CAPLAB_GUESTSSH_H

#include "image.h"
#include "keys.h"

#define GUESTSSH_PORT 22
#define GUESTSSH_CONFIG "/etc/ssh/sshd_config_caplab"
#define GUESTSSH_HOST_KEY "/etc/ssh/caplab/ssh_host_ed25519_key"
#define GUESTSSH_AUTHORIZED_KEYS "/etc/ssh/caplab/authorized_keys"
#define GUESTSSH_NFILES 3
/* Debian packages every image needs for this (image_req.base_packages). */
#define GUESTSSH_BASE_PACKAGES "openssh-server", "socat"

/* sshd_config text for the given host key and authorized_keys paths
 * (malloc'd). Tests run the same text with their own paths. */
char *guestssh_sshd_config(const char *host_key, const char *authorized_keys);

/* Fills files[] with the host key (0600), authorized_keys (0600) and the
 * sshd config (0644); contents point into k and *config_text, which the
 * caller frees after writing the node config. Returns GUESTSSH_NFILES. */
size_t guestssh_files(const struct lab_keys *k, struct image_file files[GUESTSSH_NFILES],
		      char **config_text);

/* The shell command (for image_node_cfg.pre_ready) that creates /run/sshd
 * and starts the vsock listener in the background; sshd's errors go to the
 * console log. */
const char *guestssh_listen_command(void);

#endif
