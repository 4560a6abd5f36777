/* Test helpers: build listener events for the model without the wire codec. */
#ifndef SM_TEST_TUI_EVENTS_H
#define SM_TEST_TUI_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/protocol.h"

/* kv lists are NULL-key terminated arrays of {key, value}. */
static inline size_t test_kv_count(const sm_kv *kv)
{
    size_t n = 0;
    while (kv && kv[n].key)
        n++;
    return n;
}

static inline sm_event test_event(sm_event_type type, const char *id, sm_session_state st, sm_kv *props,
                                  sm_kv *changed, bool snapshot)
{
    sm_event ev = {0};
    ev.type = type;
    ev.session_id = id;
    ev.state = st;
    ev.properties.items = props;
    ev.properties.count = test_kv_count(props);
    ev.has_changed = changed != NULL;
    ev.changed.items = changed;
    ev.changed.count = test_kv_count(changed);
    ev.snapshot = snapshot;
    return ev;
}

#endif
