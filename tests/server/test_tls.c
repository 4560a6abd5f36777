/* sessmond integration tests over wss:// (a throw-away certificate made at test time): handshake,
 * $Connector, fragments and closes through TLS on every transport shard, plain ws:// refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static sm_test_cert tc_cert; /* made at test time by the openssl command */

static int group_setup(void **state)
{
    (void)state;
    return sm_test_cert_make(&tc_cert);
}

static int group_teardown(void **state)
{
    (void)state;
    sm_test_cert_remove(&tc_cert);
    return 0;
}

/* Starts sessmond with tls (and extra "server" fields, e.g. a connector). */
static void start(sm_test_server *s, const char *server_fields)
{
    char overrides[1200];
    snprintf(overrides, sizeof overrides,
             "{\"tls\":{\"cert\":\"%s\",\"key\":\"%s\"},\"limits\":{\"maxMessageBytes\":8192}%s%s%s}", tc_cert.cert,
             tc_cert.key,
             server_fields ? ",\"server\":{" : "", server_fields ? server_fields : "", server_fields ? "}" : "");
    assert_int_equal(sm_test_server_start_with(s, overrides), 0);
}

static sm_ws_opts tls_opts(const sm_test_server *s)
{
    sm_ws_opts o = {.host = "127.0.0.1", .port = s->port, .tls = true};
    return o;
}

static void test_wss_session_and_default_connector(void **state)
{
    (void)state;
    sm_test_server s;
    start(&s, NULL);
    sm_ws_opts o = tls_opts(&s);
    tc admin, c;
    tc_open_opts(&admin, &o, "admin", "admin", NULL);
    tc_open_opts(&c, &o, "client", "client", "{\"Tier\":\"gold\"}");
    /* With tls and no server.connector, $Connector is "wss" (docs/config.md). */
    cJSON *r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"$Connector\",\"$Transport\",\"Tier\"]}",
                     c.session_id);
    assert_string_equal(tc_prop(r, "properties", "$Connector"), "wss");
    assert_string_equal(tc_prop(r, "properties", "$Transport"), "WEBSOCKET");
    assert_string_equal(tc_prop(r, "properties", "Tier"), "gold");
    cJSON_Delete(r);

    /* A listener's snapshot and live events arrive through TLS too. */
    r = tc_ok(&admin, "{\"type\":\"add_listener\",\"keys\":[\"Tier\"],\"filter\":\"has Tier\"}");
    long long l = tc_int(r, "listener");
    cJSON_Delete(r);
    long long n = 0;
    cJSON_Delete(tc_snapshot(&admin, l, &n));
    assert_int_equal(n, 1);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Tier\":\"silver\"}}",
                       c.session_id));
    cJSON *ev = tc_event(&admin, l, TC_TIMEOUT_MS);
    assert_non_null(ev);
    assert_string_equal(tc_str(ev, "event"), "PROPERTIES");
    assert_string_equal(tc_prop(ev, "properties", "Tier"), "silver");
    cJSON_Delete(ev);

    /* A message in three fragments (bigger than the server's receive buffer) is reassembled. */
    char body[3000];
    int len = snprintf(body, sizeof body, "{\"type\":\"get\",\"id\":77,\"sessionId\":\"%s\",\"keys\":[\"", c.session_id);
    memset(body + len, 'k', 100);
    len += 100;
    len += snprintf(body + len, sizeof body - (size_t)len, "\"],\"pad\":\"");
    memset(body + len, ' ', 1500);
    len += 1500;
    len += snprintf(body + len, sizeof body - (size_t)len, "\"}");
    assert_int_equal(sm_ws_send_frame(&admin.ws, SM_WS_OP_TEXT, false, body, 600), SM_WS_OK);
    assert_int_equal(sm_ws_send_frame(&admin.ws, SM_WS_OP_CONTINUATION, false, body + 600, 600), SM_WS_OK);
    assert_int_equal(sm_ws_send_frame(&admin.ws, SM_WS_OP_CONTINUATION, true, body + 1200, (size_t)len - 1200),
                     SM_WS_OK);
    r = tc_next(&admin, "reply", TC_TIMEOUT_MS);
    assert_non_null(r);
    assert_int_equal(tc_int(r, "id"), 77);
    cJSON_Delete(r);

    /* close_self: the close frame with its reason comes through TLS. */
    assert_int_equal(sm_ws_send_text(&c.ws, "{\"type\":\"close_self\",\"id\":1}"), SM_WS_OK);
    char reason[128];
    assert_int_equal(tc_wait_close(&c, reason, sizeof reason, TC_TIMEOUT_MS), 1000);
    assert_string_equal(reason, "CLOSED_BY_CLIENT");
    tc_close(&c);

    /* Over the inbound limit: 1009 through TLS as well. */
    char *big = malloc(10001);
    assert_non_null(big);
    memset(big, ' ', 10000);
    big[10000] = '\0';
    memcpy(big, "{\"type\":\"ping\",\"id\":1}", 22);
    assert_int_equal(sm_ws_send_text(&admin.ws, big), SM_WS_OK);
    free(big);
    assert_int_equal(tc_wait_close(&admin, reason, sizeof reason, TC_TIMEOUT_MS), 1009);
    assert_string_equal(reason, "MESSAGE_TOO_LARGE");
    tc_close(&admin);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

