/* POSIX extended regular expressions for filters: checks and rewrites the POSIX ERE dialect into RE2's. */
#include "core/regex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/props.h"
#include "core/regex_re2.h"

struct sm_regex {
    sm_re2 *re2;
};

__attribute__((format(printf, 4, 5))) static int refuse(int code, char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Reads the decimal number at re[*i], saturating above SM_REGEX_REPEAT_MAX. Returns false when
 * there is no digit. */
static bool read_count(const char *re, size_t len, size_t *i, unsigned *out)
{
    size_t start = *i;
    unsigned n = 0;
    while (*i < len && re[*i] >= '0' && re[*i] <= '9') {
        if (n <= SM_REGEX_REPEAT_MAX)
            n = n * 10 + (unsigned)(re[*i] - '0');
        (*i)++;
    }
    *out = n;
    return *i > start;
}

/* Translates the POSIX ERE re[0..len) into RE2 syntax in out (room for 2 * len + 1 bytes).
 * RE2's POSIX mode reads most of ERE the same way; the differences that would silently change a
 * pattern's meaning are rewritten or refused here:
 * - inside brackets a backslash is an ordinary character in POSIX but an escape in RE2: doubled;
 * - `{,n}` (GNU for {0,n}) is written {0,n}; a `{` that does not start a well-formed count is an
 *   error in glibc but a literal in RE2: refused, so a typo never changes the meaning;
 * - counts above 1000 are refused here (RE2 would read a huge one as literal text);
 * - the GNU anchors \< \> \` \' would be literal characters in RE2: refused;
 * - \1 to \9 (back-references) are refused with a clear message (RE2 reads \12 as octal);
 * - collating elements [. .] and equivalence classes [= =], which RE2 lacks: refused;
 * - a `)` without `(` and groups nested deeper than the filter's own nesting limit are refused
 *   here with the messages the filter language always gave.
 * Everything else (syntax errors included) is left to RE2. */
static int translate(const char *re, size_t len, char *out, size_t *out_len, char *why, size_t why_size)
{
    size_t n = 0, depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = re[i];
        switch (c) {
        case '\\': {
            out[n++] = c;
            if (i + 1 >= len)
                break; /* RE2 reports the trailing backslash */
            char e = re[++i];
            if (e >= '1' && e <= '9')
                return refuse(SM_ERR_INVALID, why, why_size, "back-references (\\1 to \\9) are not supported");
            if (e == '<' || e == '>' || e == '`' || e == '\'')
                return refuse(SM_ERR_INVALID, why, why_size,
                              "the GNU anchors \\< \\> \\` \\' are not supported; use \\b for a word boundary");
            out[n++] = e;
            break;
        }
        case '[': {
            size_t j = i + 1;
            out[n++] = '[';
            if (j < len && re[j] == '^')
                out[n++] = re[j++];
            if (j < len && re[j] == ']')
                out[n++] = re[j++]; /* a ']' first is a member, in both dialects */
            for (; j < len && re[j] != ']'; j++) {
                if (re[j] == '[' && j + 1 < len && (re[j + 1] == '.' || re[j + 1] == '='))
                    return refuse(SM_ERR_INVALID, why, why_size,
                                  "collating elements [. .] and equivalence classes [= =] are not supported");
                if (re[j] == '[' && j + 1 < len && re[j + 1] == ':') {
                    /* [:name:] is copied whole: a ']' inside it does not close the bracket */
                    size_t k = j + 2;
                    while (k + 1 < len && !(re[k] == ':' && re[k + 1] == ']'))
                        k++;
                    if (k + 1 < len) {
                        while (j <= k)
                            out[n++] = re[j++];
                        out[n++] = ']';
                        continue;
                    }
                }
                if (re[j] == '\\')
                    out[n++] = '\\';
                out[n++] = re[j];
            }
            if (j < len)
                out[n++] = ']';
            i = j; /* at the closing ']' or at the end (RE2 then reports the missing ']') */
            break;
        }
        case '(':
            if (++depth > SM_FILTER_DEPTH_MAX)
                return refuse(SM_ERR_LIMIT, why, why_size, "groups nested deeper than %d levels", SM_FILTER_DEPTH_MAX);
            out[n++] = c;
            break;
        case ')':
            if (depth == 0)
                return refuse(SM_ERR_INVALID, why, why_size, "')' without a matching '('");
            depth--;
            out[n++] = c;
            break;
        case '{': {
            size_t j = i + 1;
            unsigned min = 0, max = 0;
            bool have_min = read_count(re, len, &j, &min), comma = false, have_max = false;
            if (j < len && re[j] == ',') {
                comma = true;
                j++;
                have_max = read_count(re, len, &j, &max);
            }
            if (j >= len || re[j] != '}' || (!have_min && !have_max))
                return refuse(SM_ERR_INVALID, why, why_size,
                              "a '{' must start a repetition count such as {2}, {2,} or {2,5}; write \\{ or [{] for a "
                              "literal brace");
            if (min > SM_REGEX_REPEAT_MAX || max > SM_REGEX_REPEAT_MAX)
                return refuse(SM_ERR_LIMIT, why, why_size, "repetition counts are at most %d",
                              SM_REGEX_REPEAT_MAX);
            if (have_max && max < min)
                return refuse(SM_ERR_INVALID, why, why_size,
                              "in a repetition count {m,n}, n must not be smaller than m");
            n += (size_t)snprintf(out + n, 16, "{%u", min);
            if (comma)
                out[n++] = ',';
            if (have_max)
                n += (size_t)snprintf(out + n, 16, "%u", max);
            out[n++] = '}';
            i = j;
            break;
        }
        default:
            out[n++] = c;
            break;
        }
    }
    out[n] = '\0';
    *out_len = n;
    return SM_OK;
}

