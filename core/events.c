/* events.c: a list of subscribers, called in order for every event. */
#include "events.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct sub {
	event_fn fn;
	void *arg;
};

static struct sub subs[16];
static int nsubs;

void events_subscribe(event_fn fn, void *arg)
{
	if (nsubs < (int)ARRAY_LEN(subs))
		subs[nsubs++] = (struct sub){fn, arg};
}

void events_unsubscribe(event_fn fn, void *arg)
{
	for (int i = 0; i < nsubs; i++)
		if (subs[i].fn == fn && subs[i].arg == arg) {
			subs[i] = subs[--nsubs];
			return;
		}
}

void events_emit(const struct event *ev)
{
	for (int i = 0; i < nsubs; i++)
		subs[i].fn(ev, subs[i].arg);
}

static void emit_text(enum event_type t, const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return;
	struct event ev = {.type = t, .text = s};
	events_emit(&ev);
	free(s);
}

void events_message(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit_text(EV_MESSAGE, fmt, ap);
	va_end(ap);
}

void events_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit_text(EV_ERROR, fmt, ap);
	va_end(ap);
}
