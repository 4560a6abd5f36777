/* Unit tests of the tree-less events reader: the encoder's output read back exactly, and hostile input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/events_scan.h"
#include "core/protocol.h"

static const char SID[] = "0000000a-0000-0000-0000-000000000001";

/* The encoder's `events` message of n events, in out. */
static void encode(sm_buf *out, const sm_event *evs, size_t n)
{
    sm_buf_init(out, 0, 0);
    assert_int_equal(sm_events_begin(out, 7), SM_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sm_events_add(out, &evs[i], i == 0), SM_OK);
    assert_int_equal(sm_events_end(out), SM_OK);
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void assert_same_kvs(const sm_kvs *a, const sm_kvs *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        assert_string_equal(a->items[i].key, b->items[i].key);
        assert_true(same_str(a->items[i].value, b->items[i].value));
    }
}

static void assert_same_event(const sm_event *a, const sm_event *b)
{
    assert_int_equal(a->type, b->type);
    assert_string_equal(a->session_id, b->session_id);
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->snapshot, b->snapshot);
    assert_int_equal(a->has_changed, b->has_changed);
    if (a->type == SM_EVENT_CLOSED)
        assert_int_equal(a->reason, b->reason);
    assert_same_kvs(&a->properties, &b->properties);
    assert_same_kvs(&a->changed, &b->changed);
}

/* Whatever the reader accepts, the strict decoder accepts with the same content: so relaying the
 * accepted bytes never hands a client something it would refuse. */
static void assert_agrees_with_decoder(sm_events_scanner *s, const char *json, size_t len)
{
    sm_error err;
    if (sm_events_scan(s, json, len, &err) != SM_OK) {
        assert_int_equal(s->count, 0);
        assert_true(err.message[0] != '\0');
        return;
    }
    sm_msg m;
    if (sm_msg_decode(json, len, 0, &m, &err) != SM_OK)
        fail_msg("the reader accepted what the decoder refuses (%s): %.*s", err.message, (int)len, json);
    assert_int_equal(m.type, SM_MSG_EVENTS);
    assert_int_equal(m.event_count, s->count);
    for (size_t i = 0; i < s->count; i++) {
        assert_same_event(&s->events[i].ev, &m.events[i]);
        /* Each event's bytes alone are an event the decoder reads the same. */
        sm_buf one;
        sm_buf_init(&one, 0, 0);
        assert_int_equal(sm_events_begin(&one, 1), SM_OK);
        assert_int_equal(sm_buf_append(&one, s->events[i].json, s->events[i].len), SM_OK);
        assert_int_equal(sm_events_end(&one), SM_OK);
        sm_msg m1;
        assert_int_equal(sm_msg_decode(sm_buf_payload(&one), one.len, 0, &m1, &err), SM_OK);
        assert_int_equal(m1.event_count, 1);
        assert_same_event(&s->events[i].ev, &m1.events[0]);
        sm_msg_free(&m1);
        sm_buf_free(&one);
    }
    sm_msg_free(&m);
}

static sm_kv props_a[] = {{"T", "1733580000123.456"}, {"$ClientIP", "127.0.0.1"}, {"q\"uote\\d", "tab\there\x01\n"},
                          {"caf\xc3\xa9", "\xe2\x82\xac 5"}};
static sm_kv changed_a[] = {{"T", "1733580000122.000"}, {"Gone", NULL}};

static size_t sample(sm_event *evs)
{
    memset(evs, 0, 5 * sizeof *evs);
    evs[0] = (sm_event){.type = SM_EVENT_PROPERTIES, .session_id = SID, .state = SM_STATE_ACTIVE,
                        .properties = {props_a, 1}, .has_changed = true, .changed = {changed_a, 2}};
    evs[1] = (sm_event){.type = SM_EVENT_OPEN, .session_id = SID, .state = SM_STATE_ACTIVE, .snapshot = true,
                        .properties = {props_a, 4}};
    evs[2] = (sm_event){.type = SM_EVENT_CLOSED, .session_id = SID, .state = SM_STATE_CLOSED,
                        .reason = SM_CLOSE_CLOSED_BY_CLIENT};
    evs[3] = (sm_event){.type = SM_EVENT_FILTER_LEAVE, .session_id = SID, .state = SM_STATE_DISCONNECTED,
                        .has_changed = true, .changed = {changed_a, 1}};
    evs[4] = (sm_event){.type = SM_EVENT_FILTER_ENTER, .session_id = SID, .state = SM_STATE_ACTIVE,
                        .has_changed = true, .changed = {NULL, 0}};
    return 5;
}

