/* doctor.c: probes, never guesses: the KVM check boots a real guest kernel. */
#include "doctor.h"
#include "deb.h"
#include "guestssh.h"
#include "image.h"
#include "proc.h"
#include "qemu.h"
#include "runtime.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int line(FILE *out, int ok, const char *what, const char *detail, const char *fix)
{
	fprintf(out, "%-4s %-18s %s", ok ? "ok" : "MISS", what, detail);
	if (!ok && fix)
		fprintf(out, "  (fix: %s)", fix);
	fputc('\n', out);
	return ok;
}

/* First line of a program's --version output, or NULL. */
static char *version_of(char *const argv[])
{
	char *out = NULL, err[CL_ERRBUF];
	if (proc_run_capture(argv, &out, 10, err) < 0) {
		free(out);
		return NULL;
	}
	if (out)
		out[strcspn(out, "\n")] = '\0';
	return out;
}

static int check_tool(FILE *out, const char *what, char *const argv[], const char *fix)
{
	char *v = version_of(argv);
	int ok = v && *v;
	line(out, ok, what, ok ? v : "not found", fix);
	free(v);
	return ok;
}

static int check_guest(FILE *out, const char *cache, struct image_out *img)
{
	char err[CL_ERRBUF];
	static char *const base[] = {GUESTSSH_BASE_PACKAGES};
	struct image_req req = {.cache_dir = cache, .offline = 1, .base_packages = base,
				.n_base_packages = ARRAY_LEN(base)};
	if (image_prepare(&req, img, NULL, NULL, err) == 0) {
		char *d = xasprintf("cached: kernel %s", img->kernel_version);
		line(out, 1, "guest image", d, NULL);
		free(d);
		return 1;
	}
	if (deb_lists_present(err) == 0) {
		line(out, 1, "guest image", "not cached yet; fetchable from the Debian archive at first start",
		     NULL);
		return 0;
	}
	line(out, 0, "guest image", err, "as root: apt-get update");
	return 0;
}

int doctor_main(FILE *out)
{
	int ok = 1;
	char err[CL_ERRBUF];
	ok &= check_tool(out, "qemu", (char *[]){QEMU_BIN, "--version", NULL}, "run make deps");
	ok &= check_tool(out, "vde_switch", (char *[]){"vde_switch", "--version", NULL}, "run make deps");
	ok &= check_tool(out, "wirefilter", (char *[]){"sh", "-c", "command -v wirefilter", NULL},
			 "run make deps");
	check_tool(out, "tshark", (char *[]){"tshark", "--version", NULL}, "run make deps");
	char *cache = cache_dir(err);
	line(out, cache != NULL, "cache", cache ? cache : err, "set XDG_CACHE_HOME to a writable dir");
	char *rt = runtime_base();
	line(out, 1, "runtime", rt, NULL);
	free(rt);
	unsigned tsc = qemu_tsc_khz();
	char *d = tsc ? xasprintf("host TSC %u kHz: microvm machine", tsc)
		      : xstrdup("host TSC frequency unknown: pc machine (slower boot)");
	line(out, 1, "machine", d, NULL);
	free(d);
	line(out, 1, "vsock",
	     access("/dev/vhost-vsock", F_OK) == 0 ? "/dev/vhost-vsock present (caplab uses its own userspace backend anyway)"
						    : "no /dev/vhost-vsock: caplab's own userspace backend serves vsock",
	     NULL);
	struct image_out img;
	if (cache && check_guest(out, cache, &img)) {
		struct qemu_host h;
		if (qemu_probe_host(img.kernel, cache, 2.5, &h, err) == 0)
			line(out, 1, "accelerator", h.accel_why, NULL);
		else
			ok = line(out, 0, "accelerator", err, "run make deps");
	} else {
		line(out, 1, "accelerator", "probed at the first start (needs the guest kernel)", NULL);
	}
	free(cache);
	fprintf(out, "%s\n", ok ? "caplab can run labs here." : "caplab cannot run labs here yet: see the fixes above.");
	return ok ? 0 : 1;
}
