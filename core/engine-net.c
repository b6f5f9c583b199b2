/* engine-net.c: a running lab's network: a vde_switch per switch, and for
 * each impaired link its hubs and the wirefilter between them (see
 * engine_int.h). */
#include "engine_int.h"
#include "events.h"
#include "vde.h"

#include <stdlib.h>

struct sw_wait {
	struct start_op *op;
	int *ready;
	char *name;
};

static void on_switch_ready(void *arg, const char *err)
{
	struct sw_wait *w = arg;
	struct start_op *op = w->op;
	if (err)
		engine_op_fail(op, err);
	else
		*w->ready = 1;
	free(w->name);
	free(w);
	op->waiting_switches--;
	engine_op_check_done(op);
}

static void on_vde_exit(void *arg, const char *why)
{
	(void)arg;
	events_error("%s", why);
}

static void start_vde(struct start_op *op, const char *name, const char *dir, int hub,
		      struct vde_proc **vp, int *ready)
{
	if (*vp)
		return;
	char err[CL_ERRBUF];
	struct sw_wait *w = xcalloc(1, sizeof *w);
	w->op = op;
	w->ready = ready;
	w->name = xstrdup(name);
	*vp = vde_switch_start(name, dir, hub, op->e->log_fd, on_switch_ready, on_vde_exit, w, err);
	if (!*vp) {
		engine_op_fail(op, err);
		free(w->name);
		free(w);
		return;
	}
	op->waiting_switches++;
}

static struct rt_switch *rt_switch(struct engine *e, struct lab_switch *ls)
{
	for (int i = 0; i < e->nsw; i++)
		if (e->sw[i]->ls == ls)
			return e->sw[i];
	e->sw = xrealloc(e->sw, (size_t)(e->nsw + 1) * sizeof *e->sw);
	struct rt_switch *s = e->sw[e->nsw++] = xcalloc(1, sizeof *s);
	s->ls = ls;
	s->dir = xasprintf("%s/%s.ctl", e->rundir, ls->name);
	return s;
}

static int impaired(const struct lab_link *ll)
{
	return ll->delay_ms > 0 || ll->loss_pct > 0 || ll->rate_kbit > 0;
}

/* RUNDIR/link-NODE_IFACE<suffix>: a link's own socket or hub dir (':' is
 * not safe in vdeplug URLs and wirefilter's -v). */
static char *link_file(const struct engine *e, const struct lab_link *ll, const char *suffix)
{
	char *label = xstrdup(ll->end[0].label);
	for (char *p = label; *p; p++)
		if (*p == ':')
			*p = '_';
	char *path = xasprintf("%s/link-%s%s", e->rundir, label, suffix);
	free(label);
	return path;
}

static struct rt_impair *rt_impair(struct engine *e, struct lab_link *ll)
{
	for (int i = 0; i < e->nimp; i++)
		if (e->imp[i]->ll == ll)
			return e->imp[i];
	e->imp = xrealloc(e->imp, (size_t)(e->nimp + 1) * sizeof *e->imp);
	struct rt_impair *m = e->imp[e->nimp++] = xcalloc(1, sizeof *m);
	m->ll = ll;
	m->hubdir[0] = link_file(e, ll, "-0.ctl");
	m->hubdir[1] = link_file(e, ll, "-1.ctl");
	return m;
}

/* Starts every switch, and the hubs of impaired links of the nodes. */
void engine_net_start(struct start_op *op)
{
	struct engine *e = op->e;
	for (int i = 0; i < e->lab->nswitches; i++) {
		struct rt_switch *s = rt_switch(e, e->lab->switches[i]);
		start_vde(op, s->ls->name, s->dir, s->ls->hub, &s->vp, &s->ready);
	}
	for (int i = 0; i < e->lab->nlinks; i++) {
		struct lab_link *ll = e->lab->links[i];
		if (!impaired(ll))
			continue;
		struct rt_impair *m = rt_impair(e, ll);
		int hubs = ll->sw ? 1 : 2;
		for (int k = 0; k < hubs; k++) {
			char *name = xasprintf("hub of %s", ll->end[k].label);
			start_vde(op, name, m->hubdir[k], 1, &m->hub[k], &m->hub_ready[k]);
			free(name);
		}
	}
}

/* Once switches and hubs are up: wirefilter between them. */
void engine_net_wire(struct start_op *op)
{
	struct engine *e = op->e;
	for (int i = 0; i < e->nimp; i++) {
		struct rt_impair *m = e->imp[i];
		if (m->wf)
			continue;
		struct lab_link *ll = m->ll;
		const char *right = ll->sw ? rt_switch(e, ll->sw)->dir : m->hubdir[1];
		struct link_impair imp = {ll->delay_ms, ll->loss_pct, ll->rate_kbit};
		char err[CL_ERRBUF];
		char *name = xasprintf("wirefilter %s", ll->end[0].label);
		m->wf = wirefilter_start(name, m->hubdir[0], right, &imp, e->log_fd, on_vde_exit, NULL, err);
		free(name);
		if (!m->wf)
			engine_op_fail(op, err);
	}
}

/* Where a node's interface plugs in (a vdeplug URL or switch dir). */
char *engine_net_plug(struct engine *e, const struct lab_iface *ifc)
{
	struct lab_link *ll = ifc->link;
	int k = ifc == &ll->end[0] ? 0 : 1;
	if (impaired(ll))
		return xstrdup(rt_impair(e, ll)->hubdir[k]);
	if (ll->sw)
		return xstrdup(rt_switch(e, ll->sw)->dir);
	char *file = link_file(e, ll, ".ptp");
	char *url = xasprintf("ptp://%s", file);
	free(file);
	return url;
}

void engine_net_stop(struct engine *e)
{
	for (int i = 0; i < e->nimp; i++) {
		vde_proc_free(e->imp[i]->wf);
		e->imp[i]->wf = NULL;
		for (int k = 0; k < 2; k++) {
			vde_proc_free(e->imp[i]->hub[k]);
			e->imp[i]->hub[k] = NULL;
		}
	}
	for (int i = 0; i < e->nsw; i++) {
		vde_proc_free(e->sw[i]->vp);
		e->sw[i]->vp = NULL;
	}
}

void engine_net_free(struct engine *e)
{
	for (int i = 0; i < e->nimp; i++) {
		vde_proc_free(e->imp[i]->wf);
		for (int k = 0; k < 2; k++) {
			vde_proc_free(e->imp[i]->hub[k]);
			free(e->imp[i]->hubdir[k]);
		}
		free(e->imp[i]);
	}
	for (int i = 0; i < e->nsw; i++) {
		vde_proc_free(e->sw[i]->vp);
		free(e->sw[i]->dir);
		free(e->sw[i]);
	}
	free(e->imp);
	free(e->sw);
	e->imp = NULL;
	e->sw = NULL;
	e->nimp = e->nsw = 0;
}