static void test_reads_the_encoders_output(void **state)
{
    (void)state;
    sm_event evs[5];
    size_t n = sample(evs);
    sm_buf b;
    encode(&b, evs, n);
    sm_events_scanner s = {0};
    sm_error err;
    assert_int_equal(sm_events_scan(&s, sm_buf_payload(&b), b.len, &err), SM_OK);
    assert_int_equal(s.count, n);
    for (size_t i = 0; i < n; i++) {
        assert_same_event(&s.events[i].ev, &evs[i]);
        sm_buf one;
        sm_buf_init(&one, 0, 0);
        assert_int_equal(sm_events_add(&one, &evs[i], true), SM_OK);
        assert_int_equal(s.events[i].len, one.len);
        assert_memory_equal(s.events[i].json, sm_buf_payload(&one), one.len);
        sm_buf_free(&one);
    }
    assert_agrees_with_decoder(&s, sm_buf_payload(&b), b.len);
    /* No events at all, and the buffers reused for a second message. */
    sm_buf empty;
    encode(&empty, NULL, 0);
    assert_int_equal(sm_events_scan(&s, sm_buf_payload(&empty), empty.len, &err), SM_OK);
    assert_int_equal(s.count, 0);
    sm_events_scanner_trim(&s, 0);
    assert_null(s.text);
    assert_int_equal(sm_events_scan(&s, sm_buf_payload(&b), b.len, &err), SM_OK);
    assert_int_equal(s.count, n);
    sm_events_scanner_free(&s);
    sm_buf_free(&b);
    sm_buf_free(&empty);
}

/* Every truncation and every single-byte change of a valid message: refused, or read exactly as
 * the strict decoder reads it. Never a crash (the suite also runs under ASan). */
static void test_truncations_and_mutations(void **state)
{
    (void)state;
    sm_event evs[5];
    size_t n = sample(evs);
    sm_buf b;
    encode(&b, evs, n);
    const char *json = sm_buf_payload(&b);
    sm_events_scanner s = {0};
    sm_error err;
    for (size_t len = 0; len < b.len; len++) {
        char *copy = malloc(len ? len : 1); /* exactly len bytes: ASan sees any read past them */
        memcpy(copy, json, len);
        assert_int_not_equal(sm_events_scan(&s, copy, len, &err), SM_OK);
        free(copy);
    }
    static const unsigned char replacements[] = {0, ' ', '"', '\\', ',', ':', '{', '}', '[', ']', 'u', '0',
                                                 'n', 0x1f, 0x7f, 0x80, 0xc3, 0xff, 'A'};
    char *copy = malloc(b.len);
    for (size_t at = 0; at < b.len; at++)
        for (size_t r = 0; r < sizeof replacements; r++) {
            memcpy(copy, json, b.len);
            copy[at] = (char)replacements[r];
            assert_agrees_with_decoder(&s, copy, b.len);
        }
    free(copy);
    sm_events_scanner_free(&s);
    sm_buf_free(&b);
}

static void expect_refused(const char *json)
{
    sm_events_scanner s = {0};
    sm_error err;
    int rc = sm_events_scan(&s, json, strlen(json), &err);
    if (rc != SM_ERR_INVALID)
        fail_msg("accepted (%d): %s", rc, json);
    assert_int_equal(s.count, 0);
    sm_events_scanner_free(&s);
}

#define HEAD "{\"type\":\"events\",\"listener\":7,\"events\":["
#define EV(rest) "{\"event\":\"PROPERTIES\",\"session\":\"s\",\"state\":\"ACTIVE\"" rest "}"

