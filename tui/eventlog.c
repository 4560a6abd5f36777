/* The event log pane's storage: a bounded ring of timestamped lines. */
#include "tui/eventlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "core/utf8.h"
#include "tui/text.h"

int smt_eventlog_init(smt_eventlog *log)
{
    memset(log, 0, sizeof *log);
    for (int r = 0; r < 2; r++)
        log->rings[r].entries = calloc(SMT_LOG_CAPACITY, sizeof *log->rings[r].entries);
    if (!log->rings[0].entries || !log->rings[1].entries) {
        smt_eventlog_free(log);
        return -1;
    }
    return 0;
}

void smt_eventlog_free(smt_eventlog *log)
{
    for (int r = 0; r < 2; r++)
        free(log->rings[r].entries);
    memset(log, 0, sizeof *log);
}

static void add_line(smt_eventlog *log, bool session, int64_t wall_ms, smt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void flush_dropped(smt_eventlog *log, int64_t wall_ms)
{
    int64_t sec = wall_ms / 1000;
    if (sec == log->sec)
        return;
    unsigned dropped = log->sec_dropped;
    log->sec = sec;
    log->sec_count = 0;
    log->sec_dropped = 0;
    if (dropped)
        add_line(log, true, wall_ms, SMT_LOGL_INFO, "(%u more session events in the last second not shown)", dropped);
}

static smt_log_entry *vadd_line(smt_eventlog *log, bool session, int64_t wall_ms, smt_log_level level,
                                const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static smt_log_entry *vadd_line(smt_eventlog *log, bool session, int64_t wall_ms, smt_log_level level,
                                const char *fmt, va_list ap)
{
    smt_log_ring *ring = &log->rings[session ? 1 : 0];
    if (!ring->entries)
        return NULL;
    smt_log_entry *e = &ring->entries[ring->head];
    e->event[0] = e->session_id[0] = e->principal[0] = e->country[0] = e->changes[0] = '\0';
    e->wall_ms = wall_ms;
    e->seq = log->total++;
    e->level = level;
    e->session = session;
    smt_text_vprintf(e->text, sizeof e->text, fmt, ap);
    ring->head = (ring->head + 1) % SMT_LOG_CAPACITY;
    if (ring->count < SMT_LOG_CAPACITY)
        ring->count++;
    return e;
}

static void add_line(smt_eventlog *log, bool session, int64_t wall_ms, smt_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd_line(log, session, wall_ms, level, fmt, ap);
    va_end(ap);
}

void smt_eventlog_vadd(smt_eventlog *log, int64_t wall_ms, smt_log_level level, const char *fmt, va_list ap)
{
    vadd_line(log, false, wall_ms, level, fmt, ap);
}

void smt_eventlog_add(smt_eventlog *log, int64_t wall_ms, smt_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    smt_eventlog_vadd(log, wall_ms, level, fmt, ap);
    va_end(ap);
}

smt_log_entry *smt_eventlog_session(smt_eventlog *log, int64_t wall_ms, const char *fmt, ...)
{
    flush_dropped(log, wall_ms);
    if (log->sec_count >= SMT_LOG_SESSION_EVENTS_PER_SECOND) {
        log->sec_dropped++;
        return NULL;
    }
    log->sec_count++;
    va_list ap;
    va_start(ap, fmt);
    smt_log_entry *e = vadd_line(log, true, wall_ms, SMT_LOGL_INFO, fmt, ap);
    va_end(ap);
    return e;
}

static const smt_log_entry *ring_at(const smt_log_ring *r, size_t i)
{
    size_t start = (r->head + SMT_LOG_CAPACITY - r->count) % SMT_LOG_CAPACITY;
    return &r->entries[(start + i) % SMT_LOG_CAPACITY];
}

/* The k-th line of the two rings merged by seq (both are in seq order): binary search for how
 * many come from the first ring. */
const smt_log_entry *smt_eventlog_at(const smt_eventlog *log, size_t k)
{
    const smt_log_ring *a = &log->rings[0], *b = &log->rings[1];
    if (k >= a->count + b->count)
        return NULL;
    size_t lo = k + 1 > b->count ? k + 1 - b->count : 0;
    size_t hi = k + 1 < a->count ? k + 1 : a->count;
    while (lo < hi) { /* the smallest x where a's next line comes after b's last taken one */
        size_t x = lo + (hi - lo) / 2, y = k + 1 - x;
        if (x < a->count && y > 0 && ring_at(a, x)->seq < ring_at(b, y - 1)->seq)
            lo = x + 1;
        else
            hi = x;
    }
    size_t x = lo, y = k + 1 - lo;
    const smt_log_entry *ea = x > 0 ? ring_at(a, x - 1) : NULL;
    const smt_log_entry *eb = y > 0 ? ring_at(b, y - 1) : NULL;
    if (!ea || !eb)
        return ea ? ea : eb;
    return ea->seq > eb->seq ? ea : eb;
}

size_t smt_eventlog_count(const smt_eventlog *log)
{
    return log->rings[0].count + log->rings[1].count;
}

const smt_log_entry *smt_eventlog_at_filtered(const smt_eventlog *log, bool sessions, size_t i)
{
    if (sessions)
        return smt_eventlog_at(log, i);
    return i < log->rings[0].count ? ring_at(&log->rings[0], i) : NULL;
}

size_t smt_eventlog_count_filtered(const smt_eventlog *log, bool sessions)
{
    return sessions ? smt_eventlog_count(log) : log->rings[0].count;
}

void smt_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    size_t len = strlen(s), pos = 0;
    while (pos < len) {
        unsigned char c = (unsigned char)s[pos];
        if (c < 0x80) {
            if (c == '"' || c == '\\')
                fprintf(f, "\\%c", c);
            else if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
            pos++;
            continue;
        }
        uint32_t cp;
        size_t n = sm_utf8_decode(s + pos, len - pos, &cp);
        if (n == 0) { /* not UTF-8: the replacement character keeps the line valid JSON */
            fputs("\\ufffd", f);
            pos++;
            continue;
        }
        fwrite(s + pos, 1, n, f);
        pos += n;
    }
    fputc('"', f);
}

static void json_field(FILE *f, const char *name, const char *value)
{
    if (!value[0])
        return;
    fprintf(f, ",\"%s\":", name);
    smt_json_string(f, value);
}

int smt_eventlog_write_ndjson(FILE *f, const smt_log_entry *e)
{
    char iso[96] = "";
    time_t secs = (time_t)(e->wall_ms / 1000);
    struct tm tm;
    if (e->wall_ms > 0 && gmtime_r(&secs, &tm))
        snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(e->wall_ms % 1000));
    static const char *const levels[] = {"info", "warn", "error"};
    fprintf(f, "{\"time\":\"%s\",\"ms\":%lld,\"level\":\"%s\"", iso, (long long)e->wall_ms,
            levels[e->level <= SMT_LOGL_ERROR ? e->level : 0]);
    json_field(f, "event", e->event);
    json_field(f, "session", e->session_id);
    json_field(f, "principal", e->principal);
    json_field(f, "country", e->country);
    json_field(f, "changes", e->changes);
    json_field(f, "text", e->text);
    fputs("}\n", f);
    return ferror(f) ? -1 : 0;
}
