/* runtime.c: runtime and cache directory paths. */
#include "runtime.h"
#include "util.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *runtime_base(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	if (xdg && *xdg && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && access(xdg, W_OK) == 0)
		return xasprintf("%s/caplab", xdg);
	return xasprintf("/tmp/caplab-%u", (unsigned)getuid());
}

char *runtime_dir_create(const char *lab_name, char *err)
{
	char *base = runtime_base();
	if (mkdir_p(base, 0700, err) < 0) {
		free(base);
		return NULL;
	}
	struct stat st;
	/* A shared /tmp: the base must be ours and private. */
	if (lstat(base, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		cl_err(err, "runtime directory '%s' is not a directory owned by you", base);
		free(base);
		return NULL;
	}
	chmod(base, 0700);
	char *dir = xasprintf("%s/%s-%d", base, lab_name, (int)getpid());
	free(base);
	rm_rf(dir); /* a stale dir of a dead process with our pid */
	if (mkdir(dir, 0700) < 0) {
		cl_err(err, "cannot create runtime directory '%s': %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

void runtime_dir_remove(const char *path)
{
	if (path)
		rm_rf(path);
}

char *cache_dir(char *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	char *dir;
	if (xdg && *xdg) {
		dir = xasprintf("%s/caplab", xdg);
	} else {
		const char *home = getenv("HOME");
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : "/tmp";
		}
		dir = xasprintf("%s/.cache/caplab", home);
	}
	if (mkdir_p(dir, 0755, err) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}
