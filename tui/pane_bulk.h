/* The bulk update pane's state (for tests; the dispatcher knows it only by its ops). */
#ifndef SMT_PANE_BULK_H
#define SMT_PANE_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/filter.h"
#include "tui/bulk_eval.h"
#include "tui/lineedit.h"
#include "tui/listnav.h"
#include "tui/pane.h"

#define SMT_BULK_CONFIRM_TYPED 5 /* above this many sessions the count must be typed */
#define SMT_BULK_UNDO_INFLIGHT 32

/* One previous value to restore: session, key, old value (NULL = delete). */
typedef struct smt_bulk_undo_item {
    const char *session; /* interned (held) */
    const char *key;     /* interned (held) */
    const char *value;   /* interned (held) or NULL */
    const char *applied; /* what the update set: interned (held), NULL = deleted */
} smt_bulk_undo_item;

typedef struct smt_bulk_pane {
    smt_app *app;
    smt_line filter;
    sm_filter *parsed; /* NULL while the text does not parse */
    sm_error error;
    smt_bulk_entry entries[SMT_BULK_MAX_ENTRIES];
    int nentries;
    smt_list nav; /* over the entries */
    /* local evaluation, refreshed when the filter changes and about once a second */
    bool recount;
    uint64_t counted_at;
    smt_bulk_count count;
    smt_list preview_nav; /* a viewport over the preview */
    bool shown;           /* on screen at the last tick (it recounts only then) */
    int preview_hscroll; /* first map entry shown as a preview column */
    /* the update in flight and its outcome */
    bool pending;
    uint64_t token;
    size_t sent_local;
    char result[320];
    bool result_error;
    /* undo */
    smt_bulk_undo_item *undo;
    size_t nundo;
    size_t undo_sessions;
    bool undo_running;
    size_t undo_next; /* next item to send */
    size_t undo_inflight, undo_done, undo_failed;
    uint64_t undo_tokens[SMT_BULK_UNDO_INFLIGHT];
    /* the snapshot taken when an update is sent; it becomes the undo once the server accepts */
    smt_bulk_undo_item *pending_undo;
    size_t pending_nundo, pending_sessions;
} smt_bulk_pane;

#endif
