/* Output of the sessmon subcommands: terminal-safe escaping, aligned tables and NDJSON values. */
#include "tui/cli_out.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/buf.h"
#include "core/props.h"
#include "core/utf8.h"
#include "tui/text.h"

/* Code points escaped although they are valid text: C1 controls, and what the monitor replaces
 * too (smt_text_is_hidden: zero-width, bidi and other format characters, line separators), which a
 * terminal would show as nothing or use to reorder the line. */
static bool needs_escape(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || smt_text_is_hidden(cp);
}

/* \uNNNN, or \UNNNNNNNN above the BMP (the escapes of C and Python). */
static void put_escape(sm_buf *b, uint32_t cp)
{
    if (cp > 0xFFFF)
        sm_buf_printf(b, "\\U%08X", (unsigned)cp);
    else
        sm_buf_printf(b, "\\u%04X", (unsigned)cp);
}

static char *escape(const char *s, bool double_backslashes)
{
    sm_buf b;
    sm_buf_init(&b, 0, 0);
    if (!s)
        s = "";
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\\' && double_backslashes) {
            sm_buf_puts(&b, "\\\\");
            i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            sm_buf_printf(&b, "\\x%02X", ch);
            i++;
        } else if (ch < 0x80) {
            sm_buf_putc(&b, (char)ch);
            i++;
        } else {
            uint32_t cp;
            size_t n = sm_utf8_decode(s + i, len - i, &cp);
            if (n == 0) {
                sm_buf_printf(&b, "\\x%02X", ch);
                i++;
            } else if (needs_escape(cp)) {
                put_escape(&b, cp);
                i += n;
            } else {
                sm_buf_append(&b, s + i, n);
                i += n;
            }
        }
    }
    if (b.overflow) {
        sm_buf_free(&b);
        return NULL;
    }
    sm_buf_putc(&b, '\0');
    return sm_buf_steal(&b);
}

char *smt_cli_escape(const char *s)
{
    return escape(s, true);
}

char *smt_cli_escape_message(const char *s)
{
    return escape(s, false);
}

size_t smt_cli_width(const char *escaped)
{
    size_t width = 0, len = strlen(escaped);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = sm_utf8_decode(escaped + i, len - i, &cp);
        if (n == 0) {
            width++;
            i++;
            continue;
        }
        int w = wcwidth((wchar_t)cp);
        width += w < 0 ? 1 : (size_t)w;
        i += n;
    }
    return width;
}

void smt_cli_json_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            fputc('\\', f);
            fputc(ch, f);
            i++;
        } else if (ch == '\n') {
            fputs("\\n", f);
            i++;
        } else if (ch == '\t') {
            fputs("\\t", f);
            i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            fprintf(f, "\\u%04x", ch);
            i++;
        } else if (ch < 0x80) {
            fputc(ch, f);
            i++;
        } else {
            uint32_t cp;
            size_t n = sm_utf8_decode(s + i, len - i, &cp);
            if (n == 0) {
                fputs("\\ufffd", f); /* never emit invalid UTF-8 into JSON */
                i++;
            } else if (needs_escape(cp)) {
                if (cp > 0xFFFF) /* JSON spells it as a surrogate pair */
                    fprintf(f, "\\u%04x\\u%04x", (unsigned)(0xD800 + ((cp - 0x10000) >> 10)),
                            (unsigned)(0xDC00 + ((cp - 0x10000) & 0x3FF)));
                else
                    fprintf(f, "\\u%04x", (unsigned)cp);
                i += n;
            } else {
                fwrite(s + i, 1, n, f);
                i += n;
            }
        }
    }
    fputc('"', f);
}

void smt_cli_json_props(FILE *f, const sm_property *props, size_t n)
{
    fputc('{', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        smt_cli_json_string(f, props[i].key);
        fputc(':', f);
        smt_cli_json_string(f, props[i].value);
    }
    fputc('}', f);
}

static size_t fixed_rank(const char *key)
{
    for (size_t i = 0; i < sm_fixed_property_count; i++)
        if (strcmp(sm_fixed_property_names[i], key) == 0)
            return i;
    return sm_fixed_property_count;
}

int smt_cli_key_cmp(const void *a, const void *b)
{
    const char *ka = *(const char *const *)a, *kb = *(const char *const *)b;
    bool fa = ka[0] == '$', fb = kb[0] == '$';
    if (fa != fb)
        return fa ? -1 : 1;
    if (fa) {
        size_t ra = fixed_rank(ka), rb = fixed_rank(kb);
        if (ra != rb)
            return ra < rb ? -1 : 1;
    }
    return strcmp(ka, kb);
}

int smt_cli_table_init(smt_cli_table *t, size_t cols)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
    t->widths = calloc(cols ? cols : 1, sizeof *t->widths);
    return t->widths ? 0 : -1;
}

int smt_cli_table_add(smt_cli_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **bigger = realloc(t->cells, cap * t->cols * sizeof *bigger);
        if (!bigger)
            return -1;
        t->cells = bigger;
        t->cap = cap;
    }
    char **row = t->cells + t->rows * t->cols;
    for (size_t c = 0; c < t->cols; c++) {
        row[c] = smt_cli_escape(cells[c] ? cells[c] : "-");
        if (!row[c]) {
            for (size_t k = 0; k < c; k++)
                free(row[k]);
            return -1;
        }
        size_t w = smt_cli_width(row[c]);
        if (w > t->widths[c])
            t->widths[c] = w;
    }
    t->rows++;
    return 0;
}

void smt_cli_table_print(const smt_cli_table *t, FILE *f)
{
    for (size_t r = 0; r < t->rows; r++) {
        char **row = t->cells + r * t->cols;
        for (size_t c = 0; c < t->cols; c++) {
            fputs(row[c], f);
            if (c + 1 < t->cols)
                for (size_t pad = smt_cli_width(row[c]); pad < t->widths[c] + 2; pad++)
                    fputc(' ', f);
        }
        fputc('\n', f);
    }
}

void smt_cli_table_free(smt_cli_table *t)
{
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->widths);
    memset(t, 0, sizeof *t);
}
