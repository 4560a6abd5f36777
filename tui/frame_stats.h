/* Opt-in frame timings for benchmarks: with SESSMON_STATS_FILE set, the monitor appends one line per painted frame. */
#ifndef SMT_TUI_FRAME_STATS_H
#define SMT_TUI_FRAME_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define SMT_FRAME_STATS_ENV "SESSMON_STATS_FILE"

/* The file's format (docs/tui.md § Frame timings), text, one record per line, times on
 * CLOCK_MONOTONIC in microseconds (the clock every process on the machine shares, so a harness
 * can compare them with its own):
 *   start MONO_US                                    the monitor's main began
 *   frame MONO_US PAINT_US SHOWN OPEN EVENTS CONN CPU_US
 *       a frame was painted: when it ended, how long smt_ui_paint took (view update, drawing and
 *       the terminal write), rows shown, open sessions, listener events received so far, the
 *       connection state (connecting, syncing, live, reconnecting, closed), and the CPU time the
 *       paint used (CLOCK_THREAD_CPUTIME_ID: PAINT_US minus CPU_US is time the process waited,
 *       e.g. preempted on a busy machine)
 *   mark MONO_US WHAT CPU_US WAIT_US
 *       a step of the start-up, seen by the loop when it happened: WHAT is the connection state
 *       entered (syncing, live, ...) or first-event (the first listener event arrived); CPU_US is
 *       the CPU time the monitor's thread had used since it started, WAIT_US the time it had
 *       spent runnable but not running (/proc/thread-self/schedstat; 0 when unknown) */
typedef struct smt_frame_stats {
    FILE *file;
} smt_frame_stats;

typedef struct smt_frame_record {
    uint64_t end_us;
    uint64_t paint_us;
    size_t shown, open;
    uint64_t events;
    const char *conn; /* one word */
    uint64_t cpu_us;
} smt_frame_record;

/* Opens path for appending (created 0600) and writes the start line. path NULL or "" leaves
 * stats off (file NULL) and returns SM_OK; a file that cannot be opened is an error (stats off). */
int smt_frame_stats_open(smt_frame_stats *s, const char *path, uint64_t start_us, sm_error *err);
/* Appends one frame line and flushes it (a reader follows the file live). Nothing when off. */
void smt_frame_stats_frame(smt_frame_stats *s, const smt_frame_record *r);
/* Appends one mark line (what: one word) and flushes it. Nothing when off. */
void smt_frame_stats_mark(smt_frame_stats *s, const char *what, uint64_t now_us, uint64_t cpu_us);
void smt_frame_stats_close(smt_frame_stats *s);

/* CLOCK_MONOTONIC now, in microseconds. */
uint64_t smt_frame_stats_now_us(void);
/* CPU time of the calling thread, in microseconds. */
uint64_t smt_frame_stats_thread_cpu_us(void);

#endif
