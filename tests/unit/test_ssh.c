/* test_ssh.c: the libssh client (core/ssh.c) against Debian's real OpenSSH
 * sshd run as a guest runs it (see tests/lib/sshd_fixture.h).
 *
 * When sshd cannot be obtained (no apt lists, no network and nothing cached)
 * the whole program prints one "skip - ..." line with the reason. */
#include "unit.h"

#include "../lib/sshd_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
	char *home;
	struct sshc *c; /* shared, READY connection */
} F;

/* ---- helpers ---- */

struct state {
	int n;
	enum sshc_state st;
	char msg[CL_ERRBUF];
};

static void on_state(struct sshc *c, enum sshc_state st, const char *msg, void *arg)
{
	(void)c;
	struct state *s = arg;
	s->n++;
	s->st = st;
	snprintf(s->msg, sizeof s->msg, "%s", msg ? msg : "");
}

static struct sshc *connect_with(const struct lab_keys *keys, struct state *st)
{
	struct sshc_opts o = sshfix_opts(keys);
	return sshc_open(&o, on_state, st);
}

static void wait_for(const int *flag, double seconds)
{
	loop_run_until(flag, now_mono() + seconds);
}

struct result {
	int done, status;
	char err[CL_ERRBUF];
	struct buf out, errout;
	double t_end;
};

static void on_out(int stream, const char *data, size_t len, void *arg)
{
	struct result *r = arg;
	buf_add(stream == SSHC_STDERR ? &r->errout : &r->out, data, len);
}

