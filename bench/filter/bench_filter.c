/* bench_filter: the worst cost a filter's regular expressions can have within the budget of docs/filters.md. */
/* Prints, each beside its target with PASS/FAIL: the time one worst allowed regex takes on a 4 KB
 * value, the time to compile (or refuse) the most expensive filters, the heap one worst filter
 * holds, and the time to evaluate the worst filter over 15,000 sessions with 4 KB values.
 * "Worst" is searched, not assumed: several hostile shapes are grown to the largest size the
 * budget accepts and the slowest is reported. Exit status 1 when a target is missed. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/filter.h"
#include "core/props.h"
#include "core/regex.h"

#define VALUE_LEN 4096
#define TARGET_MATCH_MS 1.0
#define TARGET_COMPILE_MS 5.0
#define TARGET_MEMORY_MIB 8.0

static int failures;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A random value over alphabet (the attack used a/b: every byte keeps the DFA guessing). */
static void random_value(char *out, size_t len, const char *alphabet)
{
    size_t n = strlen(alphabet);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[rng() % n];
    out[len] = '\0';
}

static void verdict(const char *what, double value, const char *unit, double target)
{
    bool ok = value <= target;
    if (!ok)
        failures++;
    printf("  %-58s %10.3f %-4s (target <= %g %s) %s\n", what, value, unit, target, unit, ok ? "PASS" : "FAIL");
}

typedef struct lookup_value {
    const char *value;
} lookup_value;

static const char *lookup_k(void *ctx, const char *key)
{
    (void)key;
    return ((const lookup_value *)ctx)->value;
}

static sm_filter *parse_or_null(const char *text)
{
    sm_filter *f = NULL;
    sm_error err;
    if (sm_filter_parse(text, strlen(text), &f, &err) != SM_OK)
        return NULL;
    return f;
}

/* The hostile shapes, each with one N, grown while the budget accepts them. Each
 * keeps many NFA threads alive on every byte of a random a/b (or mixed) value. */
static const char *const shapes[] = {
    "K matches '[ab]*a[ab]{N}'",
    "K matches '.*a[ab]{N}'",
    "K matches '(a|b)*a(a|b){N}'",
    "K matches '.*a.{N}'",
    "K matches '[^x]*a[^x]{N}'",
    "K matches '[ab]*a[ab]{N}b[ab]*'",
    "K matches '[ab]*(a[ab]{N}|b[ab]{5})'",
    "K matches '(.*a){N}.*'",
    "K matches '(a|ab|b|ba)*a(a|ab|b){N}'",
    "K matches '[[:alpha:]]*a[[:alpha:]]{N}'",
    "K matches '([ab][ab])*a([ab]|ab){N}'",
    "K matches '.*(a|b)[ab]{N}.*'",
};

static const char *const alphabets[] = {"ab", "aab", "ab\xc3\xa9\n"};

/* Writes shape with its N replaced by n. */
static void instantiate(const char *shape, int n, char *text, size_t cap)
{
    const char *at = strchr(shape, 'N');
    snprintf(text, cap, "%.*s%d%s", (int)(at - shape), shape, n, at + 1);
}

/* Largest n for which the shape parses. */
static int grow(const char *shape, char *text, size_t cap)
{
    int best = -1;
    for (int n = 1; n <= SM_REGEX_PROGRAM_MAX; n++) {
        instantiate(shape, n, text, cap);
        sm_filter *f = parse_or_null(text);
        if (!f)
            break;
        sm_filter_free(f);
        best = n;
    }
    if (best > 0)
        instantiate(shape, best, text, cap);
    return best;
}

/* CPU time of f over `values` fresh random values: min, median, p90, p99, max. */
static void time_values(const sm_filter *f, const char *alphabet, int values, double *min, double *median,
                        double *p90, double *p99, double *max)
{
    static char value[VALUE_LEN + 1];
    double *t = malloc((size_t)values * sizeof *t);
    if (!t)
        exit(1);
    lookup_value lv = {value};
    for (int i = 0; i < values; i++) {
        random_value(value, VALUE_LEN, alphabet);
        double a = now_ms();
        volatile bool r = sm_filter_eval(f, lookup_k, &lv);
        (void)r;
        t[i] = now_ms() - a;
    }
    qsort(t, (size_t)values, sizeof *t, cmp_double);
    *min = t[0];
    *median = t[values / 2];
    *p90 = t[values * 90 / 100];
    *p99 = t[values * 99 / 100];
    *max = t[values - 1];
    free(t);
}

static char worst_text[512];

