/* libFuzzer target: the server core's request handling, in process behind a fake transport, fed fuzzer lines as messages. */
/*
 * Input: lines. A line "<d><message>" (d = '0'..'3') delivers <message> to connection d as one
 * WebSocket text message; in it "%<d>" stands for the session id and "%t<d>" for the resume token
 * of the session connection d had last. "x<d>" drops connection d (TCP gone), "c<d>" closes it
 * with a close frame, "n<d>" gives slot d a fresh connection, "t" runs the periodic tick, "s" runs
 * one slice, and "w<d><message>" delivers like "<d><message>" without settling afterwards (so a
 * password check or an operation can still be in progress when the next line drops its client).
 * Connection 0 starts with a privileged session (principal admin), 1 with an anonymous one,
 * 2 and 3 without a session. After every line the harness runs pending slices and drains every
 * queue like the transport would; the whole server is freed at the end of each input, so the
 * sanitizers see every leak and every use after free.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "server/log.h"
#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 4
#define LINE_MAX_BYTES 8192

typedef struct slot {
    smd_conn *conn; /* NULL when gone */
    bool paused;
    char id[SMD_SESSION_ID_LEN + 1];
    char token[2 * SMD_TOKEN_BYTES + 1];
} slot;

static smd_config cfg;
static slot slots[SLOTS];
static smd_server srv;

static void tr_want_write(void *ctx, smd_conn *c)
{
    (void)ctx;
    (void)c;
}

static void drop(int i);

static void tr_kill(void *ctx, smd_conn *c)
{
    (void)ctx;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].conn == c)
            drop(i);
}

static void tr_want_slice(void *ctx)
{
    (void)ctx;
}

static void tr_pause_rx(void *ctx, smd_conn *c, bool paused)
{
    (void)ctx;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].conn == c)
            slots[i].paused = paused;
}

static void drop(int i)
{
    smd_conn *c = slots[i].conn;
    if (!c)
        return;
    slots[i].conn = NULL;
    slots[i].paused = false;
    smd_conn_on_closed(c);
    free(c);
}

static void remember(int i)
{
    smd_conn *c = slots[i].conn;
    if (c && c->session) {
        snprintf(slots[i].id, sizeof slots[i].id, "%s", c->session->id);
        smd_token_hex(c->session->token, slots[i].token);
    }
}

/* What the transport does between messages: slices, writes, and closes that are due. */
static void settle(void)
{
    for (int round = 0; round < 10000 && smd_server_has_pending_work(&srv); round++)
        smd_server_run_slice(&srv);
    for (int i = 0; i < SLOTS; i++) {
        smd_conn *c = slots[i].conn;
        if (!c)
            continue;
        c->write_requested = false;
        for (int n = 0; n < 100000; n++) {
            smd_outmsg *m = smd_conn_next_write(c);
            if (!m)
                break;
            smd_outmsg_free(m);
        }
        remember(i);
        if (smd_conn_should_close(c))
            drop(i);
    }
}

static void start(int i)
{
    drop(i);
    smd_conn *c = calloc(1, sizeof *c);
    if (!c)
        __builtin_trap();
    slots[i].conn = c;
    smd_conn_start(&srv, c, c, i == 3 ? "2001:db8::7" : "10.20.0.5");
}

static void deliver(int i, const char *text, size_t len, bool wait)
{
    smd_conn *c = slots[i].conn;
    if (!c || !sm_utf8_valid(text, len))
        return;
    /* A paused connection's requests wait in its socket until its operation is done (unless the
     * input says they were read already: "w"). */
    for (int round = 0; round < 10000 && wait && slots[i].paused && smd_server_has_pending_work(&srv); round++)
        smd_server_run_slice(&srv);
    if (!slots[i].conn)
        return;
    smd_conn_on_message(c, text, len);
}

