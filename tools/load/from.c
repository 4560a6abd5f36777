/* sessmon-load --from: reads and validates the NDJSON file describing the sessions to open. */
#include "tools/load/from.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/props.h"
#include "core/utf8.h"

#define PRINCIPAL_MAX 128
#define PASSWORD_MAX 1024
#define ENVIRONMENT_MAX 256
#define SPECS_MAX 1000000u

static const char *const client_types[] = {"ANDROID", "C",    "DOTNET", "IOS",   "JAVA",
                                           "JAVASCRIPT_BROWSER", "MQTT", "PYTHON", "REST", "OTHER"};

void sm_load_spec_free(sm_load_spec *spec)
{
    free(spec->principal);
    if (spec->password) {
        volatile char *p = spec->password;
        while (*p)
            *p++ = 0;
        free(spec->password);
    }
    for (size_t i = 0; i < spec->prop_count; i++) {
        free((char *)spec->props[i].key);
        free((char *)spec->props[i].value);
    }
    free(spec->props);
    free(spec->client_type);
    free(spec->environment);
    memset(spec, 0, sizeof *spec);
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* A string member, copied; max bytes; control characters refused when strict. */
static int take_string(const cJSON *v, unsigned line, const char *field, size_t max, bool strict, char **out,
                       sm_error *err)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return sm_error_set(err, SM_ERR_INVALID, "line %u: \"%s\" must be a string", line, field);
    size_t len = strlen(v->valuestring);
    if (len > max)
        return sm_error_set(err, SM_ERR_INVALID, "line %u: \"%s\" is longer than %zu bytes", line, field, max);
    if (strict && has_control(v->valuestring))
        return sm_error_set(err, SM_ERR_INVALID, "line %u: \"%s\" contains control characters", line, field);
    if (!(*out = strdup(v->valuestring)))
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    return SM_OK;
}

static int take_properties(const cJSON *obj, unsigned line, sm_load_spec *spec, sm_error *err)
{
    if (!cJSON_IsObject(obj))
        return sm_error_set(err, SM_ERR_INVALID, "line %u: \"properties\" must be an object of strings", line);
    size_t n = 0;
    for (const cJSON *it = obj->child; it; it = it->next)
        n++;
    if (n > SM_LOAD_FROM_MAX_PROPS)
        return sm_error_set(err, SM_ERR_INVALID, "line %u: more than %u properties", line, SM_LOAD_FROM_MAX_PROPS);
    spec->props = calloc(n ? n : 1, sizeof *spec->props);
    if (!spec->props)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    for (const cJSON *it = obj->child; it; it = it->next) {
        sm_error kerr;
        sm_error_clear(&kerr);
        if (sm_validate_user_key(it->string, strlen(it->string), &kerr) != SM_OK)
            return sm_error_set(err, SM_ERR_INVALID, "line %u: property key: %s", line, kerr.message);
        for (const cJSON *o = obj->child; o != it; o = o->next)
            if (strcmp(o->string, it->string) == 0)
                return sm_error_set(err, SM_ERR_INVALID, "line %u: property '%.64s' appears twice", line, it->string);
        if (!cJSON_IsString(it) || !it->valuestring)
            return sm_error_set(err, SM_ERR_INVALID, "line %u: property '%.64s' must have a string value", line,
                                it->string);
        if (sm_validate_value(it->valuestring, strlen(it->valuestring), &kerr) != SM_OK)
            return sm_error_set(err, SM_ERR_INVALID, "line %u: property '%.64s': %s", line, it->string,
                                kerr.message);
        char *k = strdup(it->string), *v = strdup(it->valuestring);
        if (!k || !v) {
            free(k);
            free(v);
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        spec->props[spec->prop_count++] = (sm_property){k, v};
    }
    return SM_OK;
}

static int parse_object(const cJSON *root, unsigned line, sm_load_spec *spec, sm_error *err)
{
    if (!cJSON_IsObject(root))
        return sm_error_set(err, SM_ERR_INVALID, "line %u: expected a JSON object", line);
    static const char *const fields[] = {"principal", "password", "properties", "clientType", "environment",
                                         "source"};
    for (const cJSON *it = root->child; it; it = it->next) {
        bool known = false;
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            known = known || strcmp(it->string, fields[i]) == 0;
        if (!known)
            return sm_error_set(err, SM_ERR_INVALID,
                                "line %u: unknown field '%.64s' (expected principal, password, properties, "
                                "clientType, environment, source)",
                                line, it->string);
        for (const cJSON *o = root->child; o != it; o = o->next)
            if (strcmp(o->string, it->string) == 0)
                return sm_error_set(err, SM_ERR_INVALID, "line %u: field '%.64s' appears twice", line, it->string);
    }
    int rc = SM_OK;
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "principal")))
        rc = take_string(v, line, "principal", PRINCIPAL_MAX, true, &spec->principal, err);
    else if (!(spec->principal = strdup("")))
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "password")))
        rc = take_string(v, line, "password", PASSWORD_MAX, false, &spec->password, err);
    if (rc == SM_OK && spec->principal[0] && !spec->password)
        rc = sm_error_set(err, SM_ERR_INVALID, "line %u: principal '%.64s' needs a \"password\"", line,
                          spec->principal);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "properties")))
        rc = take_properties(v, line, spec, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "clientType"))) {
        rc = take_string(v, line, "clientType", 32, true, &spec->client_type, err);
        bool known = false;
        for (size_t i = 0; rc == SM_OK && i < sizeof client_types / sizeof client_types[0]; i++)
            known = known || strcmp(spec->client_type, client_types[i]) == 0;
        if (rc == SM_OK && !known)
            rc = sm_error_set(err, SM_ERR_INVALID,
                              "line %u: \"clientType\" must be one of ANDROID C DOTNET IOS JAVA JAVASCRIPT_BROWSER "
                              "MQTT PYTHON REST OTHER",
                              line);
    }
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "environment")))
        rc = take_string(v, line, "environment", ENVIRONMENT_MAX, true, &spec->environment, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "source"))) {
        uint32_t ip;
        if (!cJSON_IsString(v) || sm_load_parse_loopback(v->valuestring, &ip) != SM_OK)
            rc = sm_error_set(err, SM_ERR_INVALID, "line %u: \"source\" must be an address in 127.0.0.0/8", line);
        else
            sm_load_format_ip(ip, spec->source);
    }
    return rc;
}

