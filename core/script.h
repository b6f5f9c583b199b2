/* script.h: lab files and scripts -> one validated command list.
 *
 * A lab file and the scripts after it are one program: loaded in order,
 * `source FILE` expanded in place (FILE relative to the including file's
 * directory; cycles are errors), then validated by a symbolic run against
 * one model (lab.h), so a script can use nodes of the lab file and captures
 * it started itself. `caplab check` and `caplab run` share this loader. */
#ifndef CAPLAB_SCRIPT_H
#define CAPLAB_SCRIPT_H

#include <stdio.h>

#include "cmd.h"
#include "diag.h"
#include "lab.h"

#define SCRIPT_MAX_DEPTH 16

/* Parses path into out (appended), expanding `source`. Errors go to dl;
 * returns the number of errors added (0: all of it parsed). */
int script_load(const char *path, struct cmd_list *out, struct diag_list *dl);

/* The symbolic run: every command applied to lab in order, then the address
 * plan. Returns the number of errors added. */
int script_validate(struct lab *lab, const struct cmd_list *cmds, struct diag_list *dl);

/* Loads the lab file and scripts and validates them. On success (0) *cmds
 * holds every command in order and *labp the model after the symbolic run
 * (addresses planned); on errors (-1) both are left empty and dl says why. */
int script_load_all(const char *lab_path, char *const *scripts, int nscripts,
		    struct cmd_list *cmds, struct lab **labp, struct diag_list *dl);

/* `caplab check [-v] LAB [SCRIPT...]`: errors to err, and with verbose the
 * address plan to out. Returns the exit code: 0 valid, 2 errors. */
int script_check(const char *lab_path, char *const *scripts, int nscripts, int verbose,
		 FILE *out, FILE *err);

#endif
