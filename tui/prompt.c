/* prompt.c: the `:` prompt and the one-question prompts keys open (a
 * capture filter, a label, a file name). Editing (emacs keys), history, tab
 * completion of commands, flags, nodes, links, switches and captures, the
 * usage of the command being typed, and validation as you type: parse
 * errors from the real parser, capture filters from libpcap
 * (lab_filter_check), display filters from tshark (dfilter.c, answered
 * later through the loop; Enter meanwhile waits for the answer). */
#include "tui-int.h"
#include "dfilter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "parse.h"

#define HIST_MAX 200

static struct {
	int active;
	enum prompt_kind kind;
	char *label, *tmpl;
	struct buf in;
	size_t cur; /* byte offset of the cursor */
	char info[512];
	int info_err;
	int checking;      /* a display filter check is under way */
	int submit_checked; /* Enter came during the check: submit if it passes */
	int hist_pos; /* == nhist: the line being edited */
} P;

static char *hist[HIST_MAX];
static int nhist;

int prompt_active(void) { return P.active; }

static void validate(void);

void prompt_open(enum prompt_kind kind, const char *label, const char *init, const char *tmpl)
{
	free(P.label);
	free(P.tmpl);
	buf_free(&P.in);
	P.active = 1;
	P.kind = kind;
	P.label = xasprintf("%s%s", label, kind == PK_COMMAND ? "" : ": ");
	P.tmpl = tmpl ? xstrdup(tmpl) : NULL;
	buf_adds(&P.in, init ? init : "");
	P.cur = P.in.len;
	P.hist_pos = nhist;
	P.checking = P.submit_checked = 0;
	validate();
	tui_redraw_soon();
}

void prompt_free(void)
{
	free(P.label);
	free(P.tmpl);
	buf_free(&P.in);
	memset(&P, 0, sizeof P);
	for (int i = 0; i < nhist; i++)
		free(hist[i]);
	nhist = 0;
}