static void bench_worst_regex(void)
{
    printf("1. One regular expression on one 4096-byte value (100 fresh random values per shape and alphabet)\n");
    double worst = 0, worst_p99 = 0, worst_max = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        char text[512];
        if (grow(shapes[s], text, sizeof text) < 0)
            continue;
        sm_filter *f = parse_or_null(text);
        for (size_t a = 0; a < sizeof alphabets / sizeof alphabets[0]; a++) {
            double min, median, p90, p99, max;
            time_values(f, alphabets[a], 100, &min, &median, &p90, &p99, &max);
            if (p90 > worst) {
                worst = p90;
                worst_p99 = p99;
                worst_max = max;
                snprintf(worst_text, sizeof worst_text, "%s", text);
            }
            printf("     %-44s %-6s min %.3f  median %.3f  p90 %.3f  p99 %.3f  max %.3f ms\n", text,
                   a == 0 ? "a/b" : a == 1 ? "a/a/b" : "mixed", min, median, p90, p99, max);
        }
        sm_filter_free(f);
    }
    printf("   slowest: %s (p99 %.3f ms, max %.3f ms)\n", worst_text, worst_p99, worst_max);
    printf("   (CPU time of this thread. Values that do not match cost the most, about half of them, so p90\n"
           "   is the worst case; p99 and max also show what a shared machine adds.)\n");
    verdict("worst allowed regex, p90 CPU time per 4 KB value", worst, "ms", TARGET_MATCH_MS);
}

/* A filter of n clauses `K matches 'pattern'` joined by `or`. */
static char *clauses(const char *pattern, int n, const char *tail)
{
    size_t cap = (size_t)n * (strlen(pattern) + 20) + strlen(tail) + 1;
    char *s = malloc(cap);
    if (!s)
        exit(1);
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(s, i ? " or K matches '" : "K matches '");
        strcat(s, pattern);
        strcat(s, "'");
    }
    strcat(s, tail);
    return s;
}

/* The attacker's 4,082-byte filter: 151 times "K matches'RE'or " then "has Z". */
static char *attack2(const char *pattern)
{
    char *s = malloc(151 * (strlen(pattern) + 16) + 8);
    if (!s)
        exit(1);
    s[0] = '\0';
    for (int i = 0; i < 151; i++) {
        strcat(s, "K matches'");
        strcat(s, pattern);
        strcat(s, "'or ");
    }
    strcat(s, "has Z");
    return s;
}

static char *repeat(const char *unit, size_t total_len, const char *head, const char *tail)
{
    char *s = malloc(total_len + strlen(unit) + 1);
    if (!s)
        exit(1);
    strcpy(s, head);
    while (strlen(s) + strlen(unit) + strlen(tail) <= total_len)
        strcat(s, unit);
    strcat(s, tail);
    return s;
}

