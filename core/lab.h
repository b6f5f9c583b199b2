/* lab.h: the lab model (switches, nodes, links, captures), its validation,
 * and the deterministic address plan.
 *
 * Validation is a symbolic run: commands are applied in order with
 * lab_apply(), definitions add to the model, and later commands are checked
 * against what exists by then (a script may name a capture it started
 * earlier). The same call checks one command typed at the TUI prompt against
 * the live model. Errors carry the position of the offending word.
 *
 * Address plan (lab_plan, run by `start` and at the end of a check), for the
 * ends that have no -ip/-mac:
 *  - MAC 52:54:00:ca:<node#>:<iface#>, node# = definition order from 1,
 *    iface# = the node's links in order from 0 (skipping MACs in use);
 *  - every segment (a switch, or a point-to-point link) gets one subnet:
 *    that of the first explicit -ip on it, else 10.0.<segment#>.0/24 with
 *    segments numbered in definition order from 1 (skipping subnets in use);
 *  - ends take the next free host address of their segment, in link order;
 *  - `-ip none` leaves an end without an address.
 * The same lab file gives the same plan on every machine. */
#ifndef CAPLAB_LAB_H
#define CAPLAB_LAB_H

#include <stdint.h>
#include <stdio.h>

#include "cmd.h"
#include "diag.h"

#define LAB_MEMORY_DEFAULT 256
#define LAB_CPUS_DEFAULT 1

struct lab_switch {
	char *name;
	int hub;
	int segment; /* 1-based, shared numbering with point-to-point links */
};

struct lab_node {
	char *name;
	int index; /* 1-based definition order */
	int memory, cpus, keylog;
	char **packages;
	int npackages;
	char **run; /* -run commands, in order */
	int nrun;
	int started; /* by `start` in the symbolic run; the runtime keeps it true */
	int nifaces;
};

enum lab_ip { LAB_IP_PLAN, LAB_IP_SET, LAB_IP_NONE };

struct lab_link;

/* One end of a link: a node's interface. */
struct lab_iface {
	struct lab_node *node;
	char *name;  /* "eth0" */
	char *label; /* "node:eth0": how captures and messages name it */
	int index;   /* the node's links in order, from 0 */
	enum lab_ip ip_mode;
	uint32_t ip; /* host byte order; valid unless LAB_IP_NONE (after the plan) */
	int prefix;
	int mac_set;
	uint8_t mac[6];
	int planned; /* ip/mac filled in by the plan */
	struct lab_link *link;
};

struct lab_link {
	struct lab_iface end[2]; /* end[1] only for a point-to-point link */
	struct lab_switch *sw;   /* NULL: point-to-point */
	int segment;             /* point-to-point: its own segment number */
	double delay_ms, loss_pct;
	long rate_kbit; /* 0: unlimited */
	struct pos pos; /* of the command, with a reference to pos.src */
};

struct lab_capture {
	char *name;
	struct lab_iface **ifaces;
	int nifaces;
	char *filter; /* "" for none */
	int running;
};

struct lab {
	struct lab_switch **switches;
	int nswitches;
	struct lab_node **nodes;
	int nnodes;
	struct lab_link **links;
	int nlinks;
	struct lab_capture **captures;
	int ncaptures;
	int nsegments;
	char *label; /* the current label, NULL when cleared */
};

struct lab *lab_new(void);
void lab_free(struct lab *lab);

/* Validates one command against the model and applies it (symbolic run):
 * 0, or -1 with errors in dl. On -1 the model is unchanged, except that a
 * node, link or capture whose only fault is a bad number or filter is still
 * defined, so that later lines do not report cascading errors. A broken
 * command (cmd.h) is applied the same way and always gives -1. */
int lab_apply(struct lab *lab, const struct cmd *cmd, struct diag_list *dl);
/* Assigns MACs and addresses to ends that have none yet; errors (a subnet
 * out of addresses, overlapping subnets on one node) point at the link. */
int lab_plan(struct lab *lab, struct diag_list *dl);
/* One line per link end: link, mac, ip, peer (`caplab check -v`). */
void lab_print_plan(const struct lab *lab, FILE *out);

/* Lookups (NULL when absent). */
struct lab_node *lab_node(const struct lab *lab, const char *name);
struct lab_switch *lab_switch(const struct lab *lab, const char *name);
struct lab_iface *lab_iface(const struct lab *lab, const char *node, const char *iface);
struct lab_capture *lab_capture(const struct lab *lab, const char *name);
/* The end across the link from ifc (point-to-point), else NULL. */
struct lab_iface *lab_peer(const struct lab_iface *ifc);

/* Compiles a tcpdump filter for Ethernet with libpcap: 0, or -1 with
 * libpcap's message in err. */
int lab_filter_check(const char *filter, char *err);

/* Model operations behind the commands (cmd-*.c parse words and numbers, then
 * call these). Each reports its own errors at the words given. */
int lab_add_switch(struct lab *lab, const struct word *name, int hub, struct diag_list *dl);
int lab_add_node(struct lab *lab, const struct word *name, const struct lab_node *spec,
		 struct diag_list *dl);

struct lab_link_spec {
	const struct word *a, *b; /* NODE:IFACE, and SWITCH or NODE:IFACE */
	const struct word *ip, *mac; /* NULL when not given */
	double delay_ms, loss_pct;
	long rate_kbit;
};
int lab_add_link(struct lab *lab, const struct cmd *cmd, const struct lab_link_spec *spec,
		 struct diag_list *dl);

int lab_start_stop(struct lab *lab, const struct cmd *cmd, int start, struct diag_list *dl);
/* The node named by w, or NULL with an error ("unknown node ..."). */
struct lab_node *lab_want_node(const struct lab *lab, const struct word *w, struct diag_list *dl);
/* The node named by w, defined and started, or NULL with an error. */
struct lab_node *lab_want_started(const struct lab *lab, const struct word *w, struct diag_list *dl);
/* The capture named by w, or NULL with an error. */
struct lab_capture *lab_want_capture(const struct lab *lab, const struct word *w,
				     struct diag_list *dl);
int lab_check_filter_word(const struct word *w, struct diag_list *dl);

int lab_add_capture(struct lab *lab, const struct cmd *cmd, struct diag_list *dl);
int lab_stop_capture(struct lab *lab, const struct cmd *cmd, struct diag_list *dl);

/* Names: letters, digits, '-', '_', '.', starting with a letter or digit. */
int lab_valid_name(const char *s, size_t max);

#endif
