/* Test helper: thousands of raw sessions on a sessmond (for the sliced-operation and mass-close tests). */
#ifndef SM_TESTS_SERVER_CROWD_H
#define SM_TESTS_SERVER_CROWD_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "wsraw.h"

typedef struct crowd {
    sm_ws *ws;
    int n;      /* members whose session opened */
    int tried;  /* members that have a socket (sm_ws_connect was called) */
    bool *gone; /* closed by the server (or dropped by the test) */
} crowd;

/* Opens n anonymous sessions with properties_json from source addresses 127.0.0.2..(1+sources),
 * connecting a batch at a time and pipelining the opens. Returns how many opened. */
static inline int crowd_open(crowd *c, int port, int n, int sources, const char *properties_json)
{
    c->ws = calloc((size_t)n, sizeof *c->ws);
    c->gone = calloc((size_t)n, sizeof *c->gone);
    c->n = c->tried = 0;
    if (!c->ws || !c->gone)
        return 0;
    char open_msg[512];
    snprintf(open_msg, sizeof open_msg,
             "{\"type\":\"open\",\"principal\":\"\",\"clientType\":\"C\",\"properties\":%s}",
             properties_json ? properties_json : "{}");
    enum { BATCH = 250 };
    for (int base = 0; base < n; base += BATCH) {
        int end = base + BATCH < n ? base + BATCH : n;
        for (int i = base; i < end; i++) {
            char src[32];
            snprintf(src, sizeof src, "127.0.0.%d", 2 + i % sources);
            sm_ws_opts o = {.host = "127.0.0.1", .port = port, .source_addr = src, .timeout_ms = 10000};
            c->tried = i + 1;
            if (sm_ws_connect(&c->ws[i], &o) != SM_WS_OK || sm_ws_send_text(&c->ws[i], open_msg) != SM_WS_OK) {
                fprintf(stderr, "crowd: member %d: %s\n", i, c->ws[i].error);
                return c->n;
            }
        }
        for (int i = base; i < end; i++) {
            sm_ws_message m;
            if (sm_ws_read_message(&c->ws[i], &m, 10000) != SM_WS_OK)
                return c->n;
            bool opened = strstr(m.data, "\"opened\"") != NULL;
            free(m.data);
            if (!opened)
                return c->n;
            c->n++;
        }
    }
    return c->n;
}

/* Waits until the server has closed every member (close frame or EOF), or timeout_ms passed.
 * Returns how many are closed; *with_reason counts close frames whose reason is `reason`. */
static inline int crowd_wait_closed(crowd *c, int timeout_ms, const char *reason, int *with_reason)
{
    int64_t deadline = sm_mono_ms() + timeout_ms;
    int closed = 0;
    if (with_reason)
        *with_reason = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->gone[i]) {
            closed++;
            continue;
        }
        int64_t left = deadline - sm_mono_ms();
        int rc = sm_ws_wait_closed(&c->ws[i], left > 0 ? (int)left : 0);
        if (rc != SM_WS_CLOSED && rc != SM_WS_EOF)
            continue;
        c->gone[i] = true;
        closed++;
        if (with_reason && reason && rc == SM_WS_CLOSED && strcmp(c->ws[i].close_reason, reason) == 0)
            (*with_reason)++;
    }
    return closed;
}

/* Drops every member's TCP connection at once, without a close frame. */
static inline void crowd_drop_all(crowd *c)
{
    for (int i = 0; i < c->n; i++) {
        sm_ws_close(&c->ws[i]);
        c->gone[i] = true;
    }
}

static inline void crowd_free(crowd *c)
{
    for (int i = 0; c->ws && i < c->tried; i++)
        sm_ws_close(&c->ws[i]);
    free(c->ws);
    free(c->gone);
    memset(c, 0, sizeof *c);
}

#endif
