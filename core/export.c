/* export.c: `save`. A k-way merge of the captures' pcapng spools by
 * timestamp into one pcapng (or one pcap per capture via libpcap), then a
 * JSON manifest. Snapshots are taken on the loop; the writing runs on a
 * worker thread so a large save never freezes the lab. */
#include "export.h"

#include <jansson.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/utsname.h>

#include "cmdq.h"
#include "engine.h"
#include "events.h"
#include "keylog.h"
#include "pcapng.h"
#include "util.h"
#include "loop.h"
#include "work.h"

/* One spool being read in the merge. */
struct src {
	const struct export_cap *cap;
	struct pcapng_r *r;
	struct pcapng_rec rec;
	int have;      /* rec holds the next packet */
	uint32_t base; /* its first interface's id in the output */
};

static int src_next(struct src *s, char *err)
{
	int rc = pcapng_read_packet(s->r, &s->rec, err);
	s->have = rc == 1 && s->rec.offset < s->cap->spool_limit;
	return rc < 0 ? -1 : 0;
}

static int src_open(struct src *s, const struct export_cap *cap, char *err)
{
	s->cap = cap;
	s->r = pcapng_r_open(cap->spool_path, err);
	if (!s->r)
		return -1;
	return src_next(s, err); /* primes: every IDB precedes the first packet */
}

/* The source holding the earliest packet, or -1 when all are done. */
static int earliest(const struct src *v, int n)
{
	int best = -1;
	for (int i = 0; i < n; i++)
		if (v[i].have && (best < 0 || v[i].rec.pkt.ts_ns < v[best].rec.pkt.ts_ns))
			best = i;
	return best;
}

/* ---------- label timeline (runs of equal labels, by packet number) ---------- */

struct run {
	char *label; /* NULL: none */
	uint64_t first, last;
};

struct timeline {
	struct run *v;
	int n;
};

static void timeline_add(struct timeline *t, const char *label, uint64_t no)
{
	if (label && !*label)
		label = NULL;
	struct run *r = t->n ? &t->v[t->n - 1] : NULL;
	if (r && ((!r->label && !label) || (r->label && label && strcmp(r->label, label) == 0))) {
		r->last = no;
		return;
	}
	t->v = xrealloc(t->v, sizeof *t->v * (size_t)(t->n + 1));
	t->v[t->n++] = (struct run){label ? xstrdup(label) : NULL, no, no};
}

static void timeline_free(struct timeline *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->v[i].label);
	free(t->v);
}

/* ---------- pcapng ---------- */

static char *idb_description(const struct export_cap *cap, const struct pcapng_idb *in)
{
	return xasprintf("capture %s; %s", cap->name, in->description ? in->description : "");
}

static int write_idbs(struct pcapng_w *w, struct src *v, int n, char *err)
{
	uint32_t next = 0;
	for (int i = 0; i < n; i++) {
		v[i].base = next;
		for (uint32_t k = 0; k < pcapng_r_ifaces(v[i].r); k++) {
			const struct pcapng_idb *in = pcapng_r_iface(v[i].r, k);
			char *desc = idb_description(v[i].cap, in);
			struct pcapng_idb idb = {.name = in->name, .description = desc,
						 .filter = in->filter};
			int rc = pcapng_add_interface(w, &idb, err);
			free(desc);
			if (rc < 0)
				return -1;
			next++;
		}
	}
	return 0;
}