static void on_done(int status, const char *err, void *arg)
{
	struct result *r = arg;
	r->done++;
	r->status = status;
	r->t_end = now_mono();
	snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static void result_free(struct result *r)
{
	buf_free(&r->out);
	buf_free(&r->errout);
}

static void run(struct result *r, char *const argv[], double timeout)
{
	char err[CL_ERRBUF];
	memset(r, 0, sizeof *r);
	assert_non_null(sshc_exec(F.c, argv, timeout, on_out, on_done, r, err));
	wait_for(&r->done, 60);
	assert_int_equal(r->done, 1);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	(void)state;
	/* libssh must not read or write the user's ~/.ssh: give it an empty
	 * HOME and check it stays empty (test_home_untouched). */
	F.home = xasprintf("%s/home", SF.dir);
	mkdir(F.home, 0700);
	setenv("HOME", F.home, 1);
	unsetenv("SSH_AUTH_SOCK");
	struct state st = {0};
	F.c = connect_with(SF.keys, &st);
	wait_for(&st.n, 30);
	if (st.st != SSHC_READY) {
		fprintf(stderr, "test_ssh: connection not ready: %s\n", st.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sshc_free(F.c);
	free(F.home);
	sshfix_cleanup();
	loop_reset();
	return 0;
}

/* ---- tests ---- */

static void test_quote_argv(void **state)
{
	(void)state;
	char *a[] = {"ls", "-l", "/tmp/x.y", NULL};
	char *b[] = {"echo", "a b", "it's", "", "$HOME;x", NULL};
	char *qa = sshc_quote_argv(a), *qb = sshc_quote_argv(b);
	assert_string_equal(qa, "ls -l /tmp/x.y");
	assert_string_equal(qb, "echo 'a b' 'it'\\''s' '' '$HOME;x'");
	free(qa);
	free(qb);
}

static void test_keys_private_and_pinned(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(stat(SF.keys->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(SF.keys->host_key_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(SF.keys->client_key_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(strstr(SF.keys->host_private, "BEGIN OPENSSH PRIVATE KEY"));
	assert_int_equal(strncmp(SF.keys->client_public, "ssh-ed25519 ", 12), 0);
	char err[CL_ERRBUF];
	struct lab_keys *k = keys_load(SF.dir, err);
	assert_non_null(k);
	assert_string_equal(k->host_public, SF.keys->host_public);
	assert_string_equal(k->client_public, SF.keys->client_public);
	keys_free(k);
	/* what a guest gets: the host private key and the client PUBLIC key only */
	struct image_file files[GUESTSSH_NFILES];
	char *cfg;
	assert_int_equal(guestssh_files(SF.keys, files, &cfg), GUESTSSH_NFILES);
	for (int i = 0; i < GUESTSSH_NFILES; i++)
		assert_null(strstr(files[i].content, SF.keys->client_private));
	free(cfg);
}

static void test_exit_codes(void **state)
{
	(void)state;
	struct result r;
	char *t[] = {"true", NULL}, *three[] = {"sh", "-c", "exit 3", NULL}, *none[] = {"no-such-command-xyz", NULL};
	run(&r, t, 10);
	assert_int_equal(r.status, 0);
	result_free(&r);
	run(&r, three, 10);
	assert_int_equal(r.status, 3);
	result_free(&r);
	char *cat[] = {"cat", NULL}; /* stdin is at EOF: nothing waits for input */
	run(&r, cat, 10);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out.len, 0);
	result_free(&r);
	run(&r, none, 10);
	assert_int_equal(r.status, 127);
	assert_non_null(strstr(r.errout.data, "no-such-command-xyz"));
	result_free(&r);
}

static void test_stdout_stderr_separate(void **state)
{
	(void)state;
	struct result r;
	char *argv[] = {"sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2", NULL};
	run(&r, argv, 10);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out.data, "out1\nout2\n");
	assert_string_equal(r.errout.data, "err1\nerr2\n");
	result_free(&r);
}

static void test_10mb_output_intact(void **state)
{
	(void)state;
	struct result r;
	char *f = xasprintf("%s/big.out", SF.dir);
	char *cmd = xasprintf("head -c 10485760 /dev/urandom > %s && sha256sum < %s >&2 && cat %s", f, f, f);
	char *argv[] = {"sh", "-c", cmd, NULL};
	run(&r, argv, 60);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out.len, 10485760);
	char hex[65];
	sha256_hex(r.out.data, r.out.len, hex);
	assert_true(r.errout.len >= 64);
	assert_memory_equal(r.errout.data, hex, 64);
	result_free(&r);
	free(cmd);
	free(f);
}

static void test_20_concurrent_execs(void **state)
{
	(void)state;
	struct result r[20];
	char err[CL_ERRBUF], *cmds[20];
	double t0 = now_mono();
	for (int i = 0; i < 20; i++) {
		memset(&r[i], 0, sizeof r[i]);
		cmds[i] = xasprintf("sleep 0.5; echo %d", i);
		char *argv[] = {"sh", "-c", cmds[i], NULL};
		assert_non_null(sshc_exec(F.c, argv, 30, on_out, on_done, &r[i], err));
	}
	for (int i = 0; i < 20; i++) {
		wait_for(&r[i].done, 30);
		assert_int_equal(r[i].status, 0);
		char want[16];
		snprintf(want, sizeof want, "%d\n", i);
		assert_string_equal(r[i].out.data, want);
		result_free(&r[i]);
		free(cmds[i]);
	}
	/* one after another would take 10 s */
	assert_true(now_mono() - t0 < 5);
}

static void test_argument_arrives_verbatim(void **state)
{
	(void)state;
	struct result r;
	char *argv[] = {"printf", "[%s]\\n", "a  b", "it's", "\"dq\"", "$HOME", "x;y", "", "*", "back\\slash",
			"new\nline", "`id`", "$(id)", "-n", NULL};
	run(&r, argv, 10);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out.data, "[a  b]\n[it's]\n[\"dq\"]\n[$HOME]\n[x;y]\n[]\n[*]\n[back\\slash]\n"
					"[new\nline]\n[`id`]\n[$(id)]\n[-n]\n");
	result_free(&r);
}

static int pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

static pid_t read_pid(const char *path)
{
	char *s = read_file(path, NULL, NULL);
	pid_t pid = s ? (pid_t)atoi(s) : 0;
	free(s);
	return pid;
}

/* Waits (on the loop) until the process is gone; 1 if it is. */
static int wait_gone(pid_t pid, double seconds)
{
	double end = now_mono() + seconds;
	while (pid_alive(pid) && now_mono() < end)
		loop_once(0.05);
	return !pid_alive(pid);
}

static void test_timeout_kills_remote_command(void **state)
{
	(void)state;
	struct result r;
	char *pidf = xasprintf("%s/sleep.pid", SF.dir);
	char *cmd = xasprintf("echo $$ > %s; exec sleep 30", pidf);
	char *argv[] = {"sh", "-c", cmd, NULL};
	double t0 = now_mono();
	run(&r, argv, 1);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.err, "timed out after 1 s");
	assert_true(r.t_end - t0 < 3);
	pid_t pid = read_pid(pidf);
	assert_true(pid > 0);
	assert_true(wait_gone(pid, 5));
	result_free(&r);
	free(cmd);
	free(pidf);
}

static void test_cancel_kills_and_is_silent(void **state)
{
	(void)state;
	struct result r = {0};
	char err[CL_ERRBUF];
	char *pidf = xasprintf("%s/cancel.pid", SF.dir);
	char *cmd = xasprintf("echo $$ > %s; echo started; exec sleep 30", pidf);
	char *argv[] = {"sh", "-c", cmd, NULL};
	struct sshc_chan *ch = sshc_exec(F.c, argv, 0, on_out, on_done, &r, err);
	assert_non_null(ch);
	double end = now_mono() + 10;
	while (r.out.len == 0 && now_mono() < end)
		loop_once(0.05);
	assert_string_equal(r.out.data, "started\n");
	sshc_chan_cancel(ch);
	pid_t pid = read_pid(pidf);
	assert_true(wait_gone(pid, 5));
	assert_int_equal(r.done, 0);
	result_free(&r);
	free(cmd);
	free(pidf);
}

struct copied {
	int done;
	char err[CL_ERRBUF];
	uint64_t bytes;
};

static void on_copied(const char *err, uint64_t bytes, void *arg)
{
	struct copied *c = arg;
	c->done++;
	c->bytes = bytes;
	snprintf(c->err, sizeof c->err, "%s", err ? err : "");
}

static void copy(int up, const char *src, const char *dst, struct copied *cp)
{
	char err[CL_ERRBUF];
	memset(cp, 0, sizeof *cp);
	struct sshc_copy *x = up ? sshc_copy_to(F.c, src, dst, on_copied, cp, err)
				 : sshc_copy_from(F.c, src, dst, on_copied, cp, err);
	assert_non_null(x);
	wait_for(&cp->done, 120);
	assert_int_equal(cp->done, 1);
	assert_string_equal(cp->err, "");
}

static void assert_same_file(const char *a, const char *b)
{
	char ha[65], hb[65], err[CL_ERRBUF];
	struct stat sa, sb;
	assert_int_equal(sha256_file_hex(a, ha, err), 0);
	assert_int_equal(sha256_file_hex(b, hb, err), 0);
	assert_string_equal(ha, hb);
	assert_int_equal(stat(a, &sa), 0);
	assert_int_equal(stat(b, &sb), 0);
	assert_int_equal(sa.st_mode & 07777, sb.st_mode & 07777);
	assert_int_equal(sa.st_mtim.tv_sec, sb.st_mtim.tv_sec);
}

static void make_random_file(const char *path, size_t size, int mode)
{
	int in = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char *b = xmalloc(1 << 20);
	for (size_t done = 0; done < size;) {
		size_t n = size - done < (1 << 20) ? size - done : (1 << 20);
		assert_int_equal(read(in, b, n), (ssize_t)n);
		assert_int_equal(write(out, b, n), (ssize_t)n);
		done += n;
	}
	free(b);
	close(in);
	close(out);
	chmod(path, (mode_t)mode);
}

static void test_copy_50mb_both_ways(void **state)
{
	(void)state;
	char *src = xasprintf("%s/fifty", SF.dir), *rdir = xasprintf("%s/remote", SF.dir);
	char *remote = xasprintf("%s/fifty", rdir), *back = xasprintf("%s/fifty.back", SF.dir);
	make_random_file(src, 50u << 20, 0640);
	mkdir(rdir, 0755);
	struct copied cp;
	copy(1, src, remote, &cp);
	assert_int_equal(cp.bytes, 50u << 20);
	assert_same_file(src, remote);
	copy(0, remote, back, &cp);
	assert_int_equal(cp.bytes, 50u << 20);
	assert_same_file(src, back);
	free(src);
	free(rdir);
	free(remote);
	free(back);
}

static void make_tree(const char *root)
{
	char *sub = xasprintf("%s/sub", root), *f1 = xasprintf("%s/run.sh", root),
	     *f2 = xasprintf("%s/sub/data", root), *ln = xasprintf("%s/link", root);
	mkdir(root, 0750);
	mkdir(sub, 0700);
	make_random_file(f1, 1000, 0755);
	make_random_file(f2, 300000, 0600);
	assert_int_equal(symlink("sub/data", ln), 0);
	free(sub);
	free(f1);
	free(f2);
	free(ln);
}

static void assert_same_tree(const char *a, const char *b)
{
	const char *files[] = {"run.sh", "sub/data"};
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		char *pa = xasprintf("%s/%s", a, files[i]), *pb = xasprintf("%s/%s", b, files[i]);
		assert_same_file(pa, pb);
		free(pa);
		free(pb);
	}
	struct stat sa, sb;
	char *la = xasprintf("%s/sub", a), *lb = xasprintf("%s/sub", b), target[64] = "";
	assert_int_equal(stat(la, &sa), 0);
	assert_int_equal(stat(lb, &sb), 0);
	assert_int_equal(sa.st_mode & 07777, sb.st_mode & 07777);
	free(la);
	free(lb);
	char *link = xasprintf("%s/link", b);
	assert_true(readlink(link, target, sizeof target - 1) > 0);
	assert_string_equal(target, "sub/data");
	free(link);
}

static void test_copy_directory_into_existing_dir(void **state)
{
	(void)state;
	char *tree = xasprintf("%s/tree", SF.dir), *rdir = xasprintf("%s/rtree", SF.dir);
	char *rcopy = xasprintf("%s/tree", rdir), *ldir = xasprintf("%s/ltree", SF.dir);
	char *lcopy = xasprintf("%s/tree", ldir);
	make_tree(tree);
	mkdir(rdir, 0755);
	mkdir(ldir, 0755);
	struct copied cp;
	copy(1, tree, rdir, &cp); /* existing dir: lands in rdir/tree, like cp -r */
	assert_same_tree(tree, rcopy);
	copy(0, rcopy, ldir, &cp);
	assert_same_tree(tree, lcopy);
	free(tree);
	free(rdir);
	free(rcopy);
	free(ldir);
	free(lcopy);
}

static void test_copy_missing_file_says_so(void **state)
{
	(void)state;
	char err[CL_ERRBUF];
	struct copied cp = {0};
	char *dst = xasprintf("%s/nothing", SF.dir);
	assert_non_null(sshc_copy_from(F.c, "/no/such/file", dst, on_copied, &cp, err));
	wait_for(&cp.done, 30);
	assert_int_equal(cp.done, 1);
	assert_non_null(strstr(cp.err, "copy from node t failed"));
	assert_non_null(strstr(cp.err, "no such file"));
	free(dst);
}

struct shell {
	int done, status;
	struct buf out;
};

static void on_shell_out(int stream, const char *data, size_t len, void *arg)
{
	(void)stream;
	buf_add(&((struct shell *)arg)->out, data, len);
}

static void on_shell_done(int status, const char *err, void *arg)
{
	(void)err;
	struct shell *s = arg;
	s->done = 1;
	s->status = status;
}

static int wait_text(struct shell *s, const char *text, double seconds)
{
	double end = now_mono() + seconds;
	while (!(s->out.data && strstr(s->out.data, text)) && now_mono() < end && !s->done)
		loop_once(0.05);
	return s->out.data && strstr(s->out.data, text);
}

static void test_shell_pty_and_resize(void **state)
{
	(void)state;
	char err[CL_ERRBUF];
	struct shell s = {0};
	struct sshc_chan *ch = sshc_shell(F.c, "xterm", 80, 24, on_shell_out, on_shell_done, &s, err);
	assert_non_null(ch);
	const char *cmd1 = "echo A$((6*7))B; stty size; tty\n";
	sshc_chan_write(ch, cmd1, strlen(cmd1));
	assert_true(wait_text(&s, "A42B", 10));
	assert_true(wait_text(&s, "24 80", 10));
	assert_true(wait_text(&s, "/dev/pts/", 10));
	sshc_shell_resize(ch, 100, 30);
	const char *cmd2 = "stty size; exit 5\n";
	sshc_chan_write(ch, cmd2, strlen(cmd2));
	assert_true(wait_text(&s, "30 100", 10));
	wait_for(&s.done, 10);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.status, 5);
	buf_free(&s.out);
}

