/* tui.c: the screen: start-up (load, validate, engine, lab commands through
 * the queue), layout for any size from 80x24 up, input dispatch, events, the
 * quit question, and terminal restoration on every way out. */
#include "tui.h"
#include "tui-int.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmdq.h"
#include "events.h"
#include "loop.h"
#include "parse.h"
#include "script.h"

struct tui T;
static int curses_on;

/* ---- terminal restoration ---- */

static void restore_terminal(void)
{
	if (curses_on) {
		curses_on = 0;
		endwin();
	}
}

/* A crash restores the terminal, then dies of the same signal. */
static void on_fatal(int signo)
{
	restore_terminal();
	signal(signo, SIG_DFL);
	raise(signo);
}

static void on_quit_signal(int signo, void *arg)
{
	(void)arg;
	T.exit_code = 128 + signo;
	T.done = 1;
}

static void on_winch(int signo, void *arg)
{
	(void)signo;
	(void)arg;
	struct winsize ws;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	tui_redraw_soon();
}

/* ---- messages, events ---- */

void tui_message(int is_error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(T.msg, sizeof T.msg, fmt, ap);
	va_end(ap);
	T.msg[strcspn(T.msg, "\n")] = '\0';
	T.msg_err = is_error;
	log_add(NULL, is_error ? "error" : "message", T.msg, (int)strlen(T.msg));
	tui_redraw_soon();
}

static void on_event(const struct event *ev, void *arg)
{
	(void)arg;
	switch (ev->type) {
	case EV_MESSAGE: tui_message(0, "%s", ev->text); break;
	case EV_ERROR: tui_message(1, "%s", ev->text); break;
	case EV_PROGRESS: tui_message(0, "%s%s%s", ev->node ? ev->node : "", ev->node ? ": " : "", ev->text); break;
	case EV_NODE_STATE: tui_message(0, "node %s %s", ev->node, ev->state); break;
	case EV_OUTPUT: log_add(ev->node, ev->stream, ev->data, ev->len); break;
	default: break;
	}
	tui_redraw_soon();
}

/* ---- commands ---- */

static int is_save_script(const struct cmd *cmd) { return strcmp(cmd->entry->name, "save-script") == 0; }

static void on_cmd_done(const struct cmd *cmd, int ok, const char *msg, void *arg)
{
	(void)arg;
	int interactive = cmd->pos.src && cmd->pos.src->name && cmd->pos.src->name[0] == '<';
	char *text = cmd_to_text(cmd);
	if (!ok) {
		tui_message(1, "%s", msg);
	} else if (interactive && is_save_script(cmd)) {
		char err[CL_ERRBUF];
		if (tui_record_save(cmd->args[0].text, err) < 0)
			tui_message(1, "%s", err);
		else
			tui_message(0, "session script saved to %s (%d commands)", cmd->args[0].text,
				    tui_record_count());
	} else if (interactive) {
		tui_record(cmd);
		if (strcmp(cmd->entry->name, "save") == 0)
			feed_mark_saved();
		tui_message(0, "ok: %s", text);
	}
	free(text);
	tui_redraw_soon();
}

void tui_run(const char *text, const char *origin)
{
	char err[CL_ERRBUF];
	char *expanded = binds_expand(text, err);
	if (!expanded) {
		tui_message(1, "%s", err);
		return;
	}
	tui_exec(expanded, origin);
	free(expanded);
}

void tui_exec(const char *expanded, const char *origin)
{
	if (binds_tui_command(expanded))
		return;
	struct cmd_list cl = {0};
	struct diag_list dl = {0};
	if (parse_string(origin, expanded, &cl, &dl) > 0) {
		char *m = diag_format(&dl.v[0]);
		tui_message(1, "%s", m);
		free(m);
	} else {
		for (int i = 0; i < cl.n; i++) {
			cmdq_append(T.q, cl.v[i]);
			cl.v[i] = NULL;
		}
		if (!cmdq_idle(T.q))
			tui_message(0, "running: %s", expanded);
	}
	cl.n = 0;
	cmd_list_clear(&cl);
	diag_clear(&dl);
}

