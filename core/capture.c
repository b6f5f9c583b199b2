/* capture.c: filter-mirror set-up over QMP, the frame reader, filtering,
 * labels, the pcapng spool and the live ring. See capture.h for the
 * protocol and the measured direction semantics. The commands that drive it
 * are in capture-cmd.c. */
#include "capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf.h"
#include "events.h"
#include "loop.h"
#include "pcapng.h"
#include "qmp.h"
#include "util.h"

#define MAX_FRAME (CBPF_SNAPLEN + 4096) /* a length beyond this means a broken stream */
#define READ_CHUNK (256 * 1024)

/* One direction of one link: a chardev + filter-mirror pair and its socket. */
struct cap_dir {
	struct capture *c;
	int link;
	unsigned dir; /* PCAPNG_DIR_IN / PCAPNG_DIR_OUT */
	char chardev_id[48], filter_id[48];
	char *sock_path;
	int listen_fd, fd;
	int chardev_added, filter_added; /* confirmed by QEMU */
	int eof;
	uint8_t *rbuf;
	size_t rlen;
};

struct cap_link {
	char *label, *node, *netdev, *description;
	struct cap_dir d[2]; /* [0] outbound (queue=rx), [1] inbound (queue=tx) */
	struct capture_counters cnt;
};

struct ring_slot {
	uint64_t no, ts_ns;
	int link, label;
	unsigned dir;
	uint32_t len, caplen;
	uint8_t data[CAPTURE_RING_BYTES];
};

struct watcher {
	capture_pkt_fn fn;
	void *arg;
};

struct capture {
	char *name, *spool_dir, *spool_path;
	struct cbpf *bpf;
	capture_qmp_fn qmp_of;
	void *qmp_arg;
	struct cap_link *links;
	int nlinks;
	enum capture_state state;
	struct pcapng_w *spool;
	struct capture_counters total;
	uint64_t start_ns, stop_ns;
	struct ring_slot *ring;
	int pending; /* QMP replies or accepts still awaited */
	char *error; /* first failure while starting */
	capture_done_fn done;
	void *done_arg;
	struct watcher *watchers; /* fn NULL: removed while a callback ran */
	int nwatchers;
	uint64_t flush_timer; /* a spool flush is due */
};

static struct capture **caps;
static int ncaps;
static unsigned next_id; /* makes chardev/filter ids unique per process */
static uint64_t last_ts; /* one non-decreasing clock for all links */

static struct capture_label_mark *marks;
static int nmarks;
static char **labels; /* interned label texts; index -1 means none */
static int nlabels;
static int cur_label = -1;

static void notify(struct capture *c, const uint8_t *data, uint32_t len);

/* ---------- registry ---------- */

int capture_count(void) { return ncaps; }
struct capture *capture_at(int i) { return i >= 0 && i < ncaps ? caps[i] : NULL; }

struct capture *capture_find(const char *name)
{
	for (int i = 0; i < ncaps; i++)
		if (strcmp(caps[i]->name, name) == 0)
			return caps[i];
	return NULL;
}

struct capture *capture_new(const char *name, const char *filter, const char *spool_dir,
			    capture_qmp_fn qmp_of, void *qmp_arg, char *err)
{
	if (capture_find(name)) {
		cl_err(err, "capture '%s' exists already", name);
		return NULL;
	}
	char ferr[CL_ERRBUF];
	struct cbpf *bpf = cbpf_compile(filter, ferr);
	if (!bpf) {
		cl_err(err, "bad filter '%s': %s", filter, ferr);
		return NULL;
	}
	struct capture *c = xcalloc(1, sizeof *c);
	c->name = xstrdup(name);
	c->spool_dir = xstrdup(spool_dir);
	c->spool_path = xasprintf("%s/%s.spool", spool_dir, name);
	c->bpf = bpf;
	c->qmp_of = qmp_of;
	c->qmp_arg = qmp_arg;
	caps = xrealloc(caps, sizeof *caps * (size_t)(ncaps + 1));
	caps[ncaps++] = c;
	return c;
}