int sm_load_spec_parse(const char *text, size_t len, unsigned line, sm_load_spec *spec, sm_error *err)
{
    memset(spec, 0, sizeof *spec);
    spec->line = line;
    if (len > SM_LOAD_FROM_LINE_MAX)
        return sm_error_set(err, SM_ERR_INVALID, "line %u: longer than %u bytes", line, SM_LOAD_FROM_LINE_MAX);
    if (!sm_utf8_valid(text, len))
        return sm_error_set(err, SM_ERR_INVALID, "line %u: not valid UTF-8", line);
    /* cJSON would turn \u0000 into a NUL that silently cuts the string short. */
    if (memmem(text, len, "\\u0000", 6))
        return sm_error_set(err, SM_ERR_INVALID, "line %u: \\u0000 is not allowed", line);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t col = end && end >= text ? (size_t)(end - text) + 1 : 1;
        return sm_error_set(err, SM_ERR_INVALID, "line %u: invalid JSON near column %zu", line, col);
    }
    for (const char *p = end; p && p < text + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r') {
            cJSON_Delete(root);
            return sm_error_set(err, SM_ERR_INVALID, "line %u: text after the JSON object", line);
        }
    }
    int rc = parse_object(root, line, spec, err);
    cJSON_Delete(root);
    if (rc != SM_OK)
        sm_load_spec_free(spec);
    return rc;
}

void sm_load_specs_free(sm_load_specs *s)
{
    for (size_t i = 0; i < s->count; i++)
        sm_load_spec_free(&s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

int sm_load_specs_read(FILE *f, sm_load_specs *out, sm_error *err)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    char *buf = malloc(SM_LOAD_FROM_LINE_MAX + 2);
    if (!buf)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    unsigned line = 0;
    int rc = SM_OK;
    for (;;) {
        size_t len = 0;
        int ch = EOF;
        bool too_long = false;
        /* Reads one line by hand so an endless line costs at most the limit in memory. */
        while ((ch = getc(f)) != EOF && ch != '\n') {
            if (len <= SM_LOAD_FROM_LINE_MAX)
                buf[len++] = (char)ch;
            else
                too_long = true;
        }
        if (ch == EOF && len == 0 && !too_long)
            break;
        line++;
        if (too_long || len > SM_LOAD_FROM_LINE_MAX) {
            rc = sm_error_set(err, SM_ERR_INVALID, "line %u: longer than %u bytes", line, SM_LOAD_FROM_LINE_MAX);
            break;
        }
        if (blank(buf, len))
            continue;
        if (out->count >= SPECS_MAX) {
            rc = sm_error_set(err, SM_ERR_LIMIT, "line %u: more than %u sessions", line, SPECS_MAX);
            break;
        }
        if (out->count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            sm_load_spec *n = realloc(out->items, ncap * sizeof *n);
            if (!n) {
                rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
                break;
            }
            out->items = n;
            cap = ncap;
        }
        if ((rc = sm_load_spec_parse(buf, len, line, &out->items[out->count], err)) != SM_OK)
            break;
        out->count++;
        if (ch == EOF)
            break;
    }
    if (rc == SM_OK && ferror(f))
        rc = sm_error_set(err, SM_ERR_IO, "read error after line %u", line);
    free(buf);
    if (rc != SM_OK)
        sm_load_specs_free(out);
    return rc;
}

int sm_load_specs_load(const char *path, sm_load_specs *out, sm_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return sm_error_set(err, SM_ERR_IO, "cannot open %.200s: %s", path, strerror(errno));
    int rc = sm_load_specs_read(f, out, err);
    if (f != stdin)
        fclose(f);
    return rc;
}