static void test_dropped_connection_fails_execs(void **state)
{
	(void)state;
	struct state st = {0};
	struct sshc *c = connect_with(SF.keys, &st);
	wait_for(&st.n, 30);
	assert_int_equal(st.st, SSHC_READY);
	struct proc *sshd = SF.last_sshd;
	struct result r = {0};
	char err[CL_ERRBUF];
	char *pidf = xasprintf("%s/dropped.pid", SF.dir);
	char *cmd = xasprintf("echo $$ > %s; echo started; exec sleep 30", pidf);
	char *argv[] = {"sh", "-c", cmd, NULL};
	assert_non_null(sshc_exec(c, argv, 0, on_out, on_done, &r, err));
	double end = now_mono() + 10;
	while (r.out.len == 0 && now_mono() < end)
		loop_once(0.05);
	assert_string_equal(r.out.data, "started\n");
	double t0 = now_mono();
	proc_signal(sshd, SIGKILL); /* the node's sshd dies: its end of the stream closes */
	wait_for(&r.done, 10);
	assert_int_equal(r.done, 1);
	assert_true(now_mono() - t0 < 2);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.err, "connection to node t lost");
	wait_for(&st.n, 1);
	assert_int_equal(st.st, SSHC_FAILED);
	assert_string_equal(st.msg, "connection to node t lost");
	assert_null(sshc_exec(c, argv, 0, on_out, on_done, &r, err));
	assert_string_equal(err, "connection to node t lost");
	sshc_free(c);
	result_free(&r);
	/* a node that lost its sshd keeps its processes; this "node" is the
	 * host, so end the orphaned sleep here */
	pid_t pid = read_pid(pidf);
	assert_true(pid > 0);
	kill(pid, SIGKILL);
	free(cmd);
	free(pidf);
}

