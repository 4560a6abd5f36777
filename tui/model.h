/* The monitor's session table, fed by listener events, with change marks, history and resync. */
#ifndef SM_TUI_MODEL_H
#define SM_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/props.h"
#include "core/intern.h"
#include "client/sessmon.h"

#define SM_MODEL_HIGHLIGHT_MS 2000u /* a new row or a changed cell stays marked this long */
#define SM_MODEL_FADE_MS 3000u      /* a closed row stays visible this long, then leaves */
#define SM_MODEL_HISTORY 8          /* recent changes remembered per session */
#define SM_MODEL_MAX_ROWS 2000000u  /* a hostile server cannot make the table grow without bound */
#define SM_MODEL_MAX_PROPS 256u     /* properties kept per session (server limit: 64 user + fixed) */
#define SM_MODEL_MAX_KEYS 4096u     /* distinct keys tracked for the column chooser */

/* A row whose state no event has given yet. */
#define SMT_STATE_NONE ((sm_remote_state)0)

/* Which listener callback an event came from: the public API's callbacks as one kind. */
typedef enum smt_event_kind {
    SMT_EVENT_OPEN = 1,
    SMT_EVENT_PROPERTIES,
    SMT_EVENT_DISCONNECTED,
    SMT_EVENT_RECONNECTED,
    SMT_EVENT_FAILED_OVER,
    SMT_EVENT_CLOSED,
    SMT_EVENT_FILTER_ENTER,
    SMT_EVENT_FILTER_LEAVE
} smt_event_kind;

/* A listener event as the model takes it: its kind and the public API's event, as is (OPEN and
 * FILTER_ENTER carry every property; updates the new values of the keys that changed, and in
 * previous their old values). */
typedef struct smt_event {
    smt_event_kind kind;
    sm_session_event session;
} smt_event;

/* Virtual column: the session state (not a property; parentheses cannot occur in property keys). */
#define SM_COL_STATE "(state)"

/* One property; key and value are interned strings of the model's pool. */
typedef struct sm_rprop {
    const char *key;
    const char *value;
} sm_rprop;

/* One remembered change; old_value/new_value NULL mean absent (added / deleted). */
typedef struct sm_change {
    const char *key;
    const char *old_value;
    const char *new_value;
    uint64_t time;
} sm_change;

typedef struct sm_row {
    struct sm_row *hnext;        /* hash chain */
    struct sm_row *dnext;        /* dirty list (view work pending) */
    struct sm_row *cprev, *cnext; /* closing list, oldest first */
    const char *id;              /* interned session ID */
    uint32_t idhash;
    sm_rprop *props;             /* sorted by key (byte order) */
    uint32_t nprops, capprops;
    sm_remote_state state;
    sm_reason reason;
    uint64_t t_new;              /* opened live (0 for snapshot rows) */
    uint64_t t_changed;          /* last property change */
    uint64_t t_state;            /* last state change */
    uint64_t t_closed;           /* CLOSED at (fade starts) */
    sm_change *hist;             /* ring of SM_MODEL_HISTORY, allocated on first change */
    uint8_t hist_head, hist_len;
    bool dirty;                  /* on the dirty list */
    bool dead;                   /* removed from the table; freed once the view lets go */
    bool stale;                  /* resync in progress and not yet confirmed by the snapshot */
    bool closing;                /* on the closing list */
    void *vnode;                 /* the view's node for this row (owned by the view) */
} sm_row;

typedef struct sm_keystat {
    const char *key; /* interned */
    size_t count;    /* live rows that have the key */
} sm_keystat;

typedef struct sm_model sm_model;

sm_model *sm_model_new(void);
void sm_model_free(sm_model *m);
sm_intern *sm_model_pool(sm_model *m);

/* Applies one listener event at time now (monotonic ms). Bad input (no session ID, too many
 * rows) returns an error status and changes nothing. */
int sm_model_apply(sm_model *m, const smt_event *ev, uint64_t now, sm_error *err);

/* Resync after a reconnect: begin marks every row stale (and drops closing rows); snapshot
 * OPEN events confirm rows; end removes the rows nobody confirmed. Returns the count removed. */
void sm_model_resync_begin(sm_model *m, uint64_t now);
size_t sm_model_resync_end(sm_model *m, uint64_t now);
bool sm_model_resyncing(const sm_model *m);

/* Retires closed rows whose fade is over. Returns the ms until the next row retires or a mark
 * expires (for the caller's poll timeout), or -1 when nothing is pending. */
int64_t sm_model_tick(sm_model *m, uint64_t now);

/* Rows in the table (closing rows included, dead rows not), open sessions (ACTIVE or
 * DISCONNECTED), DISCONNECTED sessions. */
size_t sm_model_rows(const sm_model *m);
size_t sm_model_open_count(const sm_model *m);
size_t sm_model_disconnected_count(const sm_model *m);

sm_row *sm_model_find(const sm_model *m, const char *id);
/* Calls fn for every row in the table (not dead). */
void sm_model_foreach(sm_model *m, void (*fn)(sm_row *row, void *ctx), void *ctx);

/* The dirty list: rows changed (or dead) since the last take, each once, in the order they were
 * first touched. The caller processes them and must call sm_model_release on dead rows. */
sm_row *sm_model_take_dirty(sm_model *m);
size_t sm_model_dirty_count(const sm_model *m);
void sm_model_release(sm_model *m, sm_row *row);

/* Keys seen, in first-seen order, with the number of rows holding each. */
size_t sm_model_key_count(const sm_model *m);
const sm_keystat *sm_model_key_at(const sm_model *m, size_t i);

/* Live events per second over the last few seconds (snapshot events are not activity). */
double sm_model_event_rate(const sm_model *m, uint64_t now);
uint64_t sm_model_event_total(const sm_model *m);

/* Row accessors. sm_row_get returns the interned value or NULL; $SessionId falls back to the
 * row's ID when the server did not send it. */
const char *sm_row_get(const sm_row *row, const char *key);
bool sm_row_is_new(const sm_row *row, uint64_t now);
bool sm_row_key_recent(const sm_row *row, const char *key, uint64_t now);
/* Copies up to max recent changes, newest first; returns how many. */
size_t sm_row_history(const sm_row *row, sm_change *out, size_t max);
/* 0..1: how far a closed row has faded (0 = just closed). */
double sm_row_fade(const sm_row *row, uint64_t now);

#endif
