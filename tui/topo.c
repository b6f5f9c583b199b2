/* topo.c: the topology panel. Wide enough, it draws a diagram: each switch
 * (double box) with its nodes left and right, each point-to-point link as
 * node ── node; each link shows its interface, capture state and packet
 * rate. Too small, it collapses to one line per link. Everything drawn is
 * also a hit target (arrows and mouse select it; Enter opens it). */
#include "tui-int.h"

#include <stdio.h>
#include <string.h>

#include "node.h"

enum tk { TK_NONE, TK_NODE, TK_SWITCH, TK_LINK };

struct hit {
	enum tk kind;
	const void *obj;
	struct rect r;
};

#define MAX_HITS 512
static struct hit hits[MAX_HITS];
static int nhits;
static int first_row; /* scroll of the compact list */
/* The selection survives redraws and model changes by kind and name. */
static enum tk sel_kind = TK_NONE;
static char sel_name[128];
static int user_selected; /* until then, the first link is selected */

#define GROUP_H 4 /* rows per attached node: box of 4 */

static const char *obj_name(enum tk k, const void *o)
{
	if (k == TK_NODE) return ((const struct lab_node *)o)->name;
	if (k == TK_SWITCH) return ((const struct lab_switch *)o)->name;
	if (k == TK_LINK) return ((const struct lab_iface *)o)->label;
	return "";
}

static int is_selected(enum tk k, const void *o)
{
	return sel_kind == k && strcmp(sel_name, obj_name(k, o)) == 0;
}

static void select_hit(const struct hit *h)
{
	user_selected = 1;
	sel_kind = h->kind;
	snprintf(sel_name, sizeof sel_name, "%s", obj_name(h->kind, h->obj));
	tui_redraw_soon();
}

static void add_hit(enum tk k, const void *o, int y, int x, int h, int w)
{
	for (int i = 0; i < nhits; i++)
		if (hits[i].kind == k && hits[i].obj == o)
			return; /* a node drawn twice is one target (its first place) */
	if (nhits < MAX_HITS)
		hits[nhits++] = (struct hit){k, o, {y, x, h, w}};
}

static enum node_state state_of(const struct lab_node *ln)
{
	struct node *n = engine_node(T.eng, ln->name);
	return n ? node_state(n) : NODE_DEFINED;
}

static int state_color(enum node_state st)
{
	switch (st) {
	case NODE_READY: return color_attr(C_OK);
	case NODE_BUILDING:
	case NODE_BOOTING:
	case NODE_STOPPING: return color_attr(C_WARN);
	case NODE_CRASHED: return color_attr(C_BAD);
	default: return color_attr(C_DIM);
	}
}

/* "● 12/s" when the link is being captured, "" otherwise. */
static int link_capture_text(const struct lab_iface *ifc, char *out, size_t len)
{
	const struct lab *lab = engine_lab(T.eng);
	int captured = 0;
	for (int i = 0; i < lab->ncaptures; i++)
		for (int k = 0; k < lab->captures[i]->nifaces; k++)
			captured |= lab->captures[i]->running && lab->captures[i]->ifaces[k] == ifc;
	struct feed_stats st = {0};
	feed_stats_iface(ifc->label, &st);
	if (captured)
		snprintf(out, len, "%s %.0f/s", glyph(G_DOT), st.rate);
	else
		out[0] = '\0';
	return captured;
}

/* ---- diagram ---- */

static int node_box_w(const struct lab *lab)
{
	int w = 10; /* "building" + borders and padding */
	for (int i = 0; i < lab->nnodes; i++)
		if (text_width(lab->nodes[i]->name) + 4 > w)
			w = text_width(lab->nodes[i]->name) + 4;
	return w > 24 ? 24 : w;
}

static void draw_node_box(const struct lab_node *ln, int y, int x, int w)
{
	int sel = is_selected(TK_NODE, ln);
	int a = sel ? color_attr(C_SEL) : 0;
	struct rect r = {y, x, GROUP_H, w};
	draw_frame(r, NULL, 0);
	mvhline(y + 1, x + 1, ' ', w - 2);
	put_text(y + 1, x + 1, w - 2, sel ? glyph(G_SEL) : " ", a);
	put_text(y + 1, x + 2, w - 3, ln->name, a | A_BOLD);
	enum node_state st = state_of(ln);
	put_text(y + 2, x + 2, w - 3, node_state_name(st), state_color(st));
	add_hit(TK_NODE, ln, y, x, GROUP_H, w);
}

/* A horizontal link line of n columns at (y, x): "─eth0─────" and, under it,
 * the capture mark. Direction of the arrow: towards the switch. */