static void test_refuses_malformed_input(void **state)
{
    (void)state;
    expect_refused("");
    expect_refused("{}");
    expect_refused("null");
    expect_refused(HEAD "]}x");                                       /* trailing bytes */
    expect_refused(HEAD "] }");                                       /* spaces */
    expect_refused("{\"type\":\"events\",\"listener\":,\"events\":[]}"); /* no listener */
    expect_refused("{\"type\":\"events\",\"listener\":12345678901234567890,\"events\":[]}");
    expect_refused("{\"type\":\"event\",\"listener\":7,\"events\":[]}");
    expect_refused(HEAD EV("") "," "]}");                              /* dangling comma */
    expect_refused(HEAD "{\"event\":\"NOPE\",\"session\":\"s\",\"state\":\"ACTIVE\"}]}");
    expect_refused(HEAD "{\"event\":\"PROPERTIES\",\"session\":\"s\",\"state\":\"ASLEEP\"}]}");
    expect_refused(HEAD "{\"event\":\"PROPERTIES\",\"session\":7,\"state\":\"ACTIVE\"}]}");
    expect_refused(HEAD "{\"event\":\"CLOSED\",\"session\":\"s\",\"state\":\"CLOSED\"}]}"); /* no reason */
    expect_refused(HEAD "{\"event\":\"CLOSED\",\"session\":\"s\",\"state\":\"CLOSED\",\"reason\":\"LATER\"}]}");
    expect_refused(HEAD EV(",\"snapshot\":false") "]}");                /* the encoder omits false */
    expect_refused(HEAD EV(",\"properties\":{\"a\":null}") "]}");       /* null only in changed */
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"1\",\"a\":\"2\"}") "]}");
    expect_refused(HEAD EV(",\"changed\":{\"a\":null,\"a\":\"2\"}") "]}");
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"x\\u0000y\"}") "]}");
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"\\u00e9\"}") "]}");
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"\\ud83d\\ude00\"}") "]}");
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"\\x\"}") "]}");
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"\\u00\"}") "]}");
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"\xc3\"}") "]}");    /* cut UTF-8 */
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"\xed\xa0\x80\"}") "]}"); /* surrogate */
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"line\nbreak\"}") "]}");
    expect_refused(HEAD EV(",\"changed\":{\"a\":null},\"properties\":{\"a\":\"1\"}") "]}"); /* order */
    expect_refused(HEAD EV(",\"properties\":{\"a\":\"1\"") "]}");
    expect_refused(HEAD EV(",\"properties\":[]") "]}");
    /* A NUL byte inside the message. */
    static const char nul[] = HEAD EV(",\"properties\":{\"a\":\"x\0y\"}") "]}";
    sm_events_scanner s = {0};
    sm_error err;
    assert_int_equal(sm_events_scan(&s, nul, sizeof nul - 1, &err), SM_ERR_INVALID);
    sm_events_scanner_free(&s);
}

/* More keys than the pairwise check covers: the sorted check finds the repeated one. */
static void test_many_keys_one_repeated(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, 0, 0);
    assert_int_equal(sm_buf_puts(&b, HEAD "{\"event\":\"OPEN\",\"session\":\"s\",\"state\":\"ACTIVE\",\"properties\":{"),
                     SM_OK);
    for (int i = 0; i < 100; i++) {
        char kv[32];
        snprintf(kv, sizeof kv, "%s\"k%d\":\"v\"", i ? "," : "", i == 99 ? 42 : i);
        assert_int_equal(sm_buf_puts(&b, kv), SM_OK);
    }
    assert_int_equal(sm_buf_puts(&b, "}}]}"), SM_OK);
    sm_events_scanner s = {0};
    sm_error err;
    assert_int_equal(sm_events_scan(&s, sm_buf_payload(&b), b.len, &err), SM_ERR_INVALID);
    /* The same without the repeat is read whole. */
    char *fixed = strdup(sm_buf_payload(&b));
    char *last = strstr(fixed, "\"k42\":\"v\"}");
    assert_non_null(last);
    last[2] = '9'; /* k92 is not among the others either... */
    last[3] = '9'; /* ...k99 is the one that was replaced */
    assert_int_equal(sm_events_scan(&s, fixed, strlen(fixed), &err), SM_OK);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.events[0].ev.properties.count, 100);
    assert_agrees_with_decoder(&s, fixed, strlen(fixed));
    free(fixed);
    sm_events_scanner_free(&s);
    sm_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_the_encoders_output),
        cmocka_unit_test(test_truncations_and_mutations),
        cmocka_unit_test(test_refuses_malformed_input),
        cmocka_unit_test(test_many_keys_one_repeated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