static int re2_refusal(sm_re2_status status, char *why, size_t why_size)
{
    switch (status) {
    case SM_RE2_OK:
        return SM_OK;
    case SM_RE2_NOMEM:
        return refuse(SM_ERR_NOMEM, why, why_size, "out of memory");
    case SM_RE2_BAD_ESCAPE:
        return refuse(SM_ERR_INVALID, why, why_size,
                      "a backslash escape that does not exist; a backslash goes before punctuation (\\.) or is one "
                      "of \\w \\W \\s \\S \\d \\D \\b \\B \\n \\t");
    case SM_RE2_BAD_CLASS:
        return refuse(SM_ERR_INVALID, why, why_size,
                      "a bracket expression with an unknown [:class:] or a backwards range such as z-a");
    case SM_RE2_MISSING_BRACKET:
        return refuse(SM_ERR_INVALID, why, why_size, "a '[' without its closing ']'");
    case SM_RE2_MISSING_PAREN:
        return refuse(SM_ERR_INVALID, why, why_size, "a '(' without its closing ')'");
    case SM_RE2_UNEXPECTED_PAREN:
        return refuse(SM_ERR_INVALID, why, why_size, "')' without a matching '('");
    case SM_RE2_TRAILING_BACKSLASH:
        return refuse(SM_ERR_INVALID, why, why_size, "a backslash at the end, escaping nothing");
    case SM_RE2_REPEAT_ARGUMENT:
        return refuse(SM_ERR_INVALID, why, why_size, "a repetition (* + ? {}) with nothing before it to repeat");
    case SM_RE2_REPEAT_OP:
        return refuse(SM_ERR_INVALID, why, why_size, "a misplaced repetition operator");
    case SM_RE2_REPEAT_SIZE:
        return refuse(SM_ERR_LIMIT, why, why_size,
                      "nested repetition counts multiply to more than %d, as in (a{40}){40}", SM_REGEX_REPEAT_MAX);
    case SM_RE2_TOO_LARGE:
        return refuse(SM_ERR_LIMIT, why, why_size,
                      "it compiles to more than %d instructions, at most %d are allowed ('.' and repetition counts "
                      "cost the most)",
                      SM_REGEX_PROGRAM_MAX, SM_REGEX_PROGRAM_MAX);
    case SM_RE2_OTHER:
        break;
    }
    return refuse(SM_ERR_INVALID, why, why_size, "it cannot be compiled");
}

int sm_regex_compile(const char *pattern, size_t len, sm_regex **out, char *why, size_t why_size)
{
    *out = NULL;
    if (why && why_size > 0)
        why[0] = '\0';
    char *translated = malloc(2 * len + 1);
    sm_regex *re = calloc(1, sizeof *re);
    if (!translated || !re) {
        free(translated);
        free(re);
        return refuse(SM_ERR_NOMEM, why, why_size, "out of memory");
    }
    size_t translated_len = 0;
    int rc = translate(pattern, len, translated, &translated_len, why, why_size);
    if (rc == SM_OK)
        rc = re2_refusal(sm_re2_new(translated, translated_len, SM_REGEX_MEMORY_MAX, &re->re2), why, why_size);
    free(translated);
    if (rc != SM_OK) {
        free(re);
        return rc;
    }
    *out = re;
    return SM_OK;
}

size_t sm_regex_program_size(const sm_regex *re)
{
    return re ? sm_re2_program_size(re->re2) : 0;
}

bool sm_regex_full_match(const sm_regex *re, const char *value, size_t len)
{
    return re && value && sm_re2_full_match(re->re2, value, len);
}

void sm_regex_free(sm_regex *re)
{
    if (!re)
        return;
    sm_re2_free(re->re2);
    free(re);
}
