/* ctlcli.h: `caplab ctl`, commands to a running lab through its control
 * socket (control.h), as if typed at its TUI prompt.
 *
 *   caplab ctl [-l LAB] [-v] [--raw] COMMAND [ARG...]
 *   caplab ctl [-l LAB] [-v] [--raw] -        (command lines from stdin)
 *
 * COMMAND [ARG...] is one command; each argument is one word (quoted for
 * the language as needed; an unquoted leading `-` stays a flag), and an
 * argument that is just `;` separates commands. With `-`, every stdin line
 * is a line of the language, sent as it is read. Each line is parsed here
 * first: one that does not parse is reported and not sent.
 *
 * Output: exec output on stdout / stderr as the node wrote it; the lab's
 * messages and a failed command's error on stderr ("caplab: ..."); -v adds
 * node states and progress; --raw prints the protocol lines as they come.
 *
 * Exit status: 0 every command said ok; 1 one failed; 2 usage or a line
 * that does not parse; 255 no running lab, or the connection failed or was
 * lost before every reply came. */
#ifndef CAPLAB_CTLCLI_H
#define CAPLAB_CTLCLI_H

/* argv[0] is "ctl" (the subcommand); returns the process exit status. */
int ctlcli_main(int argc, char **argv);

#endif
