/* The audit log: one JSON line per mutating request (set, close, by ID or by filter), buffered and written without blocking. */
#include "server/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "server/cluster.h"
#include "server/log.h"
#include "server/server.h"

/* One complaint about lost records per this interval; the count in it says how many. */
#define COMPLAINT_INTERVAL_MS 10000

struct smd_audit {
    char *path; /* NULL: off */
    int fd;     /* -1: not open (could not be opened) */
    char *buf;
    size_t len, cap;
    int64_t last_complaint_ms;
    uint64_t dropped_since_complaint;
    int last_errno;
};

/* Process-wide, so the metrics can read them without a handle. */
static uint64_t g_dropped, g_written;

uint64_t smd_audit_dropped(void)
{
    return g_dropped;
}

uint64_t smd_audit_written(void)
{
    return g_written;
}

/* Loud, but at most once per interval: a full disk must not flood the log as well. */
static void complain(smd_audit *a, const char *what, int err)
{
    int64_t now = sm_mono_ms();
    if (a->last_complaint_ms && now - a->last_complaint_ms < COMPLAINT_INTERVAL_MS && err == a->last_errno)
        return;
    smd_log(SMD_LOG_ERROR, "audit log %s: %s%s (%llu records dropped so far, %llu since the last report)",
            a->path ? a->path : "(none)", what, err ? strerror(err) : "",
            (unsigned long long)g_dropped, (unsigned long long)a->dropped_since_complaint);
    a->last_complaint_ms = now;
    a->last_errno = err;
    a->dropped_since_complaint = 0;
}

static void drop(smd_audit *a, const char *why, int err)
{
    g_dropped++;
    a->dropped_since_complaint++;
    complain(a, why, err);
}

static void open_file(smd_audit *a)
{
    if (!a->path)
        return;
    a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0640);
    if (a->fd < 0) {
        a->last_complaint_ms = 0; /* an open failure is always reported */
        complain(a, "cannot open: ", errno);
    }
}

static int set_path(smd_audit *a, const char *path)
{
    free(a->path);
    a->path = NULL;
    if (path && !(a->path = strdup(path)))
        return SM_ERR_NOMEM;
    return SM_OK;
}

static size_t clamp_buffer(size_t bytes)
{
    if (bytes == 0)
        return SMD_AUDIT_DEFAULT_BUFFER;
    return bytes < SMD_AUDIT_MIN_BUFFER ? SMD_AUDIT_MIN_BUFFER : bytes > SMD_AUDIT_MAX_BUFFER ? SMD_AUDIT_MAX_BUFFER : bytes;
}

smd_audit *smd_audit_new(const char *path, size_t buffer_bytes)
{
    smd_audit *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->fd = -1;
    a->cap = clamp_buffer(buffer_bytes);
    if (set_path(a, path) != SM_OK) {
        free(a);
        return NULL;
    }
    /* The buffer itself is allocated on the first record: an audit-less server pays nothing. */
    open_file(a);
    return a;
}

static size_t buffered_records(const smd_audit *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->len; i++)
        n += a->buf[i] == '\n';
    return n;
}

void smd_audit_flush(smd_audit *a)
{
    if (!a || a->len == 0)
        return;
    if (a->fd < 0) {
        /* Nowhere to write (a reopen failed): what is buffered is lost, and counted. */
        size_t n = buffered_records(a);
        g_dropped += n;
        a->dropped_since_complaint += n;
        complain(a, "not open; records dropped", 0);
        a->len = 0;
        return;
    }
    ssize_t n = write(a->fd, a->buf, a->len);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            complain(a, "cannot write: ", errno); /* kept: a later pass may succeed (disk space freed) */
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        if (a->buf[i] == '\n')
            g_written++;
    memmove(a->buf, a->buf + n, a->len - (size_t)n);
    a->len -= (size_t)n;
}

