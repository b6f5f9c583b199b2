/* lab.c: the lab model and its validation (symbolic run). The address plan
 * is in lab-plan.c. */
#include "lab.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NAME_MAX_NODE 32
#define NAME_MAX_IFACE 15
#define NAME_MAX_CAPTURE 64

struct lab *lab_new(void) { return xcalloc(1, sizeof(struct lab)); }

static void free_strv(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void capture_free(struct lab_capture *c)
{
	free(c->name);
	free(c->ifaces);
	free(c->filter);
	free(c);
}

void lab_free(struct lab *lab)
{
	if (!lab)
		return;
	for (int i = 0; i < lab->nswitches; i++) {
		free(lab->switches[i]->name);
		free(lab->switches[i]);
	}
	for (int i = 0; i < lab->nnodes; i++) {
		struct lab_node *n = lab->nodes[i];
		free(n->name);
		free_strv(n->packages, n->npackages);
		free_strv(n->run, n->nrun);
		free(n);
	}
	for (int i = 0; i < lab->nlinks; i++) {
		struct lab_link *l = lab->links[i];
		for (int e = 0; e < 2; e++) {
			free(l->end[e].name);
			free(l->end[e].label);
		}
		source_unref(l->pos.src);
		free(l);
	}
	for (int i = 0; i < lab->ncaptures; i++)
		capture_free(lab->captures[i]);
	free(lab->switches);
	free(lab->nodes);
	free(lab->links);
	free(lab->captures);
	free(lab->label);
	free(lab);
}

/* Appends p to a pointer array. */
static void push(void *arrayp, int *n, void *p)
{
	void ***a = arrayp;
	*a = xrealloc(*a, (size_t)(*n + 1) * sizeof(void *));
	(*a)[(*n)++] = p;
}

struct lab_node *lab_node(const struct lab *lab, const char *name)
{
	for (int i = 0; i < lab->nnodes; i++)
		if (strcmp(lab->nodes[i]->name, name) == 0)
			return lab->nodes[i];
	return NULL;
}

struct lab_switch *lab_switch(const struct lab *lab, const char *name)
{
	for (int i = 0; i < lab->nswitches; i++)
		if (strcmp(lab->switches[i]->name, name) == 0)
			return lab->switches[i];
	return NULL;
}

struct lab_iface *lab_iface(const struct lab *lab, const char *node, const char *iface)
{
	for (int i = 0; i < lab->nlinks; i++)
		for (int e = 0; e < 2; e++) {
			struct lab_iface *f = &lab->links[i]->end[e];
			if (f->node && strcmp(f->node->name, node) == 0 && strcmp(f->name, iface) == 0)
				return f;
		}
	return NULL;
}

struct lab_capture *lab_capture(const struct lab *lab, const char *name)
{
	for (int i = 0; i < lab->ncaptures; i++)
		if (strcmp(lab->captures[i]->name, name) == 0)
			return lab->captures[i];
	return NULL;
}

struct lab_iface *lab_peer(const struct lab_iface *ifc)
{
	struct lab_link *l = ifc->link;
	if (l->sw)
		return NULL;
	return ifc == &l->end[0] ? &l->end[1] : &l->end[0];
}

int lab_valid_name(const char *s, size_t max)
{
	if (!isalnum((unsigned char)s[0]) || strlen(s) > max)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return 0;
	return 1;
}

/* "unknown KIND 'x': did you mean 'y'?", else the hint. */
static void unknown(struct diag_list *dl, struct pos pos, const char *kind, const char *name,
		    const char *const *cands, int n, const char *hint)
{
	const char *s = diag_suggest(name, cands, n);
	if (s)
		diag_error(dl, pos, "unknown %s '%s': did you mean '%s'?", kind, name, s);
	else
		diag_error(dl, pos, "unknown %s '%s'%s", kind, name, hint);
}

static const char **node_names(const struct lab *lab)
{
	const char **v = xcalloc((size_t)lab->nnodes + 1, sizeof(char *));
	for (int i = 0; i < lab->nnodes; i++)
		v[i] = lab->nodes[i]->name;
	return v;
}

static void unknown_node(const struct lab *lab, struct pos pos, const char *name,
			 struct diag_list *dl)
{
	const char **names = node_names(lab);
	char *hint = xasprintf(": define it with 'node %s' first", name);
	unknown(dl, pos, "node", name, names, lab->nnodes, hint);
	free(hint);
	free(names);
}

struct lab_node *lab_want_node(const struct lab *lab, const struct word *w, struct diag_list *dl)
{
	struct lab_node *n = lab_node(lab, w->text);
	if (!n)
		unknown_node(lab, w->pos, w->text, dl);
	return n;
}

struct lab_node *lab_want_started(const struct lab *lab, const struct word *w, struct diag_list *dl)
{
	struct lab_node *n = lab_want_node(lab, w, dl);
	if (n && !n->started) {
		diag_error(dl, w->pos, "node '%s' is not started (start it with 'start %s')", n->name,
			   n->name);
		return NULL;
	}
	return n;
}

/* A node or switch name must be free in both namespaces: links and captures
 * name either by the bare word. */
static int check_new_name(const struct lab *lab, const struct word *w, const char *kind,
			  struct diag_list *dl)
{
	if (!lab_valid_name(w->text, NAME_MAX_NODE)) {
		diag_error(dl, w->pos,
			   "invalid %s name '%s': use letters, digits, '-', '_' and '.' (at most %d)",
			   kind, w->text, NAME_MAX_NODE);
		return -1;
	}
	const char *other = lab_node(lab, w->text) ? "node" : lab_switch(lab, w->text) ? "switch" : NULL;
	if (other && strcmp(other, kind) == 0) {
		diag_error(dl, w->pos, "%s '%s' is already defined", kind, w->text);
		return -1;
	}
	if (other) {
		diag_error(dl, w->pos, "name '%s' is already used by a %s", w->text, other);
		return -1;
	}
	return 0;
}

int lab_add_switch(struct lab *lab, const struct word *name, int hub, struct diag_list *dl)
{
	if (check_new_name(lab, name, "switch", dl) < 0)
		return -1;
	struct lab_switch *sw = xcalloc(1, sizeof(*sw));
	sw->name = xstrdup(name->text);
	sw->hub = hub;
	sw->segment = ++lab->nsegments;
	push(&lab->switches, &lab->nswitches, sw);
	return 0;
}

static char **dup_strv(char **v, int n)
{
	char **d = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++)
		d[i] = xstrdup(v[i]);
	return d;
}

