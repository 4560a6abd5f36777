/* The sessmon subcommands' session (connect, disconnect) and the one-shot requests: get, set, close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/app.h"
#include "tui/cli.h"
#include "tui/cli_out.h"

/* ---- Connection ---- */

static void on_session_open(sm_session *s, const sm_session_info *info, void *context)
{
    (void)s;
    (void)info;
    cli *c = context;
    c->opened = true;
    c->connect_done = 1;
}

static void on_session_close(sm_session *s, sm_reason reason, const sm_client_error *err, void *context)
{
    (void)s;
    (void)reason;
    cli *c = context;
    c->closed = true;
    c->close_error = *err;
    c->done = 1;
    c->connect_done = 1;
}

static bool starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if ((*s | 0x20) != (*prefix | 0x20))
            return false;
    return true;
}

/* Connects and waits for the session to open. Returns an exit code. */
int smt_cli_connect(cli *c, sm_session_params *sp)
{
    sm_client_error err = {0, ""};
    sm_client_params cp = {
        .max_sessions = 1, .ca_file = c->common.ca_file, .no_tls = !starts_with_ci(c->common.url, "wss://")};
    c->client = sm_client_new(&cp, &err);
    if (!c->client)
        return smt_cli_fail("cannot start the client", &err);
    sp->url = c->common.url;
    sp->principal = c->common.principal;
    sp->password = c->common.principal[0] ? c->password : NULL;
    sp->client_type = "C";
    sp->environment = "sessmon-cli";
    sp->allow_self_signed = c->insecure;
    sp->connect_timeout_ms = smt_cli_wait_ms(c, c->timeout_ms, 1);
    sp->on_open = on_session_open;
    sp->on_close = on_session_close;
    sp->context = c;
    c->session = sm_session_open(c->client, sp, &err);
    if (!c->session)
        return err.code == SM_CLIENT_ERR_INVALID_ARGUMENT ? smt_cli_usage_error("%s", smt_cli_arg_safe(err.message))
                                                          : smt_cli_fail("cannot open a session", &err);
    sm_client_run_until(c->client, &c->connect_done, smt_cli_wait_ms(c, c->timeout_ms, 1));
    if (c->closed)
        return smt_cli_fail("cannot open a session", &c->close_error);
    if (!c->opened) {
        sm_client_error t = {SM_CLIENT_ERR_TIMEOUT, ""};
        snprintf(t.message, sizeof t.message, "no session within %d ms", c->timeout_ms);
        return smt_cli_fail("cannot open a session", &t);
    }
    return SMT_EXIT_OK;
}

/* get, set, close and list do their work once: a lost connection is an error, not a reason to reconnect. */
int smt_cli_connect_once(cli *c)
{
    sm_session_params sp = {0};
    sp.no_reconnect = true;
    return smt_cli_connect(c, &sp);
}

/* The result of set or close by filter. */
void smt_cli_print_count(const cli *c, uint64_t count, const char *verb)
{
    if (c->json)
        printf("{\"count\":%llu}\n", (unsigned long long)count);
    else
        printf("%llu session%s %s\n", (unsigned long long)count, count == 1 ? "" : "s", verb);
}

/* Closes our own session cleanly (so the server does not keep it DISCONNECTED), then frees. */
void smt_cli_disconnect(cli *c)
{
    if (c->session && !c->closed && sm_session_close(c->session, NULL) == SM_CLIENT_OK) {
        c->done = 0;
        sm_client_run_until(c->client, &c->done, smt_cli_wait_ms(c, 2000, 100));
    }
    sm_client_free(c->client);
    c->client = NULL;
    c->session = NULL;
}

/* ---- One-shot requests ---- */

typedef struct reply_wait {
    volatile int done;
    sm_client_error error;
    bool failed;
    sm_property *props; /* deep copies */
    size_t prop_count;
    uint64_t count;
} reply_wait;

