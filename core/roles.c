/* $Roles values: parsing quoted role lists into sorted sets and formatting the canonical form. */
#include "core/roles.h"

#include <stdlib.h>
#include <string.h>

#include "core/sorted.h"

void sm_roles_init(sm_roles *r)
{
    r->names = NULL;
    r->count = 0;
    r->cap = 0;
}

void sm_roles_free(sm_roles *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->names[i]);
    free(r->names);
    sm_roles_init(r);
}

static size_t roles_search(const sm_roles *r, const char *name, bool *found)
{
    return sm_sorted_search(r->names, r->count, sizeof *r->names, name, found);
}

int sm_roles_add(sm_roles *r, const char *name)
{
    bool found;
    size_t at = roles_search(r, name, &found);
    if (found)
        return SM_OK;
    if (r->count == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 4;
        char **n = realloc(r->names, ncap * sizeof *n);
        if (!n)
            return SM_ERR_NOMEM;
        r->names = n;
        r->cap = ncap;
    }
    char *copy = strdup(name);
    if (!copy)
        return SM_ERR_NOMEM;
    memmove(&r->names[at + 1], &r->names[at], (r->count - at) * sizeof *r->names);
    r->names[at] = copy;
    r->count++;
    return SM_OK;
}

bool sm_roles_contains(const sm_roles *r, const char *name)
{
    bool found;
    roles_search(r, name, &found);
    return found;
}

bool sm_roles_contains_all(const sm_roles *r, const sm_roles *sub)
{
    for (size_t i = 0; i < sub->count; i++)
        if (!sm_roles_contains(r, sub->names[i]))
            return false;
    return true;
}

bool sm_roles_equal(const sm_roles *a, const sm_roles *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->names[i], b->names[i]) != 0)
            return false;
    return true;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int sm_roles_parse(const char *text, size_t len, sm_roles *out, sm_error *err)
{
    sm_roles_init(out);
    char *buf = malloc(len + 1);
    if (!buf)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    size_t i = 0;
    bool need_separator = false;
    int rc = SM_OK;
    while (i < len) {
        char c = text[i];
        if (is_blank(c)) {
            i++;
            need_separator = false;
            continue;
        }
        if (c == ',') {
            i++;
            need_separator = false;
            continue;
        }
        if (c != '"' && c != '\'') {
            rc = sm_error_set(err, SM_ERR_INVALID, "roles error at column %zu: expected a quoted role name", i + 1);
            if (err)
                err->column = i + 1;
            goto fail;
        }
        if (need_separator) {
            rc = sm_error_set(err, SM_ERR_INVALID, "roles error at column %zu: expected a comma or space between roles",
                              i + 1);
            if (err)
                err->column = i + 1;
            goto fail;
        }
        char quote = c;
        size_t start = i++;
        size_t n = 0;
        bool closed = false;
        while (i < len) {
            char d = text[i];
            if (d == '\\') {
                if (i + 1 >= len || (text[i + 1] != '"' && text[i + 1] != '\'' && text[i + 1] != '\\')) {
                    rc = sm_error_set(err, SM_ERR_INVALID,
                                      "roles error at column %zu: a backslash may only escape ' \" or \\", i + 1);
                    if (err)
                        err->column = i + 1;
                    goto fail;
                }
                buf[n++] = text[i + 1];
                i += 2;
                continue;
            }
            if (d == quote) {
                closed = true;
                i++;
                break;
            }
            buf[n++] = d;
            i++;
        }
        if (!closed) {
            rc = sm_error_set(err, SM_ERR_INVALID, "roles error at column %zu: unterminated quoted role name", start + 1);
            if (err)
                err->column = start + 1;
            goto fail;
        }
        buf[n] = '\0';
        if (sm_roles_add(out, buf) != SM_OK) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            goto fail;
        }
        need_separator = true;
    }
    free(buf);
    return SM_OK;
fail:
    free(buf);
    sm_roles_free(out);
    return rc;
}

char *sm_roles_format(const sm_roles *r)
{
    size_t size = 1;
    for (size_t i = 0; i < r->count; i++)
        size += 2 * strlen(r->names[i]) + 3; /* worst case: every byte escaped, quotes, comma */
    char *out = malloc(size);
    if (!out)
        return NULL;
    char *p = out;
    for (size_t i = 0; i < r->count; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *s = r->names[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *p = '\0';
    return out;
}
