/* The audit log: one JSON line per mutating request (set, close, by ID or by filter), buffered and written without blocking. */
#ifndef SMD_SERVER_AUDIT_H
#define SMD_SERVER_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/protocol.h"

struct smd_server;
struct smd_conn;
struct smd_job;
struct smd_prop_change;

#define SMD_AUDIT_DEFAULT_BUFFER (1024u * 1024u) /* bytes of records waiting for the file */
#define SMD_AUDIT_MIN_BUFFER (64u * 1024u)
#define SMD_AUDIT_MAX_BUFFER (64u * 1024u * 1024u)

/* The file writer. Records are appended to a bounded buffer and written each loop pass through
 * an O_APPEND|O_NONBLOCK descriptor; when the buffer is full or the file cannot be written a
 * record is dropped and counted (smd_audit_dropped), never waited for. */
typedef struct smd_audit smd_audit;

/* path NULL = auditing off. buffer_bytes 0 = SMD_AUDIT_DEFAULT_BUFFER. NULL when out of memory.
 * A file that cannot be opened is logged (ERROR) and its records are dropped until a reopen
 * succeeds: the server runs on. */
smd_audit *smd_audit_new(const char *path, size_t buffer_bytes);
/* Writes what it can of the buffer (without blocking), closes the file, frees. */
void smd_audit_free(smd_audit *a);
/* True when a file is configured (whether or not it is writable right now). */
bool smd_audit_on(const smd_audit *a);
/* SIGHUP: writes what is buffered to the old file, then opens path (NULL: auditing off) anew, so a
 * renamed (rotated) file is followed by a fresh one. SM_OK, or SM_ERR_IO (logged) when the new file
 * cannot be opened. */
int smd_audit_reopen(smd_audit *a, const char *path, size_t buffer_bytes);
/* End of a loop pass: one non-blocking write of what is buffered. */
void smd_audit_flush(smd_audit *a);
/* Appends one record line (text without the newline). False (counted as dropped) when the buffer
 * has no room. */
bool smd_audit_append(smd_audit *a, const char *line, size_t len);
/* Records dropped since start (buffer full, file unwritable, out of memory), for the metrics. */
uint64_t smd_audit_dropped(void);
/* Records written to the file since start. */
uint64_t smd_audit_written(void);

/* ---- request hooks (requests.c, server.c) ----
 * A mutating request is described from smd_audit_request_begin to smd_audit_request_end; what
 * happens between (an error sent for it, the changes made, a route to another node, a job taking
 * it over) fills in the record. All of them do nothing when auditing is off. */
void smd_audit_request_begin(struct smd_server *srv, struct smd_conn *c, const sm_msg *m);
/* An error answer of request id on connection c: its code and text go into the current record. */
void smd_audit_note_error(struct smd_server *srv, const struct smd_conn *c, int64_t id, sm_errcode code,
                          const char *text);
/* set by ID: the keys that changed, with old and new values. */
void smd_audit_note_changes(struct smd_server *srv, const struct smd_prop_change *changes, size_t n);
/* The target session is on another node, which audits what it does (result ROUTED here). */
void smd_audit_note_routed(struct smd_server *srv);
/* A by-filter job takes the current record over; it is written by smd_audit_job_done. */
void smd_audit_hand_to_job(struct smd_server *srv, struct smd_job *job);
void smd_audit_request_end(struct smd_server *srv);
/* The job is answered (code SM_CODE_NONE: success with count), or dropped unanswered (stopped). */
void smd_audit_job_done(struct smd_server *srv, struct smd_job *job, int64_t count, sm_errcode code, const char *text,
                        bool stopped);

#endif
