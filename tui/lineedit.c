/* A UTF-8 one-line text editor for the prompts and dialogs. */
#include "tui/lineedit.h"

#include <string.h>

#include "core/utf8.h"
#include "tui/text.h"

void smt_line_init(smt_line *l, size_t max)
{
    memset(l, 0, sizeof *l);
    l->max = (max == 0 || max > SMT_LINE_MAX) ? SMT_LINE_MAX : max;
}

void smt_line_set(smt_line *l, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > l->max) {
        n = l->max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(l->buf, s, n);
    l->buf[n] = '\0';
    l->len = n;
    l->cur = n;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

smt_line_result smt_line_key(smt_line *l, int32_t key)
{
    size_t old;
    switch (key) {
    case SMT_LK_LEFT:
        old = l->cur;
        l->cur = smt_text_prev_char(l->buf, l->cur);
        return l->cur != old ? SMT_LINE_MOVED : SMT_LINE_IGNORED;
    case SMT_LK_RIGHT:
        old = l->cur;
        l->cur = smt_text_next_char(l->buf, l->len, l->cur);
        return l->cur != old ? SMT_LINE_MOVED : SMT_LINE_IGNORED;
    case SMT_LK_HOME:
        l->cur = 0;
        return SMT_LINE_MOVED;
    case SMT_LK_END:
        l->cur = l->len;
        return SMT_LINE_MOVED;
    case SMT_LK_BACKSPACE:
        if (l->cur == 0)
            return SMT_LINE_MOVED;
        old = l->cur;
        l->cur = smt_text_prev_char(l->buf, l->cur);
        memmove(l->buf + l->cur, l->buf + old, l->len - old + 1);
        l->len -= old - l->cur;
        return SMT_LINE_CHANGED;
    case SMT_LK_DELETE: {
        if (l->cur >= l->len)
            return SMT_LINE_MOVED;
        size_t next = smt_text_next_char(l->buf, l->len, l->cur);
        memmove(l->buf + l->cur, l->buf + next, l->len - next + 1);
        l->len -= next - l->cur;
        return SMT_LINE_CHANGED;
    }
    case SMT_LK_KILL_LINE:
        memmove(l->buf, l->buf + l->cur, l->len - l->cur + 1);
        l->len -= l->cur;
        l->cur = 0;
        return SMT_LINE_CHANGED;
    case SMT_LK_KILL_END:
        l->buf[l->cur] = '\0';
        l->len = l->cur;
        return SMT_LINE_CHANGED;
    case SMT_LK_KILL_WORD: {
        size_t end = l->cur, start = l->cur;
        while (start > 0 && is_space(l->buf[start - 1]))
            start--;
        while (start > 0 && !is_space(l->buf[start - 1]))
            start = smt_text_prev_char(l->buf, start);
        memmove(l->buf + start, l->buf + end, l->len - end + 1);
        l->len -= end - start;
        l->cur = start;
        return SMT_LINE_CHANGED;
    }
    default:
        break;
    }
    if (key < 0x20 || key == 0x7F || (key >= 0x80 && key <= 0x9F) || key > 0x10FFFF ||
        (key >= 0xD800 && key <= 0xDFFF))
        return SMT_LINE_IGNORED;
    char enc[4];
    size_t n = sm_utf8_encode((uint32_t)key, enc);
    if (l->len + n > l->max)
        return SMT_LINE_MOVED; /* full: swallow the key rather than act on it */
    memmove(l->buf + l->cur + n, l->buf + l->cur, l->len - l->cur + 1);
    memcpy(l->buf + l->cur, enc, n);
    l->cur += n;
    l->len += n;
    return SMT_LINE_CHANGED;
}
