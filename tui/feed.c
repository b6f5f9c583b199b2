/* feed.c: the packets of each capture, for the live views. A feed tails the
 * capture's pcapng spool (RUNDIR/captures/NAME.spool), keeps the frames in
 * memory for the list and hex views, and streams the same complete blocks
 * into a `tshark` child (termshark's way) that returns Wireshark's
 * protocol and info columns; without tshark the built-in summary
 * (dissect.c) fills them. Nothing here blocks: the spool is read as far as
 * it goes, tshark's pipes are non-blocking and watched by the loop. */
#include "tui-int.h"
#include "feed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "loop.h"
#include "proc.h"

#define FEED_MAX_PKTS 200000 /* older frames leave the live view (the spool keeps them) */

static struct feed **feeds;
static int nfeeds;

static struct feed *feed_find(const char *name)
{
	for (int i = 0; i < nfeeds; i++)
		if (!strcmp(feeds[i]->name, name))
			return feeds[i];
	return NULL;
}

/* Capture names may hold ':' (a:eth0); the spool name may have it replaced. */
static char *spool_path(const char *name, int sanitized)
{
	struct capture *c = capture_find(name);
	if (c) {
		struct capture_info ci;
		capture_get_info(c, &ci);
		if (ci.spool_path)
			return xstrdup(ci.spool_path);
	}
	char *p = xasprintf("%s/captures/%s.spool", engine_rundir(T.eng), name);
	if (sanitized)
		for (char *c = p + strlen(engine_rundir(T.eng)) + 10; *c; c++)
			if (*c == ':' || *c == '/')
				*c = '_';
	return p;
}

/* ---- tshark child ---- */

static void tshark_stop(struct feed *f)
{
	if (f->ts_in >= 0) { loop_unwatch(f->ts_in); close(f->ts_in); f->ts_in = -1; }
	if (f->ts_out >= 0) { loop_unwatch(f->ts_out); close(f->ts_out); f->ts_out = -1; }
	if (f->ts) { proc_detach(f->ts); proc_signal(f->ts, 15); f->ts = NULL; }
}

static void on_tshark_exit(struct proc *p, int status, void *arg)
{
	(void)p;
	(void)status;
	struct feed *f = arg;
	f->ts = NULL;
}

static void tshark_line(struct feed *f, char *line)
{
	char *tab1 = strchr(line, '\t');
	char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
	if (!tab2)
		return;
	*tab1 = *tab2 = '\0';
	long no = atol(line);
	struct tpkt *p = feed_packet(f, (uint32_t)no);
	if (!p)
		return;
	free(p->proto);
	free(p->info);
	p->proto = xstrdup(tab1 + 1);
	p->info = xstrdup(tab2 + 1);
	p->from_tshark = 1;
}

static void on_tshark_out(int fd, int events, void *arg)
{
	(void)events;
	struct feed *f = arg;
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof chunk);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			tshark_stop(f);
		return;
	}
	buf_add(&f->ts_rbuf, chunk, (size_t)n);
	char *s = f->ts_rbuf.data, *nl;
	while ((nl = memchr(s, '\n', f->ts_rbuf.len - (size_t)(s - f->ts_rbuf.data)))) {
		*nl = '\0';
		tshark_line(f, s);
		s = nl + 1;
	}
	size_t left = f->ts_rbuf.len - (size_t)(s - f->ts_rbuf.data);
	memmove(f->ts_rbuf.data, s, left);
	f->ts_rbuf.len = left;
	tui_redraw_soon();
}

static void tshark_flush(struct feed *f);

static void on_tshark_in(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;
	tshark_flush(arg);
}

static void tshark_flush(struct feed *f)
{
	while (f->ts_in >= 0 && f->ts_woff < f->ts_wbuf.len) {
		ssize_t n = write(f->ts_in, f->ts_wbuf.data + f->ts_woff, f->ts_wbuf.len - f->ts_woff);
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			tshark_stop(f);
			return;
		}
		f->ts_woff += (size_t)n;
	}
	if (f->ts_woff == f->ts_wbuf.len) {
		buf_reset(&f->ts_wbuf);
		f->ts_woff = 0;
	}
	if (f->ts_in >= 0)
		loop_watch(f->ts_in, f->ts_woff < f->ts_wbuf.len ? LOOP_WRITE : 0, on_tshark_in, f);
}

