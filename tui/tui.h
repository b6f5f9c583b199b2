/* tui.h: caplab's terminal interface, a thin ncurses client of core/.
 * It draws snapshots of the live model and of events, and turns keys and the
 * `:` prompt into commands of the one command language (cmdq). */
#ifndef CAPLAB_TUI_H
#define CAPLAB_TUI_H

/* `caplab [LAB [SCRIPT...]]`: loads and validates the lab (as `caplab run`
 * does), runs its commands (so `start` boots the nodes while the screen stays
 * live), then the interactive loop. Returns the process exit code: 0 after a
 * normal quit, 2 for a lab that does not validate (errors on stderr, nothing
 * started), 1 when the terminal cannot be used, 128+N after signal N. */
int tui_main(const char *lab_path, char **scripts, int nscripts);

/* The session recorder: every command the TUI executes successfully (typed
 * or sent by a key) is appended; `save-script FILE` writes them after a
 * header comment so that `caplab run LAB FILE` replays the session. */
struct cmd;
void tui_record_start(const char *lab_path, char **scripts, int nscripts);
void tui_record(const struct cmd *cmd);
/* The text recorded for cmd: cmd_to_text with host paths made replayable
 * (inputs absolute, outputs relative to the working directory). malloc'd. */
char *tui_record_text(const struct cmd *cmd);
/* Writes the script (mode 0644); 0, or -1 with err set. */
int tui_record_save(const char *path, char *err);
/* Number of recorded commands (tests, the quit question). */
int tui_record_count(void);
void tui_record_free(void);

#endif
