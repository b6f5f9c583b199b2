/* main.c: the caplab command line. Subcommands: (none) TUI, run, check,
 * doctor, ssh, ctl. Everything real lives in core/ (and tui/). */
#include "ctlcli.h"
#include "doctor.h"
#include "engine.h"
#include "events.h"
#include "headless.h"
#include "script.h"
#include "sshcli.h"
#include "util.h"
#ifdef CAPLAB_WITH_TUI
#include "tui.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: caplab [LAB]                          open the TUI on LAB (default labs/default.lab)\n"
	"       caplab run [-o DIR] [-v] [--offline] LAB [SCRIPT...]  run headless, then shut everything down\n"
	"       caplab check [-v] LAB [SCRIPT...]     parse and validate only\n"
	"       caplab ssh [-n] [-l LAB] NODE [CMD...] a shell or command on a running lab's node\n"
	"       caplab ssh --proxy|--config [-l LAB] NODE  for OpenSSH (ProxyCommand, ssh_config)\n"
	"       caplab ctl [-l LAB] COMMAND [ARG...]   a command to a running lab (- : lines from stdin)\n"
	"       caplab doctor                         what this machine offers, and fixes\n"
	"       caplab --help | --version\n"
	"\n"
	"Exit status: 0 every command succeeded and every expect held; 1 a command or\n"
	"an expectation failed (the lab is still shut down cleanly); 2 bad input\n"
	"(usage, unreadable file, parse or validation error: then nothing starts).\n"
	"See caplab(1) for the command language.\n";

static int usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {{"verbose", no_argument, 0, 'v'},
					     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int verbose = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		if (c == 'v')
			verbose = 1;
		else
			return usage(c == 'h' ? stdout : stderr, c == 'h' ? 0 : 2);
	}
	if (optind >= argc) {
		fputs("caplab check: missing LAB file\n", stderr);
		return usage(stderr, 2);
	}
	return script_check(argv[optind], argv + optind + 1, argc - optind - 1, verbose, stdout, stderr);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, 0, 'o'},
					     {"verbose", no_argument, 0, 'v'},
					     {"offline", no_argument, 0, 'O'},
					     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	struct headless_opts o = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out_dir = optarg; break;
		case 'v': o.verbose = 1; break;
		case 'O': o.offline = 1; break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 2);
		}
	}
	if (optind >= argc) {
		fputs("caplab run: missing LAB file\n", stderr);
		return usage(stderr, 2);
	}
	o.lab_path = argv[optind];
	o.scripts = argv + optind + 1;
	o.nscripts = argc - optind - 1;
	return headless_run(&o);
}

static int cmd_tui(int argc, char **argv)
{
	const char *lab = argc > 1 ? argv[1] : "labs/default.lab";
#ifdef CAPLAB_WITH_TUI
	return tui_main(lab, argv + 2, argc > 2 ? argc - 2 : 0);
#else
	(void)lab;
	fputs("caplab: the TUI is not built yet; use `caplab run LAB` (see --help)\n", stderr);
	return 2;
#endif
}

/* Descriptors 0-2 closed by whoever started caplab would be reused by the
 * first files and sockets it opens, which would then be read as stdin or
 * written as output (a signalfd read as stdin eats SIGTERM). They get
 * /dev/null instead, as OpenSSH's sanitise_stdfd does. */
static void open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

int main(int argc, char **argv)
{
	open_std_fds();
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout, 0);
	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		printf("caplab %s\n", CAPLAB_VERSION);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "ssh"))
		return sshcli_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctlcli_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "doctor"))
		return doctor_main(stdout);
	if (argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "caplab: unknown option '%s'\n", argv[1]);
		return usage(stderr, 2);
	}
	return cmd_tui(argc, argv);
}
