/* work.h: run blocking work (image building, the accelerator probe) on a
 * thread, and get its completion back on the event loop. The work function
 * must not touch the loop or engine state; it gets its own input and output. */
#ifndef CAPLAB_WORK_H
#define CAPLAB_WORK_H

typedef void (*work_fn)(void *arg);      /* on the worker thread */
typedef void (*work_done_fn)(void *arg); /* on the loop, afterwards */

int work_submit(work_fn fn, work_done_fn done, void *arg, char *err);
/* Number of jobs not yet completed (shutdown waits for them). */
int work_pending(void);

#endif
