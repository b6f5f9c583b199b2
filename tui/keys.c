/* keys.c: key bindings are command strings (tmux's model): a default table,
 * overridable line by line in ~/.config/caplab/keys with
 *     bind KEY COMMAND...      unbind KEY
 * Commands are either the lab language (recorded, run by the queue) or the
 * TUI's own few (quit, help, prompt, ask, focus, open, shell, ...), which
 * only move the view. Also the help overlay, built from both tables. */
#include "tui-int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "diag.h"
#include "lex.h"

struct binding {
	int key;
	int wide; /* a character key (get_wch OK) rather than a KEY_* code */
	char *cmd;
};

static struct binding *binds;
static int nbinds;

static const char *const defaults[][2] = {
	{"F1", "help"},
	{"?", "help"},
	{"F2", "capture-prompt"},
	{"c", "capture-prompt"},
	{"F3", "ask text 'label for packets from now on (empty clears)' 'label %1'"},
	{"F4", "shell %N"},
	{"F5", "ask text 'save captures as labelled pcapng (file name)' 'save %1'"},
	{"F6", "ask text 'save the session script as' 'save-script %1'"},
	{"F10", "quit"},
	{"F11", "zoom"},
	{":", "prompt"},
	{"q", "quit"},
	{"Tab", "focus next"},
	{"BTab", "focus prev"},
	{"Enter", "open"},
	{"s", "stop-capture %C"},
	{"S", "stop-capture"},
	{"x", "ask words 'run on %N' 'exec %N %r'"},
	{"b", "bpf %C"},
	{"/", "ask dfilter 'display filter (empty shows all)' 'filter %1'"},
	{"End", "follow"},
	{"L", "log"},
	{"C-l", "redraw"},
};

static const char *const tui_cmds[] = {
	"quit", "help", "prompt [TEXT]", "ask KIND LABEL TEMPLATE", "capture-prompt",
	"focus next|prev|topology|captures|packets|detail|hex|log|shell", "open", "shell NODE",
	"log", "zoom", "bpf CAPTURE", "filter [DISPLAY-FILTER]", "follow", "redraw",
};

/* ---- key names ---- */

static const struct {
	const char *name;
	int key;
} named[] = {
	{"Enter", '\r'}, {"Tab", '\t'}, {"BTab", KEY_BTAB}, {"Up", KEY_UP}, {"Down", KEY_DOWN},
	{"Left", KEY_LEFT}, {"Right", KEY_RIGHT}, {"PageUp", KEY_PPAGE}, {"PageDown", KEY_NPAGE},
	{"Home", KEY_HOME}, {"End", KEY_END}, {"Escape", 27}, {"Space", ' '}, {"BSpace", KEY_BACKSPACE},
	{"Delete", KEY_DC},
};

/* "F2", "Enter", "C-l", "q" -> (key, wide); -1 if unknown. */
static int parse_key(const char *s, int *wide)
{
	*wide = 0;
	if (s[0] == 'F' && isdigit((unsigned char)s[1]))
		return KEY_F(atoi(s + 1));
	for (size_t i = 0; i < ARRAY_LEN(named); i++)
		if (!strcmp(named[i].name, s)) {
			*wide = named[i].key < KEY_MIN;
			return named[i].key;
		}
	if (s[0] == 'C' && s[1] == '-' && s[2] && !s[3]) {
		*wide = 1;
		return tolower((unsigned char)s[2]) & 0x1f;
	}
	wchar_t wc;
	mbstate_t st = {0};
	size_t n = mbrtowc(&wc, s, strlen(s), &st);
	if (n == strlen(s) && n > 0) {
		*wide = 1;
		return (int)wc >= KEY_MIN ? (int)wc + 0x1000000 : (int)wc;
	}
	return -1;
}

static void key_label(int key, int wide, char *out, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(named); i++)
		if (named[i].key == key && (named[i].key < KEY_MIN) == wide) {
			snprintf(out, len, "%s", named[i].name);
			return;
		}
	if (!wide && key >= KEY_F(1) && key <= KEY_F(24))
		snprintf(out, len, "F%d", key - KEY_F0);
	else if (wide && key < 32)
		snprintf(out, len, "C-%c", key + 'a' - 1);
	else if (wide)
		snprintf(out, len, "%lc", (wint_t)key);
	else
		snprintf(out, len, "key %d", key);
}

