/* shell.h: what the node shell pane needs from a pty channel: a way to send
 * keys, resize and close it; the channel pushes its output and its end with
 * tui_shell_output / tui_shell_ended. core/ssh.h's sshc_shell fits this (see
 * shell.c); a test can plug in anything else. */
#ifndef CAPLAB_TUI_SHELL_H
#define CAPLAB_TUI_SHELL_H

#include <stddef.h>

struct shell_io {
	void *handle; /* the channel */
	void (*write)(void *handle, const char *buf, size_t n);
	void (*resize)(void *handle, int rows, int cols);
	void (*close)(void *handle); /* no output/end call may follow */
};

/* Shows the channel in the shell pane and takes it over. */
int tui_shell_attach(const char *node, const struct shell_io *io);
void tui_shell_output(const char *data, size_t len);
void tui_shell_ended(const char *why);

#endif
