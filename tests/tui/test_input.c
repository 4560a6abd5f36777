/* Unit tests of tui/input: every key and mouse encoding decoded whole, split at every byte boundary,
 * one byte at a time, and garbage that never blocks nor grows without bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curses.h>
#include <string.h>

#include "tui/input.h"
#include "tui/keys.h"

#define MAX_EVENTS 64

typedef struct sink {
    smt_input_event ev[MAX_EVENTS];
    size_t n;
} sink;

static void collect(void *ctx, const smt_input_event *ev)
{
    sink *s = ctx;
    assert_true(s->n < MAX_EVENTS);
    s->ev[s->n++] = *ev;
}

typedef struct mouse_case {
    const char *name;
    const char *bytes;
    size_t len;
    smt_mouse want;
} mouse_case;

#define MC(name, str, kind, button, x, y) {name, str, sizeof str - 1, {kind, button, x, y}}

static const mouse_case mouse_cases[] = {
    MC("SGR press", "\033[<0;5;10M", SMT_MOUSE_PRESS, 1, 4, 9),
    MC("SGR release", "\033[<0;5;10m", SMT_MOUSE_RELEASE, 1, 4, 9),
    MC("SGR right press", "\033[<2;120;45M", SMT_MOUSE_PRESS, 3, 119, 44),
    MC("SGR drag", "\033[<32;7;3M", SMT_MOUSE_DRAG, 1, 6, 2),
    MC("SGR wheel up", "\033[<64;1;1M", SMT_MOUSE_WHEEL_UP, 0, 0, 0),
    MC("SGR wheel down", "\033[<65;300;200M", SMT_MOUSE_WHEEL_DOWN, 0, 299, 199),
    MC("X10 press", "\033[M\x20\x25\x2a", SMT_MOUSE_PRESS, 1, 4, 9),
    MC("X10 release", "\033[M\x23\x25\x2a", SMT_MOUSE_RELEASE, 0, 4, 9),
    MC("X10 drag", "\033[M\x40\x27\x23", SMT_MOUSE_DRAG, 1, 6, 2),
    MC("X10 wheel up", "\033[M\x60\x21\x21", SMT_MOUSE_WHEEL_UP, 0, 0, 0),
    MC("X10 wheel down", "\033[M\x61\x21\x21", SMT_MOUSE_WHEEL_DOWN, 0, 0, 0),
    MC("X10 high column", "\033[M\x20\xff\xa0", SMT_MOUSE_PRESS, 1, 222, 127),
    MC("urxvt press", "\033[32;5;10M", SMT_MOUSE_PRESS, 1, 4, 9),
    MC("urxvt release", "\033[35;5;10M", SMT_MOUSE_RELEASE, 0, 4, 9),
    MC("urxvt wheel down", "\033[97;2;3M", SMT_MOUSE_WHEEL_DOWN, 0, 1, 2),
};

static void assert_mouse(const mouse_case *c, const sink *s)
{
    if (s->n != 1 || !s->ev[0].is_mouse)
        fail_msg("%s: %zu events, first is_mouse=%d", c->name, s->n, s->n ? s->ev[0].is_mouse : -1);
    assert_int_equal(s->ev[0].mouse.kind, c->want.kind);
    assert_int_equal(s->ev[0].mouse.button, c->want.button);
    assert_int_equal(s->ev[0].mouse.x, c->want.x);
    assert_int_equal(s->ev[0].mouse.y, c->want.y);
}

/* Each encoding in two parts at every boundary, with time passing between the parts (less than
 * the sequence timeout), then byte by byte: always exactly one event, nothing left pending. */
