/* What the in-process benchmarks (bench-classify, bench-ctl) set up before measuring: a network
 * namespace of their own with a veth pair, a pin directory removed at any exit, and one way to
 * fail; and the median they report. */
#ifndef BENCH_SETUP_H
#define BENCH_SETUP_H

#include <stddef.h>

/* "NAME: FAIL: what" on stderr (NAME set by bench_enter_netns), exit 2. */
__attribute__((noreturn)) void bench_die(const char *what);
/* Enters a new network namespace with the veth pair eth0 / p-eth0, both up; dies without root.
 * name is the program's, for bench_die. */
void bench_enter_netns(const char *name);
/* dir = /sys/fs/bpf/palbench-TAG-PID, emptied now and removed at exit. */
void bench_pin_dir(char *dir, size_t len, const char *tag);
/* The median of v[0..n-1] (n > 0); sorts v. */
double bench_median(double *v, int n);

#endif