static int write_stats(struct pcapng_w *w, const struct src *v, int n, char *err)
{
	for (int i = 0; i < n; i++) {
		const struct export_cap *cap = v[i].cap;
		for (int k = 0; k < cap->nlinks && k < (int)pcapng_r_ifaces(v[i].r); k++) {
			struct pcapng_stats st = {
				.have = PCAPNG_ST_IFRECV | PCAPNG_ST_IFDROP | PCAPNG_ST_FILTERACCEPT |
					(cap->start_ns ? PCAPNG_ST_START : 0) |
					(cap->stop_ns ? PCAPNG_ST_END : 0),
				.ts_ns = cap->stop_ns ? cap->stop_ns : now_real_ns(),
				.start_ns = cap->start_ns, .end_ns = cap->stop_ns,
				.ifrecv = cap->links[k].seen, .ifdrop = cap->links[k].dropped,
				.filteraccept = cap->links[k].matched,
			};
			if (pcapng_write_stats(w, v[i].base + (uint32_t)k, &st, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int merge_packets(struct pcapng_w *w, struct src *v, int n, struct timeline *t,
			 uint64_t *count, char *err)
{
	int i;
	while ((i = earliest(v, n)) >= 0) {
		struct pcapng_pkt p = v[i].rec.pkt;
		p.iface += v[i].base;
		p.packet_id = 0; /* per-capture numbers mean nothing in the merge */
		if (pcapng_write_packet(w, &p, err) < 0)
			return -1;
		timeline_add(t, p.comment, ++*count);
		if (src_next(&v[i], err) < 0)
			return -1;
	}
	return 0;
}

static int write_pcapng(const struct export_req *req, struct timeline *t, uint64_t *count,
			char *err)
{
	struct src *v = xcalloc((size_t)req->ncaps, sizeof *v);
	struct pcapng_w *w = NULL;
	int rc = -1;
	for (int i = 0; i < req->ncaps; i++)
		if (src_open(&v[i], &req->caps[i], err) < 0)
			goto out;
	char *appl = xasprintf("caplab %s", CAPLAB_VERSION);
	struct pcapng_shb shb = {.userappl = appl, .comment = req->provenance, .os = req->host_os};
	w = pcapng_open(req->path, &shb, err);
	free(appl);
	/* Secrets before the packets: a one-pass reader (tshark) decrypts only
	 * what follows them. */
	if (!w || write_idbs(w, v, req->ncaps, err) < 0 ||
	    (req->tls_keylog && pcapng_write_dsb(w, PCAPNG_SECRETS_TLS, req->tls_keylog,
						 strlen(req->tls_keylog), err) < 0) ||
	    merge_packets(w, v, req->ncaps, t, count, err) < 0 || write_stats(w, v, req->ncaps, err) < 0)
		goto out;
	rc = 0;
out:
	if (w && pcapng_close(w, rc < 0 ? NULL : err) < 0)
		rc = -1;
	for (int i = 0; i < req->ncaps; i++)
		if (v[i].r)
			pcapng_r_close(v[i].r);
	free(v);
	return rc;
}

/* ---------- classic pcap (one file per capture) ---------- */

/* FILE for a single capture, else FILE with -NAME before its extension. */
static char *pcap_path(const struct export_req *req, const struct export_cap *cap)
{
	if (req->ncaps == 1)
		return xstrdup(req->path);
	char *name = xstrdup(cap->name);
	for (char *p = name; *p; p++)
		if (*p == ':' || *p == '/')
			*p = '_';
	const char *slash = strrchr(req->path, '/');
	const char *dot = strrchr(slash ? slash : req->path, '.');
	size_t stem = dot ? (size_t)(dot - req->path) : strlen(req->path);
	char *out = xasprintf("%.*s-%s%s", (int)stem, req->path, name, dot ? dot : "");
	free(name);
	return out;
}

static int write_one_pcap(const struct export_cap *cap, const char *path, uint64_t *count,
			  char *err)
{
	struct src s = {0};
	if (src_open(&s, cap, err) < 0)
		return s.r ? (pcapng_r_close(s.r), -1) : -1;
	pcap_t *p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, PCAPNG_MAX_SNAPLEN,
							 PCAP_TSTAMP_PRECISION_NANO);
	pcap_dumper_t *d = p ? pcap_dump_open(p, path) : NULL;
	int rc = d ? 0 : cl_err(err, "cannot write %s: %s", path, p ? pcap_geterr(p) : "libpcap");
	while (rc == 0 && s.have) {
		struct pcap_pkthdr h = {.caplen = s.rec.pkt.caplen, .len = s.rec.pkt.origlen};
		h.ts.tv_sec = (time_t)(s.rec.pkt.ts_ns / 1000000000u);
		h.ts.tv_usec = (suseconds_t)(s.rec.pkt.ts_ns % 1000000000u); /* ns: nano precision */
		pcap_dump((u_char *)d, &h, s.rec.pkt.data);
		++*count;
		rc = src_next(&s, err);
	}
	if (d && pcap_dump_flush(d) < 0 && rc == 0)
		rc = cl_err(err, "cannot write %s", path);
	if (d)
		pcap_dump_close(d);
	if (p)
		pcap_close(p);
	pcapng_r_close(s.r);
	return rc;
}

/* ---------- manifest ---------- */

static json_t *counters_json(const struct capture_counters *c)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "seen", (json_int_t)c->seen, "matched",
			 (json_int_t)c->matched, "bytes", (json_int_t)c->bytes, "dropped",
			 (json_int_t)c->dropped);
}

static json_t *cap_json(const struct export_cap *cap, char *pcap_file)
{
	json_t *j = counters_json(&cap->total);
	json_object_set_new(j, "name", json_string(cap->name));
	json_object_set_new(j, "filter", json_string(cap->filter));
	json_object_set_new(j, "start_ns", json_integer((json_int_t)cap->start_ns));
	json_object_set_new(j, "stop_ns", cap->stop_ns ? json_integer((json_int_t)cap->stop_ns)
						       : json_null());
	json_t *links = json_array();
	struct pcapng_r *r = pcapng_r_open(cap->spool_path, NULL);
	struct pcapng_rec rec;
	while (r && pcapng_r_ifaces(r) < (uint32_t)cap->nlinks && pcapng_read(r, &rec, NULL) == 1)
		;
	for (int k = 0; k < cap->nlinks; k++) {
		json_t *l = counters_json(&cap->links[k]);
		const struct pcapng_idb *idb = r && (uint32_t)k < pcapng_r_ifaces(r) ? pcapng_r_iface(r, (uint32_t)k) : NULL;
		json_object_set_new(l, "link", json_string(idb && idb->name ? idb->name : ""));
		json_object_set_new(l, "description",
				    json_string(idb && idb->description ? idb->description : ""));
		json_array_append_new(links, l);
	}
	if (r)
		pcapng_r_close(r);
	json_object_set_new(j, "links", links);
	if (pcap_file)
		json_object_set_new(j, "file", json_string(pcap_file));
	return j;
}

static json_t *labels_json(const struct export_req *req, const struct timeline *t)
{
	json_t *runs = json_array();
	for (int i = 0; i < t->n; i++)
		json_array_append_new(runs, json_pack("{s:o, s:I, s:I}", "label",
						       t->v[i].label ? json_string(t->v[i].label) : json_null(),
						       "first", (json_int_t)t->v[i].first, "last",
						       (json_int_t)t->v[i].last));
	json_t *set = json_array();
	for (int i = 0; i < req->nmarks; i++)
		json_array_append_new(set, json_pack("{s:o, s:I}", "label",
						      req->marks[i].label ? json_string(req->marks[i].label) : json_null(),
						      "time_ns", (json_int_t)req->marks[i].ts_ns));
	return json_pack("{s:o, s:o}", "timeline", runs, "set", set);
}

static int write_manifest(const struct export_req *req, const struct timeline *t, char **pcap_files,
			  struct export_result *res, char *err)
{
	json_t *caps = json_array();
	for (int i = 0; i < req->ncaps; i++)
		json_array_append_new(caps, cap_json(&req->caps[i], pcap_files ? pcap_files[i] : NULL));
	json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o}", "caplab_version",
			      CAPLAB_VERSION, "lab", req->lab ? req->lab : "", "file", req->path,
			      "format", req->pcap ? "pcap" : "pcapng", "packets",
			      (json_int_t)res->packets, "captures", caps, "labels", labels_json(req, t));
	if (!req->pcap)
		json_object_set_new(m, "sha256", json_string(res->sha256));
	json_object_set_new(m, "provenance", json_string(req->provenance ? req->provenance : ""));
	snprintf(res->manifest, sizeof res->manifest, "%s.json", req->path);
	int rc = json_dump_file(m, res->manifest, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(m);
	return rc < 0 ? cl_err(err, "cannot write manifest %s", res->manifest) : 0;
}

int export_write(const struct export_req *req, struct export_result *res, char *err)
{
	struct timeline t = {0};
	char **files = NULL;
	int rc = 0;
	memset(res, 0, sizeof *res);
	if (!req->pcap) {
		rc = write_pcapng(req, &t, &res->packets, err);
		if (rc == 0)
			rc = sha256_file_hex(req->path, res->sha256, err);
	} else {
		files = xcalloc((size_t)req->ncaps, sizeof *files);
		for (int i = 0; rc == 0 && i < req->ncaps; i++) {
			files[i] = pcap_path(req, &req->caps[i]);
			rc = write_one_pcap(&req->caps[i], files[i], &res->packets, err);
		}
	}
	if (rc == 0)
		rc = write_manifest(req, &t, files, res, err);
	for (int i = 0; files && i < req->ncaps; i++)
		free(files[i]);
	free(files);
	timeline_free(&t);
	return rc;
}

/* ---------- snapshots ---------- */

static void snapshot_cap(struct export_cap *out, struct capture *c)
{
	struct capture_info in;
	capture_drain(c);
	capture_get_info(c, &in);
	out->name = xstrdup(in.name);
	out->filter = xstrdup(in.filter);
	out->spool_path = xstrdup(in.spool_path);
	out->spool_limit = capture_spool_size(c);
	out->start_ns = in.start_ns;
	out->stop_ns = in.stop_ns;
	out->total = in.total;
	out->nlinks = in.nlinks;
	out->links = xcalloc((size_t)in.nlinks + 1, sizeof *out->links);
	for (int k = 0; k < in.nlinks; k++)
		out->links[k] = capture_link_counters(c, k);
}

struct export_req *export_snapshot(const char *path, int pcap, char **names, int n, char *err)
{
	int count = n ? n : capture_count();
	if (count == 0) {
		cl_err(err, "nothing to save: no capture was started");
		return NULL;
	}
	struct export_req *req = xcalloc(1, sizeof *req);
	req->path = xstrdup(path);
	req->pcap = pcap;
	req->caps = xcalloc((size_t)count, sizeof *req->caps);
	for (int i = 0; i < count; i++) {
		struct capture *c = n ? capture_find(names[i]) : capture_at(i);
		if (!c) {
			cl_err(err, "save: capture '%s' was never started", names[i]);
			export_req_free(req);
			return NULL;
		}
		snapshot_cap(&req->caps[req->ncaps++], c);
	}
	const struct capture_label_mark *marks;
	req->nmarks = capture_label_marks(&marks);
	req->marks = xcalloc((size_t)req->nmarks + 1, sizeof *req->marks);
	for (int i = 0; i < req->nmarks; i++)
		req->marks[i] = (struct capture_label_mark){
			marks[i].label ? xstrdup(marks[i].label) : NULL, marks[i].ts_ns};
	return req;
}

void export_req_free(struct export_req *req)
{
	if (!req)
		return;
	for (int i = 0; i < req->ncaps; i++) {
		free(req->caps[i].name);
		free(req->caps[i].filter);
		free(req->caps[i].spool_path);
		free(req->caps[i].links);
	}
	for (int i = 0; i < req->nmarks; i++)
		free((char *)req->marks[i].label);
	free(req->marks);
	free(req->caps);
	free(req->path);
	free(req->lab);
	free(req->provenance);
	free(req->host_os);
	free(req->tls_keylog);
	free(req);
}

/* ---------- the command ---------- */

/* "Debian GNU/Linux 12 (bookworm); Linux 6.1.0 x86_64" */
static char *host_os(void)
{
	char *rel = read_file("/etc/os-release", NULL, NULL), *pretty = NULL;
	char *p = rel ? strstr(rel, "PRETTY_NAME=") : NULL;
	if (p) {
		p += strlen("PRETTY_NAME=");
		p += *p == '"';
		pretty = xstrndup(p, strcspn(p, "\"\n"));
	}
	struct utsname u;
	int have = uname(&u) == 0;
	char *out = xasprintf("%s; %s %s %s", pretty ? pretty : "unknown OS", have ? u.sysname : "",
			      have ? u.release : "", have ? u.machine : "");
	free(pretty);
	free(rel);
	return out;
}

static char *lab_name(struct engine *e) { return xstrdup(engine_lab_name(e)); }

static void add_source(struct buf *b, const struct source *src, const struct source **seen, int *n)
{
	if (!src || !src->name || src->name[0] == '<')
		return;
	for (int i = 0; i < *n; i++)
		if (seen[i] == src || strcmp(seen[i]->name, src->name) == 0)
			return;
	seen[(*n)++] = src;
	char hex[65];
	sha256_hex(src->text, src->len, hex);
	buf_addf(b, "%s: %s sha256 %s\n", *n == 1 ? "lab file" : "script", src->name, hex);
}

/* Provenance for the SHB comment: what a reader needs to redo the capture. */
static char *provenance(struct engine *e, const struct cmd *cmd, const char *lab, const char *os)
{
	struct buf b = {0};
	struct lab *l = engine_lab(e);
	const struct source **seen = xcalloc((size_t)l->nlinks + 2, sizeof *seen);
	int n = 0;
	buf_addf(&b, "lab: %s\n", lab);
	for (int i = 0; i < l->nlinks; i++)
		add_source(&b, l->links[i]->pos.src, seen, &n);
	add_source(&b, cmd->pos.src, seen, &n);
	free(seen);
	const struct qemu_host *h = engine_host(e);
	buf_addf(&b, "host: %s\nqemu: %s%s\n", os, h ? h->version : "unknown",
		 h ? (h->accel == ACCEL_KVM ? " (kvm)" : " (tcg)") : "");
	const char *kv = engine_guest_kernel(e);
	buf_addf(&b, "guest kernel: Debian linux-image-cloud-amd64 %s\n", kv ? kv : "(not started)");
	buf_addf(&b, "caplab: %s", CAPLAB_VERSION);
	return b.data;
}

struct save_job {
	struct cmd_ctx *ctx;
	struct export_req *req;
	struct export_result res;
	int rc;
	char err[CL_ERRBUF];
};

static void save_work(void *arg)
{
	struct save_job *j = arg;
	j->rc = export_write(j->req, &j->res, j->err);
}

static void save_done(void *arg)
{
	struct save_job *j = arg;
	if (j->rc == 0)
		events_message("saved %llu packets to %s (manifest %s)",
			       (unsigned long long)j->res.packets, j->req->path, j->res.manifest);
	struct cmd_ctx *ctx = j->ctx;
	int ok = j->rc == 0;
	char *msg = ok ? NULL : xasprintf("save: %s", j->err);
	export_req_free(j->req);
	free(j);
	cmdq_resume(ctx, ok, msg);
	free(msg);
}

static void save_submit(struct save_job *j)
{
	char err[CL_ERRBUF];
	if (work_submit(save_work, save_done, j, err) < 0) {
		save_work(j); /* no thread: do it here, finish through the loop anyway */
		loop_defer(save_done, j);
	}
}

/* The -keylog nodes' secrets arrived: they go in the file's DSB. */
static void on_keylog(char *text, void *arg)
{
	struct save_job *j = arg;
	j->req->tls_keylog = text;
	save_submit(j);
}

enum cmd_ret export_cmd_save(struct cmd *cmd, struct cmd_ctx *ctx)
{
	const struct cmd_flag *f = cmd_flag(cmd, "format");
	int pcap = f && strcmp(f->value.text, "pcap") == 0;
	const char *file = cmd->args[0].text;
	char *path = file[0] == '/' ? xstrdup(file)
				    : xasprintf("%s/%s", engine_out_dir(ctx->eng), file);
	char **names = xcalloc((size_t)cmd->nargs, sizeof *names);
	for (int i = 1; i < cmd->nargs; i++)
		names[i - 1] = cmd->args[i].text;
	struct export_req *req = export_snapshot(path, pcap, names, cmd->nargs - 1, ctx->err);
	free(names);
	free(path);
	if (!req)
		return CMD_ERROR;
	req->lab = lab_name(ctx->eng);
	req->host_os = host_os();
	req->provenance = provenance(ctx->eng, cmd, req->lab, req->host_os);
	struct save_job *j = xcalloc(1, sizeof *j);
	j->ctx = ctx;
	j->req = req;
	if (!pcap && keylog_wanted(ctx->eng))
		keylog_collect(ctx->eng, on_keylog, j); /* then the worker */
	else
		save_submit(j);
	return CMD_WAIT;
}
