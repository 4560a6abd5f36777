/* Unit tests of tui/model: updates, history, close and fade, key counts, resync, event rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "events.h"
#include "tui/model.h"

static void drain(smt_model *m)
{
    smt_row *r = smt_model_take_dirty(m);
    while (r) {
        smt_row *next = r->dnext;
        if (r->dead)
            smt_model_release(m, r);
        r = next;
    }
}

static void open_session(smt_model *m, const char *id, const char *dept, bool snapshot, uint64_t now)
{
    sm_property props[] = {{"$SessionId", id}, {"$Principal", "alice"}, {"Department", dept}, {NULL, NULL}};
    smt_event ev = test_event(SMT_EVENT_OPEN, id, SM_REMOTE_ACTIVE, props, NULL, snapshot);
    assert_int_equal(smt_model_apply(m, &ev, now, NULL), SM_OK);
}

static size_t keycount(const smt_model *m, const char *key)
{
    for (size_t i = 0; i < smt_model_key_count(m); i++)
        if (strcmp(smt_model_key_at(m, i)->key, key) == 0)
            return smt_model_key_at(m, i)->count;
    return (size_t)-1;
}

static void test_open_update_history(void **state)
{
    (void)state;
    smt_model *m = smt_model_new();
    open_session(m, "s1", "Accounts", false, 1000);
    smt_row *r = smt_model_find(m, "s1");
    assert_non_null(r);
    assert_string_equal(smt_row_get(r, "Department"), "Accounts");
    assert_true(smt_row_is_new(r, 1500));
    assert_false(smt_row_is_new(r, 1000 + SMT_MODEL_HIGHLIGHT_MS));
    assert_int_equal(smt_model_rows(m), 1);
    assert_int_equal(smt_model_open_count(m), 1);

    sm_property props[] = {{"Department", "Payroll"}, {"Tier", "gold"}, {NULL, NULL}};
    sm_property changed[] = {{"Department", "Accounts"}, {"Tier", NULL}, {NULL, NULL}};
    smt_event ev = test_event(SMT_EVENT_PROPERTIES, "s1", SM_REMOTE_ACTIVE, props, changed, false);
    assert_int_equal(smt_model_apply(m, &ev, 5000, NULL), SM_OK);
    assert_string_equal(smt_row_get(r, "Department"), "Payroll");
    assert_string_equal(smt_row_get(r, "Tier"), "gold");
    assert_true(smt_row_key_recent(r, "Tier", 5100));
    assert_false(smt_row_key_recent(r, "$Principal", 5100));
    assert_false(smt_row_key_recent(r, "Tier", 5000 + SMT_MODEL_HIGHLIGHT_MS));

    /* delete: the key is in changed but not in properties */
    sm_property changed2[] = {{"Tier", "gold"}, {NULL, NULL}};
    ev = test_event(SMT_EVENT_PROPERTIES, "s1", SM_REMOTE_ACTIVE, NULL, changed2, false);
    assert_int_equal(smt_model_apply(m, &ev, 6000, NULL), SM_OK);
    assert_null(smt_row_get(r, "Tier"));

    smt_change h[SMT_MODEL_HISTORY];
    size_t n = smt_row_history(r, h, SMT_MODEL_HISTORY);
    assert_int_equal(n, 3);
    assert_string_equal(h[0].key, "Tier"); /* newest first */
    assert_string_equal(h[0].old_value, "gold");
    assert_null(h[0].new_value);
    /* the other two are Department Accounts->Payroll and Tier added */
    bool saw_dept = false, saw_tier_add = false;
    for (size_t i = 1; i < 3; i++) {
        if (strcmp(h[i].key, "Department") == 0) {
            assert_string_equal(h[i].old_value, "Accounts");
            assert_string_equal(h[i].new_value, "Payroll");
            saw_dept = true;
        } else {
            assert_string_equal(h[i].key, "Tier");
            assert_null(h[i].old_value);
            saw_tier_add = true;
        }
    }
    assert_true(saw_dept && saw_tier_add);

    /* the ring keeps the last SMT_MODEL_HISTORY changes */
    for (int i = 0; i < 20; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        sm_property p[] = {{"Counter", v}, {NULL, NULL}};
        sm_property c[] = {{"Counter", NULL}, {NULL, NULL}};
        ev = test_event(SMT_EVENT_PROPERTIES, "s1", SM_REMOTE_ACTIVE, p, c, false);
        assert_int_equal(smt_model_apply(m, &ev, 7000 + (uint64_t)i, NULL), SM_OK);
    }
    n = smt_row_history(r, h, SMT_MODEL_HISTORY);
    assert_int_equal(n, SMT_MODEL_HISTORY);
    assert_string_equal(h[0].new_value, "v19");
    assert_string_equal(h[0].old_value, "v18");
    assert_int_equal(smt_model_event_total(m), 23);
    drain(m);
    smt_model_free(m);
}

