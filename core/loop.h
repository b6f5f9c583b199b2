/* loop.h: the one event loop (poll-based, like redis ae.c). Everything that
 * waits in caplab waits here: sockets, pipes, eventfds, timers, signals and
 * child exits. There is one loop per process; nothing may block it. */
#ifndef CAPLAB_LOOP_H
#define CAPLAB_LOOP_H

#include <stdint.h>

#define LOOP_READ 1
#define LOOP_WRITE 2

typedef void (*loop_fd_fn)(int fd, int events, void *arg);
typedef void (*loop_fn)(void *arg);
typedef void (*loop_signal_fn)(int signo, void *arg);

/* Watch fd for LOOP_READ/LOOP_WRITE (events == 0 keeps the fd registered but
 * idle). Watching an fd again replaces its events, callback and argument. */
void loop_watch(int fd, int events, loop_fd_fn fn, void *arg);
void loop_unwatch(int fd);

/* Timers fire once, after `seconds`; ids are never 0 and never reused. */
uint64_t loop_timer(double seconds, loop_fn fn, void *arg);
void loop_cancel(uint64_t timer_id);
/* Run fn on the next iteration (outside the current callback). */
uint64_t loop_defer(loop_fn fn, void *arg);

/* Handle a signal on the loop (signalfd): SIGCHLD, SIGINT, SIGTERM, SIGHUP... */
void loop_on_signal(int signo, loop_signal_fn fn, void *arg);

/* One iteration: wait at most timeout seconds (<0: until something happens). */
void loop_once(double timeout);
/* Iterate until *done becomes non-zero or the deadline (monotonic seconds,
 * 0 = none) passes; returns 0 when done, -1 on deadline. */
int loop_run_until(const int *done, double deadline);

/* Drop every watcher, timer and signal handler (tests, final cleanup). */
void loop_reset(void);

#endif
