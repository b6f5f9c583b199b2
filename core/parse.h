/* parse.h: words -> commands, against the command table (cmd.h).
 *
 * Word rules: the first word names the command. A word beginning with `-`
 * (unquoted, not "-" alone) is a flag that the command's template must name;
 * a flag that takes a value takes the next word, whatever it looks like.
 * Flags may stand before or after positionals. `--` ends flags. For commands
 * with CMD_REST_VERBATIM (exec) every word after positional `rest_from` is a
 * positional; with CMD_REST_JOIN (expect, label) the positionals from
 * `rest_from` on are joined by spaces into one. */
#ifndef CAPLAB_PARSE_H
#define CAPLAB_PARSE_H

#include "cmd.h"
#include "diag.h"

/* Parses every command of src into out (appended). Errors go to dl; a
 * command with a bad flag is kept with `broken` set (so validation can go on
 * without cascades), other bad commands are left out. Returns the number of
 * errors added: when it is not 0, run nothing. */
int parse_source(struct source *src, struct cmd_list *out, struct diag_list *dl);
/* The same for a string (a prompt line, a key binding); name labels errors. */
int parse_string(const char *name, const char *text, struct cmd_list *out, struct diag_list *dl);

#endif
