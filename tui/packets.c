/* packets.c: the packet list of one capture (live, auto-follow until the
 * user scrolls up; End follows again), its display filter (Wireshark's,
 * applied by a tshark child, dfilter.c; tcpdump syntax through
 * pcap_offline_filter only when tshark is missing), and the two views of
 * the selected frame: details (tshark -V of that frame from the spool, a
 * collapsible tree) and a hex dump. */
#include "tui-int.h"
#include "dfilter.h"
#include "feed.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "loop.h"
#include "proc.h"

static struct {
	char *capture;
	uint32_t sel; /* frame number, 0: none */
	int follow;
	int top; /* index into the shown list of the first row */
	char *dfilter;
	int by_tshark; /* the filter is Wireshark's, run by dfilter.c */
	struct bpf_program prog; /* else the BPF fallback */
	int have_prog;
	uint32_t *shown; /* frame numbers passing the display filter */
	int nshown, capshown;
	uint32_t checked; /* last frame number tested against the BPF filter */
	int next_match;   /* next of tshark's matches to take */
} L = {.follow = 1};

/* ---- the list ---- */

static struct feed *cur_feed(void) { return L.capture ? feed_get(L.capture) : NULL; }

static int passes(const struct tpkt *p)
{
	if (!L.have_prog)
		return 1;
	struct pcap_pkthdr h = {.caplen = p->caplen, .len = p->origlen};
	return pcap_offline_filter(&L.prog, &h, p->data) != 0;
}

static void add_shown(uint32_t no)
{
	if (L.nshown == L.capshown) {
		L.capshown = L.capshown ? L.capshown * 2 : 1024;
		L.shown = xrealloc(L.shown, (size_t)L.capshown * sizeof *L.shown);
	}
	L.shown[L.nshown++] = no;
}

/* Frames tshark matched, as far as the feed has read them (tshark reads the
 * spool on its own and may be ahead). */
static void take_matches(const struct feed *f)
{
	for (; f->n && L.next_match < dfilter_count(); L.next_match++) {
		uint32_t no = dfilter_frame(L.next_match);
		if (no > f->v[f->n - 1].no)
			break;
		if (no >= f->v[0].no)
			add_shown(no);
	}
}

static void refresh_shown(void)
{
	struct feed *f = cur_feed();
	if (!f)
		return;
	if (f->n && L.checked < f->v[0].no - 1) /* older frames left the view */
		L.checked = f->v[0].no - 1;
	int drop = 0;
	while (drop < L.nshown && f->n && L.shown[drop] < f->v[0].no)
		drop++;
	if (drop) {
		memmove(L.shown, L.shown + drop, (size_t)(L.nshown - drop) * sizeof *L.shown);
		L.nshown -= drop;
		L.top = L.top > drop ? L.top - drop : 0;
	}
	if (L.by_tshark) {
		take_matches(f);
		return;
	}
	for (; f->n && L.checked < f->v[f->n - 1].no; L.checked++) {
		struct tpkt *p = feed_packet(f, L.checked + 1);
		if (p && passes(p))
			add_shown(p->no);
	}
}

static void reset_shown(void)
{
	L.nshown = 0;
	L.checked = 0;
	L.next_match = 0;
	L.top = 0;
	refresh_shown();
}

/* (Re)starts tshark on the capture shown; BPF when tshark cannot run. */
static void apply_filter(void)
{
	char err[CL_ERRBUF];
	dfilter_stop();
	L.by_tshark = 0;
	if (L.dfilter && L.capture && dfilter_have_tshark()) {
		L.by_tshark = dfilter_run(L.capture, L.dfilter, err) == 0;
		if (!L.by_tshark)
			tui_message(1, "%s", err);
	}
	reset_shown();
}

void packets_poll(void)
{
	feeds_poll();
	dfilter_poll();
	refresh_shown();
	if (L.follow && L.nshown)
		L.sel = L.shown[L.nshown - 1];
}

void packets_show(const char *capture)
{
	if (L.capture && !strcmp(L.capture, capture))
		return;
	free(L.capture);
	L.capture = xstrdup(capture);
	L.sel = 0;
	L.follow = 1;
	apply_filter();
	packets_poll();
	tui_redraw_soon();
}

const char *packets_capture(void) { return L.capture; }

void packets_follow(void)
{
	L.follow = 1;
	if (L.nshown)
		L.sel = L.shown[L.nshown - 1];
	tui_redraw_soon();
}