static void test_other_labs_host_key_is_refused(void **state)
{
	(void)state;
	char err[CL_ERRBUF];
	char *other = xasprintf("%s/other", SF.dir);
	mkdir(other, 0700);
	struct lab_keys *k = keys_create(other, err);
	assert_non_null(k);
	/* the other lab's client key, and it expects its own host key */
	struct state st = {0};
	struct sshc *c = connect_with(k, &st);
	wait_for(&st.n, 30);
	assert_int_equal(st.st, SSHC_FAILED);
	assert_non_null(strstr(st.msg, "host key that is not this lab's"));
	sshc_free(c);
	keys_free(k);
	free(other);
}

static void test_free_with_running_exec_reports_closed(void **state)
{
	(void)state;
	struct state st = {0};
	struct sshc *c = connect_with(SF.keys, &st);
	wait_for(&st.n, 30);
	assert_int_equal(st.st, SSHC_READY);
	struct result r = {0};
	char err[CL_ERRBUF];
	char *argv[] = {"sleep", "30", NULL};
	assert_non_null(sshc_exec(c, argv, 0, on_out, on_done, &r, err));
	loop_once(0.1);
	sshc_free(c);
	assert_int_equal(r.done, 1);
	assert_string_equal(r.err, "connection to node t closed");
}

