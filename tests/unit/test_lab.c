/* test_lab.c: validation (the symbolic run), its exact error messages and
 * positions, the address plan, `source`, and script_check. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "parse.h"
#include "script.h"
#include "util.h"

/* Parses and validates text as one file "t.lab"; errors sorted as printed. */
static int check_text(const char *text, struct diag_list *dl, struct lab **labp)
{
	struct cmd_list cmds = {0};
	struct lab *lab = lab_new();
	parse_string("t.lab", text, &cmds, dl);
	script_validate(lab, &cmds, dl);
	diag_sort(dl);
	cmd_list_clear(&cmds);
	if (labp)
		*labp = lab;
	else
		lab_free(lab);
	return diag_count(dl);
}

#define BASE "switch lan\nnode a\nnode b\nlink a:eth0 lan\nlink b:eth0 lan\nstart\n"

static const struct {
	const char *in;
	int line, col;
	const char *msg;
} bad[] = {
	/* commands, flags, arguments */
	{BASE "nod c", 7, 1, "unknown command 'nod': did you mean 'node'?"},
	{BASE "frobnicate", 7, 1, "unknown command 'frobnicate'"},
	{BASE "stop-captrue", 7, 1, "unknown command 'stop-captrue': did you mean 'stop-capture'?"},
	{BASE "node c -memroy 512", 7, 8, "unknown flag '-memroy' for node: did you mean '-memory'?"},
	{BASE "switch s2 -x", 7, 11, "unknown flag '-x' for switch (it takes -hub)"},
	{BASE "sleep -x 1", 7, 7, "unknown flag '-x': sleep takes no flags"},
	{BASE "node", 7, 1,
	 "missing argument for node (usage: node NAME [-memory MB] [-cpus N] [-packages 'PKG ...'] "
	 "[-run 'SHELL COMMAND'] [-keylog])"},
	{BASE "switch s2 s3", 7, 11, "unexpected argument 's3' for switch (usage: switch NAME [-hub])"},
	{BASE "switch s2 -hub -hub", 7, 16, "flag '-hub' given twice"},
	{BASE "node c -memory 128 -memory 256", 7, 20, "flag '-memory' given twice"},
	{BASE "link a:eth1 lan -ip", 7, 17,
	 "flag '-ip' needs a value (usage: link NODE:IFACE SWITCH|NODE:IFACE [-ip ADDR/PREFIX|none] "
	 "[-mac MAC] [-delay MS] [-loss PCT] [-rate KBIT])"},
	{BASE "source", 7, 1, "missing argument for source (usage: source FILE)"},
	{BASE "label 'abc", 7, 7, "unterminated quote: no closing ' on this line"},
	{BASE "label \"a\\qb\"", 7, 9, "unknown escape '\\q' in double quotes (write '\\\\' for a backslash)"},
	/* names */
	{BASE "node a", 7, 6, "node 'a' is already defined"},
	{BASE "switch lan", 7, 8, "switch 'lan' is already defined"},
	{BASE "switch a", 7, 8, "name 'a' is already used by a node"},
	{BASE "node lan", 7, 6, "name 'lan' is already used by a switch"},
	{BASE "node 'a b'", 7, 6, "invalid node name 'a b': use letters, digits, '-', '_' and '.' (at most 32)"},
	/* numbers */
	{BASE "node c -memory 32", 7, 16, "-memory 32 is out of range (64 to 16384)"},
	{BASE "node c -memory lots", 7, 16, "-memory expects a whole number, got 'lots'"},
	{BASE "node c -cpus 9", 7, 14, "-cpus 9 is out of range (1 to 8)"},
	{BASE "node c -cpus 1.5", 7, 14, "-cpus expects a whole number, got '1.5'"},
	{BASE "link a:eth1 lan -delay -5", 7, 24, "-delay expects a number, got '-5'"},
	{BASE "link a:eth1 lan -loss 101", 7, 23, "-loss 101 is out of range (0 to 100)"},
	{BASE "link a:eth1 lan -rate 0", 7, 23, "-rate 0 is out of range (1 to 10000000)"},
	{BASE "exec -t 0 a ls", 7, 9, "-t 0 is out of range (0.001 to 86400)"},
	{BASE "exec -t soon a ls", 7, 9, "-t expects a number, got 'soon'"},
	{BASE "sleep soon", 7, 7, "sleep expects a number, got 'soon'"},
	{BASE "sleep 1e3", 7, 7, "sleep expects a number, got '1e3'"},
	{BASE "sleep 100000", 7, 7, "sleep 100000 is out of range (0 to 86400)"},
	/* nodes */
	{BASE "node c -packages 'curl Nginx'", 7, 18,
	 "invalid package name 'Nginx': Debian names use a-z, 0-9, '+', '-' and '.'"},
	{BASE "node c -run ''", 7, 13, "-run needs a shell command"},
	{"start", 1, 1, "no nodes to start: define one with 'node NAME' first"},
	{BASE "start c", 7, 7, "unknown node 'c': define it with 'node c' first"},
	{BASE "stop bb", 7, 6, "unknown node 'bb': did you mean 'b'?"},
	{"node x\nexec x ls", 2, 6, "node 'x' is not started (start it with 'start x')"},
	{BASE "exec c ls", 7, 6, "unknown node 'c': define it with 'node c' first"},
	/* links */
	{BASE "link c:eth0 lan", 7, 6, "unknown node 'c': define it with 'node c' first"},
	{BASE "link a:eth1 lna", 7, 13, "unknown switch 'lna': did you mean 'lan'?"},
	{BASE "link a:eth1 nowhere", 7, 13, "unknown switch 'nowhere': define it with 'switch nowhere' first"},
	{BASE "link a:eth1 b", 7, 13, "'b' is a node: name its interface, e.g. b:eth0"},
	{BASE "link a lan", 7, 6, "expected NODE:IFACE, got 'a'"},
	{BASE "link a:eth0 lan", 7, 6, "interface a:eth0 is already used by the link at t.lab:4"},
	{BASE "link b:eth1 a:eth0", 7, 13, "interface a:eth0 is already used by the link at t.lab:4"},
	{BASE "link a:lo lan", 7, 8, "interface name 'lo' is reserved for loopback"},
	{BASE "link a:averyverylongname0 lan", 7, 8,
	 "invalid interface name 'averyverylongname0': use letters, digits, '-', '_' and '.' (at most 15)"},
	{BASE "link a:eth1 a:eth2", 7, 13, "a point-to-point link needs two different nodes"},
	/* addresses */
	{BASE "link a:eth1 lan -ip 10.0.0.300/24", 7, 21,
	 "-ip '10.0.0.300/24' is not an IPv4 address/prefix like 10.0.0.1/24"},
	{BASE "link a:eth1 lan -ip fe80::1/64", 7, 21,
	 "-ip 'fe80::1/64' is not an IPv4 address/prefix like 10.0.0.1/24"},
	{BASE "link a:eth1 lan -ip 10.0.0.1", 7, 21,
	 "-ip '10.0.0.1' needs a prefix length, e.g. 10.0.0.1/24 (or 'none')"},
	{BASE "link a:eth1 lan -ip 10.0.0.1/33", 7, 21, "-ip '10.0.0.1/33': the prefix length must be 1 to 32"},
	{BASE "link a:eth1 lan -ip 10.0.0.1/x", 7, 21, "-ip '10.0.0.1/x': the prefix length must be 1 to 32"},
	{BASE "link a:eth1 lan -ip 10.0.0.0/24", 7, 21,
	 "-ip '10.0.0.0/24' is the network address of its subnet: use a host address"},
	{BASE "link a:eth1 lan -ip 10.0.0.255/24", 7, 21,
	 "-ip '10.0.0.255/24' is the broadcast address of its subnet: use a host address"},
	{BASE "link a:eth1 lan -mac 52:54:00:zz:00:01", 7, 22,
	 "-mac '52:54:00:zz:00:01' is not a MAC address like 52:54:00:12:34:56"},
	{BASE "link a:eth1 lan -mac 52:54:00:00:01", 7, 22,
	 "-mac '52:54:00:00:01' is not a MAC address like 52:54:00:12:34:56"},
	{BASE "link a:eth1 lan -mac 01:00:5e:00:00:01", 7, 22,
	 "-mac '01:00:5e:00:00:01' is a multicast address: the first byte must be even"},
	{BASE "link a:eth1 lan -mac 00:00:00:00:00:00", 7, 22, "-mac '00:00:00:00:00:00' is not a usable address"},
	/* the planned addresses of earlier links count */
	{BASE "link a:eth1 lan -mac 52:54:00:ca:01:00", 7, 22, "MAC 52:54:00:ca:01:00 is already used by a:eth0"},
	{BASE "link a:eth1 lan -ip 10.0.1.2/24", 7, 21, "address 10.0.1.2 is already used by b:eth0"},
	{BASE "switch s2\nlink a:eth1 s2 -ip 10.0.77.7/16", 8, 20,
	 "subnet 10.0.0.0/16 of a:eth1 overlaps 10.0.1.0/24 of a:eth0 on switch lan: node a could not tell them apart"},
	{"switch s1\nswitch s2\nnode a\nnode r\nlink a:eth0 s1 -ip 10.0.5.5/24\nlink r:eth1 s2 -ip 10.0.5.9/16\n"
	 "link r:eth0 s1\nstart",
	 7, 1,
	 "subnet 10.0.5.0/24 of r:eth0 overlaps 10.0.0.0/16 of r:eth1 on switch s2: node r could not tell them apart"},
	{"switch s\nnode x\nnode y\nnode z\nlink x:eth0 s -ip 10.9.9.1/30\nlink y:eth0 s\nlink z:eth0 s\nstart",
	 7, 1, "no free address left in 10.9.9.0/30 for z:eth0: give it one with -ip"},
	/* copy */
	{BASE "copy a:/etc/hosts b:/tmp/hosts", 7, 19,
	 "copy goes between a node and this machine: one side must be a local path (write ./b:/tmp/hosts "
	 "for a local name with ':')"},
	{BASE "copy hosts other", 7, 6, "copy needs one NODE:PATH side, e.g. copy server:/etc/hosts hosts"},
	{BASE "copy a: x", 7, 6, "missing path after 'a:'"},
	{BASE "copy c:/etc/hosts x", 7, 6, "unknown node 'c': define it with 'node c' first"},
	/* captures */
	{BASE "capture -f 'tcp prot 80' a:eth0", 7, 12,
	 "bad filter 'tcp prot 80': can't parse filter expression: syntax error"},
	{BASE "capture -f 'ip6 and arp[0] = 1 and' a", 7, 12,
	 "bad filter 'ip6 and arp[0] = 1 and': can't parse filter expression: syntax error"},
	{BASE "capture a:eth9", 7, 9, "unknown link 'a:eth9': did you mean 'a:eth0'?"},
	{BASE "capture a:wlan0", 7, 9, "no link on interface 'a:wlan0'"},
	{BASE "capture zz", 7, 9, "unknown link 'zz': name NODE:IFACE, a node (all its links) or a switch (all links on it)"},
	{BASE "capture a:eht0", 7, 9, "unknown link 'a:eht0': did you mean 'a:eth0'?"},
	{BASE "capture a:eth0\ncapture a", 8, 9, "link a:eth0 is already captured by 'a:eth0': name this capture with -n"},
	{BASE "capture lan\ncapture b:eth0", 8, 9, "link b:eth0 is already captured by 'lan': name this capture with -n"},
	{BASE "capture -n 'x y' a", 7, 12,
	 "invalid capture name 'x y': use letters, digits, '-', '_' and '.' (at most 64)"},
	{BASE "capture -n c1 a\ncapture -n c1 b", 8, 12,
	 "capture 'c1' is already running (stop it first, or name this one with -n)"},
	{BASE "switch s2\ncapture s2", 8, 9, "switch 's2' has no links to capture"},
	{BASE "node c\ncapture c", 8, 9, "node 'c' has no links to capture"},
	{BASE "expect a:eth0 icmp", 7, 8, "unknown capture 'a:eth0': no capture was started before this line"},
	{BASE "capture a:eth0\nexpect a:eht0 icmp", 8, 8, "unknown capture 'a:eht0': did you mean 'a:eth0'?"},
	{BASE "capture a:eth0\nexpect a:eth0 tcp port 80 and", 8, 15,
	 "bad filter 'tcp port 80 and': can't parse filter expression: syntax error"},
	{BASE "capture a:eth0\nexpect -none -c 2 a:eth0 icmp", 8, 8, "-none and -c cannot be used together"},
	{BASE "capture a:eth0\nexpect -c 0 a:eth0 icmp", 8, 11, "-c 0 is out of range (1 to 1000000)"},
	{BASE "stop-capture x", 7, 14, "unknown capture 'x': no capture was started before this line"},
	{BASE "capture a:eth0\nstop-capture a:eth0\nstop-capture a:eth0", 9, 14, "capture 'a:eth0' is not running"},
	{BASE "save out.pcapng", 7, 1, "nothing to save: no capture was started before this line"},
	{BASE "capture a:eth0\nsave -format json out a:eth0", 8, 14, "-format must be pcapng or pcap, got 'json'"},
	{BASE "capture a:eth0\nsave out.pcapng zz", 8, 17, "unknown capture 'zz'"},
};