/* A Wireshark display filter; tcpdump syntax when tshark is missing. A
 * filter tshark rejects shows tshark's message in the list. */
int packets_set_filter(const char *filter, char *err)
{
	int bpf = *filter && !dfilter_have_tshark();
	if (bpf && lab_filter_check(filter, err) < 0)
		return -1;
	if (L.have_prog)
		pcap_freecode(&L.prog);
	L.have_prog = 0;
	free(L.dfilter);
	L.dfilter = *filter ? xstrdup(filter) : NULL;
	if (bpf) {
		pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
		L.have_prog = pcap_compile(p, &L.prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0;
		pcap_close(p);
	}
	apply_filter();
	tui_redraw_soon();
	return 0;
}

static int sel_pos(void)
{
	for (int i = L.nshown - 1; i >= 0; i--)
		if (L.shown[i] == L.sel)
			return i;
	return -1;
}

static void dir_text(uint8_t dir, const char **s, int *attr)
{
	*s = dir == PCAPNG_DIR_OUT ? glyph(G_RARROW) : dir == PCAPNG_DIR_IN ? glyph(G_LARROW) : " ";
	*attr = dir == PCAPNG_DIR_OUT ? color_attr(C_OUT) : color_attr(C_IN);
}

static void draw_packet_row(const struct feed *f, const struct tpkt *p, int y, struct rect in, int sel)
{
	int a = sel ? color_attr(C_SEL) : 0;
	double t = (double)(p->ts_ns - f->first_ts) / 1e9;
	int lw = in.w >= 100 ? 14 : 12;
	mvhline(y, in.x, ' ', in.w);
	int x = in.x;
	x += put_textf(y, x, in.w, a, "%s%6u %10.6f %-*.*s ", sel ? glyph(G_SEL) : " ", p->no, t, lw, lw, p->iface);
	const char *ds;
	int da;
	dir_text(p->dir, &ds, &da);
	x += put_text(y, x, 2, ds, da | a | A_BOLD);
	x += put_text(y, x, 2, "  ", a);
	x += put_textf(y, x, in.x + in.w - x, a, "%-10.10s %-8.8s ", p->label ? p->label : "", p->proto);
	put_text(y, x, in.x + in.w - x, p->info, a);
}

/* In the top border, right: the filter and whose syntax it is. */
static void draw_filter_box(struct rect r, int title_w)
{
	char df[300];
	const char *syntax = !L.dfilter || dfilter_have_tshark() ? "" : " (tcpdump syntax: no tshark)";
	snprintf(df, sizeof df, " display filter%s: %s ", syntax, L.dfilter ? L.dfilter : "(none, / sets)");
	int w = text_width(df);
	int attr = !L.dfilter ? color_attr(C_DIM) : L.by_tshark && dfilter_error() ? color_attr(C_BAD) : (int)A_BOLD;
	if (w < r.w - title_w - 8)
		put_text(r.y, r.x + r.w - w - 2, w, df, attr);
}

void packets_draw(struct rect r, int focused)
{
	char title[512];
	snprintf(title, sizeof title, "Packets  %s  %s", L.capture ? L.capture : "(no capture)",
		 L.follow ? "[follow]" : "[scrolled: End follows]");
	draw_frame(r, title, focused);
	if (L.dfilter || focused)
		draw_filter_box(r, text_width(title));
	struct rect in = {r.y + 1, r.x + 1, r.h - 2, r.w - 2};
	const struct lab *lab = engine_lab(T.eng);
	if (!L.capture && lab->ncaptures) /* the first capture shows itself */
		packets_show(lab->captures[lab->ncaptures - 1]->name);
	struct feed *f = cur_feed();
	if (!f) {
		put_text(in.y, in.x + 1, in.w - 1, "select a capture (Captures panel, Enter) or a link (F2 starts one)",
			 color_attr(C_DIM));
		return;
	}
	int lw = in.w >= 100 ? 14 : 12;
	put_textf(in.y, in.x, in.w, A_BOLD, " %6s %10s %-*s %-3s %-10s %-8s %s", "No.", "Time", lw, "Link", "Dir",
		  "Label", "Proto", "Info");
	int rows = in.h - 1;
	if (L.by_tshark && dfilter_error()) {
		put_textf(in.y + 1, in.x + 1, in.w - 1, color_attr(C_BAD), "tshark: %s", dfilter_error());
		return;
	}
	if (f->fd < 0 || L.nshown == 0) {
		put_text(in.y + 1, in.x + 1, in.w - 1, f->fd < 0 ? "waiting for the capture's spool…" :
			 L.dfilter ? "no packet matches the display filter" : "no packets yet", color_attr(C_DIM));
		return;
	}
	int sp = sel_pos();
	if (L.follow || sp < 0)
		L.top = L.nshown - rows;
	else if (sp < L.top)
		L.top = sp;
	else if (sp >= L.top + rows)
		L.top = sp - rows + 1;
	if (L.top < 0)
		L.top = 0;
	for (int i = 0; i < rows && L.top + i < L.nshown; i++) {
		struct tpkt *p = feed_packet(f, L.shown[L.top + i]);
		if (p)
			draw_packet_row(f, p, in.y + 1 + i, in, p->no == L.sel);
	}
}

static void move_sel(int delta)
{
	if (!L.nshown)
		return;
	int sp = sel_pos();
	sp = sp < 0 ? L.nshown - 1 : sp + delta;
	sp = sp < 0 ? 0 : sp >= L.nshown ? L.nshown - 1 : sp;
	L.sel = L.shown[sp];
	L.follow = sp == L.nshown - 1 && delta > 0;
	tui_redraw_soon();
}

int packets_key(int key)
{
	int page = T.r[P_PKTS].h - 3;
	switch (key) {
	case KEY_UP: case 'k': move_sel(-1); return 1;
	case KEY_DOWN: case 'j': move_sel(1); return 1;
	case KEY_PPAGE: move_sel(-page); return 1;
	case KEY_NPAGE: move_sel(page); return 1;
	case KEY_HOME: case 'g': move_sel(-L.nshown); return 1;
	case 'G': packets_follow(); return 1;
	default: return 0;
	}
}

void packets_click(struct rect r, int y, int x)
{
	(void)x;
	int i = L.top + (y - r.y - 2);
	if (i >= 0 && i < L.nshown) {
		L.sel = L.shown[i];
		L.follow = 0;
	}
}

/* ---- details (tshark -V of one frame) and hex ---- */

static struct {
	uint32_t frame;
	char *capture;
	struct proc *proc;
	int fd;
	struct buf out;
	char **lines;
	int nlines;
	unsigned char *open; /* per line: children shown */
	int sel, top;
	int bpf; /* showing a BPF program instead */
} D = {.fd = -1};

static void detail_clear(void)
{
	for (int i = 0; i < D.nlines; i++)
		free(D.lines[i]);
	free(D.lines);
	free(D.open);
	D.lines = NULL;
	D.open = NULL;
	D.nlines = D.sel = D.top = 0;
	D.bpf = 0;
}

static void detail_add(const char *s)
{
	D.lines = xrealloc(D.lines, (size_t)(D.nlines + 1) * sizeof *D.lines);
	D.open = xrealloc(D.open, (size_t)(D.nlines + 1));
	D.open[D.nlines] = 0;
	D.lines[D.nlines++] = xstrdup(s);
}

/* A line of tshark's hex dump ("0000  08 09 ..."): the Hex pane has it. */
static int hex_dump_line(const char *s)
{
	return strlen(s) > 6 && strspn(s, "0123456789abcdef") == 4 && s[4] == ' ' && s[5] == ' ';
}

static void detail_parse(void)
{
	detail_clear(); /* the "asking tshark" line */
	char *s = D.out.data;
	for (char *nl; s && (nl = strchr(s, '\n')); s = nl + 1) {
		*nl = '\0';
		if (*s && !hex_dump_line(s))
			detail_add(s);
	}
	buf_free(&D.out);
	/* the innermost layer (the last top-level line) opens itself */
	for (int i = D.nlines - 1; i >= 0; i--)
		if (D.lines[i][0] != ' ') {
			D.open[i] = 1;
			break;
		}
}

static void detail_stop(void)
{
	if (D.fd >= 0) {
		loop_unwatch(D.fd);
		close(D.fd);
		D.fd = -1;
	}
	if (D.proc) {
		proc_detach(D.proc);
		proc_signal(D.proc, 15);
		D.proc = NULL;
	}
}

static void on_detail_out(int fd, int events, void *arg)
{
	(void)events;
	(void)arg;
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof chunk);
	if (n > 0) {
		buf_add(&D.out, chunk, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	detail_stop();
	detail_parse();
	if (D.nlines == 0)
		detail_add("tshark printed nothing for this frame");
	tui_redraw_soon();
}

static void on_detail_exit(struct proc *p, int status, void *arg)
{
	(void)p;
	(void)status;
	(void)arg;
	D.proc = NULL;
}

/* tshark reads the spool (a prefix of it is a valid pcapng) for one frame. */
static void detail_request(const char *capture, uint32_t frame)
{
	detail_stop();
	detail_clear();
	buf_free(&D.out);
	D.frame = frame;
	free(D.capture);
	D.capture = xstrdup(capture);
	char *spool = feed_spool(capture);
	if (!spool) {
		detail_add("no spool file for this capture yet");
		return;
	}
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		free(spool);
		return;
	}
	char filter[64];
	snprintf(filter, sizeof filter, "frame.number==%u", frame);
	char *argv[] = {"tshark", "-n", "-r", spool, "-V", "-Y", filter, NULL};
	struct proc_opts o = {.stdin_fd = -1, .stdout_fd = out[1], .stderr_fd = -1};
	char err[CL_ERRBUF];
	D.proc = proc_start("tshark details", argv, &o, on_detail_exit, NULL, err);
	close(out[1]);
	free(spool);
	if (!D.proc) {
		close(out[0]);
		detail_add("tshark is not installed (run make deps): details need it; the hex view works");
		return;
	}
	D.fd = out[0];
	fcntl(D.fd, F_SETFL, O_NONBLOCK);
	loop_watch(D.fd, LOOP_READ, on_detail_out, NULL);
	detail_add("asking tshark…");
}

void packets_open(void)
{
	if (!L.capture || !L.sel)
		return;
	T.bottom = B_PACKET;
	detail_request(L.capture, L.sel);
	tui_focus(P_DETAIL);
}

static int depth(const char *s)
{
	int d = 0;
	while (s[d] == ' ')
		d++;
	return d / 4;
}

/* Visible lines: those whose every ancestor is open. */
static int visible(int *out, int max)
{
	int n = 0, hide_below = -1;
	for (int i = 0; i < D.nlines && n < max; i++) {
		int d = D.bpf ? 0 : depth(D.lines[i]);
		if (hide_below >= 0 && d > hide_below)
			continue;
		hide_below = -1;
		out[n++] = i;
		if (!D.bpf && !D.open[i] && i + 1 < D.nlines && depth(D.lines[i + 1]) > d)
			hide_below = d;
	}
	return n;
}

void detail_draw(struct rect r, int focused)
{
	char title[128];
	if (D.bpf)
		snprintf(title, sizeof title, "BPF program of %s", D.capture ? D.capture : "?");
	else if (D.frame)
		snprintf(title, sizeof title, "Detail (frame %u)", D.frame);
	else
		snprintf(title, sizeof title, "Detail");
	draw_frame(r, title, focused);
	if (!D.bpf && D.frame != L.sel && L.sel && L.capture && T.bottom == B_PACKET)
		detail_request(L.capture, L.sel); /* follow the list's selection */
	static int vis[8192];
	int n = visible(vis, 8192), rows = r.h - 2;
	if (D.sel >= n) D.sel = n ? n - 1 : 0;
	if (D.sel < D.top) D.top = D.sel;
	if (D.sel >= D.top + rows) D.top = D.sel - rows + 1;
	for (int k = 0; k < rows && D.top + k < n; k++) {
		int i = vis[D.top + k], d = D.bpf ? 0 : depth(D.lines[i]);
		int has_kids = !D.bpf && i + 1 < D.nlines && depth(D.lines[i + 1]) > d;
		int a = focused && D.top + k == D.sel ? color_attr(C_SEL) : 0;
		int x = r.x + 1 + 2 * d;
		mvhline(r.y + 1 + k, r.x + 1, ' ', r.w - 2);
		if (has_kids)
			put_glyph(r.y + 1 + k, x, D.open[i] ? G_OPEN : G_CLOSED, a);
		put_text(r.y + 1 + k, x + 2, r.x + r.w - 1 - x - 2, D.lines[i] + 4 * d, a | (d == 0 && !D.bpf ? A_BOLD : 0));
	}
}

int detail_key(int key)
{
	static int vis[8192];
	int n = visible(vis, 8192);
	switch (key) {
	case KEY_UP: case 'k': D.sel -= D.sel > 0; break;
	case KEY_DOWN: case 'j': D.sel += D.sel + 1 < n; break;
	case KEY_PPAGE: D.sel = D.sel > 10 ? D.sel - 10 : 0; break;
	case KEY_NPAGE: D.sel = D.sel + 10 < n ? D.sel + 10 : (n ? n - 1 : 0); break;
	case '\r': case ' ': case KEY_RIGHT: case KEY_LEFT:
		if (n && !D.bpf)
			D.open[vis[D.sel]] = key == KEY_LEFT ? 0 : key == KEY_RIGHT ? 1 : !D.open[vis[D.sel]];
		break;
	default: return 0;
	}
	tui_redraw_soon();
	return 1;
}

static int hex_top;

void hex_draw(struct rect r, int focused)
{
	draw_frame(r, "Hex", focused);
	struct feed *f = cur_feed();
	struct tpkt *p = f && L.sel ? feed_packet(f, L.sel) : NULL;
	if (!p)
		return;
	int rows = r.h - 2, per = r.w - 2 >= 75 ? 16 : 8;
	int lines = (int)((p->caplen + (uint32_t)per - 1) / (uint32_t)per);
	if (hex_top > lines - rows) hex_top = lines - rows;
	if (hex_top < 0) hex_top = 0;
	for (int k = 0; k < rows && hex_top + k < lines; k++) {
		uint32_t off = (uint32_t)((hex_top + k) * per);
		char line[160];
		int n = snprintf(line, sizeof line, "%04x  ", off);
		for (int i = 0; i < per; i++)
			n += snprintf(line + n, sizeof line - (size_t)n, off + (uint32_t)i < p->caplen ? "%02x " : "   ",
				      off + (uint32_t)i < p->caplen ? p->data[off + (uint32_t)i] : 0);
		n += snprintf(line + n, sizeof line - (size_t)n, " ");
		for (int i = 0; i < per && off + (uint32_t)i < p->caplen; i++) {
			uint8_t c = p->data[off + (uint32_t)i];
			line[n++] = c >= 32 && c < 127 ? (char)c : '.';
		}
		line[n] = '\0';
		put_text(r.y + 1 + k, r.x + 1, r.w - 2, line, 0);
	}
}

int hex_key(int key)
{
	switch (key) {
	case KEY_UP: case 'k': hex_top--; break;
	case KEY_DOWN: case 'j': hex_top++; break;
	default: return 0;
	}
	tui_redraw_soon();
	return 1;
}

/* `tcpdump -d` of a capture's filter, compiled by libpcap as core does. */
void detail_show_bpf(const char *capture)
{
	const struct lab_capture *c = capture ? lab_capture(engine_lab(T.eng), capture) : NULL;
	if (!c) {
		tui_message(1, "bpf: no capture '%s'", capture ? capture : "");
		return;
	}
	detail_stop();
	detail_clear();
	free(D.capture);
	D.capture = xstrdup(c->name);
	D.bpf = 1;
	D.frame = 0;
	struct capture *cap = capture_find(c->name);
	char *dump = cap ? capture_filter_dump(cap) : NULL;
	if (dump) {
		detail_add(c->filter[0] ? c->filter : "(no filter: every frame)");
		for (char *s = dump, *nl; *s; s = nl + 1) {
			nl = strchr(s, '\n');
			if (!nl)
				nl = s + strlen(s) - 1;
			else
				*nl = '\0';
			if (*s)
				detail_add(s);
		}
		free(dump);
		T.bottom = B_PACKET;
		tui_focus(P_DETAIL);
		return;
	}
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
	struct bpf_program prog;
	if (pcap_compile(p, &prog, c->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		detail_add(pcap_geterr(p));
	} else {
		detail_add(c->filter[0] ? c->filter : "(no filter: every frame)");
		for (unsigned i = 0; i < prog.bf_len; i++)
			detail_add(bpf_image(&prog.bf_insns[i], (int)i));
		pcap_freecode(&prog);
	}
	pcap_close(p);
	T.bottom = B_PACKET;
	tui_focus(P_DETAIL);
}

void packets_free(void)
{
	detail_stop();
	detail_clear();
	buf_free(&D.out);
	free(D.capture);
	dfilter_stop();
	dfilter_check_cancel();
	feeds_free();
	free(L.capture);
	free(L.dfilter);
	free(L.shown);
	if (L.have_prog)
		pcap_freecode(&L.prog);
	memset(&L, 0, sizeof L);
}