bool smd_audit_append(smd_audit *a, const char *line, size_t len)
{
    if (!a || !a->path)
        return false;
    if (a->fd < 0) {
        drop(a, "not open; record dropped", 0);
        return false;
    }
    if (!a->buf && !(a->buf = malloc(a->cap))) {
        drop(a, "out of memory; record dropped", 0);
        return false;
    }
    if (a->len + len + 1 > a->cap) {
        drop(a, a->fd < 0 ? "not open; record dropped" : "buffer full (the file is not keeping up); record dropped",
             0);
        return false;
    }
    memcpy(a->buf + a->len, line, len);
    a->buf[a->len + len] = '\n';
    a->len += len + 1;
    return true;
}

bool smd_audit_on(const smd_audit *a)
{
    return a && a->path;
}

/* What is left in the buffer stays there: a reopen writes it to the new file. */
static void close_file(smd_audit *a)
{
    smd_audit_flush(a);
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
}


int smd_audit_reopen(smd_audit *a, const char *path, size_t buffer_bytes)
{
    if (!a)
        return SM_ERR_INVALID;
    close_file(a);
    size_t cap = clamp_buffer(buffer_bytes);
    if (cap != a->cap && a->len <= cap) {
        char *nb = a->buf ? realloc(a->buf, cap) : NULL;
        if (nb || !a->buf) {
            a->buf = nb;
            a->cap = cap;
        }
    }
    if (set_path(a, path) != SM_OK)
        return SM_ERR_NOMEM;
    open_file(a);
    if (a->path && a->fd < 0)
        return SM_ERR_IO;
    smd_audit_flush(a);
    return SM_OK;
}

void smd_audit_free(smd_audit *a)
{
    if (!a)
        return;
    close_file(a);
    if (a->len) {
        size_t n = buffered_records(a);
        g_dropped += n;
        a->dropped_since_complaint += n;
        complain(a, "records unwritten at exit: ", a->last_errno);
    }
    free(a->buf);
    free(a->path);
    free(a);
}

/* ---- records ---- */