static void test_bad_inputs(void **state)
{
	(void)state;
	size_t n = sizeof(bad) / sizeof(bad[0]);
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		struct diag_list dl = {0};
		int count = check_text(bad[i].in, &dl, NULL);
		int ok = count == 1 && strcmp(dl.v[0].msg, bad[i].msg) == 0 &&
			 dl.v[0].line == bad[i].line && dl.v[0].col == bad[i].col;
		if (!ok) {
			print_error("case %zu: want %d:%d: %s\n  got %d error(s):\n", i, bad[i].line,
				    bad[i].col, bad[i].msg, count);
			for (int j = 0; j < dl.n; j++)
				print_error("  %d:%d: %s\n", dl.v[j].line, dl.v[j].col, dl.v[j].msg);
		}
		assert_true(ok);
		diag_clear(&dl);
	}
}

static const char *good[] = {
	BASE,
	BASE "exec a ping -c 3 10.0.1.2\nexec -t 2.5 -b -i b sh -c 'sleep 1; exit 3'",
	BASE "capture a:eth0\nlabel ping\nexpect -t 2 a:eth0 icmp\nexpect -none a:eth0 'tcp port 80'\n"
	     "label\nstop-capture\nsave out.pcapng\nsave -format pcap out.pcap a:eth0",
	/* several captures on one link with names; restart after stop */
	BASE "capture -n web -f 'tcp port 80' a:eth0\ncapture -n dns -f 'udp port 53' a:eth0 b:eth0\n"
	     "stop-capture web\ncapture -n web a\nexpect -c 3 dns udp\nstop-capture web dns",
	/* a switch and a node as LINK */
	BASE "capture lan\nstop-capture lan\ncapture a\nexpect a 'arp or icmp'",
	/* two islands with the same subnet: not ambiguous */
	"switch s1\nswitch s2\nnode a\nnode b\nlink a:eth0 s1 -ip 10.1.0.1/24\nlink b:eth0 s2 -ip 10.1.0.2/24\nstart",
	/* one node, two subnets on one switch: fine */
	"switch s\nnode a\nlink a:eth0 s -ip 10.1.0.1/24\nlink a:eth1 s -ip 10.2.0.1/24\nstart",
	"switch s -hub\nnode a -memory 64 -cpus 8 -keylog -packages 'curl nginx-light' -packages g++\n"
	"link a:eth0 s -ip none -mac 02:00:00:00:00:01 -delay 10 -loss 0.5 -rate 1000\nstart a\nstop a\nstart",
	"node a\nnode b\nlink a:eth0 b:eth0\nstart\ncopy a:/etc/hosts hosts\ncopy ./x:y b:/tmp/x\ncopy b:/tmp out/",
	"switch lan; node a; link a:eth0 lan; start; sleep 0.5; sleep 2; label \"first \\\"try\\\"\"; save-script s.cls",
	"# only comments\n\n   # and blanks\n",
};