int lab_add_node(struct lab *lab, const struct word *name, const struct lab_node *spec,
		 struct diag_list *dl)
{
	if (check_new_name(lab, name, "node", dl) < 0)
		return -1;
	struct lab_node *n = xcalloc(1, sizeof(*n));
	*n = *spec;
	n->name = xstrdup(name->text);
	n->index = lab->nnodes + 1;
	n->packages = dup_strv(spec->packages, spec->npackages);
	n->run = dup_strv(spec->run, spec->nrun);
	n->started = 0;
	n->nifaces = 0;
	push(&lab->nodes, &lab->nnodes, n);
	return 0;
}

int lab_start_stop(struct lab *lab, const struct cmd *cmd, int start, struct diag_list *dl)
{
	if (start && cmd->nargs == 0 && lab->nnodes == 0) {
		diag_error(dl, cmd->pos, "no nodes to start: define one with 'node NAME' first");
		return -1;
	}
	int bad = 0;
	for (int i = 0; i < cmd->nargs; i++)
		bad |= lab_want_node(lab, &cmd->args[i], dl) ? 0 : -1;
	if (bad)
		return -1;
	if (start && lab_plan(lab, dl) < 0)
		return -1;
	for (int i = 0; i < lab->nnodes; i++) {
		int named = cmd->nargs == 0;
		for (int a = 0; a < cmd->nargs; a++)
			named |= strcmp(cmd->args[a].text, lab->nodes[i]->name) == 0;
		if (named)
			lab->nodes[i]->started = start;
	}
	return 0;
}

int lab_filter_check(const char *filter, char *err)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	if (!p)
		return cl_err(err, "libpcap could not open a dead Ethernet handle");
	struct bpf_program prog;
	int rc = pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN);
	if (rc < 0)
		cl_err(err, "%s", pcap_geterr(p));
	else
		pcap_freecode(&prog);
	pcap_close(p);
	return rc < 0 ? -1 : 0;
}

