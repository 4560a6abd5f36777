/* The event log pane's storage: a bounded ring of timestamped lines. */
#include "tui/eventlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sm_eventlog_init(sm_eventlog *log)
{
    memset(log, 0, sizeof *log);
    log->ring = calloc(SM_LOG_CAPACITY, sizeof *log->ring);
    return log->ring ? 0 : -1;
}

void sm_eventlog_free(sm_eventlog *log)
{
    free(log->ring);
    memset(log, 0, sizeof *log);
}

static void cut_utf8(char *s)
{
    /* vsnprintf may have cut a multi-byte character: drop its leading bytes */
    size_t n = strlen(s);
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)s[i - 1] >= 0xC0) {
        unsigned char lead = (unsigned char)s[i - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (n - (i - 1) < need)
            s[i - 1] = '\0';
    }
}

static void flush_dropped(sm_eventlog *log, int64_t wall_ms)
{
    int64_t sec = wall_ms / 1000;
    if (sec == log->sec)
        return;
    unsigned dropped = log->sec_dropped;
    log->sec = sec;
    log->sec_count = 0;
    log->sec_dropped = 0;
    if (dropped)
        sm_eventlog_add(log, wall_ms, SM_LOGL_INFO, "(%u more session events in the last second not shown)", dropped);
}

void sm_eventlog_vadd(sm_eventlog *log, int64_t wall_ms, sm_log_level level, const char *fmt, va_list ap)
{
    if (!log->ring)
        return;
    sm_log_entry *e = &log->ring[log->head];
    e->wall_ms = wall_ms;
    e->level = level;
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    cut_utf8(e->text);
    log->head = (log->head + 1) % SM_LOG_CAPACITY;
    if (log->count < SM_LOG_CAPACITY)
        log->count++;
    log->total++;
}

void sm_eventlog_add(sm_eventlog *log, int64_t wall_ms, sm_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sm_eventlog_vadd(log, wall_ms, level, fmt, ap);
    va_end(ap);
}

void sm_eventlog_session(sm_eventlog *log, int64_t wall_ms, const char *fmt, ...)
{
    flush_dropped(log, wall_ms);
    if (log->sec_count >= SM_LOG_SESSION_EVENTS_PER_SECOND) {
        log->sec_dropped++;
        return;
    }
    log->sec_count++;
    va_list ap;
    va_start(ap, fmt);
    sm_eventlog_vadd(log, wall_ms, SM_LOGL_INFO, fmt, ap);
    va_end(ap);
}

const sm_log_entry *sm_eventlog_at(const sm_eventlog *log, size_t i)
{
    if (i >= log->count)
        return NULL;
    size_t start = (log->head + SM_LOG_CAPACITY - log->count) % SM_LOG_CAPACITY;
    return &log->ring[(start + i) % SM_LOG_CAPACITY];
}

size_t sm_eventlog_count(const sm_eventlog *log)
{
    return log->count;
}
