/* A scripted fake sessmond for client tests: each loopback connection runs a test's script in a thread. */
#ifndef SM_TEST_WSFAKE_H
#define SM_TEST_WSFAKE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "wsraw.h"

/* Runs for one accepted connection (handshake done; ws is the server end), index = 0, 1, ... in
 * accept order. Scripts must not use cmocka asserts (they run in another thread): record what
 * happened in ctx and let the test check it after sm_fake_stop. The connection is closed (no close
 * frame) when the script returns. */
typedef void (*sm_fake_script)(sm_ws *ws, int index, void *ctx);

typedef struct sm_fake {
    int listen_fd;
    int port;
    char url[64]; /* ws://127.0.0.1:PORT */
    sm_fake_script script;
    void *ctx;
    pthread_t thread;
    atomic_bool stop;
    atomic_int current_fd; /* the connection being scripted, -1 = none */
    int served;            /* connections handed to the script (read after sm_fake_stop) */
} sm_fake;

/* Listens on a free 127.0.0.1 port and serves connections one at a time. 0 or -1. */
int sm_fake_start(sm_fake *f, sm_fake_script script, void *ctx);
/* Cuts the current connection, stops listening and joins the thread; returns the connections served. */
int sm_fake_stop(sm_fake *f);

/* Script helpers. */
/* Waits for the client's first message (open or resume); returns its type ("open"/"resume", static)
 * or NULL on timeout/close. */
const char *sm_fake_expect_open(sm_ws *ws, int timeout_ms);
/* Sends an "opened" like sessmond's (all permissions) with this heartbeat interval. */
int sm_fake_send_opened(sm_ws *ws, const char *session_id, long long heartbeat_interval_ms);
/* Reads until a request of this type (NULL = any) arrives; returns its id (> 0) and copies its
 * type, or -1 on timeout/close. Heartbeat acks are skipped. */
long long sm_fake_next_request(sm_ws *ws, const char *type, char *type_out, size_t cap, int timeout_ms);
/* Waits until the client closes the connection (or timeout); true when it did. */
bool sm_fake_wait_client_gone(sm_ws *ws, int timeout_ms);

#endif