int lab_check_filter_word(const struct word *w, struct diag_list *dl)
{
	char err[CL_ERRBUF];
	if (lab_filter_check(w->text, err) == 0)
		return 0;
	diag_error(dl, w->pos, "bad filter '%s': %s", w->text, err);
	return -1;
}

struct lab_capture *lab_want_capture(const struct lab *lab, const struct word *w,
				     struct diag_list *dl)
{
	struct lab_capture *c = lab_capture(lab, w->text);
	if (c)
		return c;
	const char **names = xcalloc((size_t)lab->ncaptures + 1, sizeof(char *));
	for (int i = 0; i < lab->ncaptures; i++)
		names[i] = lab->captures[i]->name;
	unknown(dl, w->pos, "capture", w->text, names, lab->ncaptures,
		lab->ncaptures ? "" : ": no capture was started before this line");
	free(names);
	return NULL;
}

int lab_stop_capture(struct lab *lab, const struct cmd *cmd, struct diag_list *dl)
{
	int bad = 0;
	for (int i = 0; i < cmd->nargs; i++) {
		struct lab_capture *c = lab_want_capture(lab, &cmd->args[i], dl);
		if (c && !c->running) {
			diag_error(dl, cmd->args[i].pos, "capture '%s' is not running", c->name);
			c = NULL;
		}
		bad |= c ? 0 : -1;
	}
	if (bad)
		return -1;
	for (int i = 0; i < lab->ncaptures; i++) {
		int named = cmd->nargs == 0;
		for (int a = 0; a < cmd->nargs; a++)
			named |= strcmp(cmd->args[a].text, lab->captures[i]->name) == 0;
		if (named)
			lab->captures[i]->running = 0;
	}
	return 0;
}

int lab_apply(struct lab *lab, const struct cmd *cmd, struct diag_list *dl)
{
	if (!cmd->entry->validate)
		return cmd->broken ? -1 : 0;
	int before = diag_count(dl);
	int rc = cmd->entry->validate(cmd, lab, dl);
	if (rc < 0 && diag_count(dl) == before) /* a validator must say why */
		diag_error(dl, cmd->pos, "%s: invalid command", cmd->entry->name);
	return cmd->broken ? -1 : rc;
}

static void add_iface_once(struct lab_capture *c, struct lab_iface *f)
{
	for (int i = 0; i < c->nifaces; i++)
		if (c->ifaces[i] == f)
			return;
	push(&c->ifaces, &c->nifaces, f);
}

/* Reports an unknown LINK word; with `only_if_close`, reports only when a
 * name is close enough to suggest, and returns 0 when it did not. */
static int unknown_link(const struct lab *lab, const struct word *w, int only_if_close,
			struct diag_list *dl)
{
	int n = 0, max = lab->nnodes + lab->nswitches + 2 * lab->nlinks;
	const char **names = xcalloc((size_t)max + 1, sizeof(char *));
	for (int i = 0; i < lab->nnodes; i++)
		names[n++] = lab->nodes[i]->name;
	for (int i = 0; i < lab->nswitches; i++)
		names[n++] = lab->switches[i]->name;
	for (int i = 0; i < lab->nlinks; i++)
		for (int e = 0; e < 2; e++)
			if (lab->links[i]->end[e].node)
				names[n++] = lab->links[i]->end[e].label;
	int close = diag_suggest(w->text, names, n) != NULL;
	if (close || !only_if_close)
		unknown(dl, w->pos, "link", w->text, names, n,
			": name NODE:IFACE, a node (all its links) or a switch (all links on it)");
	free(names);
	return close || !only_if_close;
}

/* A LINK word: NODE:IFACE, a node (all its links) or a switch (all links on
 * it). Adds the ends it names to c. */
