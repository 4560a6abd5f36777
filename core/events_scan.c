/* A strict, tree-less reader of `events` messages as sm_events_* encode them, for relaying events unchanged. */
#include "core/events_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

#define LISTENER_DIGITS_MAX 16 /* the encoder's integers stay below 2^53 */

typedef struct cursor {
    const char *p, *end;
} cursor;

static bool lit(cursor *c, const char *s, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}
#define LIT(c, s) lit((c), (s), sizeof(s) - 1)

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Reads a quoted string and appends it unescaped and NUL-terminated to s->text, which was
 * reserved for the whole message beforehand: a string and its NUL never need more bytes than
 * its quoted form, so this cannot write past it. NULL when it is not what the encoder writes. */
static const char *string(sm_events_scanner *s, cursor *c)
{
    if (c->p >= c->end || *c->p != '"')
        return NULL;
    c->p++;
    char *out = s->text + s->text_len, *o = out;
    unsigned char high = 0; /* any byte >= 0x80: only then is the UTF-8 check needed */
    while (c->p < c->end) {
        /* Runs of plain bytes are copied at once: most strings have no escape at all. */
        const char *run = c->p;
        unsigned char ch = 0;
        while (c->p < c->end && (ch = (unsigned char)*c->p) >= 0x20 && ch != '"' && ch != '\\') {
            high |= ch;
            c->p++;
        }
        memcpy(o, run, (size_t)(c->p - run));
        o += c->p - run;
        if (c->p >= c->end || ch < 0x20)
            return NULL;
        c->p++;
        if (ch == '"') {
            *o = '\0';
            size_t n = (size_t)(o - out);
            if ((high & 0x80) && !sm_utf8_valid(out, n))
                return NULL;
            s->text_len += n + 1;
            return out;
        }
        if (c->p >= c->end)
            return NULL;
        switch (*c->p++) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            /* The encoder writes \u00XX for control bytes only; "\u0000" would cut the string. */
            if (c->end - c->p < 4 || c->p[0] != '0' || c->p[1] != '0')
                return NULL;
            int hi = hex_digit(c->p[2]), lo = hex_digit(c->p[3]);
            if (hi < 0 || lo < 0 || hi * 16 + lo == 0 || hi * 16 + lo >= 0x80)
                return NULL;
            *o++ = (char)(hi * 16 + lo);
            c->p += 4;
            break;
        }
        default:
            return NULL;
        }
    }
    return NULL;
}

/* A quoted enum name; 0 (every enum's NONE) when absent or unknown. */
static int name(sm_events_scanner *s, cursor *c, int (*lookup)(const char *))
{
    size_t mark = s->text_len;
    const char *t = string(s, c);
    int v = t ? lookup(t) : 0;
    s->text_len = mark; /* names are not kept */
    return v;
}

static int event_type_of(const char *t)
{
    return (int)sm_event_type_from_name(t);
}

static int state_of(const char *t)
{
    return (int)sm_state_from_name(t);
}

static int reason_of(const char *t)
{
    return (int)sm_close_reason_from_name(t);
}

/* Whether no key appears twice (the strict decoder refuses such a map, so a client would too). */
static int keys_unique(const sm_kv *kv, size_t n)
{
    const char *dup;
    int rc = sm_kv_find_duplicate(kv, n, &dup);
    return rc != SM_OK ? rc : dup ? SM_ERR_INVALID : SM_OK;
}

static int grow(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return SM_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*items, ncap * size);
    if (!n)
        return SM_ERR_NOMEM;
    *items = n;
    *cap = ncap;
    return SM_OK;
}

/* {"key":"value",...} (values may be null when nulls): its pairs go to s->kv from *at. */
static int map(sm_events_scanner *s, cursor *c, bool nulls, size_t *at, size_t *count)
{
    *at = s->kv_len;
    *count = 0;
    if (!LIT(c, "{"))
        return SM_ERR_INVALID;
    if (LIT(c, "}"))
        return SM_OK;
    for (;;) {
        if (grow((void **)&s->kv, &s->kv_cap, s->kv_len + 1, sizeof *s->kv) != SM_OK)
            return SM_ERR_NOMEM;
        const char *key = string(s, c), *value = NULL;
        if (!key || !LIT(c, ":"))
            return SM_ERR_INVALID;
        if (!(nulls && LIT(c, "null")) && !(value = string(s, c)))
            return SM_ERR_INVALID;
        s->kv[s->kv_len++] = (sm_kv){key, value};
        if (LIT(c, "}"))
            break;
        if (!LIT(c, ","))
            return SM_ERR_INVALID;
    }
    *count = s->kv_len - *at;
    return keys_unique(s->kv + *at, *count);
}

