// RE2 behind the C interface of core/regex_re2.h: the only C++ in sessmon (RE2 has no C API).
#include "core/regex_re2.h"

#include <re2/re2.h>

#include <new>

struct sm_re2 {
    re2::RE2 re;
    sm_re2(const re2::StringPiece &pattern, const re2::RE2::Options &options) : re(pattern, options) {}
};

namespace {

sm_re2_status status_of(re2::RE2::ErrorCode code)
{
    switch (code) {
    case re2::RE2::NoError: return SM_RE2_OK;
    case re2::RE2::ErrorBadEscape: return SM_RE2_BAD_ESCAPE;
    case re2::RE2::ErrorBadCharClass:
    case re2::RE2::ErrorBadCharRange: return SM_RE2_BAD_CLASS;
    case re2::RE2::ErrorMissingBracket: return SM_RE2_MISSING_BRACKET;
    case re2::RE2::ErrorMissingParen: return SM_RE2_MISSING_PAREN;
    case re2::RE2::ErrorUnexpectedParen: return SM_RE2_UNEXPECTED_PAREN;
    case re2::RE2::ErrorTrailingBackslash: return SM_RE2_TRAILING_BACKSLASH;
    case re2::RE2::ErrorRepeatArgument: return SM_RE2_REPEAT_ARGUMENT;
    case re2::RE2::ErrorRepeatSize: return SM_RE2_REPEAT_SIZE;
    case re2::RE2::ErrorRepeatOp: return SM_RE2_REPEAT_OP;
    case re2::RE2::ErrorPatternTooLarge: return SM_RE2_TOO_LARGE;
    default: return SM_RE2_OTHER;
    }
}

} // namespace

// No exception may cross into C: RE2 reports bad patterns by status, and std::bad_alloc is
// turned into SM_RE2_NOMEM here (or into "no match" when matching).
extern "C" sm_re2_status sm_re2_new(const char *pattern, size_t len, int64_t max_mem, sm_re2 **out)
{
    *out = nullptr;
    try {
        re2::RE2::Options options;
        options.set_posix_syntax(true);
        options.set_longest_match(true);
        options.set_encoding(re2::RE2::Options::EncodingUTF8);
        options.set_max_mem(max_mem);
        // A server must not write to stderr because of what a client sent (RE2 logs bad
        // patterns and DFA budget exhaustion by default).
        options.set_log_errors(false);
        // POSIX semantics as glibc's regcomp(REG_EXTENDED) without REG_NEWLINE had them: ^ and $
        // only at the ends of the value, and `.` matches a newline too.
        options.set_one_line(true);
        options.set_dot_nl(true);
        options.set_never_nl(false);
        options.set_case_sensitive(true);
        // The GNU \w \W \s \S \b \B the filter language always accepted (and \d \D).
        options.set_perl_classes(true);
        options.set_word_boundary(true);
        // A boolean match needs no submatches, which keeps RE2 on its DFA (and bit-state) paths.
        options.set_never_capture(true);
        sm_re2 *r = new sm_re2(re2::StringPiece(pattern, len), options);
        sm_re2_status status = status_of(r->re.error_code());
        if (status != SM_RE2_OK) {
            delete r;
            return status;
        }
        *out = r;
        return SM_RE2_OK;
    } catch (const std::bad_alloc &) {
        return SM_RE2_NOMEM;
    } catch (...) {
        return SM_RE2_OTHER;
    }
}

// Only the forward program: RE2 compiles the reverse one lazily, for unanchored searches, and a
// full match never needs it (checked: after hundreds of FullMatch calls, ReverseProgramSize()
// still has to compile it). Asking for its size here would build it for nothing.
extern "C" size_t sm_re2_program_size(const sm_re2 *re)
{
    int size = re->re.ProgramSize();
    return size < 0 ? 0 : static_cast<size_t>(size);
}

extern "C" bool sm_re2_full_match(const sm_re2 *re, const char *text, size_t len)
{
    try {
        return re2::RE2::FullMatch(re2::StringPiece(text, len), re->re);
    } catch (...) {
        return false;
    }
}

extern "C" void sm_re2_free(sm_re2 *re)
{
    delete re;
}