static int resolve_link(const struct lab *lab, const struct word *w, struct lab_capture *c,
			struct diag_list *dl)
{
	int before = c->nifaces;
	const char *colon = strchr(w->text, ':');
	struct lab_node *node = colon ? NULL : lab_node(lab, w->text);
	struct lab_switch *sw = colon ? NULL : lab_switch(lab, w->text);
	if (colon) {
		char *nname = xstrndup(w->text, (size_t)(colon - w->text));
		struct lab_iface *f = lab_iface(lab, nname, colon + 1);
		int known = lab_node(lab, nname) != NULL;
		free(nname);
		if (!f && known && !unknown_link(lab, w, 1, dl)) {
			diag_error(dl, w->pos, "no link on interface '%s'", w->text);
			return -1;
		}
		if (!f) {
			if (!known)
				unknown_link(lab, w, 0, dl);
			return -1;
		}
		add_iface_once(c, f);
		return 0;
	}
	if (!node && !sw) {
		unknown_link(lab, w, 0, dl);
		return -1;
	}
	for (int i = 0; i < lab->nlinks; i++)
		for (int e = 0; e < 2; e++) {
			struct lab_iface *f = &lab->links[i]->end[e];
			if (f->node && ((node && f->node == node) || (sw && lab->links[i]->sw == sw && e == 0)))
				add_iface_once(c, f);
		}
	if (c->nifaces == before) {
		diag_error(dl, w->pos, "%s '%s' has no links to capture", node ? "node" : "switch", w->text);
		return -1;
	}
	return 0;
}

static struct lab_capture *running_on(const struct lab *lab, const struct lab_iface *f)
{
	for (int i = 0; i < lab->ncaptures; i++) {
		struct lab_capture *c = lab->captures[i];
		for (int j = 0; c->running && j < c->nifaces; j++)
			if (c->ifaces[j] == f)
				return c;
	}
	return NULL;
}

/* The name rules: -n NAME must be a valid name not running already; without
 * -n the capture is named by its first LINK word and needs links that no
 * running capture covers. */
static int check_capture_name(const struct lab *lab, const struct cmd *cmd,
			      const struct lab_capture *c, struct diag_list *dl)
{
	const struct cmd_flag *n = cmd_flag(cmd, "n");
	if (n && !lab_valid_name(n->value.text, NAME_MAX_CAPTURE)) {
		diag_error(dl, n->value.pos,
			   "invalid capture name '%s': use letters, digits, '-', '_' and '.' (at most %d)",
			   n->value.text, NAME_MAX_CAPTURE);
		return -1;
	}
	const struct lab_capture *old = lab_capture(lab, c->name);
	if (old && old->running) {
		diag_error(dl, n ? n->value.pos : cmd->args[0].pos,
			   "capture '%s' is already running (stop it first, or name this one with -n)",
			   c->name);
		return -1;
	}
	for (int i = 0; !n && i < c->nifaces; i++) {
		const struct lab_capture *busy = running_on(lab, c->ifaces[i]);
		if (busy) {
			diag_error(dl, cmd->args[0].pos,
				   "link %s is already captured by '%s': name this capture with -n",
				   c->ifaces[i]->label, busy->name);
			return -1;
		}
	}
	return 0;
}

int lab_add_capture(struct lab *lab, const struct cmd *cmd, struct diag_list *dl)
{
	const struct cmd_flag *n = cmd_flag(cmd, "n"), *f = cmd_flag(cmd, "f");
	struct lab_capture *c = xcalloc(1, sizeof(*c));
	c->name = xstrdup(n ? n->value.text : cmd->args[0].text);
	c->filter = xstrdup(f ? f->value.text : "");
	c->running = 1;
	int bad = 0;
	for (int i = 0; i < cmd->nargs; i++)
		bad |= resolve_link(lab, &cmd->args[i], c, dl);
	/* a bad filter still defines the capture, so later lines do not cascade */
	int bad_filter = f ? lab_check_filter_word(&f->value, dl) : 0;
	if (bad || check_capture_name(lab, cmd, c, dl) < 0) {
		capture_free(c);
		return -1;
	}
	for (int i = 0; i < lab->ncaptures; i++)
		if (strcmp(lab->captures[i]->name, c->name) == 0) {
			capture_free(lab->captures[i]); /* a stopped one, restarted */
			lab->captures[i] = c;
			return bad_filter;
		}
	push(&lab->captures, &lab->ncaptures, c);
	return bad_filter;
}