static void test_good_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct diag_list dl = {0};
		if (check_text(good[i], &dl, NULL))
			print_error("case %zu: %d:%d: %s\n", i, dl.v[0].line, dl.v[0].col, dl.v[0].msg);
		assert_int_equal(diag_count(&dl), 0);
		diag_clear(&dl);
	}
}

static char *plan_text(const char *lab_text)
{
	struct diag_list dl = {0};
	struct lab *lab;
	assert_int_equal(check_text(lab_text, &dl, &lab), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	lab_print_plan(lab, f);
	fclose(f);
	lab_free(lab);
	return buf;
}

static void test_address_plan(void **state)
{
	(void)state;
	const char *lab = "switch lan\nswitch dmz\nnode a\nnode b\nnode c\n"
			  "link a:eth0 lan\nlink b:eth0 lan -ip 192.168.5.10/24\nlink c:eth0 dmz\n"
			  "link a:eth1 c:eth1\nlink b:eth1 dmz -ip none -mac 02:00:00:00:00:01\nstart\n";
	char *plan = plan_text(lab);
	assert_string_equal(plan,
			    "a:eth0               52:54:00:ca:01:00  192.168.5.1/24     switch lan\n"
			    "b:eth0               52:54:00:ca:02:00  192.168.5.10/24    switch lan\n"
			    "c:eth0               52:54:00:ca:03:00  10.0.2.1/24        switch dmz\n"
			    "a:eth1               52:54:00:ca:01:01  10.0.3.1/24        peer c:eth1\n"
			    "c:eth1               52:54:00:ca:03:01  10.0.3.2/24        peer a:eth1\n"
			    "b:eth1               02:00:00:00:00:01  none               switch dmz\n");
	/* the same text gives the same plan */
	char *again = plan_text(lab);
	assert_string_equal(plan, again);
	free(plan);
	free(again);
}

static void test_plan_skips_taken_subnets_and_macs(void **state)
{
	(void)state;
	/* 10.0.1.0/24 is taken by hand on s2, so s1 (segment 1) moves on to
	 * 10.0.2.0/24; the planned MAC of a:eth0 is taken, so it moves on too */
	char *plan = plan_text("switch s1\nswitch s2\nnode a\nnode b\n"
			       "link b:eth0 s2 -ip 10.0.1.5/24 -mac 52:54:00:ca:01:00\nlink a:eth0 s1\nstart\n");
	assert_string_equal(plan,
			    "b:eth0               52:54:00:ca:01:00  10.0.1.5/24        switch s2\n"
			    "a:eth0               52:54:00:ca:01:01  10.0.2.1/24        switch s1\n");
	free(plan);
}

static void test_model_contents(void **state)
{
	(void)state;
	struct diag_list dl = {0};
	struct lab *lab;
	assert_int_equal(check_text("switch s -hub\nnode r -memory 512 -cpus 2 -run 'a b' -run c -packages 'x1 y2'"
				    " -packages z3 -keylog\nnode q\nlink r:eth0 s -delay 2.5 -loss 1 -rate 800\n"
				    "link q:eth0 r:eth1\nstart\ncapture -f icmp -n m r\nlabel hello world\n",
				    &dl, &lab),
			 0);
	struct lab_node *r = lab_node(lab, "r"), *q = lab_node(lab, "q");
	assert_int_equal(r->memory, 512);
	assert_int_equal(r->cpus, 2);
	assert_int_equal(q->memory, LAB_MEMORY_DEFAULT);
	assert_int_equal(q->cpus, LAB_CPUS_DEFAULT);
	assert_int_equal(r->nrun, 2);
	assert_string_equal(r->run[0], "a b");
	assert_string_equal(r->run[1], "c");
	assert_int_equal(r->npackages, 3);
	assert_string_equal(r->packages[2], "z3");
	assert_true(r->keylog && r->started && q->started);
	assert_true(lab_switch(lab, "s")->hub);
	struct lab_iface *f = lab_iface(lab, "r", "eth0");
	assert_true(f->link->delay_ms == 2.5 && f->link->loss_pct == 1.0 && f->link->rate_kbit == 800);
	struct lab_iface *p = lab_iface(lab, "q", "eth0");
	assert_ptr_equal(lab_peer(p), lab_iface(lab, "r", "eth1"));
	assert_null(lab_peer(f));
	struct lab_capture *c = lab_capture(lab, "m");
	assert_int_equal(c->nifaces, 2); /* a node name: all its links */
	assert_string_equal(c->filter, "icmp");
	assert_string_equal(lab->label, "hello world");
	lab_free(lab);
	diag_clear(&dl);
}

static void test_apply_one_command_at_a_time(void **state)
{
	(void)state;
	/* the TUI prompt: one command against the live model */
	struct lab *lab = lab_new();
	struct diag_list dl = {0};
	const char *lines[] = {"switch lan", "node a", "link a:eth0 lan", "start", "capture a:eth0"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct cmd_list l = {0};
		assert_int_equal(parse_string("<prompt>", lines[i], &l, &dl), 0);
		assert_int_equal(lab_apply(lab, l.v[0], &dl), 0);
		cmd_list_clear(&l);
	}
	struct cmd_list l = {0};
	parse_string("<prompt>", "expect a:eth0 tcp prot 80", &l, &dl);
	assert_int_equal(lab_apply(lab, l.v[0], &dl), -1);
	char *s = diag_format(&dl.v[0]);
	assert_string_equal(s, "<prompt>:1:15: error: bad filter 'tcp prot 80': can't parse filter "
			       "expression: syntax error\n"
			       "    expect a:eth0 tcp prot 80\n"
			       "                  ^\n");
	free(s);
	cmd_list_clear(&l);
	diag_clear(&dl);
	lab_free(lab);
}

static void test_errors_reported_in_order_and_capped(void **state)
{
	(void)state;
	struct buf b = {0};
	for (int i = 0; i < 30; i++)
		buf_addf(&b, "node n%d -memory %d\n", i, i);
	struct diag_list dl = {0};
	assert_int_equal(check_text(b.data, &dl, NULL), 30);
	assert_int_equal(dl.n, DIAG_MAX);
	for (int i = 0; i < dl.n; i++)
		assert_int_equal(dl.v[i].line, i + 1);
	buf_free(&b);
	diag_clear(&dl);
}

/* ---- files: source, not text, check ---- */

static char tmpdir[64];

static void put(const char *rel, const char *text, size_t len)
{
	char *path = xasprintf("%s/%s", tmpdir, rel);
	char err[CL_ERRBUF];
	assert_int_equal(write_file(path, text, len, 0644, err), 0);
	free(path);
}

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/caplab-test-lab-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	char *inc = xasprintf("%s/inc", tmpdir);
	char err[CL_ERRBUF];
	mkdir_p(inc, 0755, err);
	free(inc);
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	rm_rf(tmpdir);
	return 0;
}