int capture_add_link(struct capture *c, const char *label, const char *node, const char *netdev,
		     const char *description)
{
	c->links = xrealloc(c->links, sizeof *c->links * (size_t)(c->nlinks + 1));
	struct cap_link *l = &c->links[c->nlinks];
	memset(l, 0, sizeof *l);
	l->label = xstrdup(label);
	l->node = xstrdup(node ? node : "");
	l->netdev = xstrdup(netdev ? netdev : "");
	l->description = xstrdup(description ? description : "");
	for (int i = 0; i < 2; i++) {
		struct cap_dir *d = &l->d[i];
		d->link = c->nlinks;
		d->dir = i == 0 ? PCAPNG_DIR_OUT : PCAPNG_DIR_IN;
		d->listen_fd = d->fd = -1;
	}
	return c->nlinks++;
}

/* c->links may move while links are added: back pointers are set at start. */
static void bind_dirs(struct capture *c)
{
	for (int i = 0; i < c->nlinks; i++)
		for (int j = 0; j < 2; j++)
			c->links[i].d[j].c = c;
}

/* ---------- storing frames ---------- */

static uint64_t arrival_ns(void)
{
	uint64_t t = now_real_ns();
	if (t <= last_ts)
		t = last_ts + 1; /* strictly increasing: merges keep arrival order */
	return last_ts = t;
}

static void ring_put(struct capture *c, const struct pcapng_pkt *p, int link)
{
	if (!c->ring)
		c->ring = xcalloc(CAPTURE_RING_LEN, sizeof *c->ring);
	struct ring_slot *s = &c->ring[(p->packet_id - 1) % CAPTURE_RING_LEN];
	s->no = p->packet_id;
	s->ts_ns = p->ts_ns;
	s->link = link;
	s->label = cur_label;
	s->dir = p->flags;
	s->len = p->origlen;
	s->caplen = p->caplen < CAPTURE_RING_BYTES ? p->caplen : CAPTURE_RING_BYTES;
	memcpy(s->data, p->data, s->caplen);
}

static void store_frame(struct cap_dir *d, const uint8_t *frame, uint32_t len)
{
	struct capture *c = d->c;
	struct cap_link *l = &c->links[d->link];
	uint64_t ts = arrival_ns();
	l->cnt.seen++;
	c->total.seen++;
	if (!cbpf_match(c->bpf, frame, len, len))
		return;
	struct pcapng_pkt p = {
		.iface = (uint32_t)d->link, .ts_ns = ts, .data = frame, .caplen = len, .origlen = len,
		.flags = d->dir, .comment = cur_label >= 0 ? labels[cur_label] : NULL,
		.packet_id = c->total.matched + 1,
	};
	char err[CL_ERRBUF];
	if (pcapng_write_packet(c->spool, &p, err) < 0) {
		l->cnt.dropped++;
		c->total.dropped++;
		if (c->total.dropped == 1)
			events_error("capture %s: frame not stored: %s", c->name, err);
		return;
	}
	l->cnt.matched++;
	l->cnt.bytes += len;
	c->total.matched++;
	c->total.bytes += len;
	ring_put(c, &p, d->link);
	notify(c, frame, len);
}

/* Splits the buffer into length-prefixed frames; keeps a partial tail. */
static int parse_frames(struct cap_dir *d)
{
	size_t off = 0;
	while (d->rlen - off >= 4) {
		const uint8_t *h = d->rbuf + off;
		uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
		if (len > MAX_FRAME)
			return -1;
		if (d->rlen - off - 4 < len)
			break;
		store_frame(d, h + 4, len);
		off += 4 + (size_t)len;
	}
	memmove(d->rbuf, d->rbuf + off, d->rlen - off);
	d->rlen -= off;
	return 0;
}

static void dir_close(struct cap_dir *d)
{
	if (d->fd >= 0) {
		loop_unwatch(d->fd);
		close(d->fd);
		d->fd = -1;
	}
	if (d->listen_fd >= 0) {
		loop_unwatch(d->listen_fd);
		close(d->listen_fd);
		d->listen_fd = -1;
	}
	if (d->sock_path) {
		unlink(d->sock_path);
		free(d->sock_path);
		d->sock_path = NULL;
	}
	free(d->rbuf);
	d->rbuf = NULL;
}

