/* The session registry: sessions by ID (hash) and in open order, with their interned properties. */
#ifndef SM_SERVER_REGISTRY_H
#define SM_SERVER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/protocol.h"
#include "core/intern.h"

#define SM_SESSION_ID_LEN 17 /* "%08x-%08x" */
#define SM_TOKEN_BYTES 16    /* 32 hex characters on the wire */

struct sm_conn;
struct sm_listener;

/* A user property; key and value are interned. */
typedef struct sm_uprop {
    const char *key;
    const char *value;
} sm_uprop;

/* The fixed properties that live as interned strings on each session, indexed by sm_fixed_slot. */
typedef enum sm_fixed_slot {
    SM_FIX_PRINCIPAL,
    SM_FIX_ROLES,
    SM_FIX_CLIENT_TYPE,
    SM_FIX_ENVIRONMENT,
    SM_FIX_CLIENT_IP,
    SM_FIX_COUNTRY,
    SM_FIX_LANGUAGE,
    SM_FIX_LATITUDE,
    SM_FIX_LONGITUDE,
    SM_FIX_COUNT
} sm_fixed_slot;

typedef struct sm_session {
    struct sm_session *hnext;       /* hash chain */
    struct sm_session *prev, *next; /* open order */
    uint64_t seq;                   /* open sequence number, increasing */
    int64_t start_ms;               /* $StartTime */
    int64_t disconnected_at;        /* monotonic ms, while DISCONNECTED */
    struct sm_conn *conn;           /* NULL while DISCONNECTED */
    struct sm_listener *listeners;  /* listeners this session registered */
    const char *fixed[SM_FIX_COUNT];
    sm_uprop *uprops; /* sorted by key (byte order) */
    uint16_t ucount, ucap;
    uint16_t listener_count;
    uint8_t state;       /* sm_session_state */
    uint8_t permissions; /* SM_PERM_* */
    uint8_t doomed;      /* sm_close_reason it will be closed with after the current operation, 0 = none */
    uint8_t pending_ops; /* set/close by filter operations it requested that are still running */
    uint8_t token[SM_TOKEN_BYTES];
    char id[SM_SESSION_ID_LEN + 1];
    char start_text[21];
} sm_session;

/* A position in the open-order list that survives removals (used by listener snapshots and the
 * sweep): when the session it points at is removed, it moves to the next one. */
typedef struct sm_cursor {
    sm_session *at; /* next session to visit; NULL = end */
    struct sm_cursor *cprev, *cnext;
} sm_cursor;

typedef struct sm_registry {
    sm_session **buckets;
    size_t nbuckets;
    size_t count;
    sm_session *head, *tail;
    uint64_t next_seq;
    uint32_t id_prefix;
    uint32_t id_counter;
    sm_cursor *cursors;
    uint16_t ucount_high; /* most user properties any session ever had: an upper bound, never lowered */
    sm_intern *strings;
    const char *shared[4]; /* $Transport, $ServerName, $Connector, "" */
} sm_registry;

int sm_registry_init(sm_registry *r, sm_intern *strings, const char *server_name, const char *connector);
/* Frees every session still registered (their properties too). */
void sm_registry_free(sm_registry *r);

/* Allocates a session with a new ID, token, sequence number and $StartTime (fixed slots empty
 * strings, no user properties); not yet registered. NULL when out of memory. */
sm_session *sm_session_new(sm_registry *r);
/* Releases a session's properties and memory (it must not be registered). */
void sm_session_free(sm_registry *r, sm_session *s);
/* Appends to the open order and the hash. */
void sm_registry_add(sm_registry *r, sm_session *s);
/* Unlinks (cursors on s move on). */
void sm_registry_remove(sm_registry *r, sm_session *s);
sm_session *sm_registry_find(const sm_registry *r, const char *id);

void sm_cursor_attach(sm_registry *r, sm_cursor *c, sm_session *at);
void sm_cursor_detach(sm_registry *r, sm_cursor *c);

/* Replaces a fixed slot's value with an interned copy of value (NULL = ""). SM_OK or SM_ERR_NOMEM. */
int sm_session_set_fixed(sm_registry *r, sm_session *s, sm_fixed_slot slot, const char *value, size_t len);
/* Slot of a settable or stored fixed key, or -1. */
int sm_fixed_slot_of(const char *key);

/* One property change: key, previous and new value (interned; NULL = absent). */
typedef struct sm_prop_change {
    const char *key;
    const char *old_value;
    const char *new_value;
} sm_prop_change;

/* Context of sm_session_lookup: a session, and optionally changes whose old values should be seen
 * instead of the current ones (to evaluate a filter "as it was before"). */
typedef struct sm_lookup {
    const sm_registry *r;
    const sm_session *s;
    const sm_prop_change *before;
    size_t nbefore;
} sm_lookup;

/* Value of any property (fixed or user) or NULL when absent. Fits sm_prop_lookup_fn (ctx = sm_lookup *). */
const char *sm_session_lookup(void *ctx, const char *key);
/* Value of a fixed property by name, or NULL for unknown names. */
const char *sm_session_fixed_value(const sm_registry *r, const sm_session *s, const char *key);
/* User property value or NULL. */
const char *sm_session_user_value(const sm_session *s, const char *key);
/* Sets (NULL deletes) a user property; value is interned here. When the value really changes,
 * *changed is true, *key_out is the interned key and *old the previous interned value (NULL when
 * it was added); both references pass to the caller, who reports them and then drops them with
 * sm_intern_unref. SM_OK or SM_ERR_NOMEM (nothing changed). */
int sm_session_set_user(sm_registry *r, sm_session *s, const char *key, const char *value, bool *changed,
                        const char **key_out, const char **old);


/* Writes the token as 32 lowercase hex characters + NUL. */
void sm_token_hex(const uint8_t token[SM_TOKEN_BYTES], char out[2 * SM_TOKEN_BYTES + 1]);
/* Constant-time check of a hex token against the session's. */
bool sm_token_matches(const sm_session *s, const char *hex);

#endif
