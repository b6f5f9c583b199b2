/* export.h: `save` — captures merged by time into one pcapng (or one classic
 * pcap per capture), plus a FILE.json manifest.
 *
 * The pcapng has a section header whose comment is the provenance (lab,
 * sha256 of lab file and scripts, host OS, qemu version, guest kernel), one
 * IDB per captured link and capture (if_name "a:eth0", if_description,
 * if_filter, ns resolution), the packets of all captures in time order with
 * their direction and label, and an Interface Statistics Block per IDB at
 * the end (received, dropped, accepted by the filter).
 * When the lab has `node -keylog` nodes, `save` first fetches their TLS key
 * logs over SSH (keylog.h); the pcapng then has a Decryption Secrets Block
 * with them, before the packets, so Wireshark decrypts with no extra step.
 *
 * export_write() only reads spool files and writes the outputs: it touches
 * neither the loop nor the engine, so `save` runs it on a worker thread. */
#ifndef CAPLAB_EXPORT_H
#define CAPLAB_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "cmd.h"

struct cmd_ctx;

/* A snapshot of one capture, taken on the loop (strings owned by the req). */
struct export_cap {
	char *name, *filter, *spool_path;
	uint64_t spool_limit; /* read blocks that start before this offset */
	uint64_t start_ns, stop_ns;
	struct capture_counters total;
	struct capture_counters *links; /* per link, in spool interface order */
	int nlinks;
};

struct export_req {
	char *path;        /* output file (absolute, or relative to the cwd) */
	int pcap;          /* 1: one classic pcap per capture */
	char *lab;         /* lab name */
	char *provenance;  /* SHB comment */
	char *host_os;     /* SHB shb_os */
	char *tls_keylog;  /* NSS key log text for a DSB, or NULL */
	struct export_cap *caps;
	int ncaps;
	struct capture_label_mark *marks; /* label strings owned by the req */
	int nmarks;
};

struct export_result {
	uint64_t packets;
	char sha256[65]; /* of the pcapng (pcapng format) */
	char manifest[4096];
};

/* Takes a snapshot of the named captures (all when n == 0), after draining
 * them so that everything captured so far is in their spools. NULL with err
 * when a name is unknown. */
struct export_req *export_snapshot(const char *path, int pcap, char **names, int n, char *err);
void export_req_free(struct export_req *req);

/* Writes the export and its manifest. Thread-safe (files only). */
int export_write(const struct export_req *req, struct export_result *res, char *err);

/* save [-format pcapng|pcap] FILE [CAPTURE...]: relative FILE is relative to
 * engine_out_dir(); runs export_write on a worker thread. */
enum cmd_ret export_cmd_save(struct cmd *cmd, struct cmd_ctx *ctx);

#endif