/* ---- layout ---- */

static void set_rect(enum panel p, int y, int x, int h, int w)
{
	T.r[p] = (struct rect){y, x, h, w};
	T.shown[p] = h >= 3 && w >= 8;
}

/* Top row: topology | captures; then packets; then the bottom row (detail |
 * hex, the log, or the shell). At 80x24 every row shrinks but stays. */
static void layout(void)
{
	memset(T.shown, 0, sizeof T.shown);
	int y0 = 1, avail = T.rows - 2;
	if (T.zoom) {
		set_rect(T.focus, y0, 0, avail, T.cols);
		return;
	}
	int left = T.cols * 55 / 100;
	int top = topo_wanted_rows(left - 2) + 2;
	int min_top = 5, max_top = avail / 3 + 1;
	top = top < min_top ? min_top : top > max_top ? max_top : top;
	int rest = avail - top;
	int pk = rest / 2;
	int bot = rest - pk;
	set_rect(P_TOPO, y0, 0, top, left);
	set_rect(P_CAPS, y0, left, top, T.cols - left);
	set_rect(P_PKTS, y0 + top, 0, pk, T.cols);
	int by = y0 + top + pk;
	if (T.bottom == B_SHELL) {
		set_rect(P_SHELL, by, 0, bot, T.cols);
	} else if (T.bottom == B_PACKET) {
		set_rect(P_DETAIL, by, 0, bot, T.cols / 2);
		set_rect(P_HEX, by, T.cols / 2, bot, T.cols - T.cols / 2);
	} else {
		set_rect(P_LOG, by, 0, bot, T.cols);
	}
	if (T.shown[P_SHELL])
		shell_resize(bot - 2, T.cols - 2);
}

static void draw(void)
{
	getmaxyx(stdscr, T.rows, T.cols);
	erase();
	layout();
	status_draw();
	if (T.shown[P_TOPO]) topo_draw(T.r[P_TOPO], T.focus == P_TOPO);
	if (T.shown[P_CAPS]) captures_draw(T.r[P_CAPS], T.focus == P_CAPS);
	if (T.shown[P_PKTS]) packets_draw(T.r[P_PKTS], T.focus == P_PKTS);
	if (T.shown[P_DETAIL]) detail_draw(T.r[P_DETAIL], T.focus == P_DETAIL);
	if (T.shown[P_HEX]) hex_draw(T.r[P_HEX], T.focus == P_HEX);
	if (T.shown[P_LOG]) log_draw(T.r[P_LOG], T.focus == P_LOG);
	if (T.shown[P_SHELL]) shell_draw(T.r[P_SHELL], T.focus == P_SHELL);
	if (T.help)
		help_draw();
	status_bottom_draw();
	if (prompt_active())
		prompt_draw();
	else
		curs_set(T.focus == P_SHELL && T.shown[P_SHELL] && !T.help ? 1 : 0);
	refresh();
}

static void on_redraw(void *arg)
{
	(void)arg;
	T.redraw_timer = 0;
	draw();
}

void tui_redraw_soon(void)
{
	if (curses_on && !T.redraw_timer)
		T.redraw_timer = loop_timer(0.02, on_redraw, NULL);
}

/* Live numbers (rates, new packets) refresh on their own. */
static void on_tick(void *arg)
{
	(void)arg;
	packets_poll();
	if (!T.done)
		loop_timer(0.25, on_tick, NULL);
	tui_redraw_soon();
}

void tui_focus(enum panel p)
{
	if (p == P_SHELL && T.bottom != B_SHELL)
		return;
	T.focus = p;
	tui_redraw_soon();
}

/* ---- input ---- */

