/* shell.c: the bottom row's two live text views.
 *  - the log pane: every node's console and exec output, and the messages;
 *  - the node shell: a pty over SSH rendered by libvterm, so top, vi and
 *    colours work. The pty itself comes from core (core/ssh.h, a pty channel
 *    on the node's session); this file only needs a `struct shell_io`. */
#include "tui-int.h"
#include "shell.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vterm.h>

#include "ssh.h"

/* ---- log pane ---- */

#define LOG_MAX 5000

static char *logv[LOG_MAX];
static int log_head, log_n, log_scroll;
static struct partial {
	char key[96];
	struct buf b;
} partials[32];

static void log_line(const char *s)
{
	int i = (log_head + log_n) % LOG_MAX;
	if (log_n == LOG_MAX) {
		free(logv[log_head]);
		log_head = (log_head + 1) % LOG_MAX;
		i = (log_head + log_n - 1) % LOG_MAX;
	} else {
		log_n++;
	}
	logv[i] = xstrdup(s);
}

static struct buf *partial_for(const char *node, const char *stream)
{
	char key[96];
	snprintf(key, sizeof key, "%s %s", node ? node : "", stream ? stream : "");
	for (size_t i = 0; i < ARRAY_LEN(partials); i++)
		if (!strcmp(partials[i].key, key))
			return &partials[i].b;
	for (size_t i = 0; i < ARRAY_LEN(partials); i++)
		if (!partials[i].key[0]) {
			snprintf(partials[i].key, sizeof partials[i].key, "%s", key);
			return &partials[i].b;
		}
	return &partials[0].b;
}

/* Output arrives in pieces; a line is logged once it is complete. */
void log_add(const char *node, const char *stream, const char *data, int len)
{
	struct buf *b = partial_for(node, stream);
	for (int i = 0; i < len; i++) {
		if (data[i] == '\r')
			continue;
		if (data[i] != '\n') {
			buf_add(b, &data[i], 1);
			continue;
		}
		char *l = node ? xasprintf("%s %s: %s", node, stream, b->data ? b->data : "")
			       : xstrdup(b->data ? b->data : "");
		log_line(l);
		free(l);
		buf_reset(b);
	}
	if (!node && b->len) { /* messages are whole lines */
		log_line(b->data);
		buf_reset(b);
	}
}

void log_draw(struct rect r, int focused)
{
	draw_frame(r, log_scroll ? "Log (scrolled: End follows)" : "Log  (console, exec output, messages)", focused);
	int rows = r.h - 2;
	int last = log_n - log_scroll;
	int first = last - rows < 0 ? 0 : last - rows;
	for (int k = 0; first + k < last; k++) {
		const char *l = logv[(log_head + first + k) % LOG_MAX];
		int a = strstr(l, " stderr: ") ? color_attr(C_WARN) : 0;
		put_text(r.y + 1 + k, r.x + 1, r.w - 2, l, a);
	}
}

int log_key(int key)
{
	int page = T.r[P_LOG].h - 3;
	switch (key) {
	case KEY_UP: case 'k': log_scroll += log_scroll < log_n - 1; break;
	case KEY_DOWN: case 'j': log_scroll -= log_scroll > 0; break;
	case KEY_PPAGE: log_scroll = log_scroll + page < log_n ? log_scroll + page : log_n - 1; break;
	case KEY_NPAGE: log_scroll = log_scroll > page ? log_scroll - page : 0; break;
	case KEY_END: log_scroll = 0; break;
	default: return 0;
	}
	tui_redraw_soon();
	return 1;
}

/* ---- node shell ---- */

static struct {
	struct shell_io io;
	char *node;
	VTerm *vt;
	VTermScreen *screen;
	int rows, cols;
	int open;
} S;

int shell_active(void) { return S.open; }

static void on_vt_output(const char *s, size_t len, void *user)
{
	(void)user;
	if (S.open && S.io.write)
		S.io.write(S.io.handle, s, len);
}

void tui_shell_output(const char *data, size_t len)
{
	if (!S.open)
		return;
	vterm_input_write(S.vt, data, len);
	tui_redraw_soon();
}

