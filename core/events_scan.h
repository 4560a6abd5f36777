/* A strict, tree-less reader of `events` messages as sm_events_* encode them, for relaying events unchanged. */
#ifndef SM_EVENTS_SCAN_H
#define SM_EVENTS_SCAN_H

#include <stddef.h>

#include "core/error.h"
#include "core/protocol.h"

/* One event of a scanned message: its fields (strings unescaped, in the scanner's memory) and
 * its bytes as they arrived, which are the encoder's own encoding of ev and can be sent on as
 * they are. */
typedef struct sm_scanned_event {
    sm_event ev;
    const char *json;
    size_t len;
    size_t props_at, changed_at; /* where its pairs start in the scanner's kv (while scanning) */
} sm_scanned_event;

/* Buffers reused from one message to the next, so that reading a message allocates nothing
 * once they have grown to the usual size. */
typedef struct sm_events_scanner {
    char *text; /* unescaped strings, each NUL-terminated */
    size_t text_len, text_cap;
    sm_kv *kv;
    size_t kv_len, kv_cap;
    sm_scanned_event *events;
    size_t count, events_cap;
} sm_events_scanner;

/* Reads one `events` message of len bytes. It accepts only the encoder's exact form (no spaces,
 * fields in the encoder's order, escapes the encoder writes), and everything the strict decoder
 * checks (valid UTF-8, known enum names, reason exactly for CLOSED, no key twice in a map); any
 * other input is SM_ERR_INVALID with nothing read, so each accepted event's bytes are safe to
 * relay to a client. The results stay valid until the next scan or sm_events_scanner_free. */
int sm_events_scan(sm_events_scanner *s, const char *json, size_t len, sm_error *err);

/* Gives back buffers grown beyond keep_bytes by an unusually large message. */
void sm_events_scanner_trim(sm_events_scanner *s, size_t keep_bytes);
void sm_events_scanner_free(sm_events_scanner *s);

#endif