static void draw_link_line(const struct lab_iface *ifc, int y, int x, int n, int towards_right)
{
	int sel = is_selected(TK_LINK, ifc);
	int a = sel ? color_attr(C_SEL) : 0;
	char cap[64];
	int captured = link_capture_text(ifc, cap, sizeof cap);
	int la = captured ? color_attr(C_OUT) | A_BOLD : 0;
	hline_glyph(y, x, n, captured ? G_DH : G_H, la);
	put_text(y, x + 1, n - 3, ifc->name, a);
	if (n >= 3)
		put_glyph(y, towards_right ? x + n - 1 : x, towards_right ? G_RARROW : G_LARROW, la);
	put_text(y + 1, x + 1, n - 1, cap, color_attr(C_OUT));
	add_hit(TK_LINK, ifc, y, x, 2, n);
}

/* The ends attached to switch sw, in link order. */
static int switch_ends(const struct lab *lab, const struct lab_switch *sw,
		       const struct lab_iface **out, int max)
{
	int n = 0;
	for (int i = 0; i < lab->nlinks && n < max; i++)
		if (lab->links[i]->sw == sw)
			out[n++] = &lab->links[i]->end[0];
	return n;
}

struct dims {
	int nw, conn, sww;
};

static struct dims diagram_dims(const struct lab *lab)
{
	struct dims d = {node_box_w(lab), 12, 7};
	for (int i = 0; i < lab->nswitches; i++)
		if (text_width(lab->switches[i]->name) + 4 > d.sww)
			d.sww = text_width(lab->switches[i]->name) + 4;
	return d;
}

static int diagram_width(const struct dims *d) { return 2 * d->nw + 2 * d->conn + d->sww + 2; }

static int switch_rows(const struct lab *lab, const struct lab_switch *sw)
{
	const struct lab_iface *ends[64];
	int n = switch_ends(lab, sw, ends, 64);
	int per_side = (n + 1) / 2;
	return (per_side ? per_side : 1) * GROUP_H;
}

static int isolated(const struct lab *lab, const struct lab_node *ln)
{
	for (int i = 0; i < lab->nlinks; i++)
		if (lab->links[i]->end[0].node == ln || (!lab->links[i]->sw && lab->links[i]->end[1].node == ln))
			return 0;
	return 1;
}

static int diagram_rows(const struct lab *lab)
{
	int rows = 0;
	for (int i = 0; i < lab->nswitches; i++)
		rows += switch_rows(lab, lab->switches[i]);
	for (int i = 0; i < lab->nlinks; i++)
		rows += lab->links[i]->sw ? 0 : GROUP_H;
	for (int i = 0; i < lab->nnodes; i++)
		if (isolated(lab, lab->nodes[i])) {
			rows += GROUP_H;
			break;
		}
	return rows;
}

static void draw_switch(const struct lab *lab, const struct lab_switch *sw, int y, int x0,
			const struct dims *d)
{
	const struct lab_iface *ends[64];
	int n = switch_ends(lab, sw, ends, 64);
	int h = switch_rows(lab, sw);
	int sx = x0 + d->nw + d->conn;
	int sel = is_selected(TK_SWITCH, sw);
	int a = sel ? color_attr(C_SEL) : 0;
	struct rect r = {y, sx, h - 1, d->sww};
	put_glyph(r.y, r.x, G_DTL, 0);
	hline_glyph(r.y, r.x + 1, r.w - 2, G_DH, 0);
	put_glyph(r.y, r.x + r.w - 1, G_DTR, 0);
	for (int i = 1; i < r.h - 1; i++) {
		put_glyph(r.y + i, r.x, G_DV, 0);
		put_glyph(r.y + i, r.x + r.w - 1, G_DV, 0);
	}
	put_glyph(r.y + r.h - 1, r.x, G_DBL, 0);
	hline_glyph(r.y + r.h - 1, r.x + 1, r.w - 2, G_DH, 0);
	put_glyph(r.y + r.h - 1, r.x + r.w - 1, G_DBR, 0);
	put_text(r.y + 1, r.x + 2, r.w - 3, sw->name, a | A_BOLD);
	put_text(r.y + 2, r.x + 2, r.w - 3, sw->hub ? "hub" : "", color_attr(C_DIM));
	add_hit(TK_SWITCH, sw, r.y, r.x, r.h, r.w);
	for (int i = 0; i < n; i++) {
		int left = i % 2 == 0, row = y + (i / 2) * GROUP_H;
		int nx = left ? x0 : sx + d->sww + d->conn;
		draw_node_box(ends[i]->node, row, nx, d->nw);
		int lx = left ? x0 + d->nw : sx + d->sww;
		draw_link_line(ends[i], row + 1, lx, d->conn, left);
	}
}

