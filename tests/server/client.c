/* Helpers for the sessmond integration tests: a test client on top of wsraw with request/reply matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "core/clock.h"

const char *tc_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

long long tc_int(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

const char *tc_prop(const cJSON *o, const char *obj, const char *key)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, obj);
    return m ? tc_str(m, key) : NULL;
}

static cJSON *build_open(const char *principal, const char *password, const char *props_json)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "open");
    cJSON_AddStringToObject(o, "principal", principal ? principal : "");
    if (password)
        cJSON_AddStringToObject(o, "password", password);
    if (props_json)
        cJSON_AddItemToObject(o, "properties", cJSON_Parse(props_json));
    cJSON_AddStringToObject(o, "clientType", "C");
    cJSON_AddStringToObject(o, "environment", "C_test");
    return o;
}

cJSON *tc_try_open(tc *c, const sm_test_server *s, const char *principal, const char *password,
                   const char *props_json)
{
    sm_ws_opts o = {.host = "127.0.0.1", .port = s->port};
    return tc_try_open_opts(c, &o, principal, password, props_json);
}

cJSON *tc_try_open_opts(tc *c, const sm_ws_opts *opts, const char *principal, const char *password,
                        const char *props_json)
{
    memset(c, 0, sizeof *c);
    c->next_id = 1;
    c->pending = cJSON_CreateArray();
    int rc = sm_ws_connect(&c->ws, opts);
    if (rc != SM_WS_OK)
        fail_msg("connect: %s", c->ws.error);
    cJSON *o = build_open(principal, password, props_json);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    assert_int_equal(sm_ws_send_text(&c->ws, text), SM_WS_OK);
    free(text);
    for (;;) {
        sm_ws_message m;
        rc = sm_ws_read_message(&c->ws, &m, TC_TIMEOUT_MS);
        if (rc != SM_WS_OK)
            fail_msg("no answer to open (rc %d)", rc);
        cJSON *msg = cJSON_Parse(m.data);
        free(m.data);
        assert_non_null(msg);
        const char *type = tc_str(msg, "type");
        if (type && strcmp(type, "opened") == 0) {
            snprintf(c->session_id, sizeof c->session_id, "%s", tc_str(msg, "sessionId"));
            snprintf(c->token, sizeof c->token, "%s", tc_str(msg, "token"));
            snprintf(c->principal, sizeof c->principal, "%s", principal ? principal : "");
            c->audited = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "audited"));
            cJSON_Delete(msg);
            return NULL;
        }
        if (type && strcmp(type, "refused") == 0)
            return msg;
        cJSON_Delete(msg);
    }
}

void tc_open(tc *c, const sm_test_server *s, const char *principal, const char *password, const char *props_json)
{
    sm_ws_opts o = {.host = "127.0.0.1", .port = s->port};
    tc_open_opts(c, &o, principal, password, props_json);
}

void tc_open_opts(tc *c, const sm_ws_opts *opts, const char *principal, const char *password, const char *props_json)
{
    cJSON *refused = tc_try_open_opts(c, opts, principal, password, props_json);
    if (refused) {
        char *t = cJSON_PrintUnformatted(refused);
        cJSON_Delete(refused);
        fail_msg("open as '%s' refused: %s", principal ? principal : "", t);
    }
}

void tc_close(tc *c)
{
    sm_ws_close(&c->ws);
    cJSON_Delete(c->pending);
    c->pending = NULL;
}

/* Reads one message from the socket (parsed), NULL on timeout/close. */
static cJSON *read_one(tc *c, int timeout_ms)
{
    sm_ws_message m;
    if (sm_ws_read_message(&c->ws, &m, timeout_ms) != SM_WS_OK)
        return NULL;
    cJSON *msg = cJSON_Parse(m.data);
    if (!msg)
        fail_msg("server sent invalid JSON: %.200s", m.data);
    free(m.data);
    return msg;
}

static bool type_is(const cJSON *msg, const char *type)
{
    const char *t = tc_str(msg, "type");
    return !type || (t && strcmp(t, type) == 0);
}

cJSON *tc_next(tc *c, const char *type, int timeout_ms)
{
    cJSON *it;
    cJSON_ArrayForEach(it, c->pending)
    {
        if (type_is(it, type))
            return cJSON_DetachItemViaPointer(c->pending, it);
    }
    long long deadline = sm_mono_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - sm_mono_ms();
        if (left < 0)
            left = 0;
        cJSON *msg = read_one(c, (int)left);
        if (!msg)
            return NULL;
        if (type_is(msg, type))
            return msg;
        cJSON_AddItemToArray(c->pending, msg);
    }
}

