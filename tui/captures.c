/* captures.c: the list of captures (name, filter, packets, bytes, drops,
 * state). Enter shows a capture's packets; keys from the table stop (s),
 * start (c/F2), show the BPF program (b). */
#include "tui-int.h"

#include <stdio.h>
#include <string.h>

#include "capture.h"

static char sel_name[128];
static int first;

static int sel_index(const struct lab *lab)
{
	for (int i = 0; i < lab->ncaptures; i++)
		if (!strcmp(lab->captures[i]->name, sel_name))
			return i;
	return -1;
}

struct lab_capture *captures_selected(void)
{
	const struct lab *lab = engine_lab(T.eng);
	int i = sel_index(lab);
	if (i < 0 && lab->ncaptures > 0) /* a new capture selects itself */
		i = lab->ncaptures - 1;
	return i >= 0 ? lab->captures[i] : NULL;
}

void captures_select(const char *name)
{
	snprintf(sel_name, sizeof sel_name, "%s", name);
	tui_redraw_soon();
}

static void human_bytes(uint64_t b, char *out, size_t len)
{
	if (b < 10000)
		snprintf(out, len, "%llu", (unsigned long long)b);
	else if (b < 10000000)
		snprintf(out, len, "%lluk", (unsigned long long)(b / 1000));
	else
		snprintf(out, len, "%lluM", (unsigned long long)(b / 1000000));
}

/* Core's capture (counters, drops, state) when it runs; else the model. */
static void row_values(const struct lab_capture *c, char *pk, char *by, char *dr, const char **state)
{
	struct capture *cap = capture_find(c->name);
	struct feed_stats st = {0};
	*state = c->running ? "run" : "stop";
	if (cap) {
		struct capture_info ci;
		capture_get_info(cap, &ci);
		snprintf(pk, 24, "%llu", (unsigned long long)ci.total.matched);
		human_bytes(ci.total.bytes, by, 24);
		snprintf(dr, 24, "%llu", (unsigned long long)ci.total.dropped);
		*state = ci.state == CAPTURE_RUNNING ? "run" : ci.state == CAPTURE_FAILED ? "fail"
			 : ci.state == CAPTURE_STOPPED ? "stop" : "…";
	} else if (feed_stats(c->name, &st) == 0) {
		snprintf(pk, 24, "%llu", (unsigned long long)st.packets);
		human_bytes(st.bytes, by, 24);
	}
}

/* Column widths: the filter takes what the numbers leave. */
static int filter_width(struct rect in) { int fw = in.w - 1 - 14 - 8 - 7 - 5 - 5; return fw < 6 ? 6 : fw; }

static void draw_row(const struct lab_capture *c, int y, struct rect in, int sel)
{
	char pk[24] = "-", by[24] = "-", dr[24] = "-";
	const char *state;
	row_values(c, pk, by, dr, &state);
	int a = sel ? color_attr(C_SEL) : 0;
	mvhline(y, in.x, ' ', in.w);
	int fw = filter_width(in);
	char name[64];
	snprintf(name, sizeof name, "%s%s", sel ? glyph(G_SEL) : " ", c->name);
	int x = in.x + put_text(y, in.x, 14, name, a);
	x = in.x + 14;
	put_text(y, x, fw, c->filter[0] ? c->filter : "-", a);
	x += fw + 1;
	x += put_textf(y, x, in.x + in.w - x, a, "%7s %6s %4s ", pk, by, dr);
	int bad = strcmp(dr, "0") && strcmp(dr, "-");
	put_text(y, x, in.x + in.w - x, state, !strcmp(state, "run") ? color_attr(C_OK) : color_attr(C_DIM));
	if (bad)
		put_text(y, x - 6, 5, dr, color_attr(C_BAD));
}

void captures_draw(struct rect r, int focused)
{
	const struct lab *lab = engine_lab(T.eng);
	draw_frame(r, "Captures", focused);
	struct rect in = {r.y + 1, r.x + 1, r.h - 2, r.w - 2};
	if (lab->ncaptures == 0) {
		put_text(in.y, in.x + 1, in.w - 1, "no captures: select a link, press F2", color_attr(C_DIM));
		return;
	}
	int fw = filter_width(in);
	put_textf(in.y, in.x, in.w, A_BOLD, " %-13s%-*s %7s %6s %4s %s", "NAME", fw, "FILTER", "PKTS", "BYTES", "DROP", "STATE");
	const struct lab_capture *cur = captures_selected();
	int rows = in.h - 1, i = sel_index(lab);
	if (i >= first + rows) first = i - rows + 1;
	if (i >= 0 && i < first) first = i;
	for (int k = 0; k < rows && first + k < lab->ncaptures; k++) {
		const struct lab_capture *c = lab->captures[first + k];
		draw_row(c, in.y + 1 + k, in, c == cur);
	}
}

int captures_key(int key)
{
	const struct lab *lab = engine_lab(T.eng);
	const struct lab_capture *c = captures_selected();
	int i = c ? sel_index(lab) : -1;
	if (i < 0 && c)
		i = lab->ncaptures - 1;
	switch (key) {
	case KEY_UP: case 'k': i--; break;
	case KEY_DOWN: case 'j': i++; break;
	default: return 0;
	}
	if (i >= 0 && i < lab->ncaptures)
		captures_select(lab->captures[i]->name);
	return 1;
}

void captures_click(struct rect r, int y, int x)
{
	(void)x;
	const struct lab *lab = engine_lab(T.eng);
	int i = first + (y - r.y - 2);
	if (i >= 0 && i < lab->ncaptures)
		captures_select(lab->captures[i]->name);
}

void captures_open(void)
{
	const struct lab_capture *c = captures_selected();
	if (!c) {
		tui_message(1, "no capture yet: select a link in the topology and press F2");
		return;
	}
	packets_show(c->name);
	tui_focus(P_PKTS);
}