static int check_files(const char *lab, const char *script, int verbose, char **out, char **err)
{
	char *lp = xasprintf("%s/%s", tmpdir, lab), *sp = script ? xasprintf("%s/%s", tmpdir, script) : NULL;
	size_t ol, el;
	FILE *fo = open_memstream(out, &ol), *fe = open_memstream(err, &el);
	int rc = script_check(lp, &sp, sp ? 1 : 0, verbose, fo, fe);
	fclose(fo);
	fclose(fe);
	free(lp);
	free(sp);
	return rc;
}

static void test_source_is_relative_to_the_including_file(void **state)
{
	(void)state;
	put("main.lab", "switch lan\nsource inc/nodes.cls\nstart\n", strlen("switch lan\nsource inc/nodes.cls\nstart\n"));
	put("inc/nodes.cls", "node a\nsource links.cls\n", strlen("node a\nsource links.cls\n"));
	put("inc/links.cls", "link a:eth0 lan\n", strlen("link a:eth0 lan\n"));
	put("run.cls", "capture a:eth0\nexpect a:eth0 arp\n", strlen("capture a:eth0\nexpect a:eth0 arp\n"));
	char *out, *err;
	assert_int_equal(check_files("main.lab", "run.cls", 1, &out, &err), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, ": ok: 6 commands, 1 nodes, 1 switches, 1 links\n"));
	assert_non_null(strstr(out, "a:eth0               52:54:00:ca:01:00  10.0.1.1/24        switch lan\n"));
	free(out);
	free(err);
}

