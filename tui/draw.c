/* draw.c: glyphs (UTF-8 box drawing, ASCII fallback), colours that honour
 * NO_COLOR, and clipped text. Colours always come with a second cue (an
 * arrow, a word, bold/reverse), so a monochrome screen loses nothing. */
#include "tui-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static const char *const utf8_glyphs[G_COUNT] = {
	"─", "│", "┌", "┐", "└", "┘", "═", "║", "╔", "╗", "╚", "╝",
	"→", "←", "▶", "●", "▾", "▸", "…", "┤", "├",
};
static const char *const ascii_glyphs[G_COUNT] = {
	"-", "|", "+", "+", "+", "+", "=", "#", "#", "#", "#", "#",
	">", "<", ">", "*", "v", ">", "~", "|", "|",
};

enum { PAIR_OK = 1, PAIR_WARN, PAIR_BAD, PAIR_OUT, PAIR_IN, PAIR_TITLE, PAIR_BAR };

void draw_init(void)
{
	if (!T.color)
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_OK, COLOR_GREEN, -1);
	init_pair(PAIR_WARN, COLOR_YELLOW, -1);
	init_pair(PAIR_BAD, COLOR_RED, -1);
	init_pair(PAIR_OUT, COLOR_CYAN, -1);
	init_pair(PAIR_IN, COLOR_MAGENTA, -1);
	init_pair(PAIR_TITLE, COLOR_BLUE, -1);
	init_pair(PAIR_BAR, COLOR_BLACK, COLOR_CYAN);
}

const char *glyph(enum glyph g) { return (T.utf8 ? utf8_glyphs : ascii_glyphs)[g]; }

/* Without colour, the attribute alone still tells (bold, reverse, dim). */
int color_attr(enum color c)
{
	switch (c) {
	case C_OK: return T.color ? COLOR_PAIR(PAIR_OK) : 0;
	case C_WARN: return T.color ? COLOR_PAIR(PAIR_WARN) : 0;
	case C_BAD: return (T.color ? COLOR_PAIR(PAIR_BAD) : 0) | A_BOLD;
	case C_OUT: return T.color ? COLOR_PAIR(PAIR_OUT) : 0;
	case C_IN: return T.color ? COLOR_PAIR(PAIR_IN) : 0;
	case C_DIM: return A_DIM;
	case C_TITLE: return A_BOLD;
	case C_SEL: return A_REVERSE;
	case C_BAR: return T.color ? COLOR_PAIR(PAIR_BAR) : A_REVERSE;
	case C_FOCUS: return A_BOLD | (T.color ? COLOR_PAIR(PAIR_TITLE) : 0);
	default: return 0;
	}
}

/* Decodes one UTF-8 character (or a replacement for a bad byte). */
static size_t next_wc(const char *s, wchar_t *wc, int *width)
{
	mbstate_t st = {0};
	size_t n = mbrtowc(wc, s, MB_CUR_MAX, &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*wc = L'?';
		n = 1;
	}
	if (*wc < 32 || *wc == 127)
		*wc = L' ';
	*width = wcwidth(*wc);
	if (*width < 0)
		*width = 1, *wc = L'?';
	return n;
}

int text_width(const char *s)
{
	int cols = 0, w;
	wchar_t wc;
	while (*s) {
		s += next_wc(s, &wc, &w);
		cols += w;
	}
	return cols;
}

int put_text(int y, int x, int maxw, const char *s, int attr)
{
	if (maxw <= 0 || y < 0 || y >= T.rows || !s)
		return 0;
	int cols = 0, w, ell = text_width(glyph(G_ELLIPSIS));
	int total = text_width(s);
	wchar_t buf[512];
	int n = 0;
	wchar_t wc;
	while (*s && n < (int)ARRAY_LEN(buf) - 1) {
		size_t len = next_wc(s, &wc, &w);
		if (total > maxw && cols + w > maxw - ell)
			break;
		if (cols + w > maxw)
			break;
		buf[n++] = wc;
		cols += w;
		s += len;
	}
	buf[n] = 0;
	attron(attr);
	mvaddwstr(y, x, buf);
	attroff(attr);
	if (total > maxw) {
		put_glyph(y, x + cols, G_ELLIPSIS, attr);
		cols += ell;
	}
	return cols;
}

int put_textf(int y, int x, int maxw, int attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return put_text(y, x, maxw, buf, attr);
}

void put_glyph(int y, int x, enum glyph g, int attr)
{
	if (y < 0 || y >= T.rows || x < 0 || x >= T.cols)
		return;
	attron(attr);
	mvaddstr(y, x, glyph(g));
	attroff(attr);
}

void hline_glyph(int y, int x, int n, enum glyph g, int attr)
{
	for (int i = 0; i < n; i++)
		put_glyph(y, x + i, g, attr);
}

void draw_frame(struct rect r, const char *title, int focused)
{
	if (r.h < 2 || r.w < 4)
		return;
	int a = focused ? color_attr(C_FOCUS) : 0;
	put_glyph(r.y, r.x, G_TL, a);
	hline_glyph(r.y, r.x + 1, r.w - 2, G_H, a);
	put_glyph(r.y, r.x + r.w - 1, G_TR, a);
	for (int i = 1; i < r.h - 1; i++) {
		put_glyph(r.y + i, r.x, G_V, a);
		put_glyph(r.y + i, r.x + r.w - 1, G_V, a);
	}
	put_glyph(r.y + r.h - 1, r.x, G_BL, a);
	hline_glyph(r.y + r.h - 1, r.x + 1, r.w - 2, G_H, a);
	put_glyph(r.y + r.h - 1, r.x + r.w - 1, G_BR, a);
	if (title && r.w > 6) {
		/* focus is also shown by the brackets, not only by colour */
		char t[256];
		snprintf(t, sizeof t, focused ? "[%s]" : " %s ", title);
		put_text(r.y, r.x + 1, r.w - 3, t, a | A_BOLD);
	}
}

int rect_hit(struct rect r, int y, int x)
{
	return y >= r.y && y < r.y + r.h && x >= r.x && x < r.x + r.w;
}