__attribute__((format(printf, 2, 0))) static cJSON *vrequest(tc *c, const char *fmt, va_list ap)
{
    char *body = NULL;
    if (vasprintf(&body, fmt, ap) < 0)
        fail_msg("out of memory");
    cJSON *o = cJSON_Parse(body);
    if (!o)
        fail_msg("test bug: request is not JSON: %s", body);
    free(body);
    long long id = c->next_id++;
    cJSON_AddNumberToObject(o, "id", (double)id);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    assert_int_equal(sm_ws_send_text(&c->ws, text), SM_WS_OK);
    free(text);
    long long deadline = sm_mono_ms() + TC_TIMEOUT_MS;
    for (;;) {
        cJSON *it;
        cJSON_ArrayForEach(it, c->pending)
        {
            if ((type_is(it, "reply") || type_is(it, "error")) && tc_int(it, "id") == id)
                return cJSON_DetachItemViaPointer(c->pending, it);
        }
        long long left = deadline - sm_mono_ms();
        cJSON *msg = left > 0 ? read_one(c, (int)left) : NULL;
        if (!msg)
            fail_msg("no reply to request %lld (close code %d %s)", id, c->ws.close_code, c->ws.close_reason);
        cJSON_AddItemToArray(c->pending, msg);
    }
}

cJSON *tc_request(tc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cJSON *r = vrequest(c, fmt, ap);
    va_end(ap);
    return r;
}

cJSON *tc_ok(tc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cJSON *r = vrequest(c, fmt, ap);
    va_end(ap);
    if (!type_is(r, "reply")) {
        char *t = cJSON_PrintUnformatted(r);
        fail_msg("expected a reply, got %s", t);
    }
    return r;
}

cJSON *tc_err(tc *c, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cJSON *r = vrequest(c, fmt, ap);
    va_end(ap);
    if (!type_is(r, "error") || !tc_str(r, "code") || strcmp(tc_str(r, "code"), code) != 0) {
        char *t = cJSON_PrintUnformatted(r);
        fail_msg("expected error %s, got %s", code, t);
    }
    return r;
}

cJSON *tc_event(tc *c, long long listener, int timeout_ms)
{
    long long deadline = sm_mono_ms() + timeout_ms;
    for (;;) {
        cJSON *it;
        cJSON_ArrayForEach(it, c->pending)
        {
            if (!type_is(it, "events") || tc_int(it, "listener") != listener)
                continue;
            cJSON *evs = cJSON_GetObjectItemCaseSensitive(it, "events");
            cJSON *first = evs ? evs->child : NULL;
            if (!first) {
                cJSON_Delete(cJSON_DetachItemViaPointer(c->pending, it));
                break;
            }
            cJSON *ev = cJSON_DetachItemViaPointer(evs, first);
            if (!evs->child)
                cJSON_Delete(cJSON_DetachItemViaPointer(c->pending, it));
            return ev;
        }
        if (it)
            continue; /* an empty batch was dropped: look again */
        long long left = deadline - sm_mono_ms();
        cJSON *msg = left > 0 ? read_one(c, (int)left) : NULL;
        if (!msg)
            return NULL;
        cJSON_AddItemToArray(c->pending, msg);
    }
}

void tc_no_event(tc *c, long long listener, int ms)
{
    cJSON *ev = tc_event(c, listener, ms);
    if (ev) {
        char *t = cJSON_PrintUnformatted(ev);
        fail_msg("unexpected event: %s", t);
    }
}

cJSON *tc_snapshot(tc *c, long long listener, long long *count)
{
    cJSON *out = cJSON_CreateArray();
    long long deadline = sm_mono_ms() + 4 * TC_TIMEOUT_MS;
    for (;;) {
        /* Events of this listener that precede its snapshot_end, in arrival order. */
        cJSON *it;
        cJSON_ArrayForEach(it, c->pending)
        {
            if (type_is(it, "snapshot_end") && tc_int(it, "listener") == listener)
                break;
            if (type_is(it, "events") && tc_int(it, "listener") == listener)
                break;
        }
        if (it && type_is(it, "snapshot_end")) {
            *count = tc_int(it, "count");
            cJSON_Delete(cJSON_DetachItemViaPointer(c->pending, it));
            return out;
        }
        if (it) {
            cJSON *evs = cJSON_DetachItemFromObjectCaseSensitive(it, "events");
            cJSON_Delete(cJSON_DetachItemViaPointer(c->pending, it));
            cJSON *ev;
            while (evs && (ev = evs->child))
                cJSON_AddItemToArray(out, cJSON_DetachItemViaPointer(evs, ev));
            cJSON_Delete(evs);
            continue;
        }
        long long left = deadline - sm_mono_ms();
        cJSON *msg = left > 0 ? read_one(c, (int)left) : NULL;
        if (!msg)
            fail_msg("no snapshot_end for listener %lld", listener);
        cJSON_AddItemToArray(c->pending, msg);
    }
}