static void bind_key(int key, int wide, const char *cmd)
{
	for (int i = 0; i < nbinds; i++)
		if (binds[i].key == key && binds[i].wide == wide) {
			free(binds[i].cmd);
			binds[i].cmd = cmd ? xstrdup(cmd) : NULL;
			return;
		}
	if (!cmd)
		return;
	binds = xrealloc(binds, (size_t)(nbinds + 1) * sizeof *binds);
	binds[nbinds++] = (struct binding){key, wide, xstrdup(cmd)};
}

/* One line of the keys file; the command is the rest of the line, as typed. */
static void keys_file_line(const char *path, int lineno, char *line)
{
	char *p = line + strspn(line, " \t");
	if (!*p || *p == '#')
		return;
	char verb[16] = "", key[32] = "";
	int used = 0;
	sscanf(p, "%15s %31s %n", verb, key, &used);
	int wide, k = key[0] ? parse_key(key, &wide) : -1;
	if (k < 0 || (strcmp(verb, "bind") && strcmp(verb, "unbind")) || (!strcmp(verb, "bind") && !used)) {
		tui_message(1, "%s:%d: error: expected `bind KEY COMMAND` or `unbind KEY`", path, lineno);
		return;
	}
	bind_key(k, wide, !strcmp(verb, "bind") ? p + used : NULL);
}

static void load_keys_file(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *path = xdg && *xdg ? xasprintf("%s/caplab/keys", xdg) : xasprintf("%s/.config/caplab/keys", home ? home : ".");
	FILE *f = fopen(path, "re");
	if (f) {
		char line[1024];
		for (int n = 1; fgets(line, sizeof line, f); n++) {
			line[strcspn(line, "\r\n")] = '\0';
			keys_file_line(path, n, line);
		}
		fclose(f);
	}
	free(path);
}

void binds_init(void)
{
	for (size_t i = 0; i < ARRAY_LEN(defaults); i++) {
		int wide, k = parse_key(defaults[i][0], &wide);
		bind_key(k, wide, defaults[i][1]);
	}
	load_keys_file();
}

void binds_free(void)
{
	for (int i = 0; i < nbinds; i++)
		free(binds[i].cmd);
	free(binds);
	binds = NULL;
	nbinds = 0;
}

const char *binds_lookup(int key, int is_wide)
{
	if (is_wide && key == '\n')
		key = '\r';
	if (!is_wide && key == KEY_ENTER)
		key = '\r', is_wide = 1;
	for (int i = 0; i < nbinds; i++)
		if (binds[i].key == key && binds[i].wide == is_wide && binds[i].cmd)
			return binds[i].cmd;
	return NULL;
}

/* ---- %-expansion of the selection ---- */

static const char *selection(char c, char *err)
{
	const char *v = NULL, *what = "";
	switch (c) {
	case 'N': v = topo_selected_node() ? topo_selected_node()->name : NULL; what = "a node"; break;
	case 'L': v = topo_selected_iface() ? topo_selected_iface()->label : NULL; what = "a link"; break;
	case 'S': v = topo_selected_switch(); what = "a switch"; break;
	case 'C': v = captures_selected() ? captures_selected()->name : NULL; what = "a capture"; break;
	case 'T': /* what a capture would take: a switch, else a link */
		v = topo_selected_switch() ? topo_selected_switch()
		    : topo_selected_iface() ? topo_selected_iface()->label : NULL;
		what = "a link or switch";
		break;
	}
	if (!v)
		cl_err(err, "select %s first (Tab moves between panels, arrows select)", what);
	return v;
}

char *binds_expand(const char *text, char *err)
{
	struct buf b = {0};
	buf_adds(&b, "");
	for (const char *p = text; *p; p++) {
		if (p[0] != '%' || !strchr("NLSCT", p[1])) {
			buf_add(&b, p, 1);
			continue;
		}
		const char *v = selection(*++p, err);
		if (!v) {
			buf_free(&b);
			return NULL;
		}
		char *q = cmd_quote(v, 1);
		buf_adds(&b, q);
		free(q);
	}
	return b.data;
}

