/* sessmon-load's counters: what each worker reports, their sum, and the progress line. */
#ifndef SM_LOAD_STATS_H
#define SM_LOAD_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Gauges (now) and totals (since start) of one worker; small enough for one atomic pipe write. */
typedef struct sm_load_stats {
    /* gauges */
    uint64_t target;       /* sessions this worker keeps open */
    uint64_t open;         /* opened and connected */
    uint64_t connecting;   /* first connection or open in progress */
    uint64_t reconnecting; /* dropped; the library is resuming them */
    uint64_t waiting;      /* failed to open; retried after a pause */
    uint64_t updates_in_flight;
    /* totals */
    uint64_t opened;         /* on_open of a new session (not resumes) */
    uint64_t closed;         /* closed by sessmon-load (churn or stop) */
    uint64_t lost;           /* closed by the server or the network (then replaced) */
    uint64_t failed;         /* opens refused or that could not connect */
    uint64_t updates;        /* property updates acknowledged */
    uint64_t update_errors;  /* updates the server refused, or lost */
    uint64_t updates_skipped; /* not sent: the two reasons below */
    uint64_t updates_skipped_window;     /* MAX in flight already: the server answers too slowly */
    uint64_t updates_skipped_no_session; /* no open session, or none that may modify it */
    uint64_t updates_late;   /* never sent: the loop ran over 0.2 s late (not counted as skipped) */
    uint64_t drops;          /* connections cut on purpose */
    uint64_t reconnects;     /* sessions resumed after a drop */
    uint64_t replaced;       /* reconnects that got a new session (the old one was gone) */
    uint64_t cpu_ms;         /* CPU time (user + system) of the worker process */
    uint32_t stopping;       /* 1 once SIGINT/SIGTERM was seen */
    uint32_t done;           /* 1 in the worker's last report */
} sm_load_stats;

void sm_load_stats_add(sm_load_stats *sum, const sm_load_stats *s);

/* What a progress line says besides the counters. */
typedef struct sm_load_line {
    const char *state;        /* "running", "stopping" or "stopped" */
    double elapsed;           /* seconds since start */
    double dt;                /* seconds since the previous line (the rates' period) */
    unsigned workers;
    long rss_kb;              /* all processes; < 0 unknown */
    double updates_asked;     /* --update-rate (all workers), per second */
    double cpu_pct;           /* the busiest sessmon-load process over dt, % of one core; < 0 unknown */
} sm_load_line;

/* Prints one progress line for the totals now (prev = the previous line's totals). */
void sm_load_progress_print(FILE *f, bool json, const sm_load_line *line, const sm_load_stats *now,
                            const sm_load_stats *prev);

/* Why the updates acknowledged over the line's period fall short of the rate asked (below 95 %),
 * or NULL when they do not or none were asked. */
const char *sm_load_update_shortfall(const sm_load_line *line, const sm_load_stats *now, const sm_load_stats *prev);

/* Copies text into out with control characters and non-ASCII bytes escaped (\xHH), for
 * messages from the server or a file that end up on a terminal. */
void sm_load_escape(const char *text, char *out, size_t cap);

#endif