static void test_close_fade_and_release(void **state)
{
    (void)state;
    smt_model *m = smt_model_new();
    open_session(m, "s1", "A", true, 1000);
    open_session(m, "s2", "B", true, 1000);
    assert_false(smt_row_is_new(smt_model_find(m, "s1"), 1001)); /* snapshot rows are not "new" */
    drain(m);
    smt_event ev = test_event(SMT_EVENT_DISCONNECTED, "s2", SM_REMOTE_DISCONNECTED, NULL, NULL, false);
    assert_int_equal(smt_model_apply(m, &ev, 1500, NULL), SM_OK);
    assert_int_equal(smt_model_disconnected_count(m), 1);
    assert_int_equal(smt_model_dirty_count(m), 1);
    ev = test_event(SMT_EVENT_CLOSED, "s2", SM_REMOTE_CLOSED, NULL, NULL, false);
    ev.session.reason = SM_REASON_CONNECTION_LOST;
    assert_int_equal(smt_model_apply(m, &ev, 2000, NULL), SM_OK);
    assert_int_equal(smt_model_dirty_count(m), 1); /* coalesced: one row, one entry */
    smt_row *r2 = smt_model_find(m, "s2");
    assert_int_equal(r2->state, SM_REMOTE_CLOSED);
    assert_int_equal(r2->reason, SM_REASON_CONNECTION_LOST);
    assert_int_equal(smt_model_disconnected_count(m), 0);
    assert_int_equal(smt_model_open_count(m), 1);
    assert_int_equal(smt_model_rows(m), 2); /* still visible while fading */
    drain(m);
    assert_true(smt_model_tick(m, 2100) > 0);
    assert_true(smt_row_fade(r2, 2000 + SMT_MODEL_FADE_MS / 2) > 0.4);
    smt_model_tick(m, 2000 + SMT_MODEL_FADE_MS);
    assert_null(smt_model_find(m, "s2"));
    assert_int_equal(smt_model_rows(m), 1);
    smt_row *d = smt_model_take_dirty(m);
    assert_ptr_equal(d, r2);
    assert_true(d->dead);
    assert_null(d->dnext);
    smt_model_release(m, d);
    assert_int_equal(keycount(m, "Department"), 1);
    /* a CLOSED for an unknown session is ignored */
    ev = test_event(SMT_EVENT_CLOSED, "zz", SM_REMOTE_CLOSED, NULL, NULL, false);
    assert_int_equal(smt_model_apply(m, &ev, 9000, NULL), SM_OK);
    assert_null(smt_model_find(m, "zz"));
    /* an update for a session we never saw creates it */
    sm_property p[] = {{"X", "1"}, {NULL, NULL}};
    ev = test_event(SMT_EVENT_PROPERTIES, "s9", SM_REMOTE_ACTIVE, p, NULL, false);
    assert_int_equal(smt_model_apply(m, &ev, 9000, NULL), SM_OK);
    assert_non_null(smt_model_find(m, "s9"));
    /* FILTER_LEAVE removes at once */
    ev = test_event(SMT_EVENT_FILTER_LEAVE, "s9", SM_REMOTE_ACTIVE, NULL, NULL, false);
    assert_int_equal(smt_model_apply(m, &ev, 9001, NULL), SM_OK);
    assert_null(smt_model_find(m, "s9"));
    /* no session ID: refused */
    sm_error err;
    ev = test_event(SMT_EVENT_OPEN, "", SM_REMOTE_ACTIVE, NULL, NULL, false);
    assert_int_equal(smt_model_apply(m, &ev, 9002, &err), SM_ERR_INVALID);
    drain(m);
    smt_model_free(m); /* also frees what is still queued */
}