/* ---- the TUI's own commands ---- */

static int split_words(const char *text, char ***out)
{
	struct source *src = source_new("<key>", text, strlen(text));
	struct lex_cmd *lc = NULL;
	struct diag_list dl = {0};
	int n = lex_source(src, &lc, &dl), nw = 0;
	*out = NULL;
	if (n >= 1 && !lc[0].bad) {
		nw = lc[0].nwords;
		*out = xcalloc((size_t)nw + 1, sizeof **out);
		for (int i = 0; i < nw; i++)
			(*out)[i] = xstrdup(lc[0].words[i].text);
	}
	lex_free(lc, n);
	diag_clear(&dl);
	source_unref(src);
	return nw;
}

static void free_words(char **w, int n)
{
	for (int i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

static int focus_cmd(const char *arg)
{
	static const char *const names[P_COUNT] = {"topology", "captures", "packets", "detail",
						   "hex", "log", "shell"};
	if (!arg || !strcmp(arg, "next") || !strcmp(arg, "prev")) {
		focus_step(arg && !strcmp(arg, "prev") ? -1 : 1);
		return 1;
	}
	for (int p = 0; p < P_COUNT; p++)
		if (!strcmp(names[p], arg)) {
			if (p == P_LOG) T.bottom = B_LOG;
			if (p == P_DETAIL || p == P_HEX) T.bottom = B_PACKET;
			tui_focus((enum panel)p);
			return 1;
		}
	tui_message(1, "focus: unknown panel '%s'", arg);
	return 1;
}

static void open_cmd(void)
{
	switch (T.focus) {
	case P_TOPO: topo_open(); break;
	case P_CAPS: captures_open(); break;
	case P_PKTS: packets_open(); break;
	default: break;
	}
}

static enum prompt_kind ask_kind(const char *s)
{
	if (!strcmp(s, "filter")) return PK_FILTER;
	if (!strcmp(s, "dfilter")) return PK_DFILTER;
	if (!strcmp(s, "words")) return PK_WORDS;
	return PK_TEXT;
}

static void shell_cmd(const char *node)
{
	char err[CL_ERRBUF];
	if (!node) {
		tui_message(1, "usage: shell NODE");
	} else if (shell_open(node, err) < 0) {
		tui_message(1, "%s", err);
	} else {
		T.bottom = B_SHELL;
		T.focus = P_SHELL;
		tui_message(0, "shell on %s: Ctrl-] leaves the shell pane", node);
	}
}

static void filter_cmd(const char *filter)
{
	char err[CL_ERRBUF];
	if (packets_set_filter(filter ? filter : "", err) < 0)
		tui_message(1, "%s", err);
	else if (filter && *filter)
		tui_message(0, "the packet list shows frames matching %s", filter);
	else
		tui_message(0, "the packet list shows every frame");
}

static void run_tui_cmd(char **w, int n)
{
	const char *a1 = n > 1 ? w[1] : NULL;
	char err[CL_ERRBUF];
	if (!strcmp(w[0], "quit")) tui_request_quit();
	else if (!strcmp(w[0], "help")) T.help = !T.help, T.help_scroll = 0;
	else if (!strcmp(w[0], "prompt")) prompt_open(PK_COMMAND, ":", a1 ? a1 : "", NULL);
	else if (!strcmp(w[0], "ask") && n == 4) prompt_open(ask_kind(w[1]), w[2], "", w[3]);
	else if (!strcmp(w[0], "focus")) focus_cmd(a1);
	else if (!strcmp(w[0], "open")) open_cmd();
	else if (!strcmp(w[0], "shell")) shell_cmd(a1);
	else if (!strcmp(w[0], "log")) T.bottom = B_LOG, T.focus = P_LOG;
	else if (!strcmp(w[0], "zoom")) T.zoom = !T.zoom;
	else if (!strcmp(w[0], "bpf")) detail_show_bpf(a1);
	else if (!strcmp(w[0], "follow")) packets_follow();
	else if (!strcmp(w[0], "redraw")) clearok(curscr, TRUE);
	else if (!strcmp(w[0], "filter")) filter_cmd(a1);
	else if (!strcmp(w[0], "capture-prompt")) {
		char *t = binds_expand("ask filter 'capture filter for %T (tcpdump syntax; empty: every frame)' 'capture %f %T'", err);
		if (t) tui_run(t, "<key>");
		else tui_message(1, "%s", err);
		free(t);
	} else tui_message(1, "usage: ask filter|text|words|dfilter LABEL TEMPLATE");
	tui_redraw_soon();
}

int binds_tui_command(const char *text)
{
	char **w;
	int n = split_words(text, &w);
	int mine = 0;
	if (n > 0)
		for (size_t i = 0; i < ARRAY_LEN(tui_cmds) && !mine; i++)
			mine = strncmp(tui_cmds[i], w[0], strlen(w[0])) == 0 &&
			       (tui_cmds[i][strlen(w[0])] == ' ' || tui_cmds[i][strlen(w[0])] == '\0');
	if (mine)
		run_tui_cmd(w, n);
	free_words(w, n);
	return mine;
}

const char *const *binds_command_names(int *n)
{
	*n = (int)ARRAY_LEN(tui_cmds);
	return tui_cmds;
}

/* ---- help ---- */

static int help_lines(char ***out)
{
	int n = 0, cap = 64;
	char **v = xmalloc((size_t)cap * sizeof *v);
#define ADD(...) do { if (n == cap) v = xrealloc(v, (size_t)(cap *= 2) * sizeof *v); v[n++] = xasprintf(__VA_ARGS__); } while (0)
	ADD("Keys (bind them in ~/.config/caplab/keys: bind KEY COMMAND)");
	for (int i = 0; i < nbinds; i++) {
		char k[32];
		key_label(binds[i].key, binds[i].wide, k, sizeof k);
		if (binds[i].cmd)
			ADD("  %-8s %s", k, binds[i].cmd);
	}
	ADD("  %-8s %s", "C-]", "leave the node shell pane");
	ADD("%s", "");
	ADD("Commands (the lab language; also at the : prompt)");
	for (int i = 0; i < cmd_table_len; i++)
		ADD("  %s", cmd_table[i]->usage);
	ADD("%s", "");
	ADD("TUI commands (move the view; not recorded)");
	for (size_t i = 0; i < ARRAY_LEN(tui_cmds); i++)
		ADD("  %s", tui_cmds[i]);
	ADD("%s", "");
	ADD("In templates: %%N node, %%L link, %%C capture, %%S switch, %%T link or switch (the selection)");
#undef ADD
	*out = v;
	return n;
}

void help_draw(void)
{
	char **lines;
	int n = help_lines(&lines);
	struct rect r = {1, 2, T.rows - 3, T.cols - 4};
	for (int y = r.y; y < r.y + r.h; y++)
		mvhline(y, r.x, ' ', r.w);
	draw_frame(r, "Help — q or Esc closes, arrows scroll", 1);
	int rows = r.h - 2;
	if (T.help_scroll > n - rows)
		T.help_scroll = n - rows > 0 ? n - rows : 0;
	for (int i = 0; i < rows && i + T.help_scroll < n; i++) {
		const char *l = lines[i + T.help_scroll];
		put_text(r.y + 1 + i, r.x + 2, r.w - 4, l, l[0] != ' ' ? A_BOLD : 0);
	}
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

int help_key(int key)
{
	switch (key) {
	case KEY_UP: T.help_scroll -= T.help_scroll > 0; break;
	case KEY_DOWN: T.help_scroll++; break;
	case KEY_PPAGE: T.help_scroll = T.help_scroll > 10 ? T.help_scroll - 10 : 0; break;
	case KEY_NPAGE: case ' ': T.help_scroll += 10; break;
	case 'q': case 27: case '?': case KEY_F(1): T.help = 0; break;
	default: return 0;
	}
	tui_redraw_soon();
	return 1;
}