/* The stream ended: a partial frame left in the buffer is a lost frame. */
static void dir_eof(struct cap_dir *d, const char *why)
{
	struct capture *c = d->c;
	if (d->rlen > 0) {
		c->links[d->link].cnt.dropped++;
		c->total.dropped++;
		events_error("capture %s: link %s: a frame was cut off (%s)", c->name,
			     c->links[d->link].label, why);
	}
	d->rlen = 0;
	d->eof = 1;
	if (d->fd >= 0) {
		loop_unwatch(d->fd);
		close(d->fd);
		d->fd = -1;
	}
}

/* One read; 1 if more may follow, 0 when the socket is empty or closed. */
static int read_once(struct cap_dir *d)
{
	if (d->fd < 0)
		return 0;
	if (!d->rbuf)
		d->rbuf = xmalloc(READ_CHUNK + MAX_FRAME + 4);
	ssize_t n = read(d->fd, d->rbuf + d->rlen, READ_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		dir_eof(d, n == 0 ? "end of stream" : strerror(errno));
		return 0;
	}
	d->rlen += (size_t)n;
	if (parse_frames(d) < 0) {
		dir_eof(d, "malformed stream from qemu");
		return 0;
	}
	return 1;
}

static void flush_spool(struct capture *c)
{
	char err[CL_ERRBUF];
	if (c->flush_timer)
		loop_cancel(c->flush_timer);
	c->flush_timer = 0;
	if (c->spool && pcapng_flush(c->spool, err) < 0)
		events_error("capture %s: %s", c->name, err);
}

static void on_flush_timer(void *arg)
{
	struct capture *c = arg;
	c->flush_timer = 0;
	flush_spool(c);
}

/* The spool reaches the disk at most SPOOL_FLUSH_DELAY after a frame (and at
 * once on drain and stop): a write per frame cost ~10 % of the guests'
 * throughput on a 2-core host, and a crash loses at most that much. */
#define SPOOL_FLUSH_DELAY 0.05

static void on_readable(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;
	struct cap_dir *d = arg;
	read_once(d); /* one chunk per wake-up keeps other sockets served */
	if (!d->c->flush_timer)
		d->c->flush_timer = loop_timer(SPOOL_FLUSH_DELAY, on_flush_timer, d->c);
}

void capture_drain(struct capture *c)
{
	for (int i = 0; i < c->nlinks; i++)
		for (int j = 0; j < 2; j++)
			while (read_once(&c->links[i].d[j]))
				;
	flush_spool(c);
}

void capture_drain_all(void)
{
	for (int i = 0; i < ncaps; i++)
		capture_drain(caps[i]);
}

static void watch_stream(struct cap_dir *d, int fd)
{
	int one = 1 << 20; /* a bigger buffer: fewer QEMU stalls on bursts */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof one);
	d->fd = fd;
	loop_watch(fd, LOOP_READ, on_readable, d);
}

/* ---------- spool ---------- */

static int open_spool(struct capture *c, char *err)
{
	if (mkdir_p(c->spool_dir, 0700, err) < 0)
		return -1;
	char *appl = xasprintf("caplab %s", CAPLAB_VERSION);
	char *comment = xasprintf("caplab spool of capture %s", c->name);
	struct pcapng_shb shb = {.userappl = appl, .comment = comment};
	c->spool = pcapng_open(c->spool_path, &shb, err);
	free(appl);
	free(comment);
	if (!c->spool)
		return -1;
	for (int i = 0; i < c->nlinks; i++) {
		struct pcapng_idb idb = {.name = c->links[i].label,
					 .description = c->links[i].description,
					 .filter = cbpf_text(c->bpf)};
		if (pcapng_add_interface(c->spool, &idb, err) < 0)
			return -1;
	}
	return pcapng_flush(c->spool, err);
}

/* ---------- QMP: attaching and removing mirrors ---------- */

static void finish(struct capture *c, const char *err)
{
	capture_done_fn fn = c->done;
	c->done = NULL;
	if (fn)
		fn(c, err, c->done_arg);
}

static void note_error(struct capture *c, const char *msg)
{
	if (!c->error)
		c->error = xstrdup(msg);
}

static void stop_mirrors(struct capture *c);

