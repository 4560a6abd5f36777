/* The monitor's session table, fed by listener events, with change marks, history and resync. */
#ifndef SMT_TUI_MODEL_H
#define SMT_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/props.h"
#include "core/intern.h"
#include "client/sessmon.h"

#define SMT_MODEL_HIGHLIGHT_MS 2000u /* a new row or a changed cell stays marked this long */
#define SMT_MODEL_FADE_MS 3000u      /* a closed row stays visible this long, then leaves */
#define SMT_MODEL_HISTORY 8          /* recent changes remembered per session */
#define SMT_MODEL_MAX_ROWS 2000000u  /* a hostile server cannot make the table grow without bound */
#define SMT_MODEL_MAX_PROPS 256u     /* properties kept per session (server limit: 64 user + fixed) */
#define SMT_MODEL_MAX_KEYS 4096u     /* distinct keys tracked for the column chooser */

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
#define SMT_COL_STATE "(state)"
/* The same state as a pseudo-property the view filter knows (monitor-only: the server has no
 * such property, so changes sent by filter refuse it). Values ACTIVE, DISCONNECTED, CLOSED. */
#define SMT_PSEUDO_STATE "$State"
/* Virtual column: how long ago the session opened (now - $StartTime), e.g. 42s, 12m, 3h05m. */
#define SMT_COL_AGE "(age)"

/* One property; key and value are interned strings of the model's pool. */
typedef struct smt_rprop {
    const char *key;
    const char *value;
} smt_rprop;

/* One remembered change; old_value/new_value NULL mean absent (added / deleted). */
typedef struct smt_change {
    const char *key;
    const char *old_value;
    const char *new_value;
    uint64_t time;
} smt_change;

typedef struct smt_row {
    struct smt_row *hnext;        /* hash chain */
    struct smt_row *dnext;        /* dirty list (view work pending) */
    struct smt_row *cprev, *cnext; /* closing list, oldest first */
    const char *id;              /* interned session ID */
    uint32_t idhash;
    smt_rprop *props;             /* sorted by key (byte order) */
    uint32_t nprops, capprops;
    sm_remote_state state;
    sm_reason reason;
    uint64_t t_new;              /* opened live (0 for snapshot rows) */
    uint64_t t_changed;          /* last property change */
    uint64_t t_state;            /* last state change */
    uint64_t t_closed;           /* CLOSED at (fade starts) */
    smt_change *hist;             /* ring of SMT_MODEL_HISTORY, allocated on first change */
    uint8_t hist_head, hist_len;
    bool dirty;                  /* on the dirty list */
    bool dead;                   /* removed from the table; freed once the view lets go */
    bool stale;                  /* resync in progress and not yet confirmed by the snapshot */
    bool closing;                /* on the closing list */
    bool tagged;                 /* tagged by the user (Space) for close and bulk update */
    void *vnode;                 /* the view's node for this row (owned by the view) */
} smt_row;

typedef struct smt_keystat {
    const char *key; /* interned */
    size_t count;    /* live rows that have the key */
} smt_keystat;

typedef struct smt_model smt_model;

smt_model *smt_model_new(void);
void smt_model_free(smt_model *m);
sm_intern *smt_model_pool(smt_model *m);

/* Applies one listener event at time now (monotonic ms). Bad input (no session ID, too many
 * rows) returns an error status and changes nothing. */
int smt_model_apply(smt_model *m, const smt_event *ev, uint64_t now, sm_error *err);

/* Resync after a reconnect: begin marks every row stale (and drops closing rows); snapshot
 * OPEN events confirm rows; end removes the rows nobody confirmed. Returns the count removed. */
void smt_model_resync_begin(smt_model *m, uint64_t now);
size_t smt_model_resync_end(smt_model *m, uint64_t now);
bool smt_model_resyncing(const smt_model *m);

/* Retires closed rows whose fade is over. Returns the ms until the next row retires or a mark
 * expires (for the caller's poll timeout), or -1 when nothing is pending. */
int64_t smt_model_tick(smt_model *m, uint64_t now);

/* Rows in the table (closing rows included, dead rows not), open sessions (ACTIVE or
 * DISCONNECTED), DISCONNECTED sessions. */
size_t smt_model_rows(const smt_model *m);
size_t smt_model_open_count(const smt_model *m);
size_t smt_model_disconnected_count(const smt_model *m);

smt_row *smt_model_find(const smt_model *m, const char *id);
/* Calls fn for every row in the table (not dead). */
void smt_model_foreach(smt_model *m, void (*fn)(smt_row *row, void *ctx), void *ctx);

/* The dirty list: rows changed (or dead) since the last take, each once, in the order they were
 * first touched. The caller processes them and must call smt_model_release on dead rows. */
smt_row *smt_model_take_dirty(smt_model *m);
size_t smt_model_dirty_count(const smt_model *m);
void smt_model_release(smt_model *m, smt_row *row);

/* Keys seen, in first-seen order, with the number of rows holding each. */
size_t smt_model_key_count(const smt_model *m);
const smt_keystat *smt_model_key_at(const smt_model *m, size_t i);

/* Live events per second over the last few seconds (snapshot events are not activity). */
double smt_model_event_rate(const smt_model *m, uint64_t now);
uint64_t smt_model_event_total(const smt_model *m);

/* Row accessors. smt_row_get returns the interned value or NULL; $SessionId falls back to the
 * row's ID when the server did not send it. */
const char *smt_row_get(const smt_row *row, const char *key);
bool smt_row_is_new(const smt_row *row, uint64_t now);
bool smt_row_key_recent(const smt_row *row, const char *key, uint64_t now);
/* Copies up to max recent changes, newest first; returns how many. */
size_t smt_row_history(const smt_row *row, smt_change *out, size_t max);
/* The state as the table shows it: ACTIVE, DISCONNECTED, CLOSED. */
const char *smt_row_state_name(const smt_row *row);
/* 0..1: how far a closed row has faded (0 = just closed). */
double smt_row_fade(const smt_row *row, uint64_t now);

#endif