/* RFC 3339, UTC, milliseconds: "2026-12-07T12:22:02.123Z". */
static void rfc3339_now(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

static const char *op_name(sm_msg_type t)
{
    switch (t) {
    case SM_MSG_SET: return "set";
    case SM_MSG_SET_BY_FILTER: return "set_by_filter";
    case SM_MSG_CLOSE_SESSION: return "close_session";
    case SM_MSG_CLOSE_BY_FILTER: return "close_by_filter";
    default: return NULL;
    }
}

static void add_string_or_null(cJSON *o, const char *key, const char *value)
{
    if (value)
        cJSON_AddStringToObject(o, key, value);
    else
        cJSON_AddNullToObject(o, key);
}

void smd_audit_request_begin(smd_server *srv, smd_conn *c, const sm_msg *m)
{
    const char *op = op_name(m->type);
    if (!op || !smd_audit_on(srv->audit))
        return;
    cJSON_Delete(srv->audit_rec); /* (never left over: end always runs) */
    cJSON *o = srv->audit_rec = cJSON_CreateObject();
    srv->audit_conn = c;
    srv->audit_id = m->id;
    if (!o) {
        drop(srv->audit, "out of memory; record dropped", 0);
        return;
    }
    char now[32];
    rfc3339_now(now);
    cJSON_AddStringToObject(o, "time", now);
    const smd_session *s = c->session;
    smd_cluster_origin origin;
    if (c->cluster_remote && smd_cluster_remote_origin(c, &origin)) {
        /* The requester is a session of another node, which said who it is (null: a node from
         * before the audit log, whose own record names it). */
        bool known = origin.has_requester;
        add_string_or_null(o, "principal", known ? origin.principal : NULL);
        add_string_or_null(o, "sessionId", known ? origin.session_id : NULL);
        add_string_or_null(o, "clientIp", known ? origin.client_ip : NULL);
        cJSON *via = cJSON_AddObjectToObject(o, "via");
        if (via) {
            cJSON_AddStringToObject(via, "node", origin.node);
            cJSON_AddNumberToObject(via, "request", (double)origin.request);
        }
    } else {
        add_string_or_null(o, "principal", s ? s->fixed[SMD_FIX_PRINCIPAL] : NULL);
        add_string_or_null(o, "sessionId", s ? s->id : NULL);
        add_string_or_null(o, "clientIp", s ? s->fixed[SMD_FIX_CLIENT_IP] : c->ip);
    }
    cJSON_AddStringToObject(o, "op", op);
    if (m->type == SM_MSG_SET || m->type == SM_MSG_CLOSE_SESSION)
        add_string_or_null(o, "target", m->session_id);
    else
        add_string_or_null(o, "filter", m->filter);
    if (m->type == SM_MSG_SET || m->type == SM_MSG_SET_BY_FILTER) {
        cJSON *props = cJSON_AddObjectToObject(o, "properties");
        for (size_t i = 0; props && i < m->properties.count; i++)
            add_string_or_null(props, m->properties.items[i].key, m->properties.items[i].value);
    }
}

void smd_audit_note_error(smd_server *srv, const smd_conn *c, int64_t id, sm_errcode code, const char *text)
{
    cJSON *o = srv->audit_rec;
    if (!o || c != srv->audit_conn || id != srv->audit_id || cJSON_HasObjectItem(o, "result"))
        return;
    cJSON_AddStringToObject(o, "result", sm_errcode_name(code) ? sm_errcode_name(code) : "ERROR");
    cJSON_AddStringToObject(o, "message", text ? text : "");
}

void smd_audit_note_changes(smd_server *srv, const smd_prop_change *changes, size_t n)
{
    cJSON *o = srv->audit_rec;
    if (!o)
        return;
    cJSON *ch = cJSON_AddObjectToObject(o, "changes");
    for (size_t i = 0; ch && i < n; i++) {
        cJSON *one = cJSON_AddObjectToObject(ch, changes[i].key);
        if (one) {
            add_string_or_null(one, "old", changes[i].old_value);
            add_string_or_null(one, "new", changes[i].new_value);
        }
    }
}

void smd_audit_note_routed(smd_server *srv)
{
    if (srv->audit_rec && !cJSON_HasObjectItem(srv->audit_rec, "result"))
        cJSON_AddStringToObject(srv->audit_rec, "result", "ROUTED");
}

void smd_audit_hand_to_job(smd_server *srv, smd_job *job)
{
    if (!srv->audit_rec)
        return;
    if (job->cluster_rid)
        cJSON_AddNumberToObject(srv->audit_rec, "clusterRequest", (double)job->cluster_rid);
    job->audit_rec = srv->audit_rec;
    srv->audit_rec = NULL;
}

static void write_record(smd_server *srv, cJSON *o)
{
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line) {
        drop(srv->audit, "out of memory; record dropped", 0);
        return;
    }
    smd_audit_append(srv->audit, line, strlen(line));
    cJSON_free(line);
}

void smd_audit_request_end(smd_server *srv)
{
    cJSON *o = srv->audit_rec;
    srv->audit_rec = NULL;
    srv->audit_conn = NULL;
    if (!o)
        return;
    if (!cJSON_HasObjectItem(o, "result"))
        cJSON_AddStringToObject(o, "result", "OK");
    write_record(srv, o);
}

void smd_audit_job_done(smd_server *srv, smd_job *job, int64_t count, sm_errcode code, const char *text, bool stopped)
{
    cJSON *o = job->audit_rec;
    job->audit_rec = NULL;
    if (!o)
        return;
    char now[32];
    rfc3339_now(now);
    cJSON_AddStringToObject(o, "finished", now);
    cJSON_AddNumberToObject(o, "count", (double)count);
    if (stopped) {
        cJSON_AddStringToObject(o, "result", "STOPPED");
        cJSON_AddStringToObject(o, "message", "the server stopped before the operation ended");
    } else if (code != SM_CODE_NONE) {
        cJSON_AddStringToObject(o, "result", sm_errcode_name(code) ? sm_errcode_name(code) : "ERROR");
        cJSON_AddStringToObject(o, "message", text ? text : "");
    } else {
        cJSON_AddStringToObject(o, "result", "OK");
    }
    write_record(srv, o);
}
