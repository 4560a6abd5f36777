/* The monitor's keyboard and mouse decoder: terminal bytes in, keys and mouse events out, never blocking.
 *
 * curses' own decoder reads the rest of a mouse sequence with a blocking wait once it has seen
 * its start, so one click could stop the loop for as long as no key came. Here every byte is
 * handed over as it arrives and a sequence is completed only by later bytes or a timer: the
 * loop never waits on the terminal. Decoded: UTF-8 text, CSI and SS3 keys (normal and
 * application mode), and the X10, SGR (1006) and urxvt (1015) mouse encodings. */
#include "tui/input.h"

#include <curses.h>
#include <string.h>

#include "tui/keys.h"

#define K(k) SMT_KEY_FN(k)

typedef enum parse_result {
    PARSE_INCOMPLETE = 0, /* a prefix of something valid: wait */
    PARSE_DONE,           /* *used bytes form one event (or a sequence that means nothing) */
    PARSE_INVALID         /* the first byte stands alone */
} parse_result;

void smt_input_init(smt_input *in, int esc_ms)
{
    memset(in, 0, sizeof *in);
    in->esc_ms = esc_ms > 0 && esc_ms <= 5000 ? esc_ms : SMT_INPUT_ESC_MS;
}

static bool set_key(smt_input_event *ev, int32_t key)
{
    ev->is_mouse = false;
    ev->key = key;
    return true;
}

/* Button code of any encoding (already without its +32 offset for X10 and urxvt). */
static bool set_mouse(smt_input_event *ev, long code, long x, long y, bool release)
{
    if (x < 1 || y < 1 || x > 100000 || y > 100000 || code < 0 || code > 255)
        return false;
    ev->is_mouse = true;
    ev->key = 0;
    ev->mouse.x = (int)x - 1;
    ev->mouse.y = (int)y - 1;
    int low = (int)(code & 3);
    if (code & 64) { /* wheel: 64 up, 65 down (66/67 sideways: ignored) */
        if (low > 1)
            return false;
        ev->mouse.kind = low == 0 ? SMT_MOUSE_WHEEL_UP : SMT_MOUSE_WHEEL_DOWN;
        ev->mouse.button = 0;
        return true;
    }
    ev->mouse.button = low == 3 ? 0 : low + 1;
    if (release || low == 3)
        ev->mouse.kind = SMT_MOUSE_RELEASE;
    else
        ev->mouse.kind = (code & 32) ? SMT_MOUSE_DRAG : SMT_MOUSE_PRESS;
    return true;
}

/* Up to three decimal parameters separated by ';' (params[i] = -1 when absent). */
static int parse_params(const unsigned char *p, size_t n, long *params, int max)
{
    int count = 0;
    long cur = -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            cur = (cur < 0 ? 0 : cur) * 10 + (p[i] - '0');
            if (cur > 1000000)
                return -1;
        } else if (p[i] == ';') {
            if (count < max)
                params[count] = cur;
            count++;
            cur = -1;
        } else {
            return -1;
        }
    }
    if (count < max)
        params[count] = cur;
    return count + 1;
}

static int32_t tilde_key(long n)
{
    switch (n) {
    case 1: case 7: return K(KEY_HOME);
    case 2: return K(KEY_IC);
    case 3: return K(KEY_DC);
    case 4: case 8: return K(KEY_END);
    case 5: return K(KEY_PPAGE);
    case 6: return K(KEY_NPAGE);
    case 11: case 12: case 13: case 14: case 15: return K(KEY_F((int)n - 10));
    case 17: case 18: case 19: case 20: case 21: return K(KEY_F((int)n - 11));
    case 23: case 24: return K(KEY_F((int)n - 12));
    default: return 0;
    }
}

static int32_t letter_key(unsigned char c, long modifier)
{
    bool shift = modifier == 2;
    switch (c) {
    case 'A': return shift ? K(KEY_SR) : K(KEY_UP);
    case 'B': return shift ? K(KEY_SF) : K(KEY_DOWN);
    case 'C': return K(KEY_RIGHT);
    case 'D': return K(KEY_LEFT);
    case 'H': return K(KEY_HOME);
    case 'F': return K(KEY_END);
    case 'P': case 'Q': case 'R': case 'S': return K(KEY_F(c - 'P' + 1));
    case 'Z': return K(KEY_BTAB);
    default: return 0;
    }
}

/* ESC [ ... : keys, the SGR and urxvt mouse, and X10's ESC [ M b x y. */
static parse_result parse_csi(const unsigned char *p, size_t n, size_t *used, smt_input_event *ev, bool *has)
{
    if (n < 3)
        return PARSE_INCOMPLETE;
    if (p[2] == 'M') { /* X10: three raw bytes, each +32 */
        if (n < 6)
            return PARSE_INCOMPLETE;
        *used = 6;
        *has = set_mouse(ev, (long)p[3] - 32, (long)p[4] - 32, (long)p[5] - 32, false);
        return PARSE_DONE;
    }
    size_t start = p[2] == '<' ? 3 : 2;
    size_t i = start;
    while (i < n && p[i] >= 0x30 && p[i] <= 0x3f) /* parameter bytes */
        i++;
    while (i < n && p[i] >= 0x20 && p[i] <= 0x2f) /* intermediate bytes */
        i++;
    if (i == n)
        return PARSE_INCOMPLETE;
    unsigned char final = p[i];
    if (final < 0x40 || final > 0x7e)
        return PARSE_INVALID;
    *used = i + 1;
    long params[3] = {-1, -1, -1};
    int np = parse_params(p + start, i - start, params, 3);
    if (start == 3) { /* SGR: ESC [ < b ; x ; y M|m */
        *has = (final == 'M' || final == 'm') && np == 3 && set_mouse(ev, params[0], params[1], params[2], final == 'm');
        return PARSE_DONE;
    }
    if (final == 'M' && np == 3) { /* urxvt: ESC [ b ; x ; y M, b with its +32 */
        *has = set_mouse(ev, params[0] - 32, params[1], params[2], false);
        return PARSE_DONE;
    }
    int32_t key = final == '~' ? tilde_key(params[0]) : letter_key(final, np >= 2 ? params[1] : -1);
    *has = key != 0 && set_key(ev, key); /* unknown sequences (bracketed paste marks, focus) mean nothing */
    return PARSE_DONE;
}

