/* The session registry: sessions by ID (hash) and in open order, with their interned properties. */
#ifndef SMD_SERVER_REGISTRY_H
#define SMD_SERVER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/protocol.h"
#include "core/intern.h"

#define SMD_SESSION_ID_LEN 17 /* "%08x-%08x" */
#define SMD_TOKEN_BYTES 16    /* 32 hex characters on the wire */

struct smd_conn;
struct smd_listener;

/* A user property; key and value are interned. */
typedef struct smd_uprop {
    const char *key;
    const char *value;
} smd_uprop;

/* The fixed properties that live as interned strings on each session, indexed by smd_fixed_slot. */
typedef enum smd_fixed_slot {
    SMD_FIX_PRINCIPAL,
    SMD_FIX_ROLES,
    SMD_FIX_CLIENT_TYPE,
    SMD_FIX_ENVIRONMENT,
    SMD_FIX_CLIENT_IP,
    SMD_FIX_COUNTRY,
    SMD_FIX_LANGUAGE,
    SMD_FIX_LATITUDE,
    SMD_FIX_LONGITUDE,
    SMD_FIX_COUNT
} smd_fixed_slot;

typedef struct smd_session {
    struct smd_session *hnext;       /* hash chain */
    struct smd_session *prev, *next; /* open order */
    uint64_t seq;                   /* open sequence number, increasing */
    int64_t start_ms;               /* $StartTime */
    int64_t disconnected_at;        /* monotonic ms, while DISCONNECTED */
    struct smd_conn *conn;           /* NULL while DISCONNECTED */
    struct smd_listener *listeners;  /* listeners this session registered */
    const char *fixed[SMD_FIX_COUNT];
    smd_uprop *uprops; /* sorted by key (byte order) */
    uint16_t ucount, ucap;
    uint16_t listener_count;
    uint8_t state;       /* sm_session_state */
    uint8_t permissions; /* SM_PERM_* */
    uint8_t doomed;      /* sm_close_reason it will be closed with after the current operation, 0 = none */
    uint8_t pending_ops; /* set/close by filter operations it requested that are still running */
    uint8_t token[SMD_TOKEN_BYTES];
    char id[SMD_SESSION_ID_LEN + 1];
    char start_text[21];
} smd_session;

/* A position in the open-order list that survives removals (used by listener snapshots and the
 * sweep): when the session it points at is removed, it moves to the next one. */
typedef struct smd_cursor {
    smd_session *at; /* next session to visit; NULL = end */
    struct smd_cursor *cprev, *cnext;
} smd_cursor;

typedef struct smd_registry {
    smd_session **buckets;
    size_t nbuckets;
    size_t count;
    smd_session *head, *tail;
    uint64_t next_seq;
    uint32_t id_prefix;
    uint32_t id_counter;
    smd_cursor *cursors;
    uint16_t ucount_high; /* most user properties any session ever had: an upper bound, never lowered */
    sm_intern *strings;
    const char *shared[4]; /* $Transport, $ServerName, $Connector, "" */
} smd_registry;

int smd_registry_init(smd_registry *r, sm_intern *strings, const char *server_name, const char *connector);
/* Frees every session still registered (their properties too). */
void smd_registry_free(smd_registry *r);

/* Allocates a session with a new ID, token, sequence number and $StartTime (fixed slots empty
 * strings, no user properties); not yet registered. NULL when out of memory. */
smd_session *smd_session_new(smd_registry *r);
/* Releases a session's properties and memory (it must not be registered). */
void smd_session_free(smd_registry *r, smd_session *s);
/* Appends to the open order and the hash. */
void smd_registry_add(smd_registry *r, smd_session *s);
/* Unlinks (cursors on s move on). */
void smd_registry_remove(smd_registry *r, smd_session *s);
smd_session *smd_registry_find(const smd_registry *r, const char *id);

void smd_cursor_attach(smd_registry *r, smd_cursor *c, smd_session *at);
void smd_cursor_detach(smd_registry *r, smd_cursor *c);

/* Replaces a fixed slot's value with an interned copy of value (NULL = ""). SM_OK or SM_ERR_NOMEM. */
int smd_session_set_fixed(smd_registry *r, smd_session *s, smd_fixed_slot slot, const char *value, size_t len);
/* Slot of a settable or stored fixed key, or -1. */
int smd_fixed_slot_of(const char *key);

/* One property change: key, previous and new value (interned; NULL = absent). */
typedef struct smd_prop_change {
    const char *key;
    const char *old_value;
    const char *new_value;
} smd_prop_change;

/* Context of smd_session_lookup: a session, and optionally changes whose old values should be seen
 * instead of the current ones (to evaluate a filter "as it was before"). */
typedef struct smd_lookup {
    const smd_registry *r;
    const smd_session *s;
    const smd_prop_change *before;
    size_t nbefore;
} smd_lookup;

/* Value of any property (fixed or user) or NULL when absent. Fits sm_prop_lookup_fn (ctx = smd_lookup *). */
const char *smd_session_lookup(void *ctx, const char *key);
/* Value of a fixed property by name, or NULL for unknown names. */
const char *smd_session_fixed_value(const smd_registry *r, const smd_session *s, const char *key);
/* User property value or NULL. */
const char *smd_session_user_value(const smd_session *s, const char *key);
/* Sets (NULL deletes) a user property; value is interned here. When the value really changes,
 * *changed is true, *key_out is the interned key and *old the previous interned value (NULL when
 * it was added); both references pass to the caller, who reports them and then drops them with
 * sm_intern_unref. SM_OK or SM_ERR_NOMEM (nothing changed). */
int smd_session_set_user(smd_registry *r, smd_session *s, const char *key, const char *value, bool *changed,
                        const char **key_out, const char **old);


/* Writes the token as 32 lowercase hex characters + NUL. */
void smd_token_hex(const uint8_t token[SMD_TOKEN_BYTES], char out[2 * SMD_TOKEN_BYTES + 1]);
/* Constant-time check of a hex token against the session's. */
bool smd_token_matches(const smd_session *s, const char *hex);

#endif