static void start_step_done(struct capture *c)
{
	if (--c->pending > 0)
		return;
	if (c->error) {
		stop_mirrors(c); /* undo what was attached; finishes with c->error */
		return;
	}
	c->state = CAPTURE_RUNNING;
	c->start_ns = now_real_ns();
	events_emit(&(struct event){.type = EV_CAPTURE, .text = c->name, .state = "running"});
	finish(c, NULL);
}

static void on_accept(int fd, int events, void *arg)
{
	(void)events;
	struct cap_dir *d = arg;
	int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	loop_unwatch(fd);
	close(fd);
	d->listen_fd = -1;
	unlink(d->sock_path);
	if (s < 0)
		note_error(d->c, "capture socket: accept failed");
	else
		watch_stream(d, s);
	start_step_done(d->c);
}

static void on_chardev_added(struct qmp *q, json_t *result, const char *error, void *arg)
{
	(void)q;
	(void)result;
	struct cap_dir *d = arg;
	if (error) {
		note_error(d->c, error);
		start_step_done(d->c); /* the accept will never come */
		start_step_done(d->c);
		return;
	}
	d->chardev_added = 1;
	/* QEMU connected before replying: accept now, or when it shows up */
	on_accept(d->listen_fd, LOOP_READ, d);
	if (d->listen_fd >= 0)
		loop_watch(d->listen_fd, LOOP_READ, on_accept, d);
	start_step_done(d->c);
}

static void on_filter_added(struct qmp *q, json_t *result, const char *error, void *arg)
{
	(void)q;
	(void)result;
	struct cap_dir *d = arg;
	if (error)
		note_error(d->c, error);
	else
		d->filter_added = 1;
	start_step_done(d->c);
}

static json_t *chardev_args(const struct cap_dir *d)
{
	return json_pack("{s:s, s:{s:s, s:{s:{s:s, s:{s:s}}, s:b}}}", "id", d->chardev_id, "backend",
			 "type", "socket", "data", "addr", "type", "unix", "data", "path",
			 d->sock_path, "server", 0);
}

static json_t *filter_args(const struct cap_dir *d, const char *netdev)
{
	/* queue is the netdev's view: rx = what the guest sends (see capture.h) */
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "qom-type", "filter-mirror", "id",
			 d->filter_id, "netdev", netdev, "queue",
			 d->dir == PCAPNG_DIR_OUT ? "rx" : "tx", "outdev", d->chardev_id);
}

static void attach_dir(struct capture *c, struct qmp *q, struct cap_dir *d)
{
	char err[CL_ERRBUF];
	unsigned id = ++next_id;
	snprintf(d->chardev_id, sizeof d->chardev_id, "caplab-c%u", id);
	snprintf(d->filter_id, sizeof d->filter_id, "caplab-m%u", id);
	d->sock_path = xasprintf("%s/m%u.sock", c->spool_dir, id);
	d->listen_fd = qmp_listen(d->sock_path, err);
	if (d->listen_fd < 0) {
		note_error(c, err);
		return;
	}
	c->pending += 3; /* chardev-add, accept, object-add */
	if (qmp_command(q, "chardev-add", chardev_args(d), on_chardev_added, d) < 0) {
		note_error(c, "qmp connection closed");
		c->pending -= 2;
	}
	if (qmp_command(q, "object-add", filter_args(d, c->links[d->link].netdev), on_filter_added,
			d) < 0) {
		note_error(c, "qmp connection closed");
		c->pending--;
	}
}

void capture_start(struct capture *c, capture_done_fn done, void *arg)
{
	char err[CL_ERRBUF];
	bind_dirs(c);
	c->done = done;
	c->done_arg = arg;
	c->state = CAPTURE_STARTING;
	c->pending = 1; /* held until every command is sent */
	if (open_spool(c, err) < 0)
		note_error(c, err);
	for (int i = 0; !c->error && i < c->nlinks; i++) {
		struct cap_link *l = &c->links[i];
		struct qmp *q = c->qmp_of ? c->qmp_of(l->node, c->qmp_arg) : NULL;
		if (!q) {
			char *m = xasprintf("node %s is not running: start it before capturing %s",
					    l->node, l->label);
			note_error(c, m);
			free(m);
			break;
		}
		attach_dir(c, q, &l->d[0]);
		attach_dir(c, q, &l->d[1]);
	}
	start_step_done(c);
}

