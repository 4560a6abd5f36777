/* Test helpers: build listener events for the model as the public API hands them over. */
#ifndef SM_TEST_TUI_EVENTS_H
#define SM_TEST_TUI_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "tui/model.h"

/* Property lists are NULL-key terminated arrays of {key, value}. */
static inline size_t test_kv_count(const sm_property *kv)
{
    size_t n = 0;
    while (kv && kv[n].key)
        n++;
    return n;
}

/* changed: the previous values of the keys an update changed (value NULL = added). */
static inline smt_event test_event(smt_event_kind kind, const char *id, sm_remote_state st, sm_property *props,
                                   sm_property *changed, bool snapshot)
{
    smt_event ev = {0};
    ev.kind = kind;
    ev.session.session_id = id;
    ev.session.state = st;
    ev.session.properties = props;
    ev.session.property_count = test_kv_count(props);
    ev.session.previous = changed;
    ev.session.previous_count = test_kv_count(changed);
    ev.session.snapshot = snapshot;
    return ev;
}

#endif
