/* The session registry: sessions by ID (hash) and in open order, with their interned properties. */
#include "server/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/props.h"
#include "core/sorted.h"
#include "server/random.h"

enum { SHARED_TRANSPORT, SHARED_SERVER_NAME, SHARED_CONNECTOR, SHARED_EMPTY };

int smd_registry_init(smd_registry *r, sm_intern *strings, const char *server_name, const char *connector)
{
    memset(r, 0, sizeof *r);
    r->strings = strings;
    r->nbuckets = 1024;
    r->buckets = calloc(r->nbuckets, sizeof *r->buckets);
    r->shared[SHARED_TRANSPORT] = sm_intern_cstr(strings, "WEBSOCKET");
    r->shared[SHARED_SERVER_NAME] = sm_intern_cstr(strings, server_name);
    r->shared[SHARED_CONNECTOR] = sm_intern_cstr(strings, connector);
    r->shared[SHARED_EMPTY] = sm_intern_cstr(strings, "");
    for (int i = 0; i < 4; i++)
        if (!r->shared[i])
            return SM_ERR_NOMEM;
    if (!r->buckets)
        return SM_ERR_NOMEM;
    if (smd_random_bytes(&r->id_prefix, sizeof r->id_prefix) != SM_OK)
        return SM_ERR_IO;
    r->next_seq = 1;
    return SM_OK;
}

void smd_registry_free(smd_registry *r)
{
    smd_session *s = r->head;
    while (s) {
        smd_session *n = s->next;
        smd_session_free(r, s);
        s = n;
    }
    for (int i = 0; i < 4; i++)
        sm_intern_unref(r->strings, r->shared[i]);
    free(r->buckets);
    memset(r, 0, sizeof *r);
}

smd_session *smd_session_new(smd_registry *r)
{
    smd_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    for (int i = 0; i < SMD_FIX_COUNT; i++)
        s->fixed[i] = sm_intern_ref(r->shared[SHARED_EMPTY]);
    s->seq = r->next_seq++;
    /* The token is the only secret that allows a resume: never weaker than the kernel's CSPRNG. */
    if (smd_random_bytes(s->token, sizeof s->token) != SM_OK) {
        smd_session_free(r, s);
        return NULL;
    }
    snprintf(s->id, sizeof s->id, "%08x-%08x", r->id_prefix, r->id_counter++);
    s->start_ms = sm_wall_ms();
    snprintf(s->start_text, sizeof s->start_text, "%lld", (long long)s->start_ms);
    s->state = SM_STATE_ACTIVE;
    return s;
}

void smd_session_free(smd_registry *r, smd_session *s)
{
    if (!s)
        return;
    for (int i = 0; i < SMD_FIX_COUNT; i++)
        sm_intern_unref(r->strings, s->fixed[i]);
    for (size_t i = 0; i < s->ucount; i++) {
        sm_intern_unref(r->strings, s->uprops[i].key);
        sm_intern_unref(r->strings, s->uprops[i].value);
    }
    free(s->uprops);
    free(s);
}

static void maybe_grow(smd_registry *r)
{
    if (r->count < r->nbuckets)
        return;
    size_t nb = r->nbuckets * 2;
    smd_session **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < r->nbuckets; i++) {
        smd_session *s = r->buckets[i];
        while (s) {
            smd_session *n = s->hnext;
            size_t at = sm_hash_str(s->id) & (nb - 1);
            s->hnext = b[at];
            b[at] = s;
            s = n;
        }
    }
    free(r->buckets);
    r->buckets = b;
    r->nbuckets = nb;
}

void smd_registry_add(smd_registry *r, smd_session *s)
{
    size_t at = sm_hash_str(s->id) & (r->nbuckets - 1);
    s->hnext = r->buckets[at];
    r->buckets[at] = s;
    s->prev = r->tail;
    s->next = NULL;
    if (r->tail)
        r->tail->next = s;
    else
        r->head = s;
    r->tail = s;
    r->count++;
    maybe_grow(r);
}

void smd_registry_remove(smd_registry *r, smd_session *s)
{
    for (smd_cursor *c = r->cursors; c; c = c->cnext)
        if (c->at == s)
            c->at = s->next;
    smd_session **pp = &r->buckets[sm_hash_str(s->id) & (r->nbuckets - 1)];
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = s->hnext;
    if (s->prev)
        s->prev->next = s->next;
    else
        r->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        r->tail = s->prev;
    s->prev = s->next = s->hnext = NULL;
    r->count--;
}

