/* keys.c: per-lab SSH keys with libssh's pki functions (see keys.h). */
#include "keys.h"
#include "util.h"

#include <errno.h>
#include <libssh/libssh.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct lab_keys *keys_alloc(const char *rundir)
{
	struct lab_keys *k = xcalloc(1, sizeof *k);
	k->dir = xasprintf("%s/keys", rundir);
	k->host_key_path = xasprintf("%s/host", k->dir);
	k->client_key_path = xasprintf("%s/client", k->dir);
	k->known_hosts_path = xasprintf("%s/known_hosts", k->dir);
	return k;
}

void keys_free(struct lab_keys *k)
{
	if (!k)
		return;
	free(k->dir);
	free(k->host_key_path);
	free(k->client_key_path);
	free(k->known_hosts_path);
	free(k->host_private);
	free(k->host_public);
	free(k->client_private);
	free(k->client_public);
	free(k);
}

/* One fresh ed25519 pair as (private OpenSSH text, public line). */
static int generate_pair(const char *comment, char **priv, char **pub, char *err)
{
	ssh_key key = NULL;
	char *b64 = NULL, *pem = NULL;
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
		return cl_err(err, "cannot generate an ed25519 ssh key (libssh)");
	int rc = -1;
	if (ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &pem) != SSH_OK ||
	    ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		cl_err(err, "cannot export an ed25519 ssh key (libssh)");
		goto out;
	}
	*priv = xstrdup(pem);
	*pub = xasprintf("ssh-ed25519 %s %s", b64, comment);
	rc = 0;
out:
	ssh_string_free_char(b64);
	ssh_string_free_char(pem);
	ssh_key_free(key);
	return rc;
}

static int write_text(const char *path, const char *text, int mode, char *err)
{
	return write_file(path, text, strlen(text), mode, err);
}

static int write_keys(const struct lab_keys *k, char *err)
{
	char *pub = xasprintf("%s\n", k->client_public);
	char *kh = xasprintf("* %s\n", k->host_public);
	char *pubpath = xasprintf("%s.pub", k->client_key_path);
	int rc = (write_text(k->host_key_path, k->host_private, 0600, err) < 0 ||
		  write_text(k->client_key_path, k->client_private, 0600, err) < 0 ||
		  write_text(pubpath, pub, 0644, err) < 0 || write_text(k->known_hosts_path, kh, 0644, err) < 0)
		     ? -1
		     : 0;
	free(pub);
	free(kh);
	free(pubpath);
	return rc;
}

struct lab_keys *keys_create(const char *rundir, char *err)
{
	struct lab_keys *k = keys_alloc(rundir);
	if (mkdir(k->dir, 0700) < 0 && errno != EEXIST) {
		cl_err(err, "cannot create key directory '%s': %s", k->dir, strerror(errno));
		goto fail;
	}
	if (chmod(k->dir, 0700) < 0) {
		cl_err(err, "cannot make '%s' private: %s", k->dir, strerror(errno));
		goto fail;
	}
	if (generate_pair("caplab-host", &k->host_private, &k->host_public, err) < 0 ||
	    generate_pair("caplab", &k->client_private, &k->client_public, err) < 0 || write_keys(k, err) < 0)
		goto fail;
	return k;
fail:
	keys_free(k);
	return NULL;
}

/* "ssh-ed25519 AAAA... comment" of a private key text. */
static char *public_line_of(const char *priv, const char *comment, char *err)
{
	ssh_key key = NULL;
	char *b64 = NULL, *line = NULL;
	if (ssh_pki_import_privkey_base64(priv, NULL, NULL, NULL, &key) == SSH_OK &&
	    ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK)
		line = xasprintf("ssh-ed25519 %s %s", b64, comment);
	else
		cl_err(err, "cannot read a caplab ssh key: the lab's key files are damaged; restart the lab");
	ssh_string_free_char(b64);
	ssh_key_free(key);
	return line;
}

struct lab_keys *keys_load(const char *rundir, char *err)
{
	struct lab_keys *k = keys_alloc(rundir);
	if (!(k->host_private = read_file(k->host_key_path, NULL, err)) ||
	    !(k->client_private = read_file(k->client_key_path, NULL, err)) ||
	    !(k->host_public = public_line_of(k->host_private, "caplab-host", err)) ||
	    !(k->client_public = public_line_of(k->client_private, "caplab", err))) {
		keys_free(k);
		return NULL;
	}
	return k;
}

char *keys_line_blob(const char *line)
{
	const char *sp = strchr(line, ' ');
	if (!sp || !sp[1])
		return NULL;
	sp++;
	size_t n = strcspn(sp, " \n");
	return n ? xstrndup(sp, n) : NULL;
}
