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
/* The YAML the benchmarks' policies are made of, written at p (room is the caller's); each
 * returns the bytes written. The host endpoint NAME: node NODE's eth0 with address IP, labelled
 * role: ROLE. */
int bench_yaml_host_endpoint(char *p, const char *name, const char *role, const char *node,
			     const char *ip);
/* A new document: GlobalNetworkPolicy NAME of ORDER selecting role == ROLE, up to its "ingress:"
 * line (the caller writes the rules); SPEC holds more spec lines ("  doNotTrack: true\n") or "". */
int bench_yaml_policy_head(char *p, const char *name, int order, const char *role,
			   const char *spec);
/* The median of v[0..n-1] (n > 0); sorts v. */
double bench_median(double *v, int n);

#endif