static const enum panel cycle[] = {P_TOPO, P_CAPS, P_PKTS, P_DETAIL, P_HEX, P_LOG, P_SHELL};

void focus_step(int dir)
{
	int n = (int)ARRAY_LEN(cycle), i = 0;
	while (i < n && cycle[i] != T.focus)
		i++;
	for (int k = 1; k <= n; k++) {
		enum panel p = cycle[((i + dir * k) % n + n) % n];
		if (T.shown[p] || (T.zoom && (p == P_TOPO || p == P_CAPS || p == P_PKTS))) {
			T.focus = p;
			return;
		}
	}
}

static int panel_key(enum panel p, int key)
{
	switch (p) {
	case P_TOPO: return topo_key(key);
	case P_CAPS: return captures_key(key);
	case P_PKTS: return packets_key(key);
	case P_DETAIL: return detail_key(key);
	case P_HEX: return hex_key(key);
	case P_LOG: return log_key(key);
	default: return 0;
	}
}

static void on_mouse(void)
{
	MEVENT me;
	if (getmouse(&me) != OK)
		return;
	for (int p = 0; p < P_COUNT; p++) {
		if (!T.shown[p] || !rect_hit(T.r[p], me.y, me.x))
			continue;
		int wheel = me.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED);
		if (wheel) {
			int key = me.bstate & BUTTON4_PRESSED ? KEY_UP : KEY_DOWN;
			for (int i = 0; i < 3; i++)
				panel_key(p, key);
			return;
		}
		T.focus = p;
		if (p == P_TOPO) topo_click(T.r[p], me.y, me.x);
		if (p == P_CAPS) captures_click(T.r[p], me.y, me.x);
		if (p == P_PKTS) packets_click(T.r[p], me.y, me.x);
		if (me.bstate & BUTTON1_DOUBLE_CLICKED)
			tui_run("open", "<key>");
		return;
	}
}

/* The focused panel first (its own navigation), then the key table. */
static void on_key(int key, int is_wide)
{
	if (T.confirm_quit) {
		T.confirm_quit = 0;
		if (key == 'y' || key == 'Y')
			T.done = 1;
		else
			tui_message(0, "quit cancelled");
		return;
	}
	if (prompt_active()) {
		prompt_key(key, is_wide);
		return;
	}
	if (T.help && help_key(key))
		return;
	if (!is_wide && key == KEY_MOUSE) {
		on_mouse();
		return;
	}
	if (!is_wide && key == KEY_RESIZE)
		return;
	if (T.focus == P_SHELL && T.shown[P_SHELL] && shell_key(key, is_wide))
		return;
	int used = panel_key(T.focus, key);
	if (used)
		return;
	const char *cmd = binds_lookup(key, is_wide);
	if (cmd)
		tui_run(cmd, "<key>");
}

static void on_stdin(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	wint_t wc;
	int rc;
	while ((rc = get_wch(&wc)) != ERR) {
		/* one key space: KEY_* codes as they are, characters that would
		 * collide with them moved above it */
		int key = (int)wc;
		if (rc == OK && key >= KEY_MIN)
			key += 0x1000000;
		on_key(key, rc == OK);
		if (T.done)
			break;
	}
	tui_redraw_soon();
}

/* ---- start-up and the way out ---- */

static char *lab_name_of(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char *n = xstrdup(b);
	char *dot = strrchr(n, '.');
	if (dot && dot != n)
		*dot = '\0';
	return n;
}

static int init_curses(void)
{
	setlocale(LC_ALL, "");
	if (!isatty(0) || !isatty(1)) {
		fprintf(stderr, "caplab: the TUI needs a terminal (use `caplab run` for scripts)\n");
		return -1;
	}
	const char *nc = getenv("NO_COLOR");
	T.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	if (!initscr())
		return -1;
	curses_on = 1;
	T.color = has_colors() && !(nc && *nc);
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	mousemask(ALL_MOUSE_EVENTS, NULL);
	mouseinterval(200);
	draw_init();
	getmaxyx(stdscr, T.rows, T.cols);
	return 0;
}

