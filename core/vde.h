/* vde.h: the processes behind switches and impaired links: one vde_switch
 * per switch (or hub), and vde2's wirefilter for -delay/-loss/-rate. */
#ifndef CAPLAB_VDE_H
#define CAPLAB_VDE_H

struct vde_proc;
/* err NULL: ready. */
typedef void (*vde_ready_fn)(void *arg, const char *err);
/* The process ended by itself (not through vde_proc_free). */
typedef void (*vde_exit_fn)(void *arg, const char *why);

/* Starts vde_switch with its control directory `dir` (created by it);
 * ready is called once DIR/ctl accepts plugs, or with an error. */
struct vde_proc *vde_switch_start(const char *name, const char *dir, int hub, int log_fd,
				  vde_ready_fn ready, vde_exit_fn on_exit, void *arg, char *err);

struct link_impair {
	double delay_ms, loss_pct;
	long rate_kbit; /* 0: unlimited */
};
/* Starts wirefilter between two switch directories (both must be ready). */
struct vde_proc *wirefilter_start(const char *name, const char *left_dir, const char *right_dir,
				  const struct link_impair *imp, int log_fd, vde_exit_fn on_exit,
				  void *arg, char *err);

/* Stops the process (SIGTERM; the table reaps it) and frees the handle. */
void vde_proc_free(struct vde_proc *v);
int vde_proc_pid(const struct vde_proc *v);

#endif