smd_session *smd_registry_find(const smd_registry *r, const char *id)
{
    if (!id || strlen(id) != SMD_SESSION_ID_LEN)
        return NULL;
    for (smd_session *s = r->buckets[sm_hash_str(id) & (r->nbuckets - 1)]; s; s = s->hnext)
        if (memcmp(s->id, id, SMD_SESSION_ID_LEN) == 0)
            return s;
    return NULL;
}

void smd_cursor_attach(smd_registry *r, smd_cursor *c, smd_session *at)
{
    c->at = at;
    c->cprev = NULL;
    c->cnext = r->cursors;
    if (r->cursors)
        r->cursors->cprev = c;
    r->cursors = c;
}

void smd_cursor_detach(smd_registry *r, smd_cursor *c)
{
    if (c->cprev)
        c->cprev->cnext = c->cnext;
    else if (r->cursors == c)
        r->cursors = c->cnext;
    if (c->cnext)
        c->cnext->cprev = c->cprev;
    c->cprev = c->cnext = NULL;
    c->at = NULL;
}

int smd_session_set_fixed(smd_registry *r, smd_session *s, smd_fixed_slot slot, const char *value, size_t len)
{
    const char *v = value ? sm_intern_str(r->strings, value, len) : sm_intern_ref(r->shared[SHARED_EMPTY]);
    if (!v)
        return SM_ERR_NOMEM;
    sm_intern_unref(r->strings, s->fixed[slot]);
    s->fixed[slot] = v;
    return SM_OK;
}

int smd_fixed_slot_of(const char *key)
{
    static const struct {
        const char *name;
        smd_fixed_slot slot;
    } map[] = {
        {SM_PROP_PRINCIPAL, SMD_FIX_PRINCIPAL},     {SM_PROP_ROLES, SMD_FIX_ROLES},
        {SM_PROP_CLIENT_TYPE, SMD_FIX_CLIENT_TYPE}, {SM_PROP_ENVIRONMENT, SMD_FIX_ENVIRONMENT},
        {SM_PROP_CLIENT_IP, SMD_FIX_CLIENT_IP},     {SM_PROP_COUNTRY, SMD_FIX_COUNTRY},
        {SM_PROP_LANGUAGE, SMD_FIX_LANGUAGE},       {SM_PROP_LATITUDE, SMD_FIX_LATITUDE},
        {SM_PROP_LONGITUDE, SMD_FIX_LONGITUDE},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(key, map[i].name) == 0)
            return (int)map[i].slot;
    return -1;
}

const char *smd_session_fixed_value(const smd_registry *r, const smd_session *s, const char *key)
{
    /* Dispatch on the second character first: this runs for every filter clause on every session. */
    switch (key[1]) {
    case 'S':
        if (strcmp(key, SM_PROP_SESSION_ID) == 0)
            return s->id;
        if (strcmp(key, SM_PROP_SERVER_NAME) == 0)
            return r->shared[SHARED_SERVER_NAME];
        if (strcmp(key, SM_PROP_START_TIME) == 0)
            return s->start_text;
        return NULL;
    case 'P':
        return strcmp(key, SM_PROP_PRINCIPAL) == 0 ? s->fixed[SMD_FIX_PRINCIPAL] : NULL;
    case 'R':
        return strcmp(key, SM_PROP_ROLES) == 0 ? s->fixed[SMD_FIX_ROLES] : NULL;
    case 'T':
        return strcmp(key, SM_PROP_TRANSPORT) == 0 ? r->shared[SHARED_TRANSPORT] : NULL;
    case 'E':
        return strcmp(key, SM_PROP_ENVIRONMENT) == 0 ? s->fixed[SMD_FIX_ENVIRONMENT] : NULL;
    case 'C':
        if (strcmp(key, SM_PROP_COUNTRY) == 0)
            return s->fixed[SMD_FIX_COUNTRY];
        if (strcmp(key, SM_PROP_CLIENT_IP) == 0)
            return s->fixed[SMD_FIX_CLIENT_IP];
        if (strcmp(key, SM_PROP_CLIENT_TYPE) == 0)
            return s->fixed[SMD_FIX_CLIENT_TYPE];
        if (strcmp(key, SM_PROP_CONNECTOR) == 0)
            return r->shared[SHARED_CONNECTOR];
        return NULL;
    case 'L':
        if (strcmp(key, SM_PROP_LANGUAGE) == 0)
            return s->fixed[SMD_FIX_LANGUAGE];
        if (strcmp(key, SM_PROP_LATITUDE) == 0)
            return s->fixed[SMD_FIX_LATITUDE];
        if (strcmp(key, SM_PROP_LONGITUDE) == 0)
            return s->fixed[SMD_FIX_LONGITUDE];
        return NULL;
    default:
        return NULL;
    }
}