static void draw_p2p(const struct lab_link *ll, int y, int x0, const struct dims *d)
{
	draw_node_box(ll->end[0].node, y, x0, d->nw);
	int lx = x0 + d->nw, n = 2 * d->conn + d->sww;
	draw_link_line(&ll->end[0], y + 1, lx, n / 2, 1);
	draw_link_line(&ll->end[1], y + 1, lx + n / 2, n - n / 2, 0);
	draw_node_box(ll->end[1].node, y, lx + n, d->nw);
}

static void draw_diagram(const struct lab *lab, struct rect in)
{
	struct dims d = diagram_dims(lab);
	int x0 = in.x + (in.w - diagram_width(&d)) / 2, y = in.y;
	for (int i = 0; i < lab->nswitches; i++) {
		draw_switch(lab, lab->switches[i], y, x0, &d);
		y += switch_rows(lab, lab->switches[i]);
	}
	for (int i = 0; i < lab->nlinks; i++)
		if (!lab->links[i]->sw) {
			draw_p2p(lab->links[i], y, x0, &d);
			y += GROUP_H;
		}
	int x = x0;
	for (int i = 0; i < lab->nnodes; i++)
		if (isolated(lab, lab->nodes[i])) {
			draw_node_box(lab->nodes[i], y, x, d.nw);
			x += d.nw + 1;
		}
}

/* ---- compact: one line per link ---- */

static void draw_link_row(const struct lab_iface *ifc, const struct lab_link *ll, int y, struct rect in)
{
	int sel = is_selected(TK_LINK, ifc) || (sel_kind == TK_NODE && !strcmp(sel_name, ifc->node->name));
	int a = sel ? color_attr(C_SEL) : 0;
	enum node_state st = state_of(ifc->node);
	char cap[64];
	link_capture_text(ifc, cap, sizeof cap);
	const char *peer = ll->sw ? ll->sw->name : ll->end[1].label;
	int x = in.x;
	mvhline(y, x, ' ', in.w);
	x += put_text(y, x, in.w, sel ? glyph(G_SEL) : " ", a);
	x += put_textf(y, x, in.x + in.w - x, a, "%s ", ifc->label);
	x += put_textf(y, x, in.x + in.w - x, state_color(st), "%-8s ", node_state_name(st));
	x += put_textf(y, x, in.x + in.w - x, 0, "%s %s ", glyph(G_RARROW), peer);
	put_text(y, x, in.x + in.w - x, cap, color_attr(C_OUT));
	add_hit(TK_LINK, ifc, y, in.x, 1, in.w);
}

static void draw_compact(const struct lab *lab, struct rect in)
{
	int row = 0;
	for (int i = 0; i < lab->nlinks; i++, row++) {
		int y = in.y + row - first_row;
		if (y >= in.y && y < in.y + in.h)
			draw_link_row(&lab->links[i]->end[0], lab->links[i], y, in);
	}
	for (int i = 0; i < lab->nnodes; i++) {
		if (!isolated(lab, lab->nodes[i]))
			continue;
		int y = in.y + row++ - first_row;
		if (y < in.y || y >= in.y + in.h)
			continue;
		enum node_state st = state_of(lab->nodes[i]);
		int sel = is_selected(TK_NODE, lab->nodes[i]);
		put_textf(y, in.x, in.w, sel ? color_attr(C_SEL) : 0, "%s%s (no links)", sel ? glyph(G_SEL) : " ",
			  lab->nodes[i]->name);
		put_text(y, in.x + in.w - 9, 9, node_state_name(st), state_color(st));
		add_hit(TK_NODE, lab->nodes[i], y, in.x, 1, in.w);
	}
}

static int fits_diagram(const struct lab *lab, int w, int h)
{
	struct dims d = diagram_dims(lab);
	return diagram_width(&d) <= w && diagram_rows(lab) <= h;
}

int topo_wanted_rows(int w)
{
	const struct lab *lab = engine_lab(T.eng);
	struct dims d = diagram_dims(lab);
	if (diagram_width(&d) <= w)
		return diagram_rows(lab);
	return lab->nlinks ? lab->nlinks : 1;
}

