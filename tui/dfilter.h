/* dfilter.h: Wireshark display filters for the packet list (dfilter.c):
 * checked as the user types and applied to a capture by tshark children on
 * the loop. Without tshark the packet list falls back to BPF (packets.c). */
#ifndef CAPLAB_TUI_DFILTER_H
#define CAPLAB_TUI_DFILTER_H

#include <stdint.h>

/* 1 when a tshark program is in PATH (looked up once). */
int dfilter_have_tshark(void);

/* The answer to a check: ok, or not with tshark's message (one line). */
typedef void (*dfilter_check_fn)(const char *filter, int ok, const char *msg, void *arg);
/* Checks FILTER with tshark shortly (typing restarts the wait); a new check
 * or dfilter_check_cancel() drops the one under way, whose fn never runs. */
void dfilter_check(const char *filter, dfilter_check_fn fn, void *arg);
void dfilter_check_cancel(void);

/* Applies FILTER to CAPTURE: a `tshark -Y FILTER` child reads the capture's
 * spool from its start and names the frames that match. Replaces the filter
 * running before; -1 with err when tshark cannot be started. */
int dfilter_run(const char *capture, const char *filter, char *err);
void dfilter_stop(void);
/* Feeds the child what the spool gained (from the TUI's tick). */
void dfilter_poll(void);
/* Matching frame numbers so far, in increasing order. */
int dfilter_count(void);
uint32_t dfilter_frame(int i);
/* tshark's message when the filter child failed, else NULL. */
const char *dfilter_error(void);

#endif