/* {"event":..,"session":..,"state":..[,"reason":..][,"snapshot":true][,"properties":{..}][,"changed":{..}]} */
static int event(sm_events_scanner *s, cursor *c, sm_scanned_event *se)
{
    memset(se, 0, sizeof *se);
    sm_event *ev = &se->ev;
    se->json = c->p;
    if (!LIT(c, "{\"event\":") || !(ev->type = (sm_event_type)name(s, c, event_type_of)) ||
        !LIT(c, ",\"session\":") || !(ev->session_id = string(s, c)) || !LIT(c, ",\"state\":") ||
        !(ev->state = (sm_session_state)name(s, c, state_of)))
        return SM_ERR_INVALID;
    if (ev->type == SM_EVENT_CLOSED &&
        (!LIT(c, ",\"reason\":") || !(ev->reason = (sm_close_reason)name(s, c, reason_of))))
        return SM_ERR_INVALID;
    ev->snapshot = LIT(c, ",\"snapshot\":true");
    int rc;
    if (LIT(c, ",\"properties\":") &&
        (rc = map(s, c, false, &se->props_at, &ev->properties.count)) != SM_OK)
        return rc;
    if (LIT(c, ",\"changed\":")) {
        if ((rc = map(s, c, true, &se->changed_at, &ev->changed.count)) != SM_OK)
            return rc;
        ev->has_changed = true;
    }
    if (!LIT(c, "}"))
        return SM_ERR_INVALID;
    se->len = (size_t)(c->p - se->json);
    return SM_OK;
}

static int scan(sm_events_scanner *s, cursor *c)
{
    if (!LIT(c, "{\"type\":\"events\",\"listener\":"))
        return SM_ERR_INVALID;
    LIT(c, "-");
    size_t digits = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && digits <= LISTENER_DIGITS_MAX) {
        c->p++;
        digits++;
    }
    if (!digits || digits > LISTENER_DIGITS_MAX || !LIT(c, ",\"events\":["))
        return SM_ERR_INVALID;
    if (!LIT(c, "]")) {
        for (;;) {
            int rc = grow((void **)&s->events, &s->events_cap, s->count + 1, sizeof *s->events);
            if (rc != SM_OK || (rc = event(s, c, &s->events[s->count])) != SM_OK)
                return rc;
            s->count++;
            if (LIT(c, "]"))
                break;
            if (!LIT(c, ","))
                return SM_ERR_INVALID;
        }
    }
    if (!LIT(c, "}") || c->p != c->end)
        return SM_ERR_INVALID;
    /* s->kv may have moved while it grew: the events' pairs are pointed to only now. */
    for (size_t i = 0; i < s->count; i++) {
        sm_event *ev = &s->events[i].ev;
        ev->properties.items = ev->properties.count ? s->kv + s->events[i].props_at : NULL;
        ev->changed.items = ev->changed.count ? s->kv + s->events[i].changed_at : NULL;
    }
    return SM_OK;
}

int sm_events_scan(sm_events_scanner *s, const char *json, size_t len, sm_error *err)
{
    s->text_len = s->kv_len = s->count = 0;
    if (!json || len >= SIZE_MAX / 2)
        return sm_error_set(err, SM_ERR_INVALID, "not an events message");
    if (len + 1 > s->text_cap) {
        char *t = realloc(s->text, len + 1);
        if (!t)
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        s->text = t;
        s->text_cap = len + 1;
    }
    cursor c = {json, json + len};
    int rc = scan(s, &c);
    if (rc != SM_OK) {
        s->count = 0;
        if (rc == SM_ERR_NOMEM)
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        return sm_error_set(err, SM_ERR_INVALID, "not an events message as the encoder writes it (at byte %zu)",
                            (size_t)(c.p - json));
    }
    return SM_OK;
}

void sm_events_scanner_trim(sm_events_scanner *s, size_t keep_bytes)
{
    if (s->text_cap > keep_bytes) {
        free(s->text);
        s->text = NULL;
        s->text_cap = 0;
    }
    if (s->kv_cap * sizeof *s->kv > keep_bytes) {
        free(s->kv);
        s->kv = NULL;
        s->kv_cap = 0;
    }
    if (s->events_cap * sizeof *s->events > keep_bytes) {
        free(s->events);
        s->events = NULL;
        s->events_cap = 0;
    }
    s->text_len = s->kv_len = s->count = 0;
}

void sm_events_scanner_free(sm_events_scanner *s)
{
    free(s->text);
    free(s->kv);
    free(s->events);
    memset(s, 0, sizeof *s);
}
