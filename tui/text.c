/* Untrusted text for the terminal: escaping, display width, and fitting into N columns. */
#include "tui/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/unicode.h"
#include "core/utf8.h"

#define REPLACEMENT 0xFFFDu
#define DOTTED_CIRCLE 0x25CCu
#define ELLIPSIS 0x2026u
#define MAX_COMBINING 4

static bool utf8_locale(void)
{
    return MB_CUR_MAX > 1;
}

bool smt_text_is_hidden(uint32_t cp)
{
    return sm_unicode_is_format(cp) || cp == 0x2028 || cp == 0x2029;
}

uint32_t smt_text_safe_codepoint(uint32_t cp)
{
    if (cp < 0x20)
        return 0x2400u + cp;
    if (cp == 0x7F)
        return 0x2421u;
    if (cp >= 0x80 && cp <= 0x9F)
        return REPLACEMENT;
    if (smt_text_is_hidden(cp) || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return REPLACEMENT;
    return cp;
}

/* Width of an already-safe code point; -1 maps to the replacement (width 1). */
static int cp_width(uint32_t cp, uint32_t *shown)
{
    *shown = cp;
    if (cp < 0x7F)
        return 1;
    if (!utf8_locale()) {
        *shown = '?';
        return 1;
    }
    int w = wcwidth((wchar_t)cp);
    if (w < 0) {
        *shown = REPLACEMENT;
        return 1;
    }
    return w;
}

/* Decodes the next code point of untrusted text; bad bytes become U+FFFD one at a time. */
static size_t next_cp(const char *s, size_t len, size_t pos, uint32_t *cp)
{
    unsigned char c = (unsigned char)s[pos];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n = sm_utf8_decode(s + pos, len - pos, cp);
    if (n == 0) {
        *cp = REPLACEMENT;
        return 1;
    }
    return n;
}

/* Iterates display clusters: one base (width >= 1) plus up to MAX_COMBINING marks. */
typedef struct cluster {
    uint32_t cps[MAX_COMBINING + 2];
    int n;
    int width;
} cluster;

static size_t next_cluster(const char *s, size_t len, size_t pos, cluster *cl)
{
    /* Printable ASCII not followed by a combining mark (those are never ASCII): most of what
     * the monitor shows, one column each. */
    unsigned char c = (unsigned char)s[pos];
    if (c >= 0x20 && c < 0x7F && (pos + 1 >= len || (unsigned char)s[pos + 1] < 0x80)) {
        cl->cps[0] = c;
        cl->n = 1;
        cl->width = 1;
        return pos + 1;
    }
    cl->n = 0;
    cl->width = 0;
    uint32_t cp, shown;
    size_t n = next_cp(s, len, pos, &cp);
    int w = cp_width(smt_text_safe_codepoint(cp), &shown);
    pos += n;
    if (w == 0) { /* orphan combining mark: show it on a dotted circle */
        cl->cps[cl->n++] = DOTTED_CIRCLE;
        cl->cps[cl->n++] = shown;
        cl->width = 1;
    } else {
        cl->cps[cl->n++] = shown;
        cl->width = w;
    }
    int marks = cl->n - 1;
    while (pos < len) {
        uint32_t mcp, mshown;
        size_t mn = next_cp(s, len, pos, &mcp);
        uint32_t safe = smt_text_safe_codepoint(mcp);
        if (safe != mcp || mcp < 0x300) /* replaced characters are never combining */
            break;
        if (cp_width(safe, &mshown) != 0)
            break;
        pos += mn;
        if (marks < MAX_COMBINING) {
            cl->cps[cl->n++] = mshown;
            marks++;
        }
    }
    return pos;
}

int smt_text_width(const char *s, size_t len)
{
    int w = 0;
    size_t pos = 0;
    cluster cl;
    while (s && pos < len) {
        pos = next_cluster(s, len, pos, &cl);
        if (w > 1000000)
            break;
        w += cl.width;
    }
    return w;
}

int smt_text_fit(const char *s, size_t len, int cols, bool pad, wchar_t *out, size_t outcap, bool *truncated)
{
    if (truncated)
        *truncated = false;
    if (!out || outcap == 0)
        return 0;
    out[0] = L'\0';
    if (cols <= 0)
        return 0;
    size_t o = 0;
    int used = 0;
    size_t cut_o = 0; /* output position and width where an ellipsis still fits after */
    int cut_used = 0;
    size_t pos = 0;
    bool overflow = false;
    cluster cl;
    while (s && pos < len) {
        pos = next_cluster(s, len, pos, &cl);
        if (used + cl.width > cols || o + (size_t)cl.n + 2 > outcap) {
            overflow = true;
            break;
        }
        for (int i = 0; i < cl.n; i++)
            out[o++] = (wchar_t)cl.cps[i];
        used += cl.width;
        if (used <= cols - 1) {
            cut_o = o;
            cut_used = used;
        }
    }
    if (overflow) {
        o = cut_o;
        used = cut_used;
        out[o++] = utf8_locale() ? (wchar_t)ELLIPSIS : L'~';
        used++;
        if (truncated)
            *truncated = true;
    }
    while (pad && used < cols && o + 1 < outcap) {
        out[o++] = L' ';
        used++;
    }
    out[o] = L'\0';
    return used;
}

size_t smt_text_escape(const char *s, size_t len, char *out, size_t outcap)
{
    if (!out || outcap == 0)
        return 0;
    size_t o = 0;
    size_t pos = 0;
    cluster cl;
    while (s && pos < len) {
        pos = next_cluster(s, len, pos, &cl);
        char tmp[4 * (MAX_COMBINING + 2)];
        size_t tn = 0;
        for (int i = 0; i < cl.n; i++)
            tn += sm_utf8_encode(cl.cps[i], tmp + tn);
        if (o + tn + 1 > outcap)
            break;
        memcpy(out + o, tmp, tn);
        o += tn;
    }
    out[o] = '\0';
    return o;
}

size_t smt_text_printf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t len = smt_text_vprintf(out, cap, fmt, ap);
    va_end(ap);
    return len;
}

