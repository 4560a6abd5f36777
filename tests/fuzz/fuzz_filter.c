/* libFuzzer target: parses arbitrary bytes as a session filter, evaluates it against fixed sessions, frees it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/filter.h"
#include "core/props.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sm_props full, empty;

static void sessions_init(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    sm_props_init(&full);
    sm_props_init(&empty);
    static const char *const pairs[][2] = {
        {"$SessionId", "5f1c09a2-0000002a"},
        {"$Principal", "alice"},
        {"$Roles", "\"operator\",\"trading desk\",\"we\\\"ird\""},
        {"$ClientType", "C"},
        {"$Transport", "WEBSOCKET"},
        {"$Country", "FR"},
        {"$Language", "fr"},
        {"$Latitude", "48.85"},
        {"$Longitude", "NaN"},
        {"Department", "Accounts"},
        {"Status", "Closed"},
        {"Text", "xyz\"\\"},
        {"City", "Z\xc3\xbcrich"},
        {"all", "yes"},
        {"in", "x"},
        {"a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (sm_props_set(&full, pairs[i][0], pairs[i][1]) != SM_OK)
            __builtin_trap();
    if (sm_props_set(&empty, "$Roles", "") != SM_OK)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sessions_init();
    const char *text = (const char *)data;
    sm_filter *f = NULL;
    sm_error err;
    int rc = sm_filter_parse(text, size, &f, &err);
    if (rc != SM_OK) {
        /* Every refusal names a column inside the text (or just past it) and uses the documented prefix. */
        if (f != NULL || err.code != rc)
            __builtin_trap();
        if (rc != SM_ERR_NOMEM) {
            if ((rc != SM_ERR_INVALID && rc != SM_ERR_LIMIT) || err.column < 1 || err.column > size + 1 ||
                strncmp(err.message, "filter error at column ", 23) != 0)
                __builtin_trap();
        }
        return 0;
    }
    if (size > SM_FILTER_MAX || strlen(sm_filter_text(f)) != size || memcmp(sm_filter_text(f), text, size) != 0)
        __builtin_trap();
    bool a = sm_filter_eval(f, sm_props_lookup, &full);
    bool b = sm_filter_eval(f, sm_props_lookup, &empty);
    /* Evaluation is a pure function of the session. */
    if (a != sm_filter_eval(f, sm_props_lookup, &full) || b != sm_filter_eval(f, sm_props_lookup, &empty))
        __builtin_trap();
    for (size_t i = 0; i < sm_filter_key_count(f); i++)
        if (!sm_filter_uses_key(f, sm_filter_key(f, i)))
            __builtin_trap();
    sm_filter_free(f);
    return 0;
}
