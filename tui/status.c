/* status.c: the status bar (lab, accelerator, label, captures, packets/s)
 * and the bottom line (the latest message or error, and the F-key hints). */
#include "tui-int.h"

#include <stdio.h>
#include <string.h>

#include "capture.h"

static int running_captures(const struct lab *lab)
{
	int n = 0;
	for (int i = 0; i < lab->ncaptures; i++)
		n += lab->captures[i]->running;
	return n;
}

static const char *accelerator(void)
{
	const struct qemu_host *h = engine_host(T.eng);
	if (!h)
		return "accel: -";
	return h->accel == ACCEL_KVM ? "kvm" : "tcg";
}

void status_draw(void)
{
	const struct lab *lab = engine_lab(T.eng);
	int bar = color_attr(C_BAR);
	attron(bar);
	mvhline(0, 0, ' ', T.cols);
	attroff(bar);
	int n = running_captures(lab);
	char left[512];
	snprintf(left, sizeof left, " caplab  lab %s  %s  label: %s  %d capture%s  %.0f pkt/s", T.lab_name,
		 accelerator(), capture_label() ? capture_label() : lab->label ? lab->label : "-", n, n == 1 ? "" : "s", feed_total_rate());
	const char *right = "F1 help ";
	int rw = (int)strlen(right);
	put_text(0, 0, T.cols - rw - 1, left, bar | A_BOLD);
	if (T.cols > rw + 20)
		put_text(0, T.cols - rw, rw, right, bar);
}

void status_bottom_draw(void)
{
	int y = T.rows - 1;
	move(y, 0);
	clrtoeol();
	const char *hints = "F2 capture F3 label F4 shell F5 save : cmd q quit";
	int hw = (int)strlen(hints);
	int room = T.cols - 1;
	if (T.cols >= hw + 30)
		room = T.cols - hw - 2;
	if (T.msg[0]) {
		int a = T.msg_err ? color_attr(C_BAD) : 0;
		put_text(y, 1, room, T.msg, a);
	}
	if (T.cols >= hw + 30)
		put_text(y, T.cols - hw - 1, hw, hints, color_attr(C_DIM));
}
