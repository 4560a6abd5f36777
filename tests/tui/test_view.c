/* Unit tests of tui/view: sorting, filter, search, cursor follow, coalescing, pause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "tui/model.h"
#include "tui/view.h"

typedef struct fixture {
    smt_model *m;
    smt_view *v;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->m = smt_model_new();
    f->v = smt_view_new(f->m);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    smt_view_free(f->v);
    smt_model_free(f->m);
    free(f);
    return 0;
}

static void put(fixture *f, const char *id, const char *key, const char *value, uint64_t now)
{
    sm_property props[] = {{key, value}, {NULL, NULL}};
    sm_property changed[] = {{key, NULL}, {NULL, NULL}};
    smt_event ev;
    if (smt_model_find(f->m, id)) {
        ev = test_event(SMT_EVENT_PROPERTIES, id, SM_REMOTE_ACTIVE, value ? props : NULL, changed, false);
    } else {
        ev = test_event(SMT_EVENT_OPEN, id, SM_REMOTE_ACTIVE, value ? props : NULL, NULL, false);
    }
    assert_int_equal(smt_model_apply(f->m, &ev, now, NULL), SM_OK);
}

static void expect_order(fixture *f, const char *const *ids, size_t n)
{
    smt_view_sync(f->v);
    assert_int_equal(smt_view_count(f->v), n);
    for (size_t i = 0; i < n; i++) {
        smt_row *r = smt_view_at(f->v, i);
        assert_non_null(r);
        if (strcmp(r->id, ids[i]) != 0)
            fail_msg("rank %zu: got %s, expected %s", i, r->id, ids[i]);
        size_t rank;
        assert_true(smt_view_rank(f->v, r, &rank));
        assert_int_equal(rank, i);
    }
    assert_null(smt_view_at(f->v, n));
    assert_true(smt_view_check(f->v));
}

static void test_sort_numbers_text_absent(void **state)
{
    fixture *f = *state;
    put(f, "a", "N", "10", 1);
    put(f, "b", "N", "9", 1);
    put(f, "c", "N", "100", 1);
    put(f, "d", "N", "-2.5", 1);
    put(f, "e", "N", "abc", 1);
    put(f, "f", "N", "NaN", 1);
    put(f, "g", "Other", "x", 1); /* no N */
    put(f, "h", "N", "9", 1);     /* tie with b: by ID */
    assert_int_equal(smt_view_set_sort(f->v, "N", false), SM_OK);
    const char *asc[] = {"d", "b", "h", "a", "c", "f", "e", "g"};
    expect_order(f, asc, 8);
    assert_int_equal(smt_view_set_sort(f->v, "N", true), SM_OK);
    const char *desc[] = {"e", "f", "c", "a", "b", "h", "d", "g"};
    expect_order(f, desc, 8);
    assert_true(smt_view_sort_descending(f->v));
    assert_string_equal(smt_view_sort_key(f->v), "N");
    /* by ID ($SessionId falls back to the row ID) */
    assert_int_equal(smt_view_set_sort(f->v, "$SessionId", false), SM_OK);
    const char *byid[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    expect_order(f, byid, 8);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Ties of the sort key are ordered by ID exactly like strcmp, also for IDs that share a long
 * prefix, end inside it, or are prefixes of each other (the view compares a stored prefix first). */
static void test_ties_by_id_like_strcmp(void **state)
{
    fixture *f = *state;
    const char *ids[] = {
        "5f1c09a2-00000000000000000000000b", "5f1c09a2-00000000000000000000000a", "5f1c09a2-000000000000000",
        "5f1c09a2-0000000000000000",         "5f1c09a2-00000000000000",          "5f1c09a2-000000000000000\x01",
        "5f",                                "5f1c09a2-0000000000000001",        "5f1c09a2-00000000000000000000000",
        "~last",                             "5f1c09a2-0000000000000000z",       "5f1c09a2-0000000000000000~",
    };
    enum { NIDS = sizeof ids / sizeof *ids };
    for (size_t i = 0; i < NIDS; i++)
        put(f, ids[i], "Status", "online", 1);
    const char *sorted[NIDS];
    memcpy(sorted, ids, sizeof ids);
    qsort(sorted, NIDS, sizeof *sorted, cmp_str);
    assert_int_equal(smt_view_set_sort(f->v, "Status", false), SM_OK);
    expect_order(f, sorted, NIDS);
    /* incremental moves keep the same order: every row leaves the tie and comes back */
    for (size_t i = 0; i < NIDS; i++)
        put(f, ids[i], "Status", "away", 2);
    expect_order(f, sorted, NIDS);
    for (size_t i = NIDS; i-- > 0;)
        put(f, ids[i], "Status", "online", 3);
    expect_order(f, sorted, NIDS);
}

static void test_sort_by_state(void **state)
{
    fixture *f = *state;
    put(f, "a", "N", "1", 1);
    put(f, "b", "N", "2", 1);
    put(f, "c", "N", "3", 1);
    smt_event ev = test_event(SMT_EVENT_DISCONNECTED, "a", SM_REMOTE_DISCONNECTED, NULL, NULL, false);
    smt_model_apply(f->m, &ev, 2, NULL);
    ev = test_event(SMT_EVENT_CLOSED, "b", SM_REMOTE_CLOSED, NULL, NULL, false);
    smt_model_apply(f->m, &ev, 2, NULL);
    smt_view_set_sort(f->v, SMT_COL_STATE, false);
    const char *order[] = {"c", "a", "b"};
    expect_order(f, order, 3);
}

static void test_incremental_updates_move_rows(void **state)
{
    fixture *f = *state;
    smt_view_set_sort(f->v, "N", false);
    put(f, "a", "N", "1", 1);
    put(f, "b", "N", "2", 1);
    put(f, "c", "N", "3", 1);
    const char *o1[] = {"a", "b", "c"};
    expect_order(f, o1, 3);
    /* cursor follow: the selected session moves, its rank follows */
    smt_row *a = smt_model_find(f->m, "a");
    put(f, "a", "N", "5", 2);
    smt_view_sync(f->v);
    size_t rank;
    assert_true(smt_view_rank(f->v, a, &rank));
    assert_int_equal(rank, 2);
    const char *o2[] = {"b", "c", "a"};
    expect_order(f, o2, 3);
    /* losing the key moves the row last */
    put(f, "b", "N", NULL, 3);
    const char *o3[] = {"c", "a", "b"};
    expect_order(f, o3, 3);
    /* a new row lands in place */
    put(f, "d", "N", "4", 4);
    const char *o4[] = {"c", "d", "a", "b"};
    expect_order(f, o4, 4);
}

static void test_coalescing(void **state)
{
    fixture *f = *state;
    smt_view_set_sort(f->v, "N", false);
    put(f, "a", "N", "0", 1);
    put(f, "b", "N", "50", 1);
    smt_view_sync(f->v);
    for (int i = 1; i <= 100; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        put(f, "a", "N", v, 2);
    }
    assert_int_equal(smt_model_dirty_count(f->m), 1);
    assert_int_equal(smt_view_sync(f->v), 1); /* 100 events, one view update */
    const char *o[] = {"b", "a"};
    expect_order(f, o, 2);
}

static void test_filter_and_search(void **state)
{
    fixture *f = *state;
    smt_view_set_sort(f->v, "$SessionId", false);
    put(f, "s1", "Department", "Accounts", 1);
    put(f, "s2", "Department", "Payroll", 1);
    put(f, "s3", "Other", "accounting", 1);
    sm_error err;
    sm_error_clear(&err);
    assert_int_equal(smt_view_set_filter(f->v, "Department is \"Accounts\"", &err), SM_OK);
    const char *o1[] = {"s1"};
    expect_order(f, o1, 1);
    assert_string_equal(smt_view_filter_text(f->v), "Department is \"Accounts\"");
    /* a bad filter keeps the old one and names the column */
    assert_int_not_equal(smt_view_set_filter(f->v, "Department is Accounts", &err), SM_OK);
    assert_int_equal(err.column, 15);
    assert_string_equal(smt_view_filter_text(f->v), "Department is \"Accounts\"");
    /* live: a row that starts matching appears, one that stops leaves */
    put(f, "s2", "Department", "Accounts", 2);
    put(f, "s1", "Department", "Sales", 2);
    const char *o2[] = {"s2"};
    expect_order(f, o2, 1);
    assert_int_equal(smt_view_set_filter(f->v, "", &err), SM_OK);
    assert_string_equal(smt_view_filter_text(f->v), "");
    /* search: case-insensitive substring over the ID and every value */
    smt_view_set_search(f->v, "ACCOUNT");
    const char *o3[] = {"s2", "s3"};
    expect_order(f, o3, 2);
    smt_view_set_search(f->v, "s1");
    const char *o4[] = {"s1"};
    expect_order(f, o4, 1);
    assert_string_equal(smt_view_search(f->v), "s1");
    smt_view_set_search(f->v, "");
    const char *o5[] = {"s1", "s2", "s3"};
    expect_order(f, o5, 3);
}

static void test_pause_and_resume(void **state)
{
    fixture *f = *state;
    smt_view_set_sort(f->v, "N", false);
    put(f, "a", "N", "1", 1);
    put(f, "b", "N", "2", 1);
    smt_view_sync(f->v);
    smt_view_set_paused(f->v, true);
    assert_true(smt_view_paused(f->v));
    put(f, "a", "N", "3", 2);
    put(f, "c", "N", "0", 2);
    smt_event ev = test_event(SMT_EVENT_CLOSED, "b", SM_REMOTE_CLOSED, NULL, NULL, false);
    smt_model_apply(f->m, &ev, 2, NULL);
    smt_model_tick(f->m, 2 + SMT_MODEL_FADE_MS); /* b leaves the model while paused */
    assert_null(smt_model_find(f->m, "b"));
    assert_int_equal(smt_view_sync(f->v), 0);
    assert_int_equal(smt_view_pending(f->v), 3);
    const char *frozen[] = {"a", "b"}; /* nothing moved, b still shown */
    expect_order(f, frozen, 2);
    smt_view_set_paused(f->v, false);
    assert_int_equal(smt_view_pending(f->v), 0);
    const char *live[] = {"c", "a"};
    expect_order(f, live, 2);
}

/* Compares the view with a brute-force sort after random operations. */
typedef struct brute {
    const char *key;
    bool desc;
} brute;

static brute brute_cfg;

static bool is_num(const char *s, double *d)
{
    char *end;
    if (!s || !*s)
        return false;
    *d = strtod(s, &end);
    return *end == '\0' && s[0] != 'N' && s[0] != 'n' && s[0] != 'i' && s[0] != 'I';
}

static int brute_cmp(const void *pa, const void *pb)
{
    const smt_row *a = *(smt_row *const *)pa, *b = *(smt_row *const *)pb;
    const char *va = smt_row_get(a, brute_cfg.key), *vb = smt_row_get(b, brute_cfg.key);
    double da = 0, db = 0;
    int ka = !va ? 2 : is_num(va, &da) ? 0 : 1;
    int kb = !vb ? 2 : is_num(vb, &db) ? 0 : 1;
    int c = ka != kb ? ka - kb : ka == 0 ? (da > db) - (da < db) : ka == 1 ? strcmp(va, vb) : 0;
    if (brute_cfg.desc && ka != 2 && kb != 2)
        c = -c;
    return c ? c : strcmp(a->id, b->id);
}

typedef struct collect {
    smt_row **rows;
    size_t n;
} collect;

static void collect_row(smt_row *r, void *ctx)
{
    collect *c = ctx;
    const char *g = smt_row_get(r, "G");
    if (g && strcmp(g, "keep") == 0)
        c->rows[c->n++] = r;
}

static void test_random_against_brute_force(void **state)
{
    fixture *f = *state;
    srand(42);
    enum { N = 400, OPS = 6000 };
    sm_error err;
    assert_int_equal(smt_view_set_filter(f->v, "G is 'keep'", &err), SM_OK);
    uint64_t now = 1;
    for (int op = 0; op < OPS; op++) {
        char id[16], val[16];
        snprintf(id, sizeof id, "id%03d", rand() % N);
        int kind = rand() % 10;
        if (kind < 5) {
            if (rand() % 3 == 0)
                snprintf(val, sizeof val, "w%d", rand() % 50);
            else
                snprintf(val, sizeof val, "%d", rand() % 100 - 50);
            put(f, id, "N", rand() % 8 ? val : NULL, now);
        } else if (kind < 8) {
            put(f, id, "G", rand() % 3 ? "keep" : "drop", now);
        } else if (smt_model_find(f->m, id)) {
            smt_event ev = test_event(rand() % 2 ? SMT_EVENT_CLOSED : SMT_EVENT_FILTER_LEAVE, id, SM_REMOTE_CLOSED,
                                      NULL, NULL, false);
            smt_model_apply(f->m, &ev, now, NULL);
        }
        now += 7;
        smt_model_tick(f->m, now);
        if (op % 50 == 0)
            smt_view_sync(f->v);
        if (op % 1000 == 999) {
            brute_cfg.desc = !brute_cfg.desc;
            smt_view_set_sort(f->v, "N", brute_cfg.desc);
        }
        if (op % 500 == 0) {
            smt_view_sync(f->v);
            brute_cfg.key = "N";
            brute_cfg.desc = smt_view_sort_descending(f->v);
            if (strcmp(smt_view_sort_key(f->v), "N") != 0)
                smt_view_set_sort(f->v, "N", brute_cfg.desc);
            smt_row *rows[N];
            collect c = {rows, 0};
            smt_model_foreach(f->m, collect_row, &c);
            qsort(rows, c.n, sizeof *rows, brute_cmp);
            assert_int_equal(smt_view_count(f->v), c.n);
            for (size_t i = 0; i < c.n; i++)
                assert_ptr_equal(smt_view_at(f->v, i), rows[i]);
            assert_true(smt_view_check(f->v));
            size_t closing = 0;
            for (size_t i = 0; i < c.n; i++)
                closing += rows[i]->state == SM_REMOTE_CLOSED;
            assert_int_equal(smt_view_closing_count(f->v), closing);
        }
    }
}

/* Closed rows fading out are counted apart, so "shown" can match the open-session count. */
static void test_closing_count(void **state)
{
    fixture *f = *state;
    put(f, "a", "G", "x", 1000);
    put(f, "b", "G", "y", 1000);
    smt_view_sync(f->v);
    assert_int_equal(smt_view_closing_count(f->v), 0);
    smt_event ev = test_event(SMT_EVENT_CLOSED, "b", SM_REMOTE_CLOSED, NULL, NULL, false);
    assert_int_equal(smt_model_apply(f->m, &ev, 2000, NULL), SM_OK);
    smt_view_sync(f->v);
    assert_int_equal(smt_view_count(f->v), 2);
    assert_int_equal(smt_view_closing_count(f->v), 1);
    assert_int_equal(smt_model_open_count(f->m), 1);
    assert_true(smt_view_check(f->v));
    /* a filter that hides the closing row takes it out of the count too */
    sm_error err;
    assert_int_equal(smt_view_set_filter(f->v, "G is 'x'", &err), SM_OK);
    assert_int_equal(smt_view_closing_count(f->v), 0);
    assert_int_equal(smt_view_set_filter(f->v, NULL, &err), SM_OK);
    assert_int_equal(smt_view_closing_count(f->v), 1);
    /* the fade ends: the row leaves */
    smt_model_tick(f->m, 2000 + SMT_MODEL_FADE_MS);
    smt_view_sync(f->v);
    assert_int_equal(smt_view_count(f->v), 1);
    assert_int_equal(smt_view_closing_count(f->v), 0);
    /* whether a row passes filter and search, independent of the tree */
    smt_row *a = smt_model_find(f->m, "a");
    assert_true(smt_view_row_passes(f->v, a));
    smt_view_set_search(f->v, "zzz");
    assert_false(smt_view_row_passes(f->v, a));
    assert_true(smt_view_check(f->v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sort_numbers_text_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ties_by_id_like_strcmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort_by_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental_updates_move_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coalescing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_and_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_brute_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closing_count, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