static void on_reply(sm_session *s, const sm_reply *r, void *context)
{
    (void)s;
    reply_wait *w = context;
    w->done = 1;
    if (r->error) {
        w->failed = true;
        w->error = *r->error;
        return;
    }
    w->count = r->count;
    if (r->property_count) {
        w->props = calloc(r->property_count, sizeof *w->props);
        if (!w->props) {
            w->failed = true;
            w->error.code = SM_CLIENT_ERR_NOMEM;
            snprintf(w->error.message, sizeof w->error.message, "out of memory");
            return;
        }
        for (size_t i = 0; i < r->property_count; i++) {
            char *key = strdup(r->properties[i].key);
            char *value = r->properties[i].value ? strdup(r->properties[i].value) : NULL;
            if (!key || (r->properties[i].value && !value)) {
                free(key);
                free(value);
                w->failed = true;
                w->error.code = SM_CLIENT_ERR_NOMEM;
                snprintf(w->error.message, sizeof w->error.message, "out of memory");
                return; /* the copies made so far are freed by free_reply */
            }
            w->props[i].key = key;
            w->props[i].value = value;
            w->prop_count = i + 1;
        }
    }
}

static void free_reply(reply_wait *w)
{
    for (size_t i = 0; i < w->prop_count; i++) {
        free((char *)w->props[i].key);
        free((char *)w->props[i].value);
    }
    free(w->props);
}

/* Waits for the reply; returns an exit code (the error is printed). */
static int wait_reply(cli *c, reply_wait *w, const char *what)
{
    sm_client_run_until(c->client, &w->done, c->timeout_ms + 1000);
    if (!w->done) {
        sm_client_error t = {SM_CLIENT_ERR_TIMEOUT, "no reply in time"};
        return smt_cli_fail(what, &t);
    }
    if (w->failed) {
        /* A session that ended (e.g. closed by a controller) explains itself better. */
        if (w->error.code == SM_CLIENT_ERR_CLOSED && c->closed)
            return smt_cli_fail(what, &c->close_error);
        return smt_cli_fail(what, &w->error);
    }
    return SMT_EXIT_OK;
}