static void test_mouse_split_everywhere(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mouse_cases / sizeof *mouse_cases; i++) {
        const mouse_case *c = &mouse_cases[i];
        for (size_t cut = 0; cut <= c->len; cut++) {
            smt_input in;
            smt_input_init(&in, 25);
            sink s = {.n = 0};
            smt_input_feed(&in, c->bytes, cut, 1000, collect, &s);
            assert_int_equal(s.n, 0 + (cut == c->len));
            /* the loop wakes up for the timer: an unfinished sequence is not the Esc key */
            if (cut < c->len) {
                assert_true(smt_input_timeout(&in, 1000) > 0 || cut == 0);
                smt_input_expire(&in, 1000 + 20, collect, &s);
                assert_int_equal(s.n, 0);
            }
            smt_input_feed(&in, c->bytes + cut, c->len - cut, 1100, collect, &s);
            assert_mouse(c, &s);
            assert_int_equal(in.npending, 0);
            assert_int_equal(smt_input_timeout(&in, 1100), -1);
        }
        smt_input in;
        smt_input_init(&in, 25);
        sink s = {.n = 0};
        for (size_t b = 0; b < c->len; b++)
            smt_input_feed(&in, c->bytes + b, 1, 2000 + b, collect, &s);
        assert_mouse(c, &s);
    }
}

/* A click between keys, all in one read: key, click, release, key, in that order. */
static void test_mouse_between_keys(void **state)
{
    (void)state;
    const char bytes[] = "j\033[<0;5;10M\033[<0;5;10mk";
    smt_input in;
    smt_input_init(&in, 25);
    sink s = {.n = 0};
    smt_input_feed(&in, bytes, sizeof bytes - 1, 0, collect, &s);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.ev[0].key, 'j');
    assert_true(s.ev[1].is_mouse && s.ev[1].mouse.kind == SMT_MOUSE_PRESS);
    assert_true(s.ev[2].is_mouse && s.ev[2].mouse.kind == SMT_MOUSE_RELEASE);
    assert_int_equal(s.ev[3].key, 'k');
}

static void test_keys(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        int32_t key;
    } cases[] = {
        {"\033[A", SMT_KEY_FN(KEY_UP)},     {"\033OA", SMT_KEY_FN(KEY_UP)},     {"\033[B", SMT_KEY_FN(KEY_DOWN)},
        {"\033[C", SMT_KEY_FN(KEY_RIGHT)},  {"\033[D", SMT_KEY_FN(KEY_LEFT)},   {"\033[H", SMT_KEY_FN(KEY_HOME)},
        {"\033[1~", SMT_KEY_FN(KEY_HOME)},  {"\033[4~", SMT_KEY_FN(KEY_END)},   {"\033OF", SMT_KEY_FN(KEY_END)},
        {"\033[5~", SMT_KEY_FN(KEY_PPAGE)}, {"\033[6~", SMT_KEY_FN(KEY_NPAGE)}, {"\033[2~", SMT_KEY_FN(KEY_IC)},
        {"\033[3~", SMT_KEY_FN(KEY_DC)},    {"\033OP", SMT_KEY_FN(KEY_F(1))},   {"\033[11~", SMT_KEY_FN(KEY_F(1))},
        {"\033[15~", SMT_KEY_FN(KEY_F(5))}, {"\033[17~", SMT_KEY_FN(KEY_F(6))}, {"\033[21~", SMT_KEY_FN(KEY_F(10))},
        {"\033[24~", SMT_KEY_FN(KEY_F(12))}, {"\033[1;2A", SMT_KEY_FN(KEY_SR)}, {"\033[1;2B", SMT_KEY_FN(KEY_SF)},
        {"\033[Z", SMT_KEY_FN(KEY_BTAB)},   {"\033OM", SMT_KEY_FN(KEY_ENTER)},  {"\r", '\r'},
        {"\x7f", 127},                      {"q", 'q'},                         {"\xc3\xa9", 0xe9},
        {"\xe2\x82\xac", 0x20ac},           {"\xf0\x9f\x98\x80", 0x1f600},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = strlen(cases[i].bytes);
        for (size_t cut = 0; cut <= len; cut++) {
            smt_input in;
            smt_input_init(&in, 25);
            sink s = {.n = 0};
            smt_input_feed(&in, cases[i].bytes, cut, 0, collect, &s);
            smt_input_feed(&in, cases[i].bytes + cut, len - cut, 10, collect, &s);
            if (s.n != 1)
                fail_msg("case %zu cut %zu: %zu events", i, cut, s.n);
            assert_false(s.ev[0].is_mouse);
            assert_int_equal(s.ev[0].key, cases[i].key);
        }
    }
}