static void stop_step_done(struct capture *c)
{
	if (--c->pending > 0)
		return;
	/* the filters are gone: what they wrote is in the sockets; read to EOF */
	for (int i = 0; i < c->nlinks; i++)
		for (int j = 0; j < 2; j++) {
			struct cap_dir *d = &c->links[i].d[j];
			while (read_once(d))
				;
			dir_close(d);
		}
	flush_spool(c);
	c->stop_ns = now_real_ns();
	c->state = c->error ? CAPTURE_FAILED : CAPTURE_STOPPED;
	events_emit(&(struct event){.type = EV_CAPTURE, .text = c->name, .state = "stopped"});
	finish(c, c->error);
}

static void on_removed(struct qmp *q, json_t *result, const char *error, void *arg)
{
	(void)q;
	(void)result;
	struct capture *c = arg;
	if (error && c->state == CAPTURE_STOPPING)
		events_error("capture %s: %s", c->name, error);
	stop_step_done(c);
}

static void remove_dir(struct capture *c, struct qmp *q, struct cap_dir *d)
{
	if (d->filter_added && q) {
		c->pending++;
		if (qmp_command(q, "object-del", json_pack("{s:s}", "id", d->filter_id), on_removed, c) < 0)
			c->pending--;
	}
	if (d->chardev_added && q) {
		c->pending++;
		if (qmp_command(q, "chardev-remove", json_pack("{s:s}", "id", d->chardev_id), on_removed,
				c) < 0)
			c->pending--;
	}
	d->filter_added = d->chardev_added = 0;
}

static void stop_mirrors(struct capture *c)
{
	c->pending = 1;
	for (int i = 0; i < c->nlinks; i++) {
		struct cap_link *l = &c->links[i];
		struct qmp *q = c->qmp_of ? c->qmp_of(l->node, c->qmp_arg) : NULL;
		remove_dir(c, q, &l->d[0]);
		remove_dir(c, q, &l->d[1]);
	}
	stop_step_done(c);
}

static void finish_later(void *arg)
{
	struct capture *c = arg;
	c->pending = 1;
	stop_step_done(c);
}

void capture_stop(struct capture *c, capture_done_fn done, void *arg)
{
	c->done = done;
	c->done_arg = arg;
	if (c->state != CAPTURE_RUNNING) {
		loop_defer(finish_later, c);
		return;
	}
	capture_drain(c);
	c->state = CAPTURE_STOPPING;
	stop_mirrors(c);
}

int capture_attach_stream(struct capture *c, int link, unsigned dir, int fd, char *err)
{
	if (link < 0 || link >= c->nlinks)
		return cl_err(err, "capture %s has no link %d", c->name, link);
	bind_dirs(c);
	if (!c->spool && open_spool(c, err) < 0)
		return -1;
	watch_stream(&c->links[link].d[dir == PCAPNG_DIR_OUT ? 0 : 1], fd);
	if (c->state != CAPTURE_RUNNING)
		c->start_ns = now_real_ns();
	c->state = CAPTURE_RUNNING;
	return 0;
}

void capture_free(struct capture *c)
{
	if (!c)
		return;
	if (c->flush_timer)
		loop_cancel(c->flush_timer);
	c->flush_timer = 0;
	notify(c, NULL, 0);
	for (int i = 0; i < ncaps; i++)
		if (caps[i] == c) {
			caps[i] = caps[--ncaps];
			break;
		}
	for (int i = 0; i < c->nlinks; i++) {
		struct cap_link *l = &c->links[i];
		dir_close(&l->d[0]);
		dir_close(&l->d[1]);
		free(l->label);
		free(l->node);
		free(l->netdev);
		free(l->description);
	}
	if (c->spool)
		pcapng_close(c->spool, NULL);
	cbpf_free(c->bpf);
	free(c->links);
	free(c->ring);
	free(c->watchers);
	free(c->error);
	free(c->name);
	free(c->spool_dir);
	free(c->spool_path);
	free(c);
}

void capture_free_all(void)
{
	while (ncaps > 0)
		capture_free(caps[ncaps - 1]);
	free(caps);
	caps = NULL;
	for (int i = 0; i < nlabels; i++)
		free(labels[i]);
	free(labels);
	free(marks);
	labels = NULL;
	marks = NULL;
	nlabels = nmarks = 0;
	cur_label = -1;
}