void topo_draw(struct rect r, int focused)
{
	const struct lab *lab = engine_lab(T.eng);
	draw_frame(r, "Topology", focused);
	struct rect in = {r.y + 1, r.x + 1, r.h - 2, r.w - 2};
	nhits = 0;
	if (lab->nnodes == 0) {
		put_text(in.y, in.x + 1, in.w - 1, "no nodes yet (the lab file is loading)", color_attr(C_DIM));
		return;
	}
	if (fits_diagram(lab, in.w, in.h))
		draw_diagram(lab, in);
	else
		draw_compact(lab, in);
	if (!user_selected && nhits > 0) { /* a link first: F2 captures it */
		int i = 0;
		while (i < nhits - 1 && hits[i].kind != TK_LINK)
			i++;
		sel_kind = hits[i].kind;
		snprintf(sel_name, sizeof sel_name, "%s", obj_name(hits[i].kind, hits[i].obj));
	}
}

/* ---- selection, keys ---- */

static int sel_index(void)
{
	for (int i = 0; i < nhits; i++)
		if (is_selected(hits[i].kind, hits[i].obj))
			return i;
	return -1;
}

/* Hits in reading order (top to bottom, left to right). */
static int hit_before(const struct hit *a, const struct hit *b)
{
	return a->r.y < b->r.y || (a->r.y == b->r.y && a->r.x < b->r.x);
}

static void step(int dir)
{
	int cur = sel_index(), best = -1;
	if (cur < 0) {
		if (nhits)
			select_hit(&hits[0]);
		return;
	}
	for (int i = 0; i < nhits; i++) {
		int after = dir > 0 ? hit_before(&hits[cur], &hits[i]) : hit_before(&hits[i], &hits[cur]);
		if (!after)
			continue;
		if (best < 0 || (dir > 0 ? hit_before(&hits[i], &hits[best]) : hit_before(&hits[best], &hits[i])))
			best = i;
	}
	if (best >= 0) {
		select_hit(&hits[best]);
		struct rect in = T.r[P_TOPO];
		int y = hits[best].r.y;
		if (y >= in.y + in.h - 1)
			first_row++;
		else if (y <= in.y && first_row > 0)
			first_row--;
	}
}

int topo_key(int key)
{
	switch (key) {
	case KEY_UP: case KEY_LEFT: case 'k': case 'h': step(-1); return 1;
	case KEY_DOWN: case KEY_RIGHT: case 'j': case 'l': step(1); return 1;
	default: return 0;
	}
}

void topo_click(struct rect r, int y, int x)
{
	(void)r;
	for (int i = nhits - 1; i >= 0; i--)
		if (rect_hit(hits[i].r, y, x)) {
			select_hit(&hits[i]);
			return;
		}
}

/* Enter: a link opens its capture's packets (starting a capture asks for a
 * filter), a node opens its shell. */
void topo_open(void)
{
	struct lab_iface *ifc = sel_kind == TK_LINK ? topo_selected_iface() : NULL;
	if (ifc) {
		const struct lab *lab = engine_lab(T.eng);
		for (int i = 0; i < lab->ncaptures; i++)
			for (int k = 0; k < lab->captures[i]->nifaces; k++)
				if (lab->captures[i]->ifaces[k] == ifc) {
					captures_select(lab->captures[i]->name);
					packets_show(lab->captures[i]->name);
					tui_focus(P_PKTS);
					return;
				}
		tui_run("capture-prompt", "<key>");
		return;
	}
	if (sel_kind == TK_NODE)
		tui_run("shell %N", "<key>");
	else if (sel_kind == TK_SWITCH)
		tui_message(0, "switch %s: `capture %s` captures every link on it", sel_name, sel_name);
}

struct lab_node *topo_selected_node(void)
{
	const struct lab *lab = engine_lab(T.eng);
	if (sel_kind == TK_NODE)
		return lab_node(lab, sel_name);
	struct lab_iface *ifc = topo_selected_iface();
	return ifc ? ifc->node : NULL;
}

struct lab_iface *topo_selected_iface(void)
{
	const struct lab *lab = engine_lab(T.eng);
	if (sel_kind == TK_LINK) {
		char node[128];
		snprintf(node, sizeof node, "%s", sel_name);
		char *colon = strchr(node, ':');
		if (!colon)
			return NULL;
		*colon = '\0';
		return lab_iface(lab, node, colon + 1);
	}
	if (sel_kind == TK_NODE) /* a node stands for its first link */
		for (int i = 0; i < lab->nlinks; i++)
			for (int k = 0; k < 2; k++)
				if (lab->links[i]->end[k].node && !strcmp(lab->links[i]->end[k].node->name, sel_name))
					return &lab->links[i]->end[k];
	return NULL;
}

const char *topo_selected_switch(void) { return sel_kind == TK_SWITCH ? sel_name : NULL; }