static int shutdown_finished;
static void on_shutdown(void *arg)
{
	(void)arg;
	shutdown_finished = 1;
}

static void shutdown_lab(void)
{
	tui_message(0, "stopping the lab…");
	draw();
	engine_shutdown(T.eng, on_shutdown, NULL);
	loop_run_until(&shutdown_finished, now_mono() + 30);
}

/* Loads and validates the lab like `caplab run`: errors print, nothing starts. */
static int load_lab(const char *lab_path, char **scripts, int nscripts, struct cmd_list *cmds)
{
	struct diag_list dl = {0};
	struct lab *lab = NULL;
	int rc = script_load_all(lab_path, scripts, nscripts, cmds, &lab, &dl);
	if (rc < 0)
		diag_print(&dl, stderr);
	diag_clear(&dl);
	lab_free(lab);
	return rc;
}

static void install_handlers(void)
{
	signal(SIGSEGV, on_fatal);
	signal(SIGABRT, on_fatal);
	signal(SIGBUS, on_fatal);
	signal(SIGFPE, on_fatal);
	signal(SIGPIPE, SIG_IGN);
	loop_on_signal(SIGINT, on_quit_signal, NULL);
	loop_on_signal(SIGTERM, on_quit_signal, NULL);
	loop_on_signal(SIGHUP, on_quit_signal, NULL);
	loop_on_signal(SIGWINCH, on_winch, NULL);
	atexit(restore_terminal);
}

/* Asks before losing packets nobody saved. */
void tui_request_quit(void)
{
	if (feed_any_unsaved()) {
		T.confirm_quit = 1;
		tui_message(1, "unsaved packets (F5 saves them): quit anyway? y/n");
		return;
	}
	T.done = 1;
}

static void cleanup(struct cmd_list *cmds)
{
	if (T.eng) {
		cmdq_flush(T.q);
		shutdown_lab();
	}
	shell_close();
	packets_free();
	restore_terminal();
	events_unsubscribe(on_event, NULL);
	cmdq_free(T.q);
	engine_free(T.eng);
	binds_free();
	prompt_free();
	tui_record_free();
	cmd_list_clear(cmds);
	free(T.lab_name);
}

int tui_main(const char *lab_path, char **scripts, int nscripts)
{
	struct cmd_list cmds = {0};
	memset(&T, 0, sizeof T);
	if (load_lab(lab_path, scripts, nscripts, &cmds) < 0)
		return 2;
	char err[CL_ERRBUF];
	T.lab_path = lab_path;
	T.lab_name = lab_name_of(lab_path);
	struct engine_opts eo = {.lab_name = T.lab_name};
	T.eng = engine_new(&eo, err);
	if (!T.eng) {
		fprintf(stderr, "caplab: %s\n", err);
		cleanup(&cmds);
		return 1;
	}
	if (init_curses() < 0) {
		cleanup(&cmds);
		return 1;
	}
	install_handlers();
	binds_init();
	tui_record_start(lab_path, scripts, nscripts);
	events_subscribe(on_event, NULL);
	T.q = cmdq_new(T.eng, 0, on_cmd_done, NULL);
	for (int i = 0; i < cmds.n; i++) {
		cmdq_append(T.q, cmds.v[i]);
		cmds.v[i] = NULL;
	}
	cmds.n = 0;
	T.focus = P_TOPO;
	T.bottom = B_LOG;
	tui_message(0, "lab %s loaded: F1 help, Tab moves between panels, : runs a command", T.lab_name);
	loop_watch(0, LOOP_READ, on_stdin, NULL);
	loop_timer(0.25, on_tick, NULL);
	draw();
	loop_run_until(&T.done, 0);
	loop_unwatch(0);
	cleanup(&cmds);
	return T.exit_code;
}