/* Replaces %<d> and %t<d> by the remembered id and token of slot d. */
static size_t expand(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        const char *sub = NULL;
        if (in[i] == '%' && i + 1 < len && in[i + 1] >= '0' && in[i + 1] < '0' + SLOTS) {
            sub = slots[in[i + 1] - '0'].id;
            i++;
        } else if (in[i] == '%' && i + 2 < len && in[i + 1] == 't' && in[i + 2] >= '0' && in[i + 2] < '0' + SLOTS) {
            sub = slots[in[i + 2] - '0'].token;
            i += 2;
        }
        if (sub) {
            size_t n = strlen(sub);
            if (o + n >= cap)
                break;
            memcpy(out + o, sub, n);
            o += n;
        } else {
            out[o++] = in[i];
        }
    }
    return o;
}

static void setup(void)
{
    static bool done;
    if (!done) {
        done = true;
        smd_log_set_level(SMD_LOG_ERROR);
        char *hash = NULL;
        sm_error err;
        if (smd_auth_hash_password("admin", 5, SMD_AUTH_MIN_ITERATIONS, &hash, &err) != SM_OK)
            __builtin_trap();
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"anonymous\":{\"allowed\":true,\"roles\":[\"CLIENT\"]},"
                 "\"roles\":{\"ADMINISTRATOR\":[\"view_session\",\"modify_session\",\"register_handler\"],"
                 "\"CLIENT\":[]},"
                 "\"principals\":{\"admin\":{\"password\":\"%s\",\"roles\":[\"ADMINISTRATOR\"]}},"
                 "\"limits\":{\"maxPropertiesPerSession\":8,\"maxListenersPerSession\":3,\"maxQueueBytes\":65536,"
                 "\"reconnectTimeoutMs\":60000},\"logins\":{\"tableEntries\":64}}",
                 hash);
        free(hash);
        smd_config_init(&cfg);
        if (smd_config_parse(&cfg, text, strlen(text), &err) != SM_OK)
            __builtin_trap();
    }
    smd_transport tr = {.ctx = NULL,
                       .want_write = tr_want_write,
                       .kill = tr_kill,
                       .want_slice = tr_want_slice,
                       .pause_rx = tr_pause_rx};
    sm_error err;
    if (smd_server_init(&srv, &cfg, &tr, 16, &err) != SM_OK)
        __builtin_trap();
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < SLOTS; i++)
        start(i);
    static const char admin[] = "{\"type\":\"open\",\"principal\":\"admin\",\"password\":\"admin\",\"properties\":"
                                "{\"Department\":\"Accounts\"}}";
    static const char anon[] = "{\"type\":\"open\",\"principal\":\"\",\"properties\":{\"Tier\":\"gold\"}}";
    deliver(0, admin, strlen(admin), true);
    settle();
    deliver(1, anon, strlen(anon), true);
    settle();
    if (!slots[0].conn || !slots[0].conn->session || !slots[1].conn || !slots[1].conn->session)
        __builtin_trap();
}

static void teardown(void)
{
    smd_server_shutdown(&srv);
    settle();
    for (int i = 0; i < SLOTS; i++)
        drop(i);
    smd_server_free(&srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    static char line[LINE_MAX_BYTES];
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t len = (size_t)(stop - p);
        bool settle_after = true;
        if (len >= 2 && p[0] == 'w') {
            settle_after = false;
            p++;
            len--;
        }
        if (len >= 1) {
            char cmd = p[0];
            int d = len >= 2 && p[1] >= '0' && p[1] < '0' + SLOTS ? p[1] - '0' : 0;
            if (cmd >= '0' && cmd < '0' + SLOTS) {
                size_t n = expand(p + 1, len - 1, line, sizeof line);
                deliver(cmd - '0', line, n, settle_after);
            } else if (cmd == 'x') {
                drop(d);
            } else if (cmd == 'c') {
                if (slots[d].conn) {
                    smd_conn_on_peer_close(slots[d].conn);
                    drop(d);
                }
            } else if (cmd == 'n') {
                start(d);
            } else if (cmd == 't') {
                smd_server_tick(&srv);
            } else if (cmd == 's') {
                settle_after = false;
                if (smd_server_has_pending_work(&srv))
                    smd_server_run_slice(&srv);
            }
            if (settle_after)
                settle();
        }
        p = nl ? nl + 1 : end;
    }
    teardown();
    return 0;
}