static void bench_compile(void)
{
    printf("2. Compiling (or refusing) a filter, best of 5 runs (each run is a fresh parse)\n");
    char *alternatives = NULL;
    {
        /* 'a0|a1|...' up to 4 KB: many alternatives, refused by the budget only after RE2 parsed them */
        size_t cap = SM_FILTER_MAX + 64, n = 0;
        alternatives = malloc(cap);
        if (!alternatives)
            exit(1);
        n += (size_t)snprintf(alternatives, cap, "K matches '");
        for (int i = 0; n + 12 < SM_FILTER_MAX; i++)
            n += (size_t)snprintf(alternatives + n, cap - n, i ? "|x%d" : "x%d", i);
        snprintf(alternatives + n, cap - n, "'");
    }
    struct {
        const char *name;
        char *text;
    } cases[] = {
        {"16 clauses within the budget", clauses("[ab]*a[ab]{2}", 16, "")},
        {"2 clauses at the per-regex limit", clauses("[ab]*a[ab]{58}", 2, "")},
        {"attack 1: K matches '.*a.{1000}' (refused)", strdup("K matches '.*a.{1000}'")},
        {"attack 2: 151 x [^b]{0,1023}x + has Z (refused)", attack2("[^b]{0,1023}x")},
        {"151 x [^b]{0,1000}x + has Z (refused)", attack2("[^b]{0,1000}x")},
        {"151 x x + has Z (refused at the 17th clause)", attack2("x")},
        {"[^b]{0,1000}x (refused: program too large)", strdup("K matches '[^b]{0,1000}x'")},
        {"(x{10}){100} (refused: program too large)", strdup("K matches '(x{10}){100}'")},
        {"4 KB of alternatives x0|x1|... (refused)", alternatives},
        {"4 KB of [[:alpha:][:digit:]] (refused)", repeat("[[:alpha:][:digit:]]", SM_FILTER_MAX - 1, "K matches '", "'")},
        {"4 KB of nested ((((a)))) groups (refused)", repeat("(", SM_FILTER_MAX - 1, "K matches '", "'")},
    };
    double worst = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (!cases[c].text)
            exit(1);
        double best = 1e9;
        int rc = SM_OK;
        sm_error err;
        for (int run = 0; run < 5; run++) {
            sm_filter *f = NULL;
            double a = now_ms();
            rc = sm_filter_parse(cases[c].text, strlen(cases[c].text), &f, &err);
            double t = now_ms() - a;
            sm_filter_free(f);
            if (t < best)
                best = t;
        }
        printf("     %-48s %7.3f ms  %s\n", cases[c].name, best, rc == SM_OK ? "accepted" : err.message);
        if (best > worst)
            worst = best;
        free(cases[c].text);
    }
    verdict("slowest filter compile", worst, "ms", TARGET_COMPILE_MS);
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void bench_memory(void)
{
    printf("3. Heap held by one filter after its DFA caches filled (20 filters, 100 hostile values each)\n");
    static char value[VALUE_LEN + 1];
    const char *texts[] = {
        NULL, /* the worst regex of part 1, twice */
        NULL, /* 16 small hostile regexes */
    };
    char worst2[1100];
    snprintf(worst2, sizeof worst2, "(%s or all) and (%s or all)", worst_text, worst_text);
    texts[0] = worst2;
    char *small = clauses("[ab]*a[ab]{2}", SM_FILTER_MATCHES_MAX, "");
    texts[1] = small;
    double worst = 0;
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        enum { FILTERS = 20 };
        sm_filter *fs[FILTERS];
        malloc_trim(0);
        size_t before = heap_in_use();
        lookup_value lv = {value};
        for (int i = 0; i < FILTERS; i++) {
            fs[i] = parse_or_null(texts[t]);
            if (!fs[i]) {
                printf("     (filter refused: %s)\n", texts[t]);
                exit(1);
            }
        }
        for (int v = 0; v < 100; v++) {
            random_value(value, VALUE_LEN, "ab");
            for (int i = 0; i < FILTERS; i++)
                (void)sm_filter_eval(fs[i], lookup_k, &lv);
        }
        double per = (double)(heap_in_use() - before) / FILTERS / (1024.0 * 1024.0);
        printf("     %-48.48s %7.3f MiB per filter\n", texts[t], per);
        if (per > worst)
            worst = per;
        for (int i = 0; i < FILTERS; i++)
            sm_filter_free(fs[i]);
    }
    free(small);
    printf("   bound by construction: %d clauses x %d KiB RE2 budget = %d KiB\n", SM_FILTER_MATCHES_MAX,
           SM_REGEX_MEMORY_MAX / 1024, SM_FILTER_MATCHES_MAX * SM_REGEX_MEMORY_MAX / 1024);
    verdict("heap per worst filter", worst, "MiB", TARGET_MEMORY_MIB);
}

static void bench_sessions(int sessions)
{
    printf("4. The worst filter (the slowest regex twice, both always evaluated) over %d sessions with 4 KB values\n",
           sessions);
    char text[1100];
    snprintf(text, sizeof text, "(%s or all) and (%s or all)", worst_text, worst_text);
    sm_filter *f = parse_or_null(text);
    char *values = malloc((size_t)sessions * (VALUE_LEN + 1));
    if (!f || !values)
        exit(1);
    for (int i = 0; i < sessions; i++)
        random_value(values + (size_t)i * (VALUE_LEN + 1), VALUE_LEN, "ab");
    double a = now_ms();
    int matched = 0;
    for (int i = 0; i < sessions; i++) {
        lookup_value lv = {values + (size_t)i * (VALUE_LEN + 1)};
        matched += sm_filter_eval(f, lookup_k, &lv);
    }
    double total = now_ms() - a;
    printf("     %s\n     %d sessions matched; %.3f ms per session\n", text, matched, total / sessions);
    verdict("worst filter over all sessions", total / 1000.0, "s", sessions * 2 * TARGET_MATCH_MS / 1000.0);
    sm_filter_free(f);
    free(values);
}

int main(int argc, char **argv)
{
    int sessions = 15000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            sessions = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_filter [-n sessions]\n");
            return 2;
        }
    }
    if (sessions < 1)
        sessions = 1;
    printf("bench_filter: regex budget %d instructions per regex, %d per filter, %d matches clauses, %d KiB RE2 "
           "memory each\n",
           SM_REGEX_PROGRAM_MAX, SM_FILTER_REGEX_PROGRAM_MAX, SM_FILTER_MATCHES_MAX, SM_REGEX_MEMORY_MAX / 1024);
    bench_worst_regex();
    bench_compile();
    bench_memory();
    bench_sessions(sessions);
    printf("%s\n", failures ? "bench_filter: some targets missed" : "bench_filter: every target met");
    return failures ? 1 : 0;
}
