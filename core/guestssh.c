/* guestssh.c: the guest side of caplab's SSH (see guestssh.h). */
#include "guestssh.h"
#include "util.h"

/* Why each line: key-only root login; nothing that needs PAM, DNS, a motd,
 * lastlog or the user's agent; StrictModes off because image files may not
 * be owned by root when built by an ordinary user; MaxSessions high because
 * caplab multiplexes every exec of a node on one connection; curve25519 and
 * aes128-gcm because they are the fastest pair libssh and OpenSSH share. */
static const char config_fmt[] =
	"# caplab: sshd -i per vsock connection (written by caplab)\n"
	"HostKey %s\n"
	"AuthorizedKeysFile %s\n"
	"PermitRootLogin prohibit-password\n"
	"PubkeyAuthentication yes\n"
	"PasswordAuthentication no\n"
	"KbdInteractiveAuthentication no\n"
	"PermitEmptyPasswords no\n"
	"UsePAM no\n"
	"UseDNS no\n"
	"StrictModes no\n"
	"Compression no\n"
	"MaxSessions 1024\n"
	"PrintMotd no\n"
	"PrintLastLog no\n"
	"X11Forwarding no\n"
	"AllowAgentForwarding no\n"
	"PermitUserEnvironment no\n"
	"HostKeyAlgorithms ssh-ed25519\n"
	"KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org\n"
	"Ciphers aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr\n"
	"LogLevel ERROR\n"
	"Subsystem sftp internal-sftp\n";

char *guestssh_sshd_config(const char *host_key, const char *authorized_keys)
{
	return xasprintf(config_fmt, host_key, authorized_keys);
}

size_t guestssh_files(const struct lab_keys *k, struct image_file files[GUESTSSH_NFILES],
		      char **config_text)
{
	*config_text = guestssh_sshd_config(GUESTSSH_HOST_KEY, GUESTSSH_AUTHORIZED_KEYS);
	files[0] = (struct image_file){GUESTSSH_HOST_KEY, k->host_private, 0600};
	files[1] = (struct image_file){GUESTSSH_AUTHORIZED_KEYS, k->client_public, 0600};
	files[2] = (struct image_file){GUESTSSH_CONFIG, *config_text, 0644};
	return GUESTSSH_NFILES;
}

const char *guestssh_listen_command(void)
{
	return "mkdir -p /run/sshd && chmod 0755 /run/sshd && "
	       "{ socat VSOCK-LISTEN:22,fork "
	       "EXEC:'/usr/sbin/sshd -i -e -f " GUESTSSH_CONFIG "',nofork "
	       "</dev/null >/dev/console 2>&1 & }";
}
