/* Session property sets (string -> string), key/value validation, fixed property names and limits. */
#ifndef SM_CORE_PROPS_H
#define SM_CORE_PROPS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Limits from FILTERS.md. */
#define SM_KEY_MAX 128     /* bytes in a user property key */
#define SM_VALUE_MAX 4096  /* bytes in a property value */
#define SM_FILTER_MAX 4096 /* bytes in a filter expression */
#define SM_FILTER_DEPTH_MAX 64

/* Fixed property names (set by the server; all start with '$'). */
#define SM_PROP_SESSION_ID "$SessionId"
#define SM_PROP_PRINCIPAL "$Principal"
#define SM_PROP_ROLES "$Roles"
#define SM_PROP_CLIENT_TYPE "$ClientType"
#define SM_PROP_TRANSPORT "$Transport"
#define SM_PROP_SERVER_NAME "$ServerName"
#define SM_PROP_CONNECTOR "$Connector"
#define SM_PROP_CLIENT_IP "$ClientIP"
#define SM_PROP_COUNTRY "$Country"
#define SM_PROP_LANGUAGE "$Language"
#define SM_PROP_LATITUDE "$Latitude"
#define SM_PROP_LONGITUDE "$Longitude"
#define SM_PROP_START_TIME "$StartTime"
#define SM_PROP_ENVIRONMENT "$Environment"

/* Property selectors usable in place of keys in "which properties" lists. */
#define SM_SELECT_ALL_FIXED "*F"
#define SM_SELECT_ALL_USER "*U"

/* The fixed properties every session carries, in canonical (display) order. */
extern const char *const sm_fixed_property_names[];
extern const size_t sm_fixed_property_count;

/* True for a key starting with '$'. */
bool sm_key_is_fixed(const char *key);
/* True for one of the fixed names above. */
bool sm_key_is_known_fixed(const char *key);
/* True for the fixed properties a controlling session may set: $Country, $Language, $Latitude, $Longitude. */
bool sm_key_is_settable_fixed(const char *key);

/* Validates a user property key: 1..SM_KEY_MAX bytes, valid UTF-8, not starting with '$', no
 * whitespace, quotes, parentheses, brackets, braces or commas. Returns SM_OK or SM_ERR_INVALID. */
int sm_validate_user_key(const char *key, size_t len, sm_error *err);
/* Validates a value: valid UTF-8 without NUL, at most SM_VALUE_MAX bytes. */
int sm_validate_value(const char *value, size_t len, sm_error *err);

/* Normalises a value being set on a settable fixed property into out (NUL-terminated, at most
 * outcap bytes): $Country upper-case, $Language lower-case, $Latitude/$Longitude "NaN" when not a
 * finite number. Other keys are copied unchanged. Returns SM_OK or SM_ERR_LIMIT. */
int sm_normalise_fixed_value(const char *key, const char *value, char *out, size_t outcap);

/* A property set: keys unique, kept sorted (byte order) for binary search. A NULL value is
 * meaningful in some uses (a "delete" in a set request, an "added" marker in a changed map). */
typedef struct sm_prop {
    char *key;
    char *value; /* may be NULL */
} sm_prop;

typedef struct sm_props {
    sm_prop *items;
    size_t count;
    size_t cap;
} sm_props;

void sm_props_init(sm_props *p);
void sm_props_free(sm_props *p);
void sm_props_clear(sm_props *p);
/* Inserts or replaces key with a copy of value (value may be NULL). SM_OK or SM_ERR_NOMEM. */
int sm_props_set(sm_props *p, const char *key, const char *value);
/* Returns the entry for key, or NULL when absent. */
const sm_prop *sm_props_find(const sm_props *p, const char *key);
/* Returns the value for key, or NULL when absent or null. */
const char *sm_props_get(const sm_props *p, const char *key);
/* Removes key; returns true when it was present. */
bool sm_props_remove(sm_props *p, const char *key);
/* Deep copy. */
int sm_props_copy(sm_props *dst, const sm_props *src);

/* Adapter for sm_filter_eval: ctx is a const sm_props *. */
const char *sm_props_lookup(void *ctx, const char *key);

#endif
