/* sessmond's log: timestamped lines on stderr, control characters in untrusted text escaped. */
#ifndef SMD_SERVER_LOG_H
#define SMD_SERVER_LOG_H

typedef enum smd_log_level { SMD_LOG_ERROR, SMD_LOG_WARN, SMD_LOG_INFO, SMD_LOG_DEBUG } smd_log_level;

/* Messages above level are dropped (default SMD_LOG_INFO). */
void smd_log_set_level(smd_log_level level);
void smd_log(smd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
