/* sessmond's log: timestamped lines on stderr, control characters in untrusted text escaped. */
#include "server/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static smd_log_level g_level = SMD_LOG_INFO;

void smd_log_set_level(smd_log_level level)
{
    g_level = level;
}

void smd_log(smd_log_level level, const char *fmt, ...)
{
    if (level > g_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Principal names, property text and lws output can carry anything: never let a control
     * character reach a terminal. */
    char safe[4200];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && o < sizeof safe - 5; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            if (*p == '\n' && p[1] == '\0')
                break;
            o += (size_t)snprintf(safe + o, sizeof safe - o, "\\x%02x", *p);
        } else {
            safe[o++] = (char)*p;
        }
    }
    safe[o] = '\0';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    static const char *const names[] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ sessmond %s: %s\n", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level], safe);
}
