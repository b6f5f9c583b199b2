/* sshcli.h: `caplab ssh`, a user's own terminal on a node of a running lab.
 *
 *   caplab ssh [-l LAB] [-t SECS] NODE [COMMAND [ARG...]]
 *   caplab ssh --proxy [-l LAB] [-t SECS] NODE    (an OpenSSH ProxyCommand)
 *   caplab ssh --config [-l LAB] NODE             (prints an ssh_config stanza)
 *
 * The lab runs in another caplab process; this one finds its runtime dir
 * (RUNTIME_BASE/LAB-PID with PID alive and NODE.vsock in it), reads the
 * lab's keys and reaches the node's sshd through NODE.vsock ("CONNECT 22").
 * Nothing of the user's ~/.ssh, ssh_config or agent is used.
 *
 * Exit status: the remote command's (or shell's) exit status; 255 when
 * caplab ssh itself fails (usage, no such lab or node, connection lost), as
 * with ssh; 128+N when caplab ssh is stopped by signal N. */
#ifndef CAPLAB_SSHCLI_H
#define CAPLAB_SSHCLI_H

/* argv[0] is "ssh" (the subcommand); returns the process exit status. */
int sshcli_main(int argc, char **argv);

/* The runtime dir (malloc'd) of the one running lab under base that has a
 * node named node; lab (NULL: any) is a lab name ("two") or a runtime dir
 * name ("two-4242"). NULL with err set when none or several match. */
char *sshcli_find_lab(const char *base, const char *lab, const char *node, char *err);

#endif