static void set_info(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_info(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(P.info, sizeof P.info, fmt, ap);
	va_end(ap);
	P.info[strcspn(P.info, "\n")] = '\0';
	P.info_err = err;
}

/* ---- validation as you type ---- */

static int check_names(const struct cmd *cmd)
{
	const struct lab *lab = engine_lab(T.eng);
	const char *name = cmd->entry->name;
	int links = !strcmp(name, "capture");
	int nodes = !strcmp(name, "exec") || !strcmp(name, "start") || !strcmp(name, "stop");
	int n = !strcmp(name, "exec") ? (cmd->nargs > 0) : cmd->nargs;
	for (int i = 0; i < n && (links || nodes); i++) {
		const char *w = cmd->args[i].text;
		char node[128];
		snprintf(node, sizeof node, "%s", w);
		char *colon = strchr(node, ':');
		if (colon)
			*colon = '\0';
		int ok = lab_node(lab, node) && (!colon || lab_iface(lab, node, colon + 1));
		ok |= links && !colon && lab_switch(lab, w);
		if (!ok) {
			set_info(1, "unknown %s '%s'", links ? "link, node or switch" : "node", w);
			return -1;
		}
	}
	return 0;
}

static int check_filters(const struct cmd *cmd)
{
	char err[CL_ERRBUF];
	const char *f = NULL;
	if (!strcmp(cmd->entry->name, "capture") && cmd_flag(cmd, "f"))
		f = cmd_flag(cmd, "f")->value.text;
	if (!strcmp(cmd->entry->name, "expect") && cmd->nargs >= 2)
		f = cmd->args[1].text;
	if (f && lab_filter_check(f, err) < 0) {
		set_info(1, "filter: %s", err);
		return -1;
	}
	return 0;
}

static void validate_command(void)
{
	const char *text = P.in.data;
	char first[64] = "";
	sscanf(text, "%63s", first);
	const struct cmd_entry *e = first[0] ? cmd_find(first) : NULL;
	set_info(0, "%s", e ? e->usage : "type a command; Tab completes, F1 lists them");
	int ntui;
	const char *const *tc = binds_command_names(&ntui);
	for (int i = 0; i < ntui && !e && first[0]; i++)
		if (!strncmp(tc[i], first, strlen(first)) && strchr(" ", tc[i][strlen(first)] ? tc[i][strlen(first)] : ' '))
			return set_info(0, "%s", tc[i]);
	if (!first[0])
		return;
	struct cmd_list cl = {0};
	struct diag_list dl = {0};
	if (parse_string("<prompt>", text, &cl, &dl) > 0) {
		const char *m = dl.v[0].msg;
		set_info(1, "%s%s%s", m, e ? "  —  " : "", e ? e->usage : "");
	} else {
		for (int i = 0; i < cl.n; i++)
			if (check_filters(cl.v[i]) < 0 || check_names(cl.v[i]) < 0)
				break;
	}
	cmd_list_clear(&cl);
	diag_clear(&dl);
}

static void submit(void);

static void on_dfilter_checked(const char *filter, int ok, const char *msg, void *arg)
{
	(void)arg;
	if (!P.active || P.kind != PK_DFILTER || strcmp(filter, P.in.data) != 0)
		return;
	P.checking = 0;
	if (ok)
		set_info(0, "filter ok (Wireshark display filter)");
	else
		set_info(1, "%s", msg);
	if (P.submit_checked) {
		P.submit_checked = 0;
		if (ok)
			submit();
		else
			beep();
	}
	tui_redraw_soon();
}

/* Wireshark's syntax, checked by tshark; libpcap's when tshark is missing. */
static void validate_dfilter(void)
{
	char err[CL_ERRBUF];
	P.checking = P.submit_checked = 0;
	dfilter_check_cancel();
	if (!dfilter_have_tshark()) {
		if (P.in.len && lab_filter_check(P.in.data, err) < 0)
			set_info(1, "%s", err);
		else
			set_info(0, "%s", P.in.len ? "filter ok (tcpdump syntax: tshark is missing, make deps)"
					   : "tcpdump syntax (tshark is missing, make deps); empty: every frame");
	} else if (!P.in.len) {
		set_info(0, "Wireshark display filter, e.g. icmp, tcp.port == 80, dns, tls.handshake; empty: every frame");
	} else {
		P.checking = 1;
		set_info(0, "checking with tshark…");
		dfilter_check(P.in.data, on_dfilter_checked, NULL);
	}
}

static void validate(void)
{
	char err[CL_ERRBUF];
	switch (P.kind) {
	case PK_COMMAND: validate_command(); break;
	case PK_DFILTER: validate_dfilter(); break;
	case PK_FILTER:
		if (P.in.len && lab_filter_check(P.in.data, err) < 0)
			set_info(1, "%s", err);
		else
			set_info(0, "%s", P.in.len ? "filter ok" : "empty: every frame");
		break;
	default: set_info(0, "Enter runs: %s", P.tmpl ? P.tmpl : ""); break;
	}
}

/* ---- editing ---- */

static void insert(const char *s, size_t n)
{
	struct buf b = {0};
	buf_add(&b, P.in.data, P.cur);
	buf_add(&b, s, n);
	buf_adds(&b, P.in.data + P.cur);
	buf_free(&P.in);
	P.in = b;
	P.cur += n;
}

static void delete_range(size_t from, size_t to)
{
	memmove(P.in.data + from, P.in.data + to, P.in.len - to + 1);
	P.in.len -= to - from;
	P.cur = from;
}

/* C-w: the word before the cursor, and the spaces after it. */
static void kill_word(void)
{
	size_t s = P.cur;
	while (s > 0 && P.in.data[s - 1] == ' ')
		s--;
	while (s > 0 && P.in.data[s - 1] != ' ')
		s--;
	memmove(P.in.data + s, P.in.data + P.cur, P.in.len - P.cur + 1);
	P.in.len -= P.cur - s;
	P.cur = s;
}

static size_t char_back(size_t i)
{
	while (i > 0 && (P.in.data[--i] & 0xC0) == 0x80)
		;
	return i;
}

static size_t char_fwd(size_t i)
{
	if (i < P.in.len)
		i++;
	while (i < P.in.len && (P.in.data[i] & 0xC0) == 0x80)
		i++;
	return i;
}

static void set_text(const char *s)
{
	buf_reset(&P.in);
	buf_adds(&P.in, s);
	P.cur = P.in.len;
}

static void history_step(int dir)
{
	int pos = P.hist_pos + dir;
	if (pos < 0 || pos > nhist)
		return;
	P.hist_pos = pos;
	set_text(pos == nhist ? "" : hist[pos]);
}

static void history_add(const char *s)
{
	if (!*s || (nhist && !strcmp(hist[nhist - 1], s)))
		return;
	if (nhist == HIST_MAX) {
		free(hist[0]);
		memmove(hist, hist + 1, (HIST_MAX - 1) * sizeof *hist);
		nhist--;
	}
	hist[nhist++] = xstrdup(s);
}

/* ---- completion ---- */

struct cands {
	const char *v[256];
	int n;
};

static void cand(struct cands *c, const char *s, const char *prefix)
{
	if (c->n < 256 && !strncmp(s, prefix, strlen(prefix)))
		c->v[c->n++] = s;
}

static void flag_cands(struct cands *c, const char *cmdname, const char *prefix, char store[][32])
{
	const struct cmd_entry *e = cmd_find(cmdname);
	int k = 0;
	for (const char *p = e && e->flags ? e->flags : ""; *p && k < 16;) {
		size_t len = strcspn(p, " :");
		snprintf(store[k], 32, "-%.*s", (int)len, p);
		cand(c, store[k++], prefix);
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
}

/* What the command takes decides the candidates: nodes for exec/start/
 * stop/shell, captures for stop-capture/expect/save/bpf, else anything. */
static void object_cands(struct cands *c, const char *cmd, const char *prefix)
{
	const struct lab *lab = engine_lab(T.eng);
	int nodes_only = !strcmp(cmd, "exec") || !strcmp(cmd, "start") || !strcmp(cmd, "stop") || !strcmp(cmd, "shell");
	int caps_only = !strcmp(cmd, "stop-capture") || !strcmp(cmd, "expect") || !strcmp(cmd, "save") || !strcmp(cmd, "bpf");
	for (int i = 0; i < lab->nnodes && !caps_only; i++)
		cand(c, lab->nodes[i]->name, prefix);
	for (int i = 0; i < lab->nlinks && !nodes_only && !caps_only; i++)
		for (int k = 0; k < (lab->links[i]->sw ? 1 : 2); k++)
			cand(c, lab->links[i]->end[k].label, prefix);
	for (int i = 0; i < lab->nswitches && !nodes_only && !caps_only; i++)
		cand(c, lab->switches[i]->name, prefix);
	for (int i = 0; i < lab->ncaptures && !nodes_only; i++) {
		int dup = 0;
		for (int k = 0; k < c->n; k++)
			dup |= !strcmp(c->v[k], lab->captures[i]->name);
		if (!dup)
			cand(c, lab->captures[i]->name, prefix);
	}
}

static void command_cands(struct cands *c, const char *prefix, char store[][32])
{
	for (int i = 0; i < cmd_table_len; i++)
		cand(c, cmd_table[i]->name, prefix);
	int n;
	const char *const *tc = binds_command_names(&n);
	for (int i = 0; i < n && i < 32; i++) {
		snprintf(store[i], 32, "%.*s", (int)strcspn(tc[i], " "), tc[i]);
		cand(c, store[i], prefix);
	}
}

static size_t common_prefix(const struct cands *c)
{
	size_t n = strlen(c->v[0]);
	for (int i = 1; i < c->n; i++) {
		size_t k = 0;
		while (k < n && c->v[i][k] == c->v[0][k])
			k++;
		n = k;
	}
	return n;
}

static void complete(void)
{
	size_t start = P.cur;
	while (start > 0 && P.in.data[start - 1] != ' ')
		start--;
	char prefix[256];
	snprintf(prefix, sizeof prefix, "%.*s", (int)(P.cur - start), P.in.data + start);
	int first = strspn(P.in.data, " ") >= start;
	char cmdname[64] = "", store[48][32];
	sscanf(P.in.data, "%63s", cmdname);
	struct cands c = {0};
	if (first)
		command_cands(&c, prefix, store);
	else if (prefix[0] == '-')
		flag_cands(&c, cmdname, prefix, store);
	else
		object_cands(&c, cmdname, prefix);
	if (c.n == 0)
		return set_info(1, "no completion for '%s'", prefix);
	size_t common = common_prefix(&c);
	insert(c.v[0] + strlen(prefix), common - strlen(prefix));
	if (c.n == 1) {
		insert(" ", 1);
		return validate();
	}
	struct buf b = {0};
	for (int i = 0; i < c.n; i++)
		buf_addf(&b, "%s%s", i ? "  " : "", c.v[i]);
	set_info(0, "%s", b.data);
	buf_free(&b);
}

/* ---- submit ---- */

/* %1: the input quoted (nothing if empty); %f: "-f QUOTED" (nothing if
 * empty); %r: the input as typed. */
static char *fill_template(const char *tmpl, const char *in)
{
	struct buf b = {0};
	buf_adds(&b, "");
	char *q = cmd_quote(in, 1);
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == '1') {
			buf_adds(&b, *in ? q : ""), p++;
		} else if (p[0] == '%' && p[1] == 'f') {
			if (*in)
				buf_addf(&b, "-f %s", q);
			p++;
		} else if (p[0] == '%' && p[1] == 'r') {
			buf_adds(&b, in), p++;
		} else {
			buf_add(&b, p, 1);
		}
	}
	free(q);
	return b.data;
}

