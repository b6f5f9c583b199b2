/* engine.h: a running lab. It owns the live model (struct lab), the runtime
 * dir, the host probe, guest images, and the processes behind nodes,
 * switches and impaired links. Commands (cmd-*.c) call in here; clients
 * learn what happens through events (events.h). */
#ifndef CAPLAB_ENGINE_H
#define CAPLAB_ENGINE_H

#include "cmdq.h"
#include "lab.h"
#include "node.h"

struct engine;

struct engine_opts {
	const char *lab_name; /* runtime dir name, messages */
	const char *out_dir;  /* `caplab run -o DIR`: logs kept there; NULL: none */
	int offline;          /* never fetch packages */
};

struct engine *engine_new(const struct engine_opts *o, char *err);
/* Hard stop: kills every child, removes the runtime dir (after copying logs
 * to out_dir). Safe on every path, including fatal errors. */
void engine_free(struct engine *e);

struct lab *engine_lab(struct engine *e);
const char *engine_rundir(const struct engine *e);
const char *engine_cache(const struct engine *e);
const struct qemu_host *engine_host(const struct engine *e); /* NULL before the first start */
/* The lab's name (its file name without .lab). */
const char *engine_lab_name(const struct engine *e);
/* The guest kernel version of the last start ("6.1.0-NN-cloud-amd64"), or NULL. */
const char *engine_guest_kernel(const struct engine *e);
/* Relative paths in commands are relative to this (caplab run -o DIR, or "."). */
const char *engine_out_dir(const struct engine *e);

/* `start` / `stop` for the named nodes (all defined ones when n == 0):
 * return CMD_WAIT and resume ctx when done, or CMD_ERROR. */
enum cmd_ret engine_start(struct engine *e, struct cmd_ctx *ctx, char **names, int n);
enum cmd_ret engine_stop(struct engine *e, struct cmd_ctx *ctx, char **names, int n);

/* Graceful stop of everything (nodes, then switches); done is called on the
 * loop when all processes are gone. */
void engine_shutdown(struct engine *e, void (*done)(void *arg), void *arg);

/* The node's authenticated SSH session, or NULL when it is not ready. */
struct sshc;
struct sshc *engine_ssh(struct engine *e, const char *name);

/* The runtime node of a model node (NULL if never started). */
struct node *engine_node(struct engine *e, const char *name);

#endif
