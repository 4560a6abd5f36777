/* Session property sets (string -> string), key/value validation, fixed property names and limits. */
#include "core/props.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sorted.h"
#include "core/unicode.h"
#include "core/utf8.h"

const char *const sm_fixed_property_names[] = {
    SM_PROP_SESSION_ID, SM_PROP_PRINCIPAL,   SM_PROP_ROLES,    SM_PROP_CLIENT_TYPE, SM_PROP_TRANSPORT,
    SM_PROP_SERVER_NAME, SM_PROP_CONNECTOR,  SM_PROP_CLIENT_IP, SM_PROP_COUNTRY,    SM_PROP_LANGUAGE,
    SM_PROP_LATITUDE,   SM_PROP_LONGITUDE,   SM_PROP_START_TIME, SM_PROP_ENVIRONMENT,
};
const size_t sm_fixed_property_count = sizeof sm_fixed_property_names / sizeof sm_fixed_property_names[0];

bool sm_key_is_fixed(const char *key)
{
    return key && key[0] == '$';
}

bool sm_key_is_known_fixed(const char *key)
{
    if (!sm_key_is_fixed(key))
        return false;
    for (size_t i = 0; i < sm_fixed_property_count; i++)
        if (strcmp(key, sm_fixed_property_names[i]) == 0)
            return true;
    return false;
}

bool sm_key_is_settable_fixed(const char *key)
{
    return key && (strcmp(key, SM_PROP_COUNTRY) == 0 || strcmp(key, SM_PROP_LANGUAGE) == 0 ||
                   strcmp(key, SM_PROP_LATITUDE) == 0 || strcmp(key, SM_PROP_LONGITUDE) == 0);
}

/* ASCII that would end a bare key in a filter (docs/filters.md § Keys). */
static bool key_char_forbidden(unsigned char c)
{
    return c == '"' || c == '\'' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',';
}

/* Code points a key must not hold: any whitespace (a filter could not name the key, and two keys
 * could look the same), controls, and format characters (invisible: zero-width characters, soft
 * hyphen, BOM; bidi controls that reorder how the key and the text after it are shown). */
static const char *key_codepoint_problem(uint32_t cp)
{
    if (sm_unicode_is_white_space(cp))
        return "whitespace";
    if (sm_unicode_is_control(cp))
        return "a control character";
    if (sm_unicode_is_bidi_control(cp))
        return "a bidirectional control";
    if (sm_unicode_is_format(cp))
        return "an invisible format character";
    if (cp < 0x80 && key_char_forbidden((unsigned char)cp))
        return "a quote, parenthesis, bracket, brace or comma";
    return NULL;
}

int sm_validate_user_key(const char *key, size_t len, sm_error *err)
{
    if (!key || len == 0)
        return sm_error_set(err, SM_ERR_INVALID, "property key is empty");
    if (len > SM_KEY_MAX)
        return sm_error_set(err, SM_ERR_INVALID, "property key is %zu bytes; the limit is %d", len, SM_KEY_MAX);
    if (key[0] == '$')
        return sm_error_set(err, SM_ERR_INVALID, "user property keys must not start with '$'");
    if (!sm_utf8_valid(key, len))
        return sm_error_set(err, SM_ERR_INVALID, "property key is not valid UTF-8");
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = sm_utf8_decode(key + i, len - i, &cp);
        if (n == 0)
            return sm_error_set(err, SM_ERR_INVALID, "property key is not valid UTF-8");
        const char *problem = key_codepoint_problem(cp);
        if (problem)
            return sm_error_set(err, SM_ERR_INVALID,
                                "property key contains %s (U+%04X) at byte %zu; keys hold no whitespace, control or "
                                "format characters, quotes, parentheses, brackets, braces or commas",
                                problem, (unsigned)cp, i + 1);
        i += n;
    }
    return SM_OK;
}

int sm_validate_value(const char *value, size_t len, sm_error *err)
{
    if (!value)
        return sm_error_set(err, SM_ERR_INVALID, "property value is missing");
    if (len > SM_VALUE_MAX)
        return sm_error_set(err, SM_ERR_INVALID, "property value is %zu bytes; the limit is %d", len, SM_VALUE_MAX);
    if (!sm_utf8_valid(value, len))
        return sm_error_set(err, SM_ERR_INVALID, "property value is not valid UTF-8 (or contains a NUL byte)");
    return SM_OK;
}