/* qsort that accepts an empty (NULL) array. */
void smt_cli_sort_any(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

int smt_cli_props_cmp(const void *a, const void *b)
{
    const sm_property *pa = a, *pb = b;
    return smt_cli_key_cmp(&pa->key, &pb->key);
}

int smt_cli_get(cli *c)
{
    if (c->positional_count < 1)
        return smt_cli_usage_error("get needs a session ID");
    const char *id = c->positional[0];
    int rc = smt_cli_connect_once(c);
    if (rc)
        return rc;
    reply_wait w;
    memset(&w, 0, sizeof w);
    sm_get_params p = {.session_id = id, .keys = c->positional + 1, .key_count = c->positional_count - 1,
                       .on_reply = on_reply, .context = &w, .timeout_ms = c->timeout_ms};
    sm_client_error err;
    if (sm_get_properties(c->session, &p, &err) != SM_CLIENT_OK)
        return smt_cli_fail("get", &err);
    rc = wait_reply(c, &w, "get");
    if (rc == SMT_EXIT_OK) {
        smt_cli_sort_any(w.props, w.prop_count, sizeof *w.props, smt_cli_props_cmp);
        if (c->json) {
            fputs("{\"session\":", stdout);
            smt_cli_json_string(stdout, id);
            fputs(",\"properties\":", stdout);
            smt_cli_json_props(stdout, w.props, w.prop_count);
            fputs("}\n", stdout);
        } else {
            smt_cli_table t;
            if (smt_cli_table_init(&t, 2) == 0) {
                const char *head[2] = {"KEY", "VALUE"};
                smt_cli_table_add(&t, head);
                for (size_t i = 0; i < w.prop_count; i++) {
                    const char *row[2] = {w.props[i].key, w.props[i].value};
                    smt_cli_table_add(&t, row);
                }
                smt_cli_table_print(&t, stdout);
                smt_cli_table_free(&t);
            }
        }
    }
    free_reply(&w);
    return rc;
}

static const char *new_value_of(const cli *c, const char *key)
{
    for (size_t i = 0; i < c->prop_count; i++)
        if (strcmp(c->props[i].key, key) == 0)
            return c->props[i].value;
    return NULL;
}

int smt_cli_set(cli *c)
{
    size_t first_pair = c->filter ? 0 : 1;
    if (!c->filter && c->positional_count < 1)
        return smt_cli_usage_error("set needs a session ID or --filter");
    for (size_t i = first_pair; i < c->positional_count; i++) {
        char *eq = strchr(c->positional[i], '=');
        if (!eq || eq == c->positional[i])
            return smt_cli_usage_error("expected KEY=VALUE, not '%s'", smt_cli_arg_safe(c->positional[i]));
        *eq = '\0';
        if (smt_cli_add_prop(c, c->positional[i], eq + 1) != 0)
            return smt_cli_usage_error("too many properties");
    }
    if (!c->prop_count)
        return smt_cli_usage_error("set needs at least one KEY=VALUE or --delete KEY");
    int rc = smt_cli_connect_once(c);
    if (rc)
        return rc;
    reply_wait w;
    memset(&w, 0, sizeof w);
    sm_client_error err;
    sm_client_errcode sent;
    if (c->filter) {
        sm_set_by_filter_params p = {.filter = c->filter, .properties = c->props, .property_count = c->prop_count,
                                     .on_reply = on_reply, .context = &w, .timeout_ms = c->timeout_ms};
        sent = sm_set_properties_by_filter(c->session, &p, &err);
    } else {
        sm_set_params p = {.session_id = c->positional[0], .properties = c->props, .property_count = c->prop_count,
                           .on_reply = on_reply, .context = &w, .timeout_ms = c->timeout_ms};
        sent = sm_set_properties(c->session, &p, &err);
    }
    if (sent != SM_CLIENT_OK)
        return smt_cli_fail("set", &err);
    rc = wait_reply(c, &w, "set");
    if (rc != SMT_EXIT_OK) {
        free_reply(&w);
        return rc;
    }
    if (c->filter) {
        smt_cli_print_count(c, w.count, "matched");
    } else if (c->json) {
        smt_cli_sort_any(w.props, w.prop_count, sizeof *w.props, smt_cli_props_cmp);
        fputs("{\"session\":", stdout);
        smt_cli_json_string(stdout, c->positional[0]);
        fputs(",\"changed\":", stdout);
        smt_cli_json_props(stdout, w.props, w.prop_count);
        fputs("}\n", stdout);
    } else if (!w.prop_count) {
        puts("no property changed");
    } else {
        smt_cli_sort_any(w.props, w.prop_count, sizeof *w.props, smt_cli_props_cmp);
        smt_cli_table t;
        if (smt_cli_table_init(&t, 3) == 0) {
            const char *head[3] = {"KEY", "OLD", "NEW"};
            smt_cli_table_add(&t, head);
            for (size_t i = 0; i < w.prop_count; i++) {
                const char *now = new_value_of(c, w.props[i].key);
                const char *row[3] = {w.props[i].key, w.props[i].value ? w.props[i].value : "(none)",
                                      now ? now : "(deleted)"};
                smt_cli_table_add(&t, row);
            }
            smt_cli_table_print(&t, stdout);
            smt_cli_table_free(&t);
        }
    }
    free_reply(&w);
    return SMT_EXIT_OK;
}

int smt_cli_close(cli *c)
{
    if (!c->filter && c->positional_count != 1)
        return smt_cli_usage_error("close needs one session ID or --filter");
    if (c->filter && c->positional_count)
        return smt_cli_usage_error("close takes a session ID or --filter, not both");
    int rc = smt_cli_connect_once(c);
    if (rc)
        return rc;
    reply_wait w;
    memset(&w, 0, sizeof w);
    sm_client_error err;
    sm_client_errcode sent;
    if (c->filter) {
        sm_close_by_filter_params p = {.filter = c->filter, .on_reply = on_reply, .context = &w,
                                       .timeout_ms = c->timeout_ms};
        sent = sm_close_by_filter(c->session, &p, &err);
    } else {
        sm_close_by_id_params p = {.session_id = c->positional[0], .on_reply = on_reply, .context = &w,
                                   .timeout_ms = c->timeout_ms};
        sent = sm_close_by_id(c->session, &p, &err);
    }
    if (sent != SM_CLIENT_OK)
        return smt_cli_fail("close", &err);
    rc = wait_reply(c, &w, "close");
    if (rc == SMT_EXIT_OK) {
        if (c->filter) {
            smt_cli_print_count(c, w.count, "closed");
        } else if (c->json) {
            fputs("{\"session\":", stdout);
            smt_cli_json_string(stdout, c->positional[0]);
            fputs(",\"closed\":true}\n", stdout);
        } else {
            char *id = smt_cli_escape(c->positional[0]);
            printf("closed %s\n", id ? id : "");
            free(id);
        }
    }
    free_reply(&w);
    return rc;
}