static void tshark_start(struct feed *f)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return;
	}
	char *argv[] = {"tshark", "-l", "-n", "-r", "-", "-T", "fields", "-E", "separator=/t",
			"-E", "occurrence=f", "-e", "frame.number", "-e", "_ws.col.Protocol",
			"-e", "_ws.col.Info", NULL};
	struct proc_opts o = {.stdin_fd = in[0], .stdout_fd = out[1], .stderr_fd = -1};
	char err[CL_ERRBUF];
	f->ts = proc_start("tshark", argv, &o, on_tshark_exit, f, err);
	close(in[0]);
	close(out[1]);
	if (!f->ts) {
		close(in[1]);
		close(out[0]);
		f->tshark_missing = 1;
		return;
	}
	f->ts_in = in[1];
	f->ts_out = out[0];
	fcntl(f->ts_in, F_SETFL, O_NONBLOCK);
	fcntl(f->ts_out, F_SETFL, O_NONBLOCK);
	loop_watch(f->ts_out, LOOP_READ, on_tshark_out, f);
	loop_watch(f->ts_in, 0, on_tshark_in, f);
}

/* ---- packets ---- */

struct tpkt *feed_packet(struct feed *f, uint32_t no)
{
	if (f->n == 0 || no < f->v[0].no || no > f->v[f->n - 1].no)
		return NULL;
	return &f->v[no - f->v[0].no];
}

static void pkt_free(struct tpkt *p)
{
	free(p->label);
	free(p->data);
	free(p->proto);
	free(p->info);
}

static void add_packet(struct feed *f, const struct pcapng_view *pv)
{
	if (f->n == FEED_MAX_PKTS) {
		pkt_free(&f->v[0]);
		memmove(f->v, f->v + 1, (size_t)(f->n - 1) * sizeof *f->v);
		f->n--;
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 1024;
		f->v = xrealloc(f->v, (size_t)f->cap * sizeof *f->v);
	}
	struct tpkt *p = &f->v[f->n++];
	memset(p, 0, sizeof *p);
	p->no = ++f->total;
	p->ts_ns = pv->ts_ns;
	p->iface = pv->iface < (uint32_t)f->nif ? f->ifnames[pv->iface] : "?";
	p->dir = pv->dir;
	p->label = pv->comment ? xstrdup(pv->comment) : NULL;
	p->caplen = pv->caplen;
	p->origlen = pv->origlen;
	p->data = xmalloc(pv->caplen ? pv->caplen : 1);
	memcpy(p->data, pv->data, pv->caplen);
	dissect_summary(p->data, p->caplen, &p->proto, &p->info);
	f->bytes += pv->origlen;
	if (!f->first_ts)
		f->first_ts = pv->ts_ns;
}

static void add_iface(struct feed *f, const char *name)
{
	f->ifnames = xrealloc(f->ifnames, (size_t)(f->nif + 1) * sizeof *f->ifnames);
	f->ifnames[f->nif++] = xstrdup(name ? name : "?");
}

/* Parses the complete blocks read so far; forwards them to tshark. */
static void parse_blocks(struct feed *f)
{
	size_t off = 0;
	struct pcapng_view pv;
	for (;;) {
		int rc = pcapng_view_next(&f->parser, (const uint8_t *)f->raw.data + off, f->raw.len - off, &pv);
		if (rc <= 0) {
			if (rc < 0)
				f->corrupt = 1;
			break;
		}
		if (pv.type == PCAPNG_BT_IDB)
			add_iface(f, pv.if_name);
		else if (pv.type == PCAPNG_BT_EPB)
			add_packet(f, &pv);
		if (f->ts_in >= 0)
			buf_add(&f->ts_wbuf, f->raw.data + off, (size_t)rc);
		off += (size_t)rc;
	}
	memmove(f->raw.data, f->raw.data + off, f->raw.len - off);
	f->raw.len -= off;
	tshark_flush(f);
}

