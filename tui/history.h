/* The monitor's recent past: sessions, opens/s, closes/s and events/s per second over the last
 * ten minutes, in a fixed ring (bounded memory whatever the rate), and their sparklines. */
#ifndef SMT_TUI_HISTORY_H
#define SMT_TUI_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMT_HISTORY_SECONDS 600

typedef enum smt_history_series {
    SMT_HIST_SESSIONS = 0, /* open sessions at the end of the second (a gauge) */
    SMT_HIST_OPENS,        /* sessions opened during the second */
    SMT_HIST_CLOSES,       /* sessions closed during the second */
    SMT_HIST_EVENTS,       /* listener events during the second (snapshots are not activity) */
    SMT_HIST_SERIES
} smt_history_series;

typedef struct smt_history {
    uint32_t v[SMT_HIST_SERIES][SMT_HISTORY_SECONDS];
    int64_t sec;   /* the second the newest slot holds (monotonic seconds); -1 = empty */
    size_t newest; /* its slot */
    size_t len;    /* seconds recorded, up to SMT_HISTORY_SECONDS */
} smt_history;

void smt_history_init(smt_history *h);
/* Moves the ring on to second sec (monotonic): the seconds in between get zero counts and the
 * last gauge value. A clock that goes back is ignored; a gap longer than the ring clears it. */
void smt_history_advance(smt_history *h, int64_t sec);
/* Adds n to a count of second sec (advancing to it first). */
void smt_history_add(smt_history *h, int64_t sec, smt_history_series s, uint32_t n);
/* Sets the gauge of second sec (advancing to it first). */
void smt_history_set(smt_history *h, int64_t sec, smt_history_series s, uint32_t value);

size_t smt_history_len(const smt_history *h);
/* The value ago seconds before the newest (0 = the current, still counting, second). */
uint32_t smt_history_at(const smt_history *h, smt_history_series s, size_t ago);
/* Largest value over the last span seconds. */
uint32_t smt_history_max(const smt_history *h, smt_history_series s, size_t span);

/* A sparkline of the last span seconds in width cells, oldest left, scaled to the largest value
 * shown: each cell is the mean of its seconds (the gauge: its last second). utf8 false draws
 * with ASCII. Returns the bytes written (NUL-terminated; cells without data are spaces). */
size_t smt_history_sparkline(const smt_history *h, smt_history_series s, size_t span, int width, bool utf8,
                             char *out, size_t cap);

#endif
