/* A latency probe for the adversarial tests: a process that pings sessmond as an innocent client while an attack runs. */
#ifndef SM_TESTS_ADVERSARIAL_PROBE_H
#define SM_TESTS_ADVERSARIAL_PROBE_H

#include <stdbool.h>
#include <sys/types.h>

/* What the probe saw between start and stop. Round trips in milliseconds. */
typedef struct sm_probe_stats {
    int pings;        /* answered pings */
    int failures;     /* pings unanswered within the probe's timeout, or a lost connection */
    double p50_ms, p99_ms, max_ms;
    bool connected;   /* the probe opened its session at all */
} sm_probe_stats;

typedef struct sm_probe {
    pid_t pid;
    int result_fd; /* read end of the pipe the probe reports on */
} sm_probe;

/* Forks a process that opens an anonymous session on 127.0.0.1:port from source address src
 * (NULL = any), then sends `ping` requests one after another, every interval_ms, each waiting at
 * most 10 s for its reply. Returns 0, or -1 when fork fails. The probe has its own process, so a
 * stalled server cannot stall the test's own clock. */
int sm_probe_start(sm_probe *p, int port, const char *src, int interval_ms);
/* Stops the probe (SIGTERM) and collects its figures. 0, or -1 when it reported nothing. */
int sm_probe_stop(sm_probe *p, sm_probe_stats *out);

/* Milliseconds to connect and open an anonymous session from source address src (NULL = any), or
 * -1 when it failed within timeout_ms. */
double sm_probe_connect_ms(int port, const char *src, int timeout_ms);

/* Milliseconds on the monotonic clock. */
double sm_probe_now_ms(void);
/* How much longer than its CPU time a CPU-bound job takes on this machine right now (1 when a
 * core is free; measured over 100 ms of CPU): a timing bound stretches as much on a shared machine. */
double sm_probe_contention(void);

#endif