static void test_source_cycle_and_missing_file(void **state)
{
	(void)state;
	put("cyc.lab", "node a\nsource inc/c1.cls\n", strlen("node a\nsource inc/c1.cls\n"));
	put("inc/c1.cls", "source ../cyc.lab\n", strlen("source ../cyc.lab\n"));
	char *out, *err;
	assert_int_equal(check_files("cyc.lab", NULL, 0, &out, &err), 2);
	char *want = xasprintf("%s/inc/c1.cls:1:8: error: source cycle: '../cyc.lab' is already being read\n"
			       "    source ../cyc.lab\n"
			       "           ^\n",
			       tmpdir);
	assert_string_equal(err, want);
	free(want);
	free(out);
	free(err);

	put("miss.lab", "node a\n  source nothere.cls\n", strlen("node a\n  source nothere.cls\n"));
	assert_int_equal(check_files("miss.lab", NULL, 0, &out, &err), 2);
	want = xasprintf("%s/miss.lab:2:10: error: cannot open '%s/nothere.cls': No such file or directory\n"
			 "      source nothere.cls\n"
			 "             ^\n",
			 tmpdir, tmpdir);
	assert_string_equal(err, want);
	free(want);
	free(out);
	free(err);
}

static void test_not_text_and_unreadable(void **state)
{
	(void)state;
	put("bin.lab", "node a\n\x7f" "ELF\0\0\x01", 13);
	char *out, *err;
	assert_int_equal(check_files("bin.lab", NULL, 0, &out, &err), 2);
	char *want = xasprintf("%s/bin.lab:2:5: error: not a text file (NUL byte)\n", tmpdir);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
	free(want);
	free(out);
	free(err);

	assert_int_equal(check_files("absent.lab", NULL, 0, &out, &err), 2);
	want = xasprintf("caplab: error: cannot open '%s/absent.lab': No such file or directory\n", tmpdir);
	assert_string_equal(err, want);
	free(want);
	free(out);
	free(err);
}

