/* headless.h: `caplab run`: run a lab file and scripts with no UI, print
 * what happens, shut everything down, and say how it went in the exit code. */
#ifndef CAPLAB_HEADLESS_H
#define CAPLAB_HEADLESS_H

struct headless_opts {
	const char *lab_path;
	char **scripts;
	int nscripts;
	const char *out_dir; /* -o DIR: logs, exports, result.json */
	int verbose, offline;
};

/* 0 all commands succeeded, 1 one failed, 2 bad input (nothing started),
 * 128+N when stopped by signal N. */
int headless_run(const struct headless_opts *o);

#endif
