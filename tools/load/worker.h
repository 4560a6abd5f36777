/* sessmon-load's worker: one poll loop holding a share of the sessions, with ramp, churn and a clean stop. */
#ifndef SM_LOAD_WORKER_H
#define SM_LOAD_WORKER_H

#include <signal.h>
#include <stddef.h>

#include "tools/load/from.h"
#include "tools/load/options.h"

typedef struct sm_load_worker_params {
    const sm_load_options *opt;
    unsigned index; /* this worker, 0..count-1 */
    unsigned count; /* workers in all: rates are shared among them */
    /* Normal mode: sessions this worker keeps open. */
    unsigned target;
    /* --from mode (specs != NULL): the file's sessions this worker holds. */
    const sm_load_spec *const *specs;
    size_t spec_count;
    /* Incremented by the SIGINT/SIGTERM handler: 1 = stop gracefully, 2 or more = stop now. */
    volatile sig_atomic_t *stop;
    int wake_fd;   /* read end of the signal self-pipe (drained when readable), or -1 */
    int report_fd; /* write end of a pipe to the parent (sm_load_stats records), or -1 to print
                      progress lines itself */
} sm_load_worker_params;

/* Runs until the duration passes or *stop becomes non-zero, then closes its sessions (bounded by
 * opt->stop_timeout_ms). Returns the process exit status: 0, or 1 when the client could not be
 * created. */
int sm_load_worker_run(const sm_load_worker_params *p);

#endif