static void test_home_untouched(void **state)
{
	(void)state;
	DIR *d = opendir(F.home);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	assert_int_equal(n, 0);
}

int main(void)
{
	char err[CL_ERRBUF];
	if (get_sshd(err) < 0) {
		sshfix_cleanup();
		printf("skip - ssh client against OpenSSH sshd: cannot get Debian's openssh-server: %s\n", err);
		return 0;
	}
	if (sshfix_init(err) < 0) {
		fprintf(stderr, "test_ssh: %s\n", err);
		sshfix_cleanup();
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_argv),
		cmocka_unit_test(test_keys_private_and_pinned),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_stdout_stderr_separate),
		cmocka_unit_test(test_10mb_output_intact),
		cmocka_unit_test(test_20_concurrent_execs),
		cmocka_unit_test(test_argument_arrives_verbatim),
		cmocka_unit_test(test_timeout_kills_remote_command),
		cmocka_unit_test(test_cancel_kills_and_is_silent),
		cmocka_unit_test(test_copy_50mb_both_ways),
		cmocka_unit_test(test_copy_directory_into_existing_dir),
		cmocka_unit_test(test_copy_missing_file_says_so),
		cmocka_unit_test(test_shell_pty_and_resize),
		cmocka_unit_test(test_dropped_connection_fails_execs),
		cmocka_unit_test(test_other_labs_host_key_is_refused),
		cmocka_unit_test(test_free_with_running_exec_reports_closed),
		cmocka_unit_test(test_home_untouched),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