void tui_shell_ended(const char *why)
{
	if (!S.open)
		return;
	tui_message(0, "shell on %s ended%s%s", S.node, why ? ": " : "", why ? why : "");
	S.io.close = NULL; /* the channel is gone already */
	shell_close();
}

void shell_close(void)
{
	if (!S.open)
		return;
	S.open = 0;
	if (S.io.close)
		S.io.close(S.io.handle);
	vterm_free(S.vt);
	free(S.node);
	memset(&S, 0, sizeof S);
	if (T.bottom == B_SHELL) {
		T.bottom = B_LOG;
		if (T.focus == P_SHELL)
			T.focus = P_TOPO;
	}
	tui_redraw_soon();
}

int tui_shell_attach(const char *node, const struct shell_io *io)
{
	shell_close();
	S.io = *io;
	S.node = xstrdup(node);
	S.rows = 24;
	S.cols = 80;
	S.vt = vterm_new(S.rows, S.cols);
	vterm_set_utf8(S.vt, 1);
	vterm_output_set_callback(S.vt, on_vt_output, NULL);
	S.screen = vterm_obtain_screen(S.vt);
	vterm_screen_enable_altscreen(S.screen, 1);
	vterm_screen_reset(S.screen, 1);
	S.open = 1;
	T.bottom = B_SHELL;
	T.focus = P_SHELL;
	tui_redraw_soon();
	return 0;
}

/* ---- the pty over the node's SSH session (core/ssh.h) ---- */

static void ssh_out(int stream, const char *data, size_t len, void *arg)
{
	(void)stream;
	(void)arg;
	tui_shell_output(data, len);
}

static void ssh_exit(int status, const char *err, void *arg)
{
	(void)arg;
	char why[128];
	snprintf(why, sizeof why, "exit status %d", status);
	tui_shell_ended(status >= 0 ? why : err);
}

static void ssh_write(void *h, const char *buf, size_t n) { sshc_chan_write(h, buf, n); }
static void ssh_resize(void *h, int rows, int cols) { sshc_shell_resize(h, cols, rows); }
static void ssh_close(void *h) { sshc_chan_cancel(h); }

static int shell_connect(const char *node, struct shell_io *io, char *err)
{
	struct sshc *c = engine_ssh(T.eng, node);
	if (!c)
		return cl_err(err, "shell on %s: the node is not running (start %s)", node, node);
	int rows = T.r[P_SHELL].h > 2 ? T.r[P_SHELL].h - 2 : 24;
	int cols = T.cols > 2 ? T.cols - 2 : 80;
	struct sshc_chan *ch = sshc_shell(c, "xterm-256color", cols, rows, ssh_out, ssh_exit, NULL, err);
	if (!ch)
		return -1;
	*io = (struct shell_io){.handle = ch, .write = ssh_write, .resize = ssh_resize, .close = ssh_close};
	return 0;
}

int shell_open(const char *node, char *err)
{
	if (!lab_node(engine_lab(T.eng), node))
		return cl_err(err, "shell: unknown node '%s'", node);
	if (S.open && !strcmp(S.node, node)) {
		T.bottom = B_SHELL;
		return 0;
	}
	struct shell_io io = {0};
	if (shell_connect(node, &io, err) < 0)
		return -1;
	return tui_shell_attach(node, &io);
}

void shell_resize(int rows, int cols)
{
	if (!S.open || rows < 1 || cols < 1 || (rows == S.rows && cols == S.cols))
		return;
	S.rows = rows;
	S.cols = cols;
	vterm_set_size(S.vt, rows, cols);
	if (S.io.resize)
		S.io.resize(S.io.handle, rows, cols);
}