static bool parse_finite_number(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v))
        return false;
    /* strtod also accepts hex floats, "inf" and "nan"; only plain decimal text is a number here. */
    for (const char *p = s; *p; p++)
        if (!(isdigit((unsigned char)*p) || *p == '.' || *p == '-' || *p == '+' || *p == 'e' || *p == 'E'))
            return false;
    *out = v;
    return true;
}

int sm_normalise_fixed_value(const char *key, const char *value, char *out, size_t outcap)
{
    size_t len = strlen(value);
    if (len + 1 > outcap)
        return SM_ERR_LIMIT;
    if (strcmp(key, SM_PROP_COUNTRY) == 0 || strcmp(key, SM_PROP_LANGUAGE) == 0) {
        bool upper = key[1] == 'C';
        for (size_t i = 0; i <= len; i++) {
            unsigned char c = (unsigned char)value[i];
            /* ASCII-only case mapping: country and language codes are ASCII; other bytes pass through. */
            out[i] = (char)(upper ? (c >= 'a' && c <= 'z' ? c - 32 : c) : (c >= 'A' && c <= 'Z' ? c + 32 : c));
        }
        return SM_OK;
    }
    if (strcmp(key, SM_PROP_LATITUDE) == 0 || strcmp(key, SM_PROP_LONGITUDE) == 0) {
        double v;
        if (!parse_finite_number(value, &v)) {
            if (outcap < 4)
                return SM_ERR_LIMIT;
            memcpy(out, "NaN", 4);
            return SM_OK;
        }
    }
    memcpy(out, value, len + 1);
    return SM_OK;
}

void sm_props_init(sm_props *p)
{
    p->items = NULL;
    p->count = 0;
    p->cap = 0;
}

void sm_props_clear(sm_props *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->items[i].key);
        free(p->items[i].value);
    }
    p->count = 0;
}

void sm_props_free(sm_props *p)
{
    sm_props_clear(p);
    free(p->items);
    sm_props_init(p);
}

_Static_assert(offsetof(sm_prop, key) == 0, "sm_sorted_search reads the key as the first member");

static size_t props_search(const sm_props *p, const char *key, bool *found)
{
    return sm_sorted_search(p->items, p->count, sizeof *p->items, key, found);
}

int sm_props_set(sm_props *p, const char *key, const char *value)
{
    bool found;
    size_t at = props_search(p, key, &found);
    char *v = NULL;
    if (value && !(v = strdup(value)))
        return SM_ERR_NOMEM;
    if (found) {
        free(p->items[at].value);
        p->items[at].value = v;
        return SM_OK;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return SM_ERR_NOMEM;
    }
    if (p->count == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 8;
        sm_prop *n = realloc(p->items, ncap * sizeof *n);
        if (!n) {
            free(k);
            free(v);
            return SM_ERR_NOMEM;
        }
        p->items = n;
        p->cap = ncap;
    }
    memmove(&p->items[at + 1], &p->items[at], (p->count - at) * sizeof *p->items);
    p->items[at].key = k;
    p->items[at].value = v;
    p->count++;
    return SM_OK;
}

const sm_prop *sm_props_find(const sm_props *p, const char *key)
{
    bool found;
    size_t at = props_search(p, key, &found);
    return found ? &p->items[at] : NULL;
}

const char *sm_props_get(const sm_props *p, const char *key)
{
    const sm_prop *e = sm_props_find(p, key);
    return e ? e->value : NULL;
}

bool sm_props_remove(sm_props *p, const char *key)
{
    bool found;
    size_t at = props_search(p, key, &found);
    if (!found)
        return false;
    free(p->items[at].key);
    free(p->items[at].value);
    memmove(&p->items[at], &p->items[at + 1], (p->count - at - 1) * sizeof *p->items);
    p->count--;
    return true;
}

int sm_props_copy(sm_props *dst, const sm_props *src)
{
    sm_props_init(dst);
    for (size_t i = 0; i < src->count; i++) {
        if (sm_props_set(dst, src->items[i].key, src->items[i].value) != SM_OK) {
            sm_props_free(dst);
            return SM_ERR_NOMEM;
        }
    }
    return SM_OK;
}

const char *sm_props_lookup(void *ctx, const char *key)
{
    return sm_props_get((const sm_props *)ctx, key);
}
