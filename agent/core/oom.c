/* Unwinding on out of memory (oom.h). Calls into no other file, so anything may call it. */
#include <errno.h>
#include <stdlib.h>

#include "oom.h"

static __thread jmp_buf *oom_exit; /* per thread: each loader run has its own */

jmp_buf *pal_oom_exit_swap(jmp_buf *to)
{
	jmp_buf *was = oom_exit;

	oom_exit = to;
	return was;
}

void pal_out_of_memory(void)
{
	if (oom_exit)
		longjmp(*oom_exit, 1);
	abort(); /* no caller can handle it */
}

void *pal_or_unwind(void *p)
{
	if (!p)
		pal_out_of_memory();
	return p;
}

int pal_oom_catch(int (*fn)(void *arg), void *arg)
{
	jmp_buf frame;
	jmp_buf *outer = pal_oom_exit_swap(&frame);
	volatile int r = -ENOMEM; /* set after setjmp returns: kept in memory across the longjmp */

	if (setjmp(frame) == 0)
		r = fn(arg);
	pal_oom_exit_swap(outer);
	return r;
}