static void test_plain_ws_refused_on_tls_port(void **state)
{
    (void)state;
    sm_test_server s;
    start(&s, NULL);
    sm_ws ws;
    sm_ws_opts plain = {.host = "127.0.0.1", .port = s.port, .timeout_ms = 3000};
    assert_int_equal(sm_ws_connect(&ws, &plain), SM_WS_ERR);
    sm_ws_close(&ws);
    /* The server is unharmed: a wss client still gets in. */
    sm_ws_opts o = tls_opts(&s);
    tc c;
    tc_open_opts(&c, &o, NULL, NULL, NULL);
    cJSON_Delete(tc_ok(&c, "{\"type\":\"ping\"}"));
    tc_close(&c);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

/* An explicit connector is a name, used as given whatever tls says. */
static void test_explicit_connector_kept(void **state)
{
    (void)state;
    sm_test_server s;
    start(&s, "\"connector\":\"edge-public\"");
    sm_ws_opts o = tls_opts(&s);
    tc admin;
    tc_open_opts(&admin, &o, "admin", "admin", NULL);
    cJSON *r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"$Connector\"]}", admin.session_id);
    assert_string_equal(tc_prop(r, "properties", "$Connector"), "edge-public");
    cJSON_Delete(r);
    tc_close(&admin);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

/* sessmond spreads connections over up to 8 lws contexts, each with its own vhost and SSL_CTX,
 * a new connection going to the one with the fewest: 48 connections at once put six in each, so
 * every context does TLS handshakes, frames and closes; then the server stops cleanly. */
#define TLS_SPREAD 48
static void test_wss_on_every_transport_shard(void **state)
{
    (void)state;
    sm_test_server s;
    start(&s, NULL);
    sm_ws_opts o = tls_opts(&s);
    tc *cs = calloc(TLS_SPREAD, sizeof *cs);
    assert_non_null(cs);
    for (int i = 0; i < TLS_SPREAD; i++)
        tc_open_opts(&cs[i], &o, "client", "client", NULL);
    for (int i = 0; i < TLS_SPREAD; i++) {
        cJSON *r = tc_ok(&cs[i], "{\"type\":\"ping\"}");
        assert_non_null(r);
        cJSON_Delete(r);
    }
    /* Every other one closes; the freed places are taken again and everyone still answers. */
    for (int i = 0; i < TLS_SPREAD; i += 2)
        tc_close(&cs[i]);
    for (int i = 0; i < TLS_SPREAD; i += 2)
        tc_open_opts(&cs[i], &o, "client", "client", NULL);
    for (int i = 0; i < TLS_SPREAD; i++) {
        cJSON *r = tc_ok(&cs[i], "{\"type\":\"ping\"}");
        assert_non_null(r);
        cJSON_Delete(r);
    }
    /* Half stay open through the shutdown: each context closes its own. */
    for (int i = 0; i < TLS_SPREAD; i += 2)
        tc_close(&cs[i]);
    assert_int_equal(sm_test_server_stop(&s), 0);
    for (int i = 1; i < TLS_SPREAD; i += 2)
        tc_close(&cs[i]);
    free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wss_session_and_default_connector),
        cmocka_unit_test(test_plain_ws_refused_on_tls_port),
        cmocka_unit_test(test_explicit_connector_kept),
        cmocka_unit_test(test_wss_on_every_transport_shard),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
