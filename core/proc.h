/* Resident memory of a running process from /proc: the load tool's report, the tests' memory bounds, the benchmarks. */
#ifndef SM_CORE_PROC_H
#define SM_CORE_PROC_H

/* VmRSS of process pid in KiB (pid 0 or less: this process), -1 when unknown. */
long sm_proc_rss_kb(int pid);

#endif
