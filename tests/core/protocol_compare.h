/* Field-by-field comparison of two sm_msg values, shared by the protocol unit tests and the fuzz target. */
#ifndef SM_TESTS_PROTOCOL_COMPARE_H
#define SM_TESTS_PROTOCOL_COMPARE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/protocol.h"

static inline bool sm_test_str_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static inline bool sm_test_kvs_equal(const sm_kvs *a, const sm_kvs *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (!sm_test_str_equal(a->items[i].key, b->items[i].key) ||
            !sm_test_str_equal(a->items[i].value, b->items[i].value))
            return false;
    return true;
}

static inline bool sm_test_strs_equal(const sm_strs *a, const sm_strs *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (!sm_test_str_equal(a->items[i], b->items[i]))
            return false;
    return true;
}

static inline bool sm_test_event_equal(const sm_event *a, const sm_event *b)
{
    return a->type == b->type && sm_test_str_equal(a->session_id, b->session_id) && a->state == b->state &&
           sm_test_kvs_equal(&a->properties, &b->properties) && a->has_changed == b->has_changed &&
           sm_test_kvs_equal(&a->changed, &b->changed) && a->reason == b->reason && a->snapshot == b->snapshot;
}

/* Compares every public field (the decoder leaves the fields a type does not use zeroed). On a
 * difference, names the first differing field in why and returns false. */
static inline bool sm_test_msg_equal(const sm_msg *a, const sm_msg *b, char *why, size_t cap)
{
#define SM_CMP(cond, name)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(why, cap, "field %s differs", name);                                          \
            return false;                                                                          \
        }                                                                                          \
    } while (0)
    SM_CMP(a->type == b->type, "type");
    SM_CMP(a->id == b->id, "id");
    SM_CMP(sm_test_str_equal(a->principal, b->principal), "principal");
    SM_CMP(sm_test_str_equal(a->password, b->password), "password");
    SM_CMP(sm_test_str_equal(a->client_type, b->client_type), "client_type");
    SM_CMP(sm_test_str_equal(a->environment, b->environment), "environment");
    SM_CMP(sm_test_str_equal(a->session_id, b->session_id), "session_id");
    SM_CMP(sm_test_str_equal(a->token, b->token), "token");
    SM_CMP(sm_test_kvs_equal(&a->properties, &b->properties), "properties");
    SM_CMP(sm_test_kvs_equal(&a->changed, &b->changed), "changed");
    SM_CMP(a->has_keys == b->has_keys, "has_keys");
    SM_CMP(sm_test_strs_equal(&a->keys, &b->keys), "keys");
    SM_CMP(sm_test_str_equal(a->filter, b->filter), "filter");
    SM_CMP(a->has_after == b->has_after, "has_after");
    SM_CMP(a->after == b->after, "after");
    SM_CMP(a->listener == b->listener, "listener");
    SM_CMP(a->op == b->op, "op");
    SM_CMP(a->count == b->count, "count");
    SM_CMP(a->time == b->time, "time");
    SM_CMP(a->seq == b->seq, "seq");
    SM_CMP(sm_test_str_equal(a->roles, b->roles), "roles");
    SM_CMP(a->permissions == b->permissions, "permissions");
    SM_CMP(sm_test_str_equal(a->server_name, b->server_name), "server_name");
    SM_CMP(a->resumed == b->resumed, "resumed");
    SM_CMP(a->reconnect_timeout == b->reconnect_timeout, "reconnect_timeout");
    SM_CMP(a->heartbeat_interval == b->heartbeat_interval, "heartbeat_interval");
    SM_CMP(a->max_message_bytes == b->max_message_bytes, "max_message_bytes");
    SM_CMP(a->audited == b->audited, "audited");
    SM_CMP(a->code == b->code, "code");
    SM_CMP(sm_test_str_equal(a->message, b->message), "message");
    SM_CMP(a->event_count == b->event_count, "event_count");
    for (size_t i = 0; i < a->event_count; i++) {
        if (!sm_test_event_equal(&a->events[i], &b->events[i])) {
            snprintf(why, cap, "event %zu differs", i);
            return false;
        }
    }
#undef SM_CMP
    return true;
}

#endif
