/* Shared by the benchmark programs: figures beside their targets with PASS/FAIL, JSON records, samples, sessmond. */
#ifndef SM_BENCH_UTIL_H
#define SM_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How a figure is judged against its target. */
typedef enum sm_bench_cmp {
    SM_BENCH_AT_MOST,  /* PASS when value <= target */
    SM_BENCH_AT_LEAST, /* PASS when value >= target */
    SM_BENCH_INFO      /* reported, not judged */
} sm_bench_cmp;

/* Names the bench (the "bench" field of every record) and takes `--json FILE` out of argv (it
 * wins over $BENCH_JSON). Records are appended to that file as JSON Lines, one object per
 * figure; bench/run merges them into one JSON document. */
void sm_bench_init(const char *bench, int *argc, char **argv);

/* Prints one figure beside its target with PASS or FAIL (or INFO) and records it. A figure that
 * passes its target can still be failed by passing force_fail (e.g. measured under a load below
 * its target); note says why. Returns true when it passed (or is INFO). */
bool sm_bench_report(const char *name, double value, const char *unit, sm_bench_cmp cmp, double target,
                     bool force_fail, const char *note);
/* Prints and records a figure that could not be measured at all (a FAIL). */
void sm_bench_missing(const char *name, const char *unit, sm_bench_cmp cmp, double target, const char *why);
/* FAIL results so far. */
int sm_bench_failures(void);

double sm_bench_now_ms(void); /* CLOCK_MONOTONIC, the clock every process on the machine shares */

/* A growable list of samples with percentiles. */
typedef struct sm_bench_samples {
    double *v;
    size_t n, cap;
    bool sorted;
} sm_bench_samples;

void sm_bench_add(sm_bench_samples *s, double x);
/* q in [0, 1]; the nearest-rank value, 0 for no samples. Sorts the samples. */
double sm_bench_quantile(sm_bench_samples *s, double q);
void sm_bench_samples_free(sm_bench_samples *s);

/* A probe's ping round trips, written by its child process down a pipe as they come. */
typedef struct sm_bench_probe_sample {
    double at_ms, rtt_ms; /* when the ping was sent; rtt < 0: no reply (in time) */
} sm_bench_probe_sample;
typedef struct sm_bench_probe {
    pid_t pid;
    int fd; /* the pipe's non-blocking read end */
    sm_bench_probe_sample *v;
    size_t n, cap;
} sm_bench_probe;
/* Forks the probe with fork_child (sm_bench_fork, or a bench's own that also tracks the child) and
 * runs child(port, pipe's write end) in it; pr->pid and pr->fd filled. Dies when it cannot. */
void sm_bench_probe_spawn(sm_bench_probe *pr, pid_t (*fork_child)(void), void (*child)(int port, int out), int port);
/* Appends every sample waiting in the pipe to v (dies when out of memory). */
void sm_bench_probe_drain(sm_bench_probe *pr);

/* fork(2) for the bench's helper processes: the child dies with the bench (PR_SET_PDEATHSIG) and
 * exits at once when the bench is already gone, so none outlives an interrupted run. */
pid_t sm_bench_fork(void);

/* Starts sessmond (path) on a free port of 127.0.0.1 with the demo configuration, heartbeats and
 * queue limits adjusted for benchmarks (heartbeat_ms 0 keeps the demo's), logging into dir.
 * Dies with the bench (PR_SET_PDEATHSIG). Returns its pid and fills *port, or -1. */
pid_t sm_bench_start_sessmond(const char *path, const char *dir, int heartbeat_ms, int *port);
/* The same with extra command-line arguments (NULL-terminated, at most 14), e.g. cluster flags. */
pid_t sm_bench_start_sessmond_args(const char *path, const char *dir, int heartbeat_ms, const char *const *args,
                                   int *port);
/* SIGTERM, then SIGKILL after 5 s; true when it exited with status 0. */
bool sm_bench_stop(pid_t pid);

/* Open file descriptors of a process (/proc/PID/fd), -1 when unreadable. */
long sm_bench_fd_count(pid_t pid);

/* write(2) calls a process has made so far (/proc/PID/io syscw), -1 when unreadable. */
long long sm_bench_write_calls(pid_t pid);
/* Time a process has spent waiting on a run queue (runnable, not running), in seconds, from
 * /proc/PID/schedstat; -1 when unreadable. */
double sm_bench_runqueue_wait_s(pid_t pid);

#endif
