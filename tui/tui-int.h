/* tui-int.h: what the TUI's modules share: the one screen state, drawing
 * helpers (draw.c) and each panel's entry points. Panels draw from snapshots
 * of core state; keys become command strings (keys.c). */
#ifndef CAPLAB_TUI_INT_H
#define CAPLAB_TUI_INT_H

#include <curses.h>
#include <stdint.h>

#include "engine.h"
#include "lab.h"

enum panel { P_TOPO, P_CAPS, P_PKTS, P_DETAIL, P_HEX, P_LOG, P_SHELL, P_COUNT };
/* What the bottom row shows. */
enum bottom { B_LOG, B_PACKET, B_SHELL };

struct rect {
	int y, x, h, w; /* outer, border included */
};

struct tui {
	struct engine *eng;
	struct cmdq *q;
	const char *lab_path;
	char *lab_name;
	int utf8, color;
	int rows, cols;
	enum panel focus;
	int zoom;
	enum bottom bottom;
	struct rect r[P_COUNT];
	int shown[P_COUNT];
	int done, exit_code;
	int dirty;
	uint64_t redraw_timer;
	char msg[512];
	int msg_err;
	int help, help_scroll;
	int confirm_quit;
};
extern struct tui T;

/* ---- draw.c ---- */
enum glyph {
	G_H, G_V, G_TL, G_TR, G_BL, G_BR,     /* single box */
	G_DH, G_DV, G_DTL, G_DTR, G_DBL, G_DBR, /* double box (switches) */
	G_RARROW, G_LARROW, G_SEL, G_DOT, G_OPEN, G_CLOSED, G_ELLIPSIS, G_TEE_L, G_TEE_R,
	G_COUNT
};
enum color { C_NONE, C_OK, C_WARN, C_BAD, C_DIM, C_OUT, C_IN, C_TITLE, C_SEL, C_BAR, C_FOCUS };

void draw_init(void);
const char *glyph(enum glyph g);
int color_attr(enum color c);
/* Text clipped to maxw columns (UTF-8 aware, "…" when cut); returns columns used. */
int put_text(int y, int x, int maxw, const char *s, int attr);
int put_textf(int y, int x, int maxw, int attr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void put_glyph(int y, int x, enum glyph g, int attr);
void hline_glyph(int y, int x, int n, enum glyph g, int attr);
/* A panel frame with its title in the top border; focused frames are bold. */
void draw_frame(struct rect r, const char *title, int focused);
/* Display columns of a UTF-8 string. */
int text_width(const char *s);
int rect_hit(struct rect r, int y, int x);

/* ---- tui.c ---- */
void tui_redraw_soon(void);
void tui_message(int is_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs one command string: a TUI command (keys.c) or core commands (cmdq). */
void tui_run(const char *text, const char *origin);
/* The same without %-expansion (typed text, filled-in templates). */
void tui_exec(const char *text, const char *origin);
void tui_focus(enum panel p);
void focus_step(int dir);
void tui_request_quit(void);

/* ---- status.c ---- */
void status_draw(void);
void status_bottom_draw(void);

/* ---- topo.c ---- */
void topo_draw(struct rect r, int focused);
int topo_key(int key);
void topo_click(struct rect r, int y, int x);
void topo_open(void);
struct lab_node *topo_selected_node(void);
struct lab_iface *topo_selected_iface(void);
const char *topo_selected_switch(void);
/* Rows the diagram wants at width w (so the layout can give it room). */
int topo_wanted_rows(int w);

/* ---- captures.c ---- */
void captures_draw(struct rect r, int focused);
int captures_key(int key);
void captures_click(struct rect r, int y, int x);
void captures_open(void);
struct lab_capture *captures_selected(void);
void captures_select(const char *name);

/* ---- packets.c / feed.c ---- */
void packets_draw(struct rect r, int focused);
int packets_key(int key);
void packets_click(struct rect r, int y, int x);
void packets_open(void);
void packets_show(const char *capture);
const char *packets_capture(void);
void packets_follow(void);
int packets_set_filter(const char *filter, char *err);
void packets_poll(void); /* picks up new packets from the feeds */
void packets_free(void);
/* Per capture counters for the captures panel and status bar. */
struct feed_stats {
	uint64_t packets, bytes;
	double rate; /* packets/s, recent */
	int unsaved;
};
int feed_stats(const char *capture, struct feed_stats *st);
int feed_stats_iface(const char *iface_label, struct feed_stats *st);
double feed_total_rate(void);
int feed_any_unsaved(void);
void feed_mark_saved(void);
void detail_draw(struct rect r, int focused);
int detail_key(int key);
void hex_draw(struct rect r, int focused);
int hex_key(int key);
void detail_show_bpf(const char *capture);

/* ---- shell.c (node shell and log pane) ---- */
void log_add(const char *node, const char *stream, const char *data, int len);
void log_draw(struct rect r, int focused);
int log_key(int key);
int shell_open(const char *node, char *err);
void shell_draw(struct rect r, int focused);
/* Keys while the shell has the focus; 0 when the key is the TUI's. */
int shell_key(int key, int is_wide);
void shell_resize(int rows, int cols);
int shell_active(void);
void shell_close(void);

/* ---- prompt.c ---- */
enum prompt_kind { PK_COMMAND, PK_FILTER, PK_TEXT, PK_DFILTER, PK_WORDS };
/* Opens the prompt. For PK_COMMAND, init is the initial text; otherwise
 * tmpl is the command run with the input (%1 quoted, %f "-f QUOTED" or
 * nothing, %r raw). */
void prompt_open(enum prompt_kind kind, const char *label, const char *init, const char *tmpl);
int prompt_active(void);
void prompt_key(int key, int is_wide);
void prompt_draw(void);
void prompt_free(void);

/* ---- keys.c ---- */
void binds_init(void);
void binds_free(void);
/* The command bound to a key (KEY_* or a character), or NULL. */
const char *binds_lookup(int key, int is_wide);
/* Runs a TUI command (quit, help, prompt, ask, focus ...): 1 if it was one. */
int binds_tui_command(const char *text);
/* Expands %N %L %C %S (selected node, link, capture, switch) into a new
 * string; NULL with err when a needed selection is missing. */
char *binds_expand(const char *text, char *err);
const char *const *binds_command_names(int *n);
void help_draw(void);
int help_key(int key);

#endif
