/* keylog.h: the TLS key logs of `node -keylog` nodes, fetched over SSH when
 * the lab saves an export, so that its Decryption Secrets Block lets
 * Wireshark decrypt the TLS in the file with no extra step.
 *
 * On a -keylog node, /init exports SSLKEYLOGFILE=IMAGE_KEYLOG_FILE to the
 * -run commands and `exec` sets it for its commands; programs that honour it
 * (curl, NSS, GnuTLS; openssl s_client/s_server with -keylogfile) append
 * NSS key log lines there. */
#ifndef CAPLAB_KEYLOG_H
#define CAPLAB_KEYLOG_H

struct engine;

/* text: every -keylog node's log, in lab order, each ending in a newline
 * (malloc'd, the callee owns it), or NULL when no node logged anything.
 * Nodes that are not running or whose fetch fails are named in a message;
 * the save goes on without their secrets. */
typedef void (*keylog_done_fn)(char *text, void *arg);

/* Reads the key log of every -keylog node (`cat` over its SSH session, all
 * nodes at once) and calls done on the loop, never before returning. */
void keylog_collect(struct engine *e, keylog_done_fn done, void *arg);

/* Lab has at least one -keylog node. */
int keylog_wanted(struct engine *e);

#endif