static void test_key_counts(void **state)
{
    (void)state;
    smt_model *m = smt_model_new();
    open_session(m, "s1", "A", false, 1);
    open_session(m, "s2", "B", false, 1);
    assert_int_equal(keycount(m, "Department"), 2);
    assert_int_equal(keycount(m, "$Principal"), 2);
    sm_property changed[] = {{"Department", "A"}, {NULL, NULL}};
    smt_event ev = test_event(SMT_EVENT_PROPERTIES, "s1", SM_REMOTE_ACTIVE, NULL, changed, false);
    smt_model_apply(m, &ev, 2, NULL);
    assert_int_equal(keycount(m, "Department"), 1);
    ev = test_event(SMT_EVENT_FILTER_LEAVE, "s2", SM_REMOTE_ACTIVE, NULL, NULL, false);
    smt_model_apply(m, &ev, 3, NULL);
    assert_int_equal(keycount(m, "Department"), 0); /* still listed: it was seen */
    assert_int_equal(keycount(m, "$Principal"), 1);
    /* a closed session fading out no longer counts; one that comes back counts again */
    open_session(m, "s3", "C", false, 4);
    assert_int_equal(keycount(m, "Department"), 1);
    ev = test_event(SMT_EVENT_CLOSED, "s3", SM_REMOTE_CLOSED, NULL, NULL, false);
    smt_model_apply(m, &ev, 5, NULL);
    assert_int_equal(keycount(m, "Department"), 0);
    assert_int_equal(keycount(m, "$Principal"), 1);
    open_session(m, "s3", "C", false, 6);
    assert_int_equal(keycount(m, "Department"), 1);
    ev = test_event(SMT_EVENT_CLOSED, "s3", SM_REMOTE_CLOSED, NULL, NULL, false);
    smt_model_apply(m, &ev, 7, NULL);
    smt_model_tick(m, 7 + SMT_MODEL_FADE_MS); /* retiring it changes nothing more */
    assert_int_equal(keycount(m, "Department"), 0);
    assert_int_equal(keycount(m, "$Principal"), 1);
    drain(m);
    smt_model_free(m);
}

/* A new row takes an OPEN's whole set at once (sorted once); a set it cannot take so (a key
 * twice, a key without a value) goes property by property, with the same outcome. */
static void test_open_sets_in_any_order(void **state)
{
    (void)state;
    smt_model *m = smt_model_new();
    sm_property unsorted[] = {{"Tier", "gold"}, {"$Principal", "bob"}, {"Department", "Ops"}, {"$ClientIP", "1.2.3.4"},
                              {NULL, NULL}};
    smt_event ev = test_event(SMT_EVENT_OPEN, "s1", SM_REMOTE_ACTIVE, unsorted, NULL, true);
    assert_int_equal(smt_model_apply(m, &ev, 1, NULL), SM_OK);
    smt_row *r = smt_model_find(m, "s1");
    assert_non_null(r);
    assert_int_equal(r->nprops, 4);
    for (uint32_t i = 1; i < r->nprops; i++)
        assert_true(strcmp(r->props[i - 1].key, r->props[i].key) < 0);
    assert_string_equal(smt_row_get(r, "Tier"), "gold");
    assert_string_equal(smt_row_get(r, "$ClientIP"), "1.2.3.4");
    assert_int_equal(keycount(m, "Tier"), 1);
    /* the same keys in the same order (the remembered order is used), then in another order of
     * as many keys, then the first order again */
    sm_property same[] = {{"Tier", "silver"}, {"$Principal", "eve"}, {"Department", "IT"}, {"$ClientIP", "5.6.7.8"},
                          {NULL, NULL}};
    sm_property other[] = {{"$ClientIP", "9.9.9.9"}, {"Tier", "bronze"}, {"Region", "EU"}, {"$Principal", "dan"},
                           {NULL, NULL}};
    const char *const ids[] = {"o1", "o2", "o3"};
    sm_property *sets[] = {same, other, unsorted};
    for (int k = 0; k < 3; k++) {
        ev = test_event(SMT_EVENT_OPEN, ids[k], SM_REMOTE_ACTIVE, sets[k], NULL, true);
        assert_int_equal(smt_model_apply(m, &ev, 1, NULL), SM_OK);
        smt_row *o = smt_model_find(m, ids[k]);
        assert_int_equal(o->nprops, 4);
        for (uint32_t i = 1; i < o->nprops; i++)
            assert_true(strcmp(o->props[i - 1].key, o->props[i].key) < 0);
        for (int i = 0; i < 4; i++)
            assert_string_equal(smt_row_get(o, sets[k][i].key), sets[k][i].value);
    }
    /* the same key twice: the later value wins, counted once */
    sm_property twice[] = {{"Tier", "gold"}, {"Region", "EU"}, {"Tier", "silver"}, {NULL, NULL}};
    ev = test_event(SMT_EVENT_OPEN, "s2", SM_REMOTE_ACTIVE, twice, NULL, true);
    assert_int_equal(smt_model_apply(m, &ev, 2, NULL), SM_OK);
    r = smt_model_find(m, "s2");
    assert_int_equal(r->nprops, 2);
    assert_string_equal(smt_row_get(r, "Tier"), "silver");
    assert_int_equal(keycount(m, "Tier"), 5);
    /* a key without a value is left out */
    sm_property hole[] = {{"Region", "US"}, {"Tier", NULL}, {NULL, NULL}};
    ev = test_event(SMT_EVENT_OPEN, "s3", SM_REMOTE_ACTIVE, hole, NULL, true);
    ev.session.property_count = 2;
    assert_int_equal(smt_model_apply(m, &ev, 3, NULL), SM_OK);
    r = smt_model_find(m, "s3");
    assert_int_equal(r->nprops, 1);
    assert_null(smt_row_get(r, "Tier"));
    assert_int_equal(keycount(m, "Region"), 3);
    drain(m);
    smt_model_free(m);
}