static void test_script_sees_the_lab(void **state)
{
	(void)state;
	put("l.lab", "switch lan\nnode a\nlink a:eth0 lan\nstart\n", strlen("switch lan\nnode a\nlink a:eth0 lan\nstart\n"));
	put("bad.cls", "capture a:eth0\nexec b ls\nexpect a:eth0 icmp\n", strlen("capture a:eth0\nexec b ls\nexpect a:eth0 icmp\n"));
	char *out, *err;
	assert_int_equal(check_files("l.lab", "bad.cls", 0, &out, &err), 2);
	char *want = xasprintf("%s/bad.cls:2:6: error: unknown node 'b': define it with 'node b' first\n"
			       "    exec b ls\n"
			       "         ^\n",
			       tmpdir);
	assert_string_equal(err, want);
	assert_string_equal(out, "");
	free(want);
	free(out);
	free(err);
}

#ifndef SRCDIR
#define SRCDIR "."
#endif

static void test_shipped_labs_pass(void **state)
{
	(void)state;
	const char *labs[] = {"default.lab", "p2p.lab", "hub.lab", "routed.lab"};
	for (size_t i = 0; i < sizeof(labs) / sizeof(labs[0]); i++) {
		/* run from the top of the work tree (make test), or say where it is */
		const char *top = getenv("CAPLAB_SRCDIR") ? getenv("CAPLAB_SRCDIR") : SRCDIR;
		char *path = xasprintf("%s/labs/%s", top, labs[i]);
		char *out, *err;
		size_t ol, el;
		FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);
		int rc = script_check(path, NULL, 0, 1, fo, fe);
		fclose(fo);
		fclose(fe);
		if (rc)
			print_error("%s:\n%s", path, err);
		assert_int_equal(rc, 0);
		free(out);
		free(err);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_good_inputs),
		cmocka_unit_test(test_address_plan),
		cmocka_unit_test(test_plan_skips_taken_subnets_and_macs),
		cmocka_unit_test(test_model_contents),
		cmocka_unit_test(test_apply_one_command_at_a_time),
		cmocka_unit_test(test_errors_reported_in_order_and_capped),
		cmocka_unit_test(test_source_is_relative_to_the_including_file),
		cmocka_unit_test(test_source_cycle_and_missing_file),
		cmocka_unit_test(test_not_text_and_unreadable),
		cmocka_unit_test(test_script_sees_the_lab),
		cmocka_unit_test(test_shipped_labs_pass),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