static parse_result parse_utf8(const unsigned char *p, size_t n, size_t *used, smt_input_event *ev, bool *has)
{
    unsigned char c = p[0];
    size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    if (len == 0 || c > 0xf4) {
        *used = 1; /* not a lead byte: dropped */
        return PARSE_DONE;
    }
    int32_t cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if (i >= n)
            return PARSE_INCOMPLETE;
        if ((p[i] & 0xc0) != 0x80) {
            *used = i; /* a broken character: dropped, the byte after it decoded on its own */
            return PARSE_DONE;
        }
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    *used = len;
    bool ok = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
              !(cp >= 0xd800 && cp <= 0xdfff);
    *has = ok && set_key(ev, cp);
    return PARSE_DONE;
}

static parse_result parse(const unsigned char *p, size_t n, size_t *used, smt_input_event *ev, bool *has)
{
    *has = false;
    *used = 1;
    if (p[0] != SMT_KEY_ESC) {
        if (p[0] < 0x80) {
            *has = set_key(ev, p[0]);
            return PARSE_DONE;
        }
        return parse_utf8(p, n, used, ev, has);
    }
    if (n < 2)
        return PARSE_INCOMPLETE;
    if (p[1] == '[')
        return parse_csi(p, n, used, ev, has);
    if (p[1] == 'O') {
        if (n < 3)
            return PARSE_INCOMPLETE;
        *used = 3;
        int32_t key = p[2] == 'M' ? K(KEY_ENTER) : letter_key(p[2], -1);
        *has = key != 0 && set_key(ev, key);
        return PARSE_DONE;
    }
    return PARSE_INVALID; /* Esc then something else (Alt-x): Esc, then the rest on its own */
}

/* Decodes what is pending as far as it goes; an invalid start is the Esc key. */
static void drain(smt_input *in, smt_input_emit_fn emit, void *ctx)
{
    while (in->npending > 0) {
        size_t used = 0;
        bool has = false;
        smt_input_event ev;
        memset(&ev, 0, sizeof ev);
        parse_result r = parse(in->pending, in->npending, &used, &ev, &has);
        if (r == PARSE_INCOMPLETE) {
            if (in->npending < SMT_INPUT_SEQ_MAX)
                return;
            in->dropped++; /* no terminal sends this much: hostile or garbage */
            in->npending = 0;
            in->skipping = true;
            return;
        }
        if (r == PARSE_INVALID) {
            used = 1;
            has = set_key(&ev, in->pending[0]);
        } else if (!has && in->pending[0] == SMT_KEY_ESC) {
            in->dropped++;
        }
        if (has)
            emit(ctx, &ev);
        memmove(in->pending, in->pending + used, in->npending - used);
        in->npending -= used;
    }
}

void smt_input_feed(smt_input *in, const void *bytes, size_t n, uint64_t now, smt_input_emit_fn emit, void *ctx)
{
    const unsigned char *b = bytes;
    for (size_t i = 0; i < n; i++) {
        if (in->skipping) {
            if (b[i] >= 0x20 && b[i] <= 0x7e) {
                in->skipping = b[i] < 0x40; /* parameters go on; a final byte ends it */
                continue;
            }
            in->skipping = false;
        }
        if (in->npending == 0)
            in->pending_since = now;
        in->pending[in->npending++] = b[i];
        drain(in, emit, ctx);
    }
}

int64_t smt_input_timeout(const smt_input *in, uint64_t now)
{
    if (in->npending == 0)
        return -1;
    uint64_t wait = in->npending == 1 && in->pending[0] == SMT_KEY_ESC ? (uint64_t)in->esc_ms : SMT_INPUT_SEQ_MS;
    return in->pending_since + wait > now ? (int64_t)(in->pending_since + wait - now) : 0;
}

void smt_input_expire(smt_input *in, uint64_t now, smt_input_emit_fn emit, void *ctx)
{
    if (in->npending == 0 || smt_input_timeout(in, now) > 0)
        return;
    if (in->npending == 1 && in->pending[0] == SMT_KEY_ESC) {
        smt_input_event ev = {.is_mouse = false, .key = SMT_KEY_ESC};
        in->npending = 0;
        emit(ctx, &ev);
        return;
    }
    /* A sequence that stopped halfway: the start was an Esc typed just before other keys, or
     * a cut-off sequence. Esc then the rest decoded anew keeps typed keys; an unfinished CSI is
     * dropped whole (its bytes as keys would be random commands). */
    if (in->pending[0] == SMT_KEY_ESC && in->npending >= 2 && (in->pending[1] == '[' || in->pending[1] == 'O')) {
        in->dropped++;
        in->npending = 0;
        return;
    }
    in->npending = 0; /* a broken UTF-8 character */
    in->dropped++;
}