/* ---------- labels ---------- */

static int intern_label(const char *text)
{
	for (int i = 0; i < nlabels; i++)
		if (strcmp(labels[i], text) == 0)
			return i;
	labels = xrealloc(labels, sizeof *labels * (size_t)(nlabels + 1));
	labels[nlabels] = xstrdup(text);
	return nlabels++;
}

void capture_set_label(const char *text)
{
	capture_drain_all(); /* frames already sent keep the old label */
	cur_label = text && *text ? intern_label(text) : -1;
	marks = xrealloc(marks, sizeof *marks * (size_t)(nmarks + 1));
	marks[nmarks].ts_ns = now_real_ns();
	marks[nmarks++].label = cur_label >= 0 ? labels[cur_label] : NULL;
}

const char *capture_label(void) { return cur_label >= 0 ? labels[cur_label] : NULL; }

int capture_label_marks(const struct capture_label_mark **out)
{
	*out = marks;
	return nmarks;
}

/* ---------- snapshots ---------- */

const char *capture_state_name(enum capture_state st)
{
	static const char *const names[] = {"new", "starting", "running", "stopping", "stopped",
					    "failed"};
	return names[st];
}

void capture_get_info(const struct capture *c, struct capture_info *out)
{
	*out = (struct capture_info){
		.name = c->name, .filter = cbpf_text(c->bpf), .spool_path = c->spool_path,
		.state = c->state, .nlinks = c->nlinks, .start_ns = c->start_ns,
		.stop_ns = c->stop_ns, .total = c->total,
	};
}

const char *capture_name(const struct capture *c) { return c->name; }
const char *capture_link_label(const struct capture *c, int link) { return c->links[link].label; }
const char *capture_link_description(const struct capture *c, int link)
{
	return c->links[link].description;
}
struct capture_counters capture_link_counters(const struct capture *c, int link)
{
	return c->links[link].cnt;
}
uint64_t capture_spool_size(const struct capture *c) { return c->spool ? pcapng_tell(c->spool) : 0; }
char *capture_filter_dump(const struct capture *c) { return cbpf_dump(c->bpf); }

uint64_t capture_ring_next(const struct capture *c) { return c->total.matched + 1; }
uint64_t capture_ring_first(const struct capture *c)
{
	return c->total.matched > CAPTURE_RING_LEN ? c->total.matched - CAPTURE_RING_LEN + 1 : 1;
}

int capture_ring_get(const struct capture *c, uint64_t no, struct capture_pkt *out)
{
	if (!c->ring || no < capture_ring_first(c) || no >= capture_ring_next(c))
		return -1;
	const struct ring_slot *s = &c->ring[(no - 1) % CAPTURE_RING_LEN];
	*out = (struct capture_pkt){
		.no = s->no, .ts_ns = s->ts_ns, .link = s->link, .dir = s->dir,
		.label = s->label >= 0 ? labels[s->label] : NULL, .len = s->len,
		.caplen = s->caplen, .data = s->data,
	};
	return 0;
}

/* ---------- packet watchers ---------- */

void capture_watch(struct capture *c, capture_pkt_fn fn, void *arg)
{
	c->watchers = xrealloc(c->watchers, sizeof *c->watchers * (size_t)(c->nwatchers + 1));
	c->watchers[c->nwatchers++] = (struct watcher){fn, arg};
}

void capture_unwatch(struct capture *c, capture_pkt_fn fn, void *arg)
{
	for (int i = 0; i < c->nwatchers; i++)
		if (c->watchers[i].fn == fn && c->watchers[i].arg == arg)
			c->watchers[i].fn = NULL; /* compacted by notify() */
}

static void notify(struct capture *c, const uint8_t *data, uint32_t len)
{
	int n = c->nwatchers; /* watchers added by a callback wait for the next packet */
	for (int i = 0; i < n; i++)
		if (c->watchers[i].fn)
			c->watchers[i].fn(c, data, len, c->watchers[i].arg);
	int k = 0;
	for (int i = 0; i < c->nwatchers; i++)
		if (c->watchers[i].fn)
			c->watchers[k++] = c->watchers[i];
	c->nwatchers = k;
}