size_t smt_text_vprintf(char *out, size_t cap, const char *fmt, va_list ap)
{
    if (!out || cap == 0)
        return 0;
    int n = vsnprintf(out, cap, fmt, ap);
    if (n < 0) {
        out[0] = '\0';
        return 0;
    }
    size_t len = (size_t)n < cap ? (size_t)n : cap - 1;
    if ((size_t)n >= cap) { /* cut back to the start of a character that fits whole */
        size_t i = len;
        while (i > 0 && ((unsigned char)out[i - 1] & 0xC0) == 0x80)
            i--;
        if (i > 0 && (unsigned char)out[i - 1] >= 0xC0) {
            unsigned char lead = (unsigned char)out[i - 1];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (len - (i - 1) < need)
                len = i - 1;
        }
        out[len] = '\0';
    }
    return len;
}

char *smt_text_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool smt_text_contains_ci(const char *hay, size_t haylen, const char *needle, size_t needlelen)
{
    if (needlelen == 0)
        return true;
    if (!hay || haylen < needlelen)
        return false;
    unsigned char first = ascii_lower((unsigned char)needle[0]);
    for (size_t i = 0; i + needlelen <= haylen; i++) {
        if (ascii_lower((unsigned char)hay[i]) != first)
            continue;
        size_t j = 1;
        while (j < needlelen && ascii_lower((unsigned char)hay[i + j]) == ascii_lower((unsigned char)needle[j]))
            j++;
        if (j == needlelen)
            return true;
    }
    return false;
}

size_t smt_text_wrap(const char *s, size_t len, size_t start, int w)
{
    size_t pos = start, space = start;
    int width = 0;
    cluster cl;
    while (pos < len) { /* by display clusters: a combining mark stays with its base */
        size_t next = next_cluster(s, len, pos, &cl);
        if (width + cl.width > w)
            break;
        if (s[pos] == ' ')
            space = pos;
        width += cl.width;
        pos = next;
    }
    if (pos < len && space > start)
        return space;
    if (pos == start && pos < len) /* a single character wider than the line */
        pos = next_cluster(s, len, pos, &cl);
    return pos;
}

int smt_text_wrap_count(const char *s, size_t len, int w, int max)
{
    size_t pos = 0;
    int n = 0;
    while (pos < len && n < max) {
        pos = smt_text_wrap(s, len, pos, w);
        if (pos < len && s[pos] == ' ')
            pos++;
        n++;
    }
    return n;
}

size_t smt_text_prev_char(const char *s, size_t pos)
{
    if (pos == 0)
        return 0;
    pos--;
    while (pos > 0 && ((unsigned char)s[pos] & 0xC0) == 0x80)
        pos--;
    return pos;
}

size_t smt_text_next_char(const char *s, size_t len, size_t pos)
{
    if (pos >= len)
        return len;
    pos++;
    while (pos < len && ((unsigned char)s[pos] & 0xC0) == 0x80)
        pos++;
    return pos;
}

bool smt_text_format_time(int64_t ms, bool short_form, char *out, size_t outcap)
{
    if (!out || outcap == 0)
        return false;
    out[0] = '\0';
    if (ms < 0 || ms > 253402300799999LL) /* year 9999 */
        return false;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return false;
    return strftime(out, outcap, short_form ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm) > 0;
}