static void submit(void)
{
	if (P.info_err && (P.kind == PK_FILTER || P.kind == PK_DFILTER)) {
		beep();
		return; /* a bad filter never leaves the prompt */
	}
	if (P.kind == PK_DFILTER && P.checking) {
		P.submit_checked = 1; /* the answer submits */
		return;
	}
	P.active = 0;
	char *text = P.kind == PK_COMMAND ? xstrdup(P.in.data) : fill_template(P.tmpl, P.in.data);
	history_add(P.kind == PK_COMMAND ? P.in.data : text);
	if (*text)
		tui_exec(text, "<prompt>");
	free(text);
}

void prompt_key(int key, int is_wide)
{
	if (is_wide && key >= 0x1000000)
		key -= 0x1000000;
	if (key == 27 || key == 7) { /* Esc, C-g */
		P.active = 0;
		dfilter_check_cancel();
		tui_redraw_soon();
		return;
	}
	switch (is_wide ? -1 : key) {
	case KEY_LEFT: P.cur = char_back(P.cur); break;
	case KEY_RIGHT: P.cur = char_fwd(P.cur); break;
	case KEY_HOME: P.cur = 0; break;
	case KEY_END: P.cur = P.in.len; break;
	case KEY_UP: history_step(-1); break;
	case KEY_DOWN: history_step(1); break;
	case KEY_BACKSPACE: if (P.cur) delete_range(char_back(P.cur), P.cur); break;
	case KEY_DC: if (P.cur < P.in.len) delete_range(P.cur, char_fwd(P.cur)); break;
	case KEY_ENTER: submit(); break;
	case -1: break;
	default: return;
	}
	if (is_wide) {
		switch (key) {
		case '\r': case '\n': submit(); break;
		case '\t': if (P.kind == PK_COMMAND) complete(); tui_redraw_soon(); return;
		case 127: case 8: if (P.cur) delete_range(char_back(P.cur), P.cur); break;
		case 1: P.cur = 0; break;
		case 5: P.cur = P.in.len; break;
		case 21: delete_range(0, P.cur); break;
		case 23: kill_word(); break;
		default:
			if (key >= 32) {
				char mb[8];
				int n = wctomb(mb, (wchar_t)key);
				if (n > 0)
					insert(mb, (size_t)n);
			}
		}
	}
	if (P.active)
		validate();
	tui_redraw_soon();
}

void prompt_draw(void)
{
	int y = T.rows - 1;
	move(y, 0);
	clrtoeol();
	if (T.rows > 3) {
		move(y - 1, 0);
		clrtoeol();
		put_text(y - 1, 1, T.cols - 2, P.info, P.info_err ? color_attr(C_BAD) : color_attr(C_DIM));
	}
	int lw = put_text(y, 0, T.cols / 2, P.label, A_BOLD);
	int room = T.cols - lw - 1;
	char *before = xstrndup(P.in.data, P.cur);
	int cw = text_width(before);
	free(before);
	/* scroll the line so the cursor stays visible */
	const char *s = P.in.data;
	while (cw >= room && *s) {
		int w = 0;
		size_t n = 1;
		while ((s[n] & 0xC0) == 0x80) n++;
		char one[8];
		snprintf(one, sizeof one, "%.*s", (int)n, s);
		w = text_width(one);
		s += n;
		cw -= w;
	}
	put_text(y, lw, room, s, 0);
	move(y, lw + cw);
	curs_set(1);
}
