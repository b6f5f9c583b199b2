/* test_image.c: guest images built from real Debian packages and booted in
 * real QEMU (TCG, machine pc): readiness line, renamed interfaces with their
 * addresses, -run output, a package (curl) working in the guest, the cache
 * building nothing the second time, an unknown package refused by name, and
 * a build as an unprivileged user. Needs the host's apt lists and network
 * access to the Debian archive (first run), like `caplab start`. */
#include "unit.h"

#include "image.h"
#include "proc.h"
#include "util.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char cache_dir[256];

static int setup_cache(void **state)
{
	(void)state;
	snprintf(cache_dir, sizeof cache_dir, "/tmp/caplab-test-image-%d", (int)getpid());
	rm_rf(cache_dir);
	return 0;
}

static int teardown_cache(void **state)
{
	(void)state;
	rm_rf(cache_dir);
	return 0;
}

static int prepare(char **pkgs, size_t n, struct image_out *out, char *err)
{
	struct image_req req = {.cache_dir = cache_dir, .packages = pkgs, .n_packages = n};
	return image_prepare(&req, out, NULL, NULL, err);
}

/* Boots kernel+initrd on `pc` with the node config and two NICs; the last
 * -run command powers the guest off, so qemu exits and we get the console. */
static char *boot(const struct image_out *img, const char *cfg)
{
	char *fw = image_fw_cfg_arg(cfg);
	char *argv[] = {"qemu-system-x86_64", "-M", "pc", "-accel", "tcg", "-m", "256",
			"-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
			"-kernel", (char *)img->kernel, "-initrd", (char *)img->initrd,
			"-append", "console=ttyS0 quiet panic=-1", "-no-reboot", "-fw_cfg", fw,
			"-netdev", "hubport,id=n0,hubid=0", "-netdev", "hubport,id=n1,hubid=1",
			"-device", "virtio-net-pci,netdev=n0,mac=52:54:00:aa:00:02,romfile=",
			"-device", "virtio-net-pci,netdev=n1,mac=52:54:00:aa:00:01,romfile=", NULL};
	char *out = NULL;
	char err[CL_ERRBUF];
	int st = proc_run_capture(argv, &out, 90.0, err);
	free(fw);
	if (st != 0)
		print_error("qemu: status %d %s\n%s\n", st, st < 0 ? err : "", out ? out : "");
	assert_int_equal(st, 0);
	return out;
}

static void write_cfg(const char *path, char *const *run, size_t n_run)
{
	struct image_iface ifs[] = {{"lan0", "52:54:00:aa:00:01", "10.77.0.1/24"},
				    {"wan0", "52:54:00:AA:00:02", "192.0.2.9/28"}};
	struct image_node_cfg c = {.hostname = "node-t", .token = "tok-4711", .ifaces = ifs,
				   .n_ifaces = 2, .run = run, .n_run = n_run};
	char err[CL_ERRBUF];
	assert_int_equal(image_write_node_config(&c, path, err), 0);
}

static void test_config_quoting_survives_sh(void **state)
{
	(void)state;
	char *nasty = "echo 'a' \"b\" $HOME `id` \\ ; x'\\''y\nline2 % ,";
	char *run[] = {nasty};
	char path[300];
	snprintf(path, sizeof path, "%s.cfg", cache_dir);
	write_cfg(path, run, 1);
	char *script = xasprintf(". %s; printf %%s \"$CAPLAB_RUN_1\"", path);
	char *argv[] = {"sh", "-c", script, NULL};
	char *out = NULL, err[CL_ERRBUF];
	assert_int_equal(proc_run_capture(argv, &out, 10.0, err), 0);
	assert_string_equal(out, nasty);
	free(out);
	free(script);
	unlink(path);
	char *fw = image_fw_cfg_arg("/tmp/a,b");
	assert_string_equal(fw, "name=opt/caplab/config,file=/tmp/a,,b");
	free(fw);
}

