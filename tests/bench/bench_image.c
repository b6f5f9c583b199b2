/* bench_image.c: guest image build times, cold (empty cache dir: resolve,
 * download, unpack, write) and warm (everything cached), and image sizes,
 * for the base image and base + curl. Figures only; nothing is asserted. */
#include "image.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int run(const char *dir, char **pkgs, size_t n, double *secs, struct image_out *out)
{
	struct image_req req = {.cache_dir = dir, .packages = pkgs, .n_packages = n};
	char err[CL_ERRBUF];
	double t = now_mono();
	int rc = image_prepare(&req, out, NULL, NULL, err);
	*secs = now_mono() - t;
	if (rc < 0)
		fprintf(stderr, "bench_image: %s\n", err);
	return rc;
}

static int bench(const char *label, char **pkgs, size_t n)
{
	char dir[128];
	snprintf(dir, sizeof dir, "/tmp/caplab-bench-image-%d", (int)getpid());
	rm_rf(dir);
	struct image_out cold, warm;
	double tc, tw;
	int rc = run(dir, pkgs, n, &tc, &cold);
	if (rc == 0)
		rc = run(dir, pkgs, n, &tw, &warm);
	if (rc == 0)
		printf("image %-12s cold %6.2f s  warm %6.3f s  (built %d/%d)  initrd %5.1f MB\n", label,
		       tc, tw, cold.built, warm.built, (double)cold.size / 1e6);
	rm_rf(dir);
	return rc;
}

int main(void)
{
	char *curl[] = {"curl"};
	int rc = bench("base", NULL, 0);
	if (rc == 0)
		rc = bench("base+curl", curl, 1);
	return rc < 0 ? 1 : 0;
}
