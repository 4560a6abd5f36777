/* sessmond's log: timestamped lines on stderr, control characters in untrusted text escaped. */
#ifndef SM_SERVER_LOG_H
#define SM_SERVER_LOG_H

typedef enum sm_log_level { SM_LOG_ERROR, SM_LOG_WARN, SM_LOG_INFO, SM_LOG_DEBUG } sm_log_level;

/* Messages above level are dropped (default SM_LOG_INFO). */
void sm_log_set_level(sm_log_level level);
void sm_log(sm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
