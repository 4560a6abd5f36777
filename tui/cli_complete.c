/* sessmon __complete: the words only sessmon knows (its themes, a server's session IDs and property
 * keys), one a line, for the shell completion scripts; bounded in time, never prompting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "tui/app.h"
#include "tui/cli.h"
#include "tui/theme.h"
#include "tui/services.h"

bool smt_cli_plain_word(const char *w)
{
    size_t n = strlen(w);
    if (n == 0 || n > SMT_COMPLETE_MAX_WORD_BYTES)
        return false;
    for (const unsigned char *p = (const unsigned char *)w; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* A session ID worth putting in a filter: the characters server IDs are made of. */
static bool id_like(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.' || *p == ':'))
            return false;
    return true;
}

static int complete_themes(const char *prefix)
{
    char names[SMT_UI_MAX_THEMES][SMT_THEME_NAME_MAX];
    size_t n = smt_theme_list(names, SMT_UI_MAX_THEMES);
    size_t plen = prefix ? strlen(prefix) : 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(names[i], prefix ? prefix : "", plen) == 0)
            printf("%s\n", names[i]);
    return SMT_EXIT_OK;
}

int smt_cli_complete(cli *c)
{
    const char *what = c->positional_count ? c->positional[0] : "";
    const char *arg = c->positional_count > 1 ? c->positional[1] : NULL;
    if (c->positional_count > 2)
        return smt_cli_usage_error("__complete takes one word after '%s'", smt_cli_arg_safe(what));
    if (strcmp(what, "themes") == 0)
        return complete_themes(arg);

    static const char *const every_key[] = {"*F", "*U"};
    char filter[160];
    if (strcmp(what, "ids") == 0) {
        c->complete = SMT_COMPLETE_IDS;
    } else if (strcmp(what, "keys") == 0) {
        c->complete = SMT_COMPLETE_KEYS;
        c->keys = malloc(sizeof every_key);
        if (!c->keys)
            return SMT_EXIT_FAILURE;
        memcpy(c->keys, every_key, sizeof every_key);
        c->key_count = 2;
        if (arg && id_like(arg)) {
            snprintf(filter, sizeof filter, "$SessionId is '%s'", arg);
            c->filter = filter;
        }
    } else {
        return smt_cli_usage_error("__complete completes themes, ids or keys, not '%s'", smt_cli_arg_safe(what));
    }
    c->deadline_ms = sm_mono_ms() + c->timeout_ms;
    return smt_cli_list(c);
}
