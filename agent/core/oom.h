/* Out of memory in code that has no error path for it (the policy decoders' hundreds of
 * allocations, diagnostics, label sets): pal_out_of_memory unwinds (longjmp) to the innermost
 * frame set with pal_oom_exit_swap, whose owner returns -ENOMEM; with none set it aborts.
 *
 * The loader sets a frame around each buffer it decodes (model_load.c), so a policy file that
 * meets an exhausted heap makes pal_model_load_* return -ENOMEM instead of killing the agent.
 * What the interrupted step had allocated and not yet attached to the model is not freed: one
 * resource's worth, on a path that runs once per exhausted heap. */
#ifndef PALISADE_OOM_H
#define PALISADE_OOM_H

#include <setjmp.h>

__attribute__((noreturn)) void pal_out_of_memory(void);
/* p, which an allocation just returned; pal_out_of_memory when it is NULL. */
void *pal_or_unwind(void *p);
/* Sets where pal_out_of_memory unwinds to (NULL: nowhere); returns the previous frame, which the
 * caller puts back when its frame ends. */
jmp_buf *pal_oom_exit_swap(jmp_buf *to);
/* Runs fn(arg) inside a frame of its own: fn's value, or -ENOMEM when out of memory unwound it. */
int pal_oom_catch(int (*fn)(void *arg), void *arg);

#endif