/* Esc alone is the Esc key only after the delay; Esc Esc is two; Alt-x is Esc then x. */
static void test_escape_timing(void **state)
{
    (void)state;
    smt_input in;
    smt_input_init(&in, 25);
    sink s = {.n = 0};
    smt_input_feed(&in, "\033", 1, 100, collect, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(smt_input_timeout(&in, 110), 15);
    smt_input_expire(&in, 110, collect, &s);
    assert_int_equal(s.n, 0);
    smt_input_expire(&in, 125, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ev[0].key, SMT_KEY_ESC);
    assert_int_equal(smt_input_timeout(&in, 125), -1);

    s.n = 0;
    smt_input_feed(&in, "\033\033x", 3, 200, collect, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.ev[0].key, SMT_KEY_ESC);
    assert_int_equal(s.ev[1].key, SMT_KEY_ESC);
    assert_int_equal(s.ev[2].key, 'x');

    /* a sequence cut off for good is dropped, not turned into keys */
    s.n = 0;
    smt_input_feed(&in, "\033[<0;5", 6, 300, collect, &s);
    smt_input_expire(&in, 300 + SMT_INPUT_SEQ_MS, collect, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(in.npending, 0);
    smt_input_feed(&in, "j", 1, 1000, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ev[0].key, 'j');
}

/* Garbage: an endless parameter list, bytes that are not UTF-8, pasted text. Nothing grows past
 * the bound and the keys after it still come through. */
static void test_garbage_bounded(void **state)
{
    (void)state;
    smt_input in;
    smt_input_init(&in, 25);
    sink s = {.n = 0};
    smt_input_feed(&in, "\033[", 2, 0, collect, &s);
    for (int i = 0; i < 10000; i++) {
        smt_input_feed(&in, "1;", 2, 0, collect, &s);
        assert_true(in.npending <= SMT_INPUT_SEQ_MAX);
    }
    assert_true(in.dropped > 0);
    assert_int_equal(s.n, 0); /* the run's bytes never turn into keys */
    smt_input_feed(&in, "A", 1, 0, collect, &s); /* its final byte ends it */
    assert_int_equal(s.n, 0);
    smt_input_feed(&in, "j", 1, 0, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ev[0].key, 'j');
    s.n = 0;
    smt_input_feed(&in, "\x80\xbf\xff\xc3(", 5, 0, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ev[0].key, '(');
    s.n = 0;
    const char paste[] = "hello, w\xc3\xb6rld";
    smt_input_feed(&in, paste, sizeof paste - 1, 0, collect, &s);
    assert_int_equal(s.n, 12);
    assert_int_equal(s.ev[8].key, 0xf6);
    /* unknown sequences (focus in, bracketed paste marks) mean nothing and leave nothing */
    s.n = 0;
    smt_input_feed(&in, "\033[I\033[200~x\033[201~", 16, 0, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ev[0].key, 'x');
    assert_int_equal(in.npending, 0);
}

static void count_keys(void *ctx, const smt_input_event *ev)
{
    size_t *n = ctx;
    assert_false(ev->is_mouse);
    (*n)++;
}

/* A large paste arrives in reads of any size: every character comes out once, in one pass per
 * read, and nothing is left waiting. */
static void test_paste_in_pieces(void **state)
{
    (void)state;
    static char paste[20000];
    for (size_t i = 0; i < sizeof paste; i++)
        paste[i] = (char)('a' + i % 26);
    smt_input in;
    smt_input_init(&in, 25);
    size_t n = 0;
    for (size_t off = 0, step = 1; off < sizeof paste; off += step, step = step * 3 % 4093 + 1) {
        size_t len = off + step > sizeof paste ? sizeof paste - off : step;
        smt_input_feed(&in, paste + off, len, off, count_keys, &n);
    }
    assert_int_equal(n, sizeof paste);
    assert_int_equal(in.npending, 0);
    assert_int_equal(smt_input_timeout(&in, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mouse_split_everywhere),
        cmocka_unit_test(test_mouse_between_keys),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_escape_timing),
        cmocka_unit_test(test_garbage_bounded),
        cmocka_unit_test(test_paste_in_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