static void feed_read(struct feed *f)
{
	if (f->fd < 0) {
		for (int s = 0; s < 2 && f->fd < 0; s++) {
			char *p = spool_path(f->name, s);
			f->fd = open(p, O_RDONLY | O_CLOEXEC);
			free(p);
		}
		if (f->fd < 0)
			return;
		if (!f->tshark_missing)
			tshark_start(f);
	}
	char chunk[65536];
	ssize_t n;
	int rounds = 0;
	while (!f->corrupt && rounds++ < 64 && (n = read(f->fd, chunk, sizeof chunk)) > 0) {
		buf_add(&f->raw, chunk, (size_t)n);
		parse_blocks(f);
	}
}

static void update_rate(struct feed *f)
{
	double now = now_mono();
	if (f->rate_t == 0) {
		f->rate_t = now;
		f->rate_total = f->total;
		return;
	}
	if (now - f->rate_t >= 1.0) {
		double r = (double)(f->total - f->rate_total) / (now - f->rate_t);
		f->rate = f->rate * 0.3 + r * 0.7;
		f->rate_t = now;
		f->rate_total = f->total;
	}
}

struct feed *feed_get(const char *name)
{
	struct feed *f = feed_find(name);
	if (f)
		return f;
	feeds = xrealloc(feeds, (size_t)(nfeeds + 1) * sizeof *feeds);
	f = feeds[nfeeds++] = xcalloc(1, sizeof *f);
	f->name = xstrdup(name);
	f->fd = f->ts_in = f->ts_out = -1;
	return f;
}

void feeds_poll(void)
{
	const struct lab *lab = engine_lab(T.eng);
	for (int i = 0; i < lab->ncaptures; i++) {
		struct feed *f = feed_get(lab->captures[i]->name);
		feed_read(f);
		update_rate(f);
	}
}

void feeds_free(void)
{
	for (int i = 0; i < nfeeds; i++) {
		struct feed *f = feeds[i];
		tshark_stop(f);
		if (f->fd >= 0)
			close(f->fd);
		for (int k = 0; k < f->n; k++)
			pkt_free(&f->v[k]);
		for (int k = 0; k < f->nif; k++)
			free(f->ifnames[k]);
		free(f->ifnames);
		free(f->v);
		buf_free(&f->raw);
		buf_free(&f->ts_wbuf);
		buf_free(&f->ts_rbuf);
		free(f->name);
		free(f);
	}
	free(feeds);
	feeds = NULL;
	nfeeds = 0;
}

char *feed_spool(const char *name)
{
	for (int s = 0; s < 2; s++) {
		char *p = spool_path(name, s);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* ---- counters ---- */

int feed_stats(const char *capture, struct feed_stats *st)
{
	struct feed *f = feed_find(capture);
	if (!f || f->fd < 0)
		return -1;
	st->packets = f->total;
	st->bytes = f->bytes;
	st->rate = f->rate;
	st->unsaved = f->total > f->saved_total;
	return 0;
}

int feed_stats_iface(const char *iface_label, struct feed_stats *st)
{
	memset(st, 0, sizeof *st);
	int found = -1;
	for (int i = 0; i < nfeeds; i++) {
		struct feed *f = feeds[i];
		for (int k = 0; k < f->nif; k++)
			if (!strcmp(f->ifnames[k], iface_label)) {
				st->packets += f->total;
				st->rate += f->rate;
				found = 0;
				break;
			}
	}
	return found;
}

double feed_total_rate(void)
{
	double r = 0;
	for (int i = 0; i < nfeeds; i++)
		r += feeds[i]->rate;
	return r;
}

int feed_any_unsaved(void)
{
	for (int i = 0; i < nfeeds; i++)
		if (feeds[i]->total > feeds[i]->saved_total)
			return 1;
	return 0;
}

void feed_mark_saved(void)
{
	for (int i = 0; i < nfeeds; i++)
		feeds[i]->saved_total = feeds[i]->total;
}
