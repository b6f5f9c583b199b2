/* cmd.h: the command table and parsed commands (tmux's model).
 *
 * Every command lives in core/cmd-<name>.c and exports one
 * `const struct cmd_entry cmd_<name>_entry`; cmd.c lists them in a table.
 * Lab files, scripts, the TUI prompt and key bindings are all parsed into
 * `struct cmd` by parse.c against that table. `validate` checks a command
 * against the lab model and applies its definitions (a symbolic run, see
 * lab.h); `exec` is the runtime behaviour, wired in by the runtime. */
#ifndef CAPLAB_CMD_H
#define CAPLAB_CMD_H

#include <stdint.h>

#include "diag.h"
#include "lex.h"

struct cmd;
struct cmd_ctx; /* defined by the runtime */
struct lab;

enum cmd_ret { CMD_DONE, CMD_ERROR, CMD_WAIT };

typedef enum cmd_ret (*cmd_exec_fn)(struct cmd *cmd, struct cmd_ctx *ctx);
/* Checks cmd against the model and applies it; 0, or -1 with errors in dl. */
typedef int (*cmd_validate_fn)(const struct cmd *cmd, struct lab *lab, struct diag_list *dl);

/* How the words after positional `rest_from` are taken. */
enum cmd_rest {
	CMD_REST_NONE,
	CMD_REST_VERBATIM, /* all of them are positionals, even `-x` (exec) */
	CMD_REST_JOIN,     /* joined by spaces into one positional (expect, label) */
};

struct cmd_entry {
	const char *name;
	/* Flag template: space-separated names; "name:" takes a value,
	 * "name:*" takes a value and may be repeated. Example: "t: b i". */
	const char *flags;
	int args_min, args_max; /* positionals after joining; max -1 = no limit */
	enum cmd_rest rest;
	int rest_from;
	const char *usage; /* also the help text */
	cmd_validate_fn validate;
	cmd_exec_fn exec;
};

struct cmd_flag {
	char *name;        /* without the dash */
	struct pos pos;    /* of the flag word */
	struct word value; /* value.text is NULL for a flag without value */
};

struct cmd {
	const struct cmd_entry *entry;
	struct source *src; /* a reference: positions below point into it */
	struct pos pos;     /* of the command name */
	char *text;         /* the command as written (may span lines) */
	struct cmd_flag *flags; /* in the order given */
	int nflags;
	struct word *args;
	int nargs;
	/* Had errors in its flags (reported, flag left out). Kept only so that
	 * validation of later lines goes on without cascading errors: a broken
	 * command is never run. */
	int broken;
};

struct cmd_list {
	struct cmd **v;
	int n, cap;
};

/* The table. */
extern const struct cmd_entry *const cmd_table[];
extern const int cmd_table_len;
const struct cmd_entry *cmd_find(const char *name);

/* Template queries: does entry take flag `name`, with a value, repeatedly? */
int cmd_template_has(const struct cmd_entry *e, const char *name, int *takes_value, int *repeatable);

/* Flags of a parsed command: the last occurrence, or NULL. cmd_flag_next
 * walks repeated ones in order (prev NULL for the first). */
const struct cmd_flag *cmd_flag(const struct cmd *cmd, const char *name);
const struct cmd_flag *cmd_flag_next(const struct cmd *cmd, const char *name,
				     const struct cmd_flag *prev);
int cmd_has_flag(const struct cmd *cmd, const char *name);

/* Number checks shared by the commands. On error they add a diagnostic at
 * the word and return -1; *out is left alone when the flag is absent. */
int cmd_parse_int(const struct word *w, const char *what, long min, long max, long *out,
		  struct diag_list *dl);
int cmd_parse_decimal(const struct word *w, const char *what, double min, double max,
		      double *out, struct diag_list *dl);
int cmd_flag_int(const struct cmd *cmd, const char *flag, long min, long max, long *out,
		 struct diag_list *dl);
int cmd_flag_decimal(const struct cmd *cmd, const char *flag, double min, double max,
		     double *out, struct diag_list *dl);

/* The command as text that parses back to the same command: words quoted
 * where needed, flags before positionals. malloc'd. */
char *cmd_to_text(const struct cmd *cmd);
/* A word quoted for the language (as cmd_to_text does), malloc'd. */
char *cmd_quote(const char *word, int may_look_like_flag);

void cmd_free(struct cmd *cmd);
void cmd_list_add(struct cmd_list *l, struct cmd *cmd);
void cmd_list_clear(struct cmd_list *l);

#endif