static void test_resync_no_ghosts_no_duplicates(void **state)
{
    (void)state;
    smt_model *m = smt_model_new();
    open_session(m, "A", "x", true, 100);
    open_session(m, "B", "x", true, 100);
    open_session(m, "C", "x", true, 100);
    open_session(m, "D", "x", false, 100);
    smt_event ev = test_event(SMT_EVENT_CLOSED, "D", SM_REMOTE_CLOSED, NULL, NULL, false);
    smt_model_apply(m, &ev, 200, NULL);
    drain(m);
    assert_int_equal(smt_model_rows(m), 4);

    smt_model_resync_begin(m, 1000);
    assert_true(smt_model_resyncing(m));
    assert_null(smt_model_find(m, "D")); /* a fading row does not survive a resync */
    open_session(m, "A", "x", true, 1100);
    open_session(m, "C", "changed-while-away", true, 1100);
    open_session(m, "E", "y", true, 1100);
    assert_int_equal(smt_model_resync_end(m, 1200), 1); /* B closed while we were away */
    assert_false(smt_model_resyncing(m));
    assert_null(smt_model_find(m, "B"));
    assert_int_equal(smt_model_rows(m), 3);
    assert_int_equal(smt_model_open_count(m), 3);
    smt_row *c = smt_model_find(m, "C");
    assert_string_equal(smt_row_get(c, "Department"), "changed-while-away");
    assert_true(smt_row_key_recent(c, "Department", 1300));
    smt_change h[2];
    assert_int_equal(smt_row_history(c, h, 2), 1);
    assert_string_equal(h[0].old_value, "x");
    assert_false(smt_row_key_recent(smt_model_find(m, "A"), "Department", 1300));
    assert_int_equal(keycount(m, "Department"), 3);
    drain(m);
    smt_model_free(m);
}

static void test_event_rate(void **state)
{
    (void)state;
    smt_model *m = smt_model_new();
    open_session(m, "A", "x", true, 100000);
    sm_property p[] = {{"N", "1"}, {NULL, NULL}};
    for (int s = 0; s < 4; s++) {
        for (int i = 0; i < 100; i++) {
            smt_event ev = test_event(SMT_EVENT_PROPERTIES, "A", SM_REMOTE_ACTIVE, p, NULL, false);
            smt_model_apply(m, &ev, 100000 + (uint64_t)s * 1000 + (uint64_t)i, NULL);
        }
    }
    double rate = smt_model_event_rate(m, 103999);
    assert_true(rate > 90 && rate < 120);
    assert_true(smt_model_event_rate(m, 200000) == 0.0);
    /* a (re)connect's snapshot is not activity: counted in the total, not in the rate */
    uint64_t total = smt_model_event_total(m);
    for (int i = 0; i < 500; i++) {
        char id[16];
        snprintf(id, sizeof id, "snap%d", i);
        open_session(m, id, "x", true, 300000 + (uint64_t)i);
    }
    assert_int_equal(smt_model_event_total(m), total + 500);
    assert_true(smt_model_event_rate(m, 300999) == 0.0);
    drain(m);
    smt_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_update_history),
        cmocka_unit_test(test_close_fade_and_release),
        cmocka_unit_test(test_key_counts),
        cmocka_unit_test(test_open_sets_in_any_order),
        cmocka_unit_test(test_resync_no_ghosts_no_duplicates),
        cmocka_unit_test(test_event_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
