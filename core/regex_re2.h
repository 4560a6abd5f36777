/* The C view of RE2 used by core/regex.c; implemented in core/regex_re2.cc, the only C++ in sessmon. */
#ifndef SM_CORE_REGEX_RE2_H
#define SM_CORE_REGEX_RE2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why RE2 refused a pattern (RE2's own error codes, which C cannot see). */
typedef enum sm_re2_status {
    SM_RE2_OK,
    SM_RE2_NOMEM,
    SM_RE2_BAD_ESCAPE,
    SM_RE2_BAD_CLASS, /* an unknown [:class:] or a range such as z-a */
    SM_RE2_MISSING_BRACKET,
    SM_RE2_MISSING_PAREN,
    SM_RE2_UNEXPECTED_PAREN,
    SM_RE2_TRAILING_BACKSLASH,
    SM_RE2_REPEAT_ARGUMENT, /* nothing before * + ? {} */
    SM_RE2_REPEAT_SIZE,     /* a count above 1000, or nested counts multiplying past it */
    SM_RE2_REPEAT_OP,
    SM_RE2_TOO_LARGE,       /* the program does not fit in max_mem */
    SM_RE2_OTHER
} sm_re2_status;

typedef struct sm_re2 sm_re2;

/* Compiles an RE2 pattern with sessmon's fixed options (POSIX syntax with \w \s \d \b, UTF-8,
 * one line, `.` matching newline, no captures, leftmost-longest) and a memory budget. */
sm_re2_status sm_re2_new(const char *pattern, size_t len, int64_t max_mem, sm_re2 **out);
size_t sm_re2_program_size(const sm_re2 *re);
/* Whole-text match; false also when RE2 ran out of memory. */
bool sm_re2_full_match(const sm_re2 *re, const char *text, size_t len);
void sm_re2_free(sm_re2 *re);

#ifdef __cplusplus
}
#endif

#endif
