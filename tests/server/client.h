/* Helpers for the sessmond integration tests: a test client on top of wsraw with request/reply matching. */
#ifndef SM_TESTS_SERVER_CLIENT_H
#define SM_TESTS_SERVER_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "test_server.h"
#include "wsraw.h"

#define TC_TIMEOUT_MS 5000

typedef struct tc {
    sm_ws ws;
    char session_id[64];
    char token[64];
    char principal[64];
    bool audited; /* "audited" of the opened message */
    long long next_id;
    cJSON *pending;          /* messages read while waiting for something else */
} tc;

/* Connects and opens a session (principal NULL = anonymous). Fails the test on error. */
void tc_open(tc *c, const sm_test_server *s, const char *principal, const char *password, const char *props_json);
/* Like tc_open but returns the `refused` message (or NULL when opened) instead of failing. */
cJSON *tc_try_open(tc *c, const sm_test_server *s, const char *principal, const char *password,
                   const char *props_json);
/* tc_try_open / tc_open with explicit connection options (e.g. TLS). */
cJSON *tc_try_open_opts(tc *c, const sm_ws_opts *o, const char *principal, const char *password,
                        const char *props_json);
void tc_open_opts(tc *c, const sm_ws_opts *o, const char *principal, const char *password, const char *props_json);
void tc_close(tc *c);

/* Sends a request (JSON object text without "id"; the id is added) and returns the `reply` or
 * `error` carrying that id; other messages are kept for tc_next. Fails the test on timeout. */
cJSON *tc_request(tc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* tc_request, then asserts a reply (not an error) and returns it. */
cJSON *tc_ok(tc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* tc_request, then asserts an error with that code and returns it. */
cJSON *tc_err(tc *c, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Next message of a type (NULL = any) within timeout_ms, from the kept ones first; NULL on timeout
 * or close. The caller deletes it. */
cJSON *tc_next(tc *c, const char *type, int timeout_ms);
/* Collects events of a listener until snapshot_end; returns the snapshot events as a cJSON array
 * (caller deletes) and stores the snapshot_end count. */
cJSON *tc_snapshot(tc *c, long long listener, long long *count);
/* Next single event (events batches are split) of a listener within timeout; NULL on timeout. */
cJSON *tc_event(tc *c, long long listener, int timeout_ms);
/* Asserts that no event for listener arrives within ms. */
void tc_no_event(tc *c, long long listener, int ms);

/* Waits for the server to close the connection; returns the close code (0 = EOF without close,
 * -1 = timeout) and copies the reason text. */
int tc_wait_close(tc *c, char *reason, size_t cap, int timeout_ms);

/* The server's log: how many times needle occurs in it; tc_wait_log waits (<= timeout_ms) until it
 * occurs at least n times and returns the count reached. */
int tc_log_count(const sm_test_server *s, const char *needle);
int tc_wait_log(const sm_test_server *s, const char *needle, int n, int timeout_ms);
/* Replaces the server's config file (atomically: a rename) with config's text and sends SIGHUP. */
void tc_reload(const sm_test_server *s, const char *config_text);
/* The server's config file, parsed (the caller deletes it). */
cJSON *tc_config(const sm_test_server *s);
/* A password hash made by `sessmond --hash-password` (1000 iterations, for speed); malloc'd. */
char *tc_hash_password(const char *password);
/* The whole file (malloc'd, NUL-terminated), or NULL. */
char *tc_read_file(const char *path);

/* Convenience readers. */
const char *tc_str(const cJSON *o, const char *key);
long long tc_int(const cJSON *o, const char *key);
/* String property of a nested object, e.g. tc_prop(reply, "properties", "$Country"). */
const char *tc_prop(const cJSON *o, const char *obj, const char *key);

/* ---- the admin listener (/metrics, /healthz: docs/metrics.md) ---- */

/* The admin port the server printed at start-up ("admin listening on http://127.0.0.1:PORT"), -1. */
int tc_admin_port(const sm_test_server *s);
/* A connected socket to 127.0.0.1:port (fails the test otherwise). */
int tc_admin_connect(int port);
/* Sends what it can (the server may close first: what it answered is what counts). */
void tc_send_all(int fd, const char *p, size_t len);
/* Everything the server sends until it closes or timeout_ms pass: malloc'd, NUL-terminated (at
 * most 1 MiB); *closed tells whether it closed in time. */
char *tc_read_to_close(int fd, int timeout_ms, bool *closed);
/* One raw request on a new connection; the whole response (malloc'd). Asserts that the server
 * closes the connection after it (Connection: close). */
char *tc_http_raw(int port, const char *request, size_t len);
/* GET path; *status is the response's status (-1 when there is none). */
char *tc_http_get(int port, const char *path, int *status);
int tc_http_status(const char *response);
const char *tc_http_body(const char *response);
/* The value of the sample printed exactly as name (with its labels), -1 when absent. */
double tc_metric(const char *page, const char *name);

#endif