/* libvterm's 16 colours onto curses pairs 32.., allocated as met. */
static int cell_pair(const VTermColor *fg, const VTermColor *bg)
{
	if (!T.color)
		return 0;
	int f = VTERM_COLOR_IS_INDEXED(fg) && !VTERM_COLOR_IS_DEFAULT_FG(fg) ? fg->indexed.idx % 8 : -1;
	int b = VTERM_COLOR_IS_INDEXED(bg) && !VTERM_COLOR_IS_DEFAULT_BG(bg) ? bg->indexed.idx % 8 : -1;
	if (f < 0 && b < 0)
		return 0;
	int pair = 32 + (f + 1) * 9 + (b + 1);
	init_pair((short)pair, (short)f, (short)b);
	return COLOR_PAIR(pair);
}

static void draw_cell(int y, int x, const VTermScreenCell *c)
{
	wchar_t wc[VTERM_MAX_CHARS_PER_CELL + 1];
	int n = 0;
	for (; n < VTERM_MAX_CHARS_PER_CELL && c->chars[n]; n++)
		wc[n] = (wchar_t)c->chars[n];
	if (n == 0)
		wc[n++] = L' ';
	wc[n] = 0;
	int a = (c->attrs.bold ? A_BOLD : 0) | (c->attrs.underline ? A_UNDERLINE : 0) |
		(c->attrs.reverse ? A_REVERSE : 0) | cell_pair(&c->fg, &c->bg);
	attron(a);
	mvaddwstr(y, x, wc);
	attroff(a);
}

void shell_draw(struct rect r, int focused)
{
	char title[160];
	snprintf(title, sizeof title, "Shell %s  %s", S.node ? S.node : "",
		 focused ? "(keys go to the node; C-] leaves)" : "(Enter/F4 to type)");
	draw_frame(r, title, focused);
	if (!S.open)
		return;
	VTermPos pos;
	for (pos.row = 0; pos.row < S.rows && pos.row < r.h - 2; pos.row++)
		for (pos.col = 0; pos.col < S.cols && pos.col < r.w - 2; pos.col++) {
			VTermScreenCell c;
			vterm_screen_get_cell(S.screen, pos, &c);
			draw_cell(r.y + 1 + pos.row, r.x + 1 + pos.col, &c);
			if (c.width > 1)
				pos.col += c.width - 1;
		}
	VTermPos cur;
	vterm_state_get_cursorpos(vterm_obtain_state(S.vt), &cur);
	if (focused)
		move(r.y + 1 + cur.row, r.x + 1 + cur.col);
}

static const struct {
	int curses;
	VTermKey vt;
} keymap[] = {
	{KEY_UP, VTERM_KEY_UP}, {KEY_DOWN, VTERM_KEY_DOWN}, {KEY_LEFT, VTERM_KEY_LEFT},
	{KEY_RIGHT, VTERM_KEY_RIGHT}, {KEY_HOME, VTERM_KEY_HOME}, {KEY_END, VTERM_KEY_END},
	{KEY_PPAGE, VTERM_KEY_PAGEUP}, {KEY_NPAGE, VTERM_KEY_PAGEDOWN}, {KEY_DC, VTERM_KEY_DEL},
	{KEY_IC, VTERM_KEY_INS}, {KEY_BACKSPACE, VTERM_KEY_BACKSPACE}, {KEY_ENTER, VTERM_KEY_ENTER},
	{KEY_BTAB, VTERM_KEY_TAB},
};

int shell_key(int key, int is_wide)
{
	if (!S.open)
		return 0;
	if (is_wide && key == 0x1d) { /* C-] gives the keys back to the TUI */
		T.focus = P_PKTS;
		tui_redraw_soon();
		return 1;
	}
	if (is_wide) {
		vterm_keyboard_unichar(S.vt, (uint32_t)(key >= 0x1000000 ? key - 0x1000000 : key), VTERM_MOD_NONE);
		return 1;
	}
	if (key >= KEY_F(1) && key <= KEY_F(12))
		return 0; /* F-keys stay the TUI's */
	for (size_t i = 0; i < ARRAY_LEN(keymap); i++)
		if (keymap[i].curses == key) {
			vterm_keyboard_key(S.vt, keymap[i].vt, key == KEY_BTAB ? VTERM_MOD_SHIFT : VTERM_MOD_NONE);
			return 1;
		}
	return 1; /* other special keys: swallowed, not TUI commands */
}
