/* libFuzzer target: a regular expression and a value, compiled through the filter parser and matched on 4 KB, within a time bound. */
/* Input: the pattern, a NUL byte, then the seed of the value (cycled to 4096 bytes, NULs made 'a').
 * Checks that the filter parser and core/regex agree, that matching is a pure function, and that
 * compiling plus matching one worst-case value never takes more than 50 ms of CPU: the regex
 * budget (core/regex.h) must hold for every pattern it accepts, not only for the ones we thought of. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/filter.h"
#include "core/props.h"
#include "core/regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VALUE_LEN 4096
/* Generous: the worst allowed regex costs about 1 ms on 4 KB in a Release build; sanitizers and
 * coverage instrumentation make our part several times slower (RE2 itself is not instrumented). */
#define RUN_CPU_MS_MAX 50.0

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *value_of(void *ctx, const char *key)
{
    return key[0] == 'K' && key[1] == '\0' ? ctx : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char filter[2 * SM_FILTER_MAX + 32];
    static char value[VALUE_LEN + 1];
    const uint8_t *nul = memchr(data, 0, size);
    size_t pattern_len = nul ? (size_t)(nul - data) : size;
    const uint8_t *seed = nul ? nul + 1 : NULL;
    size_t seed_len = nul ? size - pattern_len - 1 : 0;
    if (pattern_len > SM_FILTER_MAX)
        return 0;

    /* K matches '<pattern>' with the filter string's own escapes for ' and \ */
    size_t n = 0;
    memcpy(filter, "K matches '", 11);
    n = 11;
    for (size_t i = 0; i < pattern_len; i++) {
        if (data[i] == '\'' || data[i] == '\\')
            filter[n++] = '\\';
        filter[n++] = (char)data[i];
    }
    filter[n++] = '\'';
    filter[n] = '\0';

    for (size_t i = 0; i < VALUE_LEN; i++) {
        char c = seed_len ? (char)seed[i % seed_len] : (char)('a' + (i * 7 % 3 == 0));
        value[i] = c ? c : 'a';
    }
    value[VALUE_LEN] = '\0';

    double start = cpu_ms();
    sm_filter *f = NULL;
    sm_error err;
    int rc = sm_filter_parse(filter, n, &f, &err);
    bool matched = false;
    if (rc == SM_OK) {
        matched = sm_filter_eval(f, value_of, value);
        (void)sm_filter_eval(f, value_of, value + VALUE_LEN / 2); /* a shorter value too */
    }
    double elapsed = cpu_ms() - start;
    if (elapsed > RUN_CPU_MS_MAX) {
        fprintf(stderr, "fuzz_regex: compile + match took %.1f ms of CPU (bound %.0f ms)\n", elapsed, RUN_CPU_MS_MAX);
        abort();
    }
    if (rc != SM_OK) {
        if (f != NULL || (rc != SM_ERR_INVALID && rc != SM_ERR_LIMIT && rc != SM_ERR_NOMEM) ||
            strncmp(err.message, "filter error", 12) != 0)
            __builtin_trap();
        return 0;
    }

    /* The parser accepted it: core/regex must too, within the per-regex budget, with the same answer. */
    sm_regex *re = NULL;
    char why[256];
    if (sm_regex_compile((const char *)data, pattern_len, &re, why, sizeof why) != SM_OK)
        __builtin_trap();
    if (sm_regex_program_size(re) == 0 || sm_regex_program_size(re) > SM_REGEX_PROGRAM_MAX)
        __builtin_trap();
    if (sm_regex_full_match(re, value, VALUE_LEN) != matched || sm_filter_eval(f, value_of, value) != matched)
        __builtin_trap();
    sm_regex_free(re);
    sm_filter_free(f);
    return 0;
}
