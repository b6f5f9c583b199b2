/* proc.h: the only way caplab runs a child (git's run-command idea).
 * argv only, never a shell; own process group; PR_SET_PDEATHSIG(SIGKILL) so a
 * `kill -9 caplab` takes every child with it; one table of children, reaped
 * through the loop's SIGCHLD; proc_kill_all() on every exit path. */
#ifndef CAPLAB_PROC_H
#define CAPLAB_PROC_H

#include <sys/types.h>

struct proc;
/* status is as from waitpid(). */
typedef void (*proc_exit_fn)(struct proc *p, int status, void *arg);

struct proc_opts {
	int stdin_fd;   /* -1: /dev/null */
	int stdout_fd;  /* -1: /dev/null */
	int stderr_fd;  /* -1: /dev/null */
	const int *keep_fds; /* extra fds the child inherits (same numbers) */
	int n_keep_fds;
	const char *cwd;     /* NULL: unchanged */
	char *const *envp;   /* NULL: inherit */
};

/* Starts argv[0] (searched in PATH). name is for messages ("qemu a").
 * Returns NULL with err set if the program cannot be started (exec failure
 * is reported synchronously through a CLOEXEC pipe). */
struct proc *proc_start(const char *name, char *const argv[], const struct proc_opts *o,
			proc_exit_fn on_exit, void *arg, char *err);
pid_t proc_pid(const struct proc *p);
const char *proc_name(const struct proc *p);
/* Signal the child's whole process group. */
void proc_signal(struct proc *p, int signo);
/* Forget the exit callback (the owner is going away); the proc is still
 * reaped and freed by the table. */
void proc_detach(struct proc *p);
/* SIGTERM every child, wait up to grace seconds, SIGKILL the rest, reap all.
 * Safe from any exit path; idempotent. */
void proc_kill_all(double grace);
/* Number of live children (tests, shutdown). */
int proc_count(void);
/* Human text for a wait status: "exited with status 3", "killed by signal 9". */
const char *proc_status_text(int status, char *buf, size_t len);
/* Run a program to completion synchronously, capturing stdout (for short
 * start-up probes only, e.g. `qemu --version`); returns exit status or -1. */
int proc_run_capture(char *const argv[], char **out, double timeout, char *err);

#endif