int tc_wait_close(tc *c, char *reason, size_t cap, int timeout_ms)
{
    int rc = sm_ws_wait_closed(&c->ws, timeout_ms);
    if (reason && cap)
        snprintf(reason, cap, "%s", rc == SM_WS_CLOSED ? c->ws.close_reason : "");
    if (rc == SM_WS_CLOSED)
        return c->ws.close_code;
    if (rc == SM_WS_EOF)
        return 0;
    return -1;
}

char *tc_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int tc_log_count(const sm_test_server *s, const char *needle)
{
    char path[300];
    char *text = tc_read_file(sm_test_server_log(s, path, sizeof path));
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(text);
    return n;
}

int tc_wait_log(const sm_test_server *s, const char *needle, int n, int timeout_ms)
{
    int64_t until = sm_mono_ms() + timeout_ms;
    int got;
    while ((got = tc_log_count(s, needle)) < n && sm_mono_ms() < until)
        usleep(20000);
    return got;
}

cJSON *tc_config(const sm_test_server *s)
{
    char path[300];
    snprintf(path, sizeof path, "%s/config.json", s->dir);
    char *text = tc_read_file(path);
    assert_non_null(text);
    cJSON *c = cJSON_Parse(text);
    free(text);
    assert_non_null(c);
    return c;
}

void tc_reload(const sm_test_server *s, const char *config_text)
{
    char path[300], tmp[310];
    snprintf(path, sizeof path, "%s/config.json", s->dir);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_true(fputs(config_text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
    assert_true(s->pid > 0);
    assert_int_equal(kill(s->pid, SIGHUP), 0);
}

char *tc_hash_password(const char *password)
{
    const char *args[] = {"--hash-password", "--iterations", "1000", NULL};
    char in[256], out[1024];
    snprintf(in, sizeof in, "%s\n", password);
    assert_int_equal(sm_test_sessmond_run(args, in, out, sizeof out, 10000), 0);
    char *start = strstr(out, "pbkdf2-sha256$");
    assert_non_null(start);
    start[strcspn(start, "\r\n")] = '\0';
    return strdup(start);
}

/* ---- the admin listener ---- */

#define TC_PAGE_MAX (1024 * 1024)

int tc_admin_port(const sm_test_server *s)
{
    char path[512];
    FILE *f = fopen(sm_test_server_log(s, path, sizeof path), "r");
    if (!f)
        return -1;
    char line[512];
    int port = -1;
    const char *mark = "admin listening on http://127.0.0.1:";
    while (fgets(line, sizeof line, f)) {
        char *at = strstr(line, mark);
        if (at)
            port = atoi(at + strlen(mark));
    }
    fclose(f);
    return port;
}

int tc_admin_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

void tc_send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

char *tc_read_to_close(int fd, int timeout_ms, bool *closed)
{
    size_t cap = TC_PAGE_MAX, len = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    int64_t deadline = sm_mono_ms() + timeout_ms;
    *closed = false;
    for (;;) {
        int64_t left = deadline - sm_mono_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0) {
            *closed = true;
            break;
        }
        len += (size_t)n;
        if (len == cap)
            break;
    }
    buf[len] = '\0';
    return buf;
}

char *tc_http_raw(int port, const char *request, size_t len)
{
    int fd = tc_admin_connect(port);
    tc_send_all(fd, request, len);
    bool closed;
    char *resp = tc_read_to_close(fd, TC_TIMEOUT_MS, &closed);
    close(fd);
    assert_true(closed);
    return resp;
}

int tc_http_status(const char *resp)
{
    int st = 0;
    return sscanf(resp, "HTTP/1.1 %d", &st) == 1 ? st : -1;
}

const char *tc_http_body(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

char *tc_http_get(int port, const char *path, int *status)
{
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: sessmon-test\r\n\r\n", path);
    char *resp = tc_http_raw(port, req, (size_t)n);
    *status = tc_http_status(resp);
    return resp;
}

double tc_metric(const char *page, const char *name)
{
    size_t len = strlen(name);
    for (const char *line = page; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ' ')
            return strtod(line + len + 1, NULL);
    return -1;
}
