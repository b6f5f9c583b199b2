/* labfind.c: running labs under the runtime base (see labfind.h). */
#include "labfind.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int pid_alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

/* "NAME-PID" → PID (name_len = strlen(NAME)), or 0 for any other entry. */
static pid_t entry_pid(const char *entry, size_t *name_len)
{
	const char *dash = strrchr(entry, '-');
	if (!dash || dash == entry || !dash[1])
		return 0;
	char *end;
	long pid = strtol(dash + 1, &end, 10);
	if (*end || pid <= 0)
		return 0;
	*name_len = (size_t)(dash - entry);
	return (pid_t)pid;
}

static int lab_matches(const char *entry, size_t name_len, const char *lab)
{
	return !lab || !strcmp(entry, lab) || (strlen(lab) == name_len && !strncmp(entry, lab, name_len));
}

static int has_socket(const char *base, const char *entry, const char *file)
{
	char *path = xasprintf("%s/%s/%s", base, entry, file);
	struct stat st;
	int yes = stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
	free(path);
	return yes;
}

void labfind_scan(const char *base, const char *lab, const char *file, struct labfind *m)
{
	*m = (struct labfind){0};
	DIR *d = opendir(base);
	for (struct dirent *de; d && (de = readdir(d));) {
		size_t name_len;
		pid_t pid = entry_pid(de->d_name, &name_len);
		if (!pid || !lab_matches(de->d_name, name_len, lab) || !pid_alive(pid))
			continue;
		if (!has_socket(base, de->d_name, file)) {
			m->idle++;
			continue;
		}
		buf_addf(&m->names, "%s%s", m->found++ ? ", " : "", de->d_name);
		if (!m->first)
			m->first = xasprintf("%s/%s", base, de->d_name);
	}
	if (d)
		closedir(d);
}

void labfind_clear(struct labfind *m)
{
	buf_free(&m->names);
	free(m->first);
	*m = (struct labfind){0};
}
