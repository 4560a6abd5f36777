/* The event log pane's storage: a bounded ring of timestamped lines. */
#ifndef SM_TUI_EVENTLOG_H
#define SM_TUI_EVENTLOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_LOG_CAPACITY 2000
#define SM_LOG_LINE_MAX 240
#define SM_LOG_SESSION_EVENTS_PER_SECOND 20

typedef enum sm_log_level { SM_LOGL_INFO = 0, SM_LOGL_WARN, SM_LOGL_ERROR } sm_log_level;

typedef struct sm_log_entry {
    int64_t wall_ms; /* ms since the epoch */
    uint64_t seq;    /* order across both rings */
    sm_log_level level;
    bool session;    /* a session open/close/disconnect line */
    char text[SM_LOG_LINE_MAX]; /* raw UTF-8 (may hold untrusted text; escaped when drawn) */
} sm_log_entry;

typedef struct sm_log_ring {
    sm_log_entry *entries;
    size_t head; /* next slot */
    size_t count;
} sm_log_ring;

/* Two rings of SM_LOG_CAPACITY lines each: session lifecycle lines (up to 20 a second) in their
 * own, so they never push the rarer lines that matter later — connection changes, edits, bulk
 * updates and their outcome — out of the log. Readers see both merged in time order. */
typedef struct sm_eventlog {
    sm_log_ring rings[2]; /* [0] everything else, [1] session lines */
    uint64_t total;
    int64_t sec;           /* current second for the session-event limit */
    unsigned sec_count;    /* session events logged this second */
    unsigned sec_dropped;  /* session events not logged this second */
} sm_eventlog;

int sm_eventlog_init(sm_eventlog *log);
void sm_eventlog_free(sm_eventlog *log);

/* Appends a line (truncated at a UTF-8 boundary to fit). */
void sm_eventlog_add(sm_eventlog *log, int64_t wall_ms, sm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sm_eventlog_vadd(sm_eventlog *log, int64_t wall_ms, sm_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* A session lifecycle line: logged unless SM_LOG_SESSION_EVENTS_PER_SECOND were already logged
 * this second; the overflow is summed up in one line when the next second starts. */
void sm_eventlog_session(sm_eventlog *log, int64_t wall_ms, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Entry i of both rings merged, 0 = oldest still kept; NULL when out of range. With
 * sessions false, only the lines that are not session lifecycle lines. */
const sm_log_entry *sm_eventlog_at(const sm_eventlog *log, size_t i);
size_t sm_eventlog_count(const sm_eventlog *log);
const sm_log_entry *sm_eventlog_at_filtered(const sm_eventlog *log, bool sessions, size_t i);
size_t sm_eventlog_count_filtered(const sm_eventlog *log, bool sessions);

#endif
