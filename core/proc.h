/* Resident memory and CPU time of a running process from /proc: the load tool's report, the tests' memory bounds, the benchmarks. */
#ifndef SM_CORE_PROC_H
#define SM_CORE_PROC_H

/* VmRSS of process pid in KiB (pid 0 or less: this process), -1 when unknown. */
long sm_proc_rss_kb(int pid);

/* User + system CPU seconds process pid has used so far (/proc/PID/stat), -1 when unreadable. */
double sm_proc_cpu_s(int pid);

#endif