_Static_assert(offsetof(smd_uprop, key) == 0, "sm_sorted_search reads the key as the first member");

static size_t uprop_search(const smd_session *s, const char *key, bool *found)
{
    return sm_sorted_search(s->uprops, s->ucount, sizeof *s->uprops, key, found);
}

const char *smd_session_user_value(const smd_session *s, const char *key)
{
    bool found;
    size_t at = uprop_search(s, key, &found);
    return found ? s->uprops[at].value : NULL;
}

const char *smd_session_lookup(void *ctx, const char *key)
{
    const smd_lookup *l = ctx;
    for (size_t i = 0; i < l->nbefore; i++)
        if (strcmp(l->before[i].key, key) == 0)
            return l->before[i].old_value;
    if (key[0] == '$')
        return smd_session_fixed_value(l->r, l->s, key);
    return smd_session_user_value(l->s, key);
}

int smd_session_set_user(smd_registry *r, smd_session *s, const char *key, const char *value, bool *changed,
                        const char **key_out, const char **old)
{
    *changed = false;
    *key_out = NULL;
    *old = NULL;
    bool found;
    size_t at = uprop_search(s, key, &found);
    if (!value) {
        if (!found)
            return SM_OK;
        *changed = true;
        *key_out = s->uprops[at].key;
        *old = s->uprops[at].value;
        memmove(&s->uprops[at], &s->uprops[at + 1], (s->ucount - at - 1) * sizeof *s->uprops);
        s->ucount--;
        if (s->ucount == 0) {
            free(s->uprops);
            s->uprops = NULL;
            s->ucap = 0;
        }
        return SM_OK;
    }
    if (found && strcmp(s->uprops[at].value, value) == 0)
        return SM_OK;
    const char *v = sm_intern_cstr(r->strings, value);
    if (!v)
        return SM_ERR_NOMEM;
    if (found) {
        *changed = true;
        *key_out = sm_intern_ref(s->uprops[at].key);
        *old = s->uprops[at].value;
        s->uprops[at].value = v;
        return SM_OK;
    }
    if (s->ucount == UINT16_MAX) {
        sm_intern_unref(r->strings, v);
        return SM_ERR_LIMIT;
    }
    if (s->ucount == s->ucap) {
        size_t ncap = s->ucap ? (size_t)s->ucap * 2 : 4;
        if (ncap > UINT16_MAX)
            ncap = UINT16_MAX;
        smd_uprop *n = realloc(s->uprops, ncap * sizeof *n);
        if (!n) {
            sm_intern_unref(r->strings, v);
            return SM_ERR_NOMEM;
        }
        s->uprops = n;
        s->ucap = (uint16_t)ncap;
    }
    const char *k = sm_intern_cstr(r->strings, key);
    if (!k) {
        sm_intern_unref(r->strings, v);
        return SM_ERR_NOMEM;
    }
    memmove(&s->uprops[at + 1], &s->uprops[at], (s->ucount - at) * sizeof *s->uprops);
    s->uprops[at].key = k;
    s->uprops[at].value = v;
    s->ucount++;
    if (s->ucount > r->ucount_high)
        r->ucount_high = s->ucount;
    *changed = true;
    *key_out = sm_intern_ref(k);
    *old = NULL;
    return SM_OK;
}

void smd_token_hex(const uint8_t token[SMD_TOKEN_BYTES], char out[2 * SMD_TOKEN_BYTES + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < SMD_TOKEN_BYTES; i++) {
        out[2 * i] = hex[token[i] >> 4];
        out[2 * i + 1] = hex[token[i] & 15];
    }
    out[2 * SMD_TOKEN_BYTES] = '\0';
}

bool smd_token_matches(const smd_session *s, const char *hex)
{
    if (!hex || strlen(hex) != 2 * SMD_TOKEN_BYTES)
        return false;
    unsigned diff = 0;
    for (int i = 0; i < SMD_TOKEN_BYTES; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                d = (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                d = (unsigned)(c - 'A' + 10);
            else
                return false;
            v = v << 4 | d;
        }
        diff |= v ^ s->token[i];
    }
    return diff == 0;
}
