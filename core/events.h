/* events.h: what the engine tells its clients (headless printer, TUI,
 * recorder, control-socket clients). Data goes one way: engine -> events. */
#ifndef CAPLAB_EVENTS_H
#define CAPLAB_EVENTS_H

enum event_type {
	EV_MESSAGE,     /* text: an informational line ("accelerator: tcg ...") */
	EV_ERROR,       /* text: something failed ("node b exited: signal 9") */
	EV_NODE_STATE,  /* node, state (text of node_state) */
	EV_PROGRESS,    /* node (may be NULL), text: long work going on */
	EV_OUTPUT,      /* node, stream ("stdout"/"stderr"/"console"), data/len */
	EV_CAPTURE,     /* capture changed (started, stopped, counters) */
	EV_COMMAND,     /* text: a command was executed (recorder) */
};

struct event {
	enum event_type type;
	const char *node;
	const char *state;
	const char *stream;
	const char *text;
	const char *data;
	int len;
	const void *origin; /* EV_OUTPUT: the command (struct cmd) it is the output of, or NULL */
};

typedef void (*event_fn)(const struct event *ev, void *arg);

void events_subscribe(event_fn fn, void *arg);
void events_unsubscribe(event_fn fn, void *arg);
void events_emit(const struct event *ev);
/* Shorthands. */
void events_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void events_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
