/* record.c: the session script. Every command the TUI runs successfully is
 * kept as text that parses back to the same command (cmd_to_text), so that
 * `caplab run LAB FILE` replays the session headless. Scripts given on the
 * command line come first, as `source` lines, since the session ran them. */
#include "tui.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "util.h"

static struct {
	char *lab;
	struct buf body;
	int count;
} R;

static char *absolute(const char *path)
{
	char *abs = realpath(path, NULL);
	return abs ? abs : xstrdup(path);
}

void tui_record_start(const char *lab_path, char **scripts, int nscripts)
{
	tui_record_free();
	R.lab = absolute(lab_path);
	for (int i = 0; i < nscripts; i++) {
		char *abs = absolute(scripts[i]);
		char *q = cmd_quote(abs, 1);
		buf_addf(&R.body, "source %s\n", q);
		free(q);
		free(abs);
	}
}

void tui_record(const char *command_text)
{
	buf_addf(&R.body, "%s\n", command_text);
	R.count++;
}

int tui_record_count(void) { return R.count; }

int tui_record_save(const char *path, char *err)
{
	char date[64];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %z", localtime(&now));
	struct buf out = {0};
	buf_addf(&out, "# caplab session script, recorded by the TUI\n");
	buf_addf(&out, "# lab: %s\n# date: %s\n", R.lab ? R.lab : "?", date);
	buf_addf(&out, "# replay: caplab run %s %s\n\n", R.lab ? R.lab : "LAB", path);
	if (R.body.len)
		buf_add(&out, R.body.data, R.body.len);
	int rc = write_file(path, out.data, out.len, 0644, err);
	buf_free(&out);
	return rc;
}

void tui_record_free(void)
{
	free(R.lab);
	buf_free(&R.body);
	memset(&R, 0, sizeof R);
}
