/* Helpers for the libsessmon integration tests: callback recorders, synchronous requests, waits. */
#ifndef SM_TESTS_CLIENT_HELPERS_H
#define SM_TESTS_CLIENT_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/sessmon.h"
#include "core/clock.h"

#define TH_TIMEOUT_MS 5000

/* Services c until cond holds or ms pass (never hangs). */
#define TH_WAIT(c, cond, ms)                                  \
    do {                                                      \
        int64_t th_end_ = sm_mono_ms() + (ms);                \
        while (!(cond) && sm_mono_ms() < th_end_)             \
            sm_client_run_once((c), 20);                      \
    } while (0)

/* "k=v;k2=v2;" sorted by key; a NULL value prints as <null>. */
void th_props_text(const sm_property *p, size_t n, char *out, size_t cap);

/* What a session's callbacks reported. */
typedef struct th_session {
    sm_session *s;
    int opens;
    int disconnects;
    sm_client_error disconnect_cause; /* of the latest on_disconnect */
    bool closed;
    sm_reason close_reason;
    sm_client_error close_error;
    char id[128];
    bool resumed;
    bool replaced;
    unsigned permissions;
    int errors;
} th_session;

/* Fills p's callbacks to record into t (p->context = t). */
void th_session_params(sm_session_params *p, th_session *t);
/* Opens a session and waits until it is open (or closed); returns t->s or NULL. */
sm_session *th_open(sm_client *c, th_session *t, const char *url, const char *principal,
                    const char *password, const sm_property *props, size_t nprops);

/* One recorded listener callback. */
typedef struct th_event {
    char kind[20]; /* open update close enter leave registered regerror snapend error lclose */
    char session[128];
    sm_remote_state state;
    sm_update_type update;
    sm_reason reason;
    bool snapshot;
    bool filter_change;
    bool resync;
    uint64_t count;
    sm_client_errcode code;
    char message[256];
    char props[1024];
    char previous[1024];
} th_event;

typedef struct th_listener {
    sm_listener *l;
    th_event *ev;
    size_t n, cap;
    bool closed;
    bool close_inside_event; /* re-entrancy test: sm_listener_close from on_session_update */
} th_listener;

void th_listener_params(sm_listener_params *p, th_listener *t);
void th_listener_free(th_listener *t);
/* Index of the first event of kind (and session, when not NULL) at or after from; -1 if none. */
int th_find(const th_listener *t, size_t from, const char *kind, const char *session);
size_t th_count(const th_listener *t, const char *kind);

/* A request's outcome. */
typedef struct th_reply {
    volatile int done;
    sm_client_errcode code;
    char message[256];
    char props[2048];
    size_t prop_count;
    uint64_t count;
    int64_t server_time;
} th_reply;

void th_reply_cb(sm_session *s, const sm_reply *r, void *context);
/* Waits for r to complete; true when it did within ms. */
bool th_wait_reply(sm_client *c, th_reply *r, int ms);

/* Synchronous wrappers (request + wait). The return is the reply's code (or the call's). */
sm_client_errcode th_get(sm_client *c, sm_session *s, const char *id, const char *const *keys, size_t n,
                         th_reply *r);
sm_client_errcode th_set(sm_client *c, sm_session *s, const char *id, const sm_property *p, size_t n,
                         th_reply *r);

#endif