static void test_unknown_package_is_named(void **state)
{
	(void)state;
	char *pkgs[] = {"curl", "no-such-package-caplab"};
	struct image_out out;
	char err[CL_ERRBUF] = "";
	assert_int_equal(prepare(pkgs, 2, &out, err), -1);
	assert_non_null(strstr(err, "unknown package 'no-such-package-caplab'"));
	assert_null(strstr(err, "'curl'"));
}

static long long mtime_ns(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

static void test_base_image_boots_with_config(void **state)
{
	(void)state;
	struct image_out img, again;
	char err[CL_ERRBUF];
	if (prepare(NULL, 0, &img, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(img.built, 1);
	long long m = mtime_ns(img.initrd);
	assert_int_equal(prepare(NULL, 0, &again, err), 0);
	assert_int_equal(again.built, 0);
	assert_string_equal(again.initrd, img.initrd);
	assert_true(mtime_ns(img.initrd) == m);

	char *run[] = {"echo \"run-one $((6*7))\"", "sleep 0.3; ip addr; echo 'it'\\''s done'; poweroff -f"};
	char cfg[300];
	snprintf(cfg, sizeof cfg, "%s/node.cfg", cache_dir);
	write_cfg(cfg, run, 2);
	char *con = boot(&img, cfg);
	assert_non_null(strstr(con, "caplab-ready tok-4711"));
	assert_non_null(strstr(con, "run-one 42"));
	assert_non_null(strstr(con, "lan0: <"));
	assert_non_null(strstr(con, "link/ether 52:54:00:aa:00:01"));
	assert_non_null(strstr(con, "inet 10.77.0.1/24 scope global lan0"));
	assert_non_null(strstr(con, "inet 192.0.2.9/28 scope global wan0"));
	assert_non_null(strstr(con, "it's done"));
	assert_null(strstr(con, "caplab: no NIC"));
	free(con);
}

static char *host_dpkg_list(void)
{
	char *argv[] = {"dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n", NULL};
	char *out = NULL, err[CL_ERRBUF];
	assert_int_equal(proc_run_capture(argv, &out, 30.0, err), 0);
	return out;
}

static void test_curl_package_runs_in_guest(void **state)
{
	(void)state;
	char *before = host_dpkg_list();
	char *pkgs[] = {"curl"};
	struct image_out img;
	char err[CL_ERRBUF];
	if (prepare(pkgs, 1, &img, err) < 0)
		fail_msg("%s", err);
	char *run[] = {"curl --version; echo curl-exit=$?; modprobe 8021q && echo vlan-ok; poweroff -f"};
	char cfg[300];
	snprintf(cfg, sizeof cfg, "%s/curl.cfg", cache_dir);
	write_cfg(cfg, run, 1);
	char *con = boot(&img, cfg);
	assert_non_null(strstr(con, "curl 7.88"));
	assert_non_null(strstr(con, "curl-exit=0"));
	assert_non_null(strstr(con, "vlan-ok"));
	free(con);
	char *after = host_dpkg_list();
	assert_string_equal(before, after); /* nothing installed on the host */
	free(before);
	free(after);
}

/* As root, a child drops to nobody and builds the base image into a cache
 * of its own: no step may need privileges. */
static void test_build_as_unprivileged_user(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* already unprivileged: every other test covers it */
	char dir[300];
	snprintf(dir, sizeof dir, "%s-nobody", cache_dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		setenv("HOME", "/nonexistent", 1);
		struct image_req req = {.cache_dir = dir};
		struct image_out out;
		char err[CL_ERRBUF];
		int rc = image_prepare(&req, &out, NULL, NULL, err);
		if (rc < 0)
			fprintf(stderr, "as nobody: %s\n", err);
		_exit(rc == 0 && out.built == 1 && access(out.initrd, R_OK) == 0 ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	rm_rf(dir);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_quoting_survives_sh),
		cmocka_unit_test(test_unknown_package_is_named),
		cmocka_unit_test(test_base_image_boots_with_config),
		cmocka_unit_test(test_curl_package_runs_in_guest),
		cmocka_unit_test(test_build_as_unprivileged_user),
	};
	return cmocka_run_group_tests(tests, setup_cache, teardown_cache);
}
