/* Unit tests of sessmond's outbound queue: it counts the heap bytes it really holds, per queue and in total. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <string.h>

#include "core/error.h"
#include "server/outq.h"

#define HEADROOM 16

static size_t held_now(const smd_outq *q)
{
    size_t sum = 0;
    for (const smd_outmsg *m = q->head; m; m = m->next)
        sum += malloc_usable_size((void *)m) + malloc_usable_size(m->buf.data);
    return sum;
}

static size_t text_now(const smd_outq *q)
{
    size_t sum = 0;
    for (const smd_outmsg *m = q->head; m; m = m->next)
        sum += m->buf.len;
    return sum;
}

static void replies_count_allocations_not_text(void **state)
{
    (void)state;
    size_t total0 = smd_outq_total_bytes();
    smd_outq q;
    smd_outq_init(&q);
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_REPLY;
    m.op = SM_MSG_PING;
    for (int i = 1; i <= 1000; i++) {
        m.id = i;
        assert_int_equal(smd_outq_push_msg(&q, &m, HEADROOM), SM_OK);
    }
    assert_int_equal(q.count, 1000);
    assert_int_equal(q.bytes, held_now(&q));
    /* Struct and headroom cost more than a short reply's text... */
    assert_true(q.bytes > text_now(&q) + 1000 * HEADROOM);
    /* ...but small replies give back the spare room of their buffer (it starts at 256 bytes). */
    assert_true(q.bytes < 1000 * 256);
    assert_int_equal(smd_outq_total_bytes() - total0, q.bytes);
    (void)smd_outq_take_released_bytes();
    smd_outmsg *first = smd_outq_pop(&q);
    assert_non_null(first);
    assert_int_equal(q.bytes, held_now(&q));
    smd_outmsg_free(first);
    smd_outq_clear(&q);
    assert_int_equal(q.bytes, 0);
    /* A queue this long is freed over the next slices: still counted until then. */
    assert_true(smd_outq_dropped_pending());
    assert_true(smd_outq_total_bytes() > total0);
    smd_outq_reap_dropped(500);
    assert_true(smd_outq_dropped_pending());
    smd_outq_reap_dropped(SIZE_MAX);
    assert_false(smd_outq_dropped_pending());
    assert_int_equal(smd_outq_total_bytes(), total0);
    assert_true(smd_outq_take_released_bytes() >= 1000 * 48);
    assert_int_equal(smd_outq_take_released_bytes(), 0);
}

static void event_batches_are_counted_as_they_grow(void **state)
{
    (void)state;
    size_t total0 = smd_outq_total_bytes();
    smd_outq q;
    smd_outq_init(&q);
    sm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SM_EVENT_CLOSED;
    ev.session_id = "0123abcd-00000001";
    ev.reason = SM_CLOSE_CLOSED_BY_CONTROLLER;
    ev.state = SM_STATE_CLOSED;
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(smd_outq_push_event(&q, 1 + i / 700, &ev, HEADROOM), SM_OK);
        assert_int_equal(q.bytes, held_now(&q));
    }
    /* Batches stay under SMD_BATCH_MAX_BYTES (plus one event), so their buffers stay 16 KiB. */
    for (const smd_outmsg *m = q.head; m; m = m->next)
        assert_true(m->buf.cap <= 16384 + 1024);
    assert_int_equal(smd_outq_total_bytes() - total0, q.bytes);
    smd_outmsg *m;
    while ((m = smd_outq_pop(&q))) {
        assert_int_equal(q.bytes, held_now(&q));
        assert_non_null(strstr(sm_buf_payload(&m->buf), "]}"));
        smd_outmsg_free(m);
    }
    assert_int_equal(q.bytes, 0);
    assert_int_equal(smd_outq_total_bytes(), total0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replies_count_allocations_not_text),
        cmocka_unit_test(event_batches_are_counted_as_they_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
