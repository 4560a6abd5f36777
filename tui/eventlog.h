/* The event log pane's storage: a bounded ring of timestamped lines. */
#ifndef SMT_TUI_EVENTLOG_H
#define SMT_TUI_EVENTLOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SMT_LOG_CAPACITY 2000
#define SMT_LOG_LINE_MAX 240
#define SMT_LOG_SESSION_EVENTS_PER_SECOND 20
#define SMT_LOG_FIELD_MAX 72

typedef enum smt_log_level { SMT_LOGL_INFO = 0, SMT_LOGL_WARN, SMT_LOGL_ERROR } smt_log_level;

typedef struct smt_log_entry {
    int64_t wall_ms; /* ms since the epoch */
    uint64_t seq;    /* order across both rings */
    smt_log_level level;
    bool session;    /* a session open/close/disconnect line */
    char text[SMT_LOG_LINE_MAX]; /* raw UTF-8 (may hold untrusted text; escaped when drawn) */
    /* session lines: what happened to whom (all raw UTF-8, "" when unknown) */
    char event[16];                      /* opened, closed, disconnected, reconnected, failed over, changed */
    char session_id[SMT_LOG_FIELD_MAX];  /* the session ID */
    char principal[SMT_LOG_FIELD_MAX];
    char country[8];
    char changes[SMT_LOG_LINE_MAX];      /* "Key: old -> new; ..." for changed, the reason for closed */
} smt_log_entry;

typedef struct smt_log_ring {
    smt_log_entry *entries;
    size_t head; /* next slot */
    size_t count;
} smt_log_ring;

/* Two rings of SMT_LOG_CAPACITY lines each: session lifecycle lines (up to 20 a second) in their
 * own, so they never push the rarer lines that matter later — connection changes, edits, bulk
 * updates and their outcome — out of the log. Readers see both merged in time order. */
typedef struct smt_eventlog {
    smt_log_ring rings[2]; /* [0] everything else, [1] session lines */
    uint64_t total;
    int64_t sec;           /* current second for the session-event limit */
    unsigned sec_count;    /* session events logged this second */
    unsigned sec_dropped;  /* session events not logged this second */
} smt_eventlog;

int smt_eventlog_init(smt_eventlog *log);
void smt_eventlog_free(smt_eventlog *log);

/* Appends a line (truncated at a UTF-8 boundary to fit). */
void smt_eventlog_add(smt_eventlog *log, int64_t wall_ms, smt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void smt_eventlog_vadd(smt_eventlog *log, int64_t wall_ms, smt_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* A session lifecycle line: logged unless SMT_LOG_SESSION_EVENTS_PER_SECOND were already logged
 * this second; the overflow is summed up in one line when the next second starts. */
smt_log_entry *smt_eventlog_session(smt_eventlog *log, int64_t wall_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, returning the entry so the caller fills its fields (NULL: over this second's limit). */

/* Entry i of both rings merged, 0 = oldest still kept; NULL when out of range. With
 * sessions false, only the lines that are not session lifecycle lines. */
const smt_log_entry *smt_eventlog_at(const smt_eventlog *log, size_t i);
size_t smt_eventlog_count(const smt_eventlog *log);
const smt_log_entry *smt_eventlog_at_filtered(const smt_eventlog *log, bool sessions, size_t i);
size_t smt_eventlog_count_filtered(const smt_eventlog *log, bool sessions);

/* One entry as a line of NDJSON (time as ISO 8601 UTC and ms, level, the fields that are set). */
int smt_eventlog_write_ndjson(FILE *f, const smt_log_entry *e);
/* s as a JSON string, quotes included (control characters escaped, invalid UTF-8 replaced). */
void smt_json_string(FILE *f, const char *s);

#endif
