/* Unit tests of the session filter language: FILTERS.md fixture, operators, lists, regexes, roles, errors, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/filter.h"
#include "core/props.h"
#include "core/regex.h"

/* ---- fixture: the four sessions of FILTERS.md (plus a few keys for specific cases) ---- */

enum { S1 = 1, S2 = 2, S3 = 4, S4 = 8, NONE = 0, ALL4 = 15, ERROR = -1 };

static sm_props sessions[4];

static void set(int s, const char *key, const char *value)
{
    assert_int_equal(sm_props_set(&sessions[s], key, value), SM_OK);
}

static int fixture_setup(void **state)
{
    (void)state;
    static const char *const principal[] = {"alice", "bob", "", "Alice"};
    static const char *const roles[] = {"\"operator\",\"trading desk\"", "\"administrator\",\"operator\"",
                                        "\"client\"", "\"accountancy\",\"administrator\""};
    static const char *const country[] = {"US", "FR", "GB", "FR"};
    static const char *const language[] = {"en", "fr", "en", "fr"};
    static const char *const transport[] = {"WEBSOCKET", "TCP", "HTTP_LONG_POLL", "WEBSOCKET"};
    static const char *const latitude[] = {"NaN", "48.85", "NaN", "NaN"};
    static const char *const department[] = {"Accounts", "Payroll", NULL, "accounts"};
    static const char *const status[] = {"Closed", "Open", "Closed", NULL};
    for (int s = 0; s < 4; s++) {
        sm_props_init(&sessions[s]);
        char id[32];
        snprintf(id, sizeof id, "5f1c09a2-%08d", s + 1);
        set(s, SM_PROP_SESSION_ID, id);
        set(s, SM_PROP_PRINCIPAL, principal[s]);
        set(s, SM_PROP_ROLES, roles[s]);
        set(s, SM_PROP_CLIENT_TYPE, "C");
        set(s, SM_PROP_TRANSPORT, transport[s]);
        set(s, SM_PROP_SERVER_NAME, "sessmond");
        set(s, SM_PROP_CONNECTOR, "default");
        set(s, SM_PROP_CLIENT_IP, "127.0.0.1");
        set(s, SM_PROP_COUNTRY, country[s]);
        set(s, SM_PROP_LANGUAGE, language[s]);
        set(s, SM_PROP_LATITUDE, latitude[s]);
        set(s, SM_PROP_LONGITUDE, "NaN");
        set(s, SM_PROP_START_TIME, "1700000000000");
        set(s, SM_PROP_ENVIRONMENT, "UNKNOWN");
        if (department[s])
            set(s, "Department", department[s]);
        if (status[s])
            set(s, "Status", status[s]);
    }
    set(3, "Text", "xyz\"\\");
    /* Extra keys (not in the FILTERS.md table) for keyword-named keys and UTF-8 regexes. */
    set(1, "City", "Z\xc3\xbcrich");
    set(0, "Multi", "a\nb");
    set(2, "all", "yes");
    set(2, "in", "x");
    set(2, "not", "n");
    set(2, "has", "h");
    return 0;
}

static int fixture_teardown(void **state)
{
    (void)state;
    for (int s = 0; s < 4; s++)
        sm_props_free(&sessions[s]);
    return 0;
}

static sm_error last_error; /* of the last match_mask call, shown when a case fails */

/* Parses filter and returns the mask of matching sessions, or ERROR. */
static int match_mask(const char *filter)
{
    sm_filter *f = NULL;
    if (sm_filter_parse(filter, strlen(filter), &f, &last_error) != SM_OK) {
        assert_null(f);
        return ERROR;
    }
    int mask = 0;
    for (int s = 0; s < 4; s++)
        if (sm_filter_eval(f, sm_props_lookup, &sessions[s]))
            mask |= 1 << s;
    assert_string_equal(sm_filter_text(f), filter);
    sm_filter_free(f);
    return mask;
}

typedef struct match_case {
    const char *filter;
    int expect;
} match_case;

static void run_match_cases(const match_case *cases, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        int got = match_mask(cases[i].filter);
        if (got != cases[i].expect) {
            print_error("case %zu <%s>: got mask %d, expected %d (%s)\n", i, cases[i].filter, got, cases[i].expect,
                        got == ERROR ? last_error.message : "parsed");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

#define RUN(cases) run_match_cases(cases, sizeof cases / sizeof cases[0])

/* ---- FILTERS.md fixture table, every row ---- */

static void test_filter_spec_table(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"all", S1 | S2 | S3 | S4},
        {"Department is \"Accounts\"", S1},
        {"Department IS 'Accounts'", S1},
        {"department is \"Accounts\"", NONE},
        {"Department ne \"Accounts\"", S2 | S3 | S4},
        {"Status is \"Open\" or Department is \"Accounts\" and Status is \"Closed\"", S1 | S2},
        {"not (Department is \"Payroll\" or Department is \"Accounts\")", S3 | S4},
        {"$Principal is ''", S3},
        {"$Language EQ \"en\" and $Country NE \"US\"", S3},
        {"$Country in 'UK','DE','FR'", S2 | S4},
        {"$Country in {\"DE\" \"FR\"}", S2 | S4},
        {"hasRoles [\"operator\" \"administrator\"]", S2},
        {"hasRoles [\"operator\" \"trading desk\"]", S1},
        {"$Roles eq '\"operator\" \"administrator\"'", S2},
        {"not has Department", S3},
        {"$Latitude is \"NaN\"", S1 | S3 | S4},
        {"$Principal matches \"[Aa]lice\"", S1 | S4},
        {"$Principal matches \"lic\"", NONE},
        {"Department is Accounts", ERROR},
        {"(Department is \"Accounts\"", ERROR},
        {"$StartTime exists", ERROR},
    };
    RUN(cases);
}

/* ---- research notes §7, cases #1-#48 under our decisions ---- */

static void test_filter_research_cases(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"all", ALL4},                                                                              /* 1 */
        {"Department is \"Accounts\"", S1},                                                         /* 2 */
        {"Department eq 'Accounts'", S1},                                                           /* 3 */
        {"Department IS \"Accounts\"", S1},                                                         /* 4 */
        {"department is \"Accounts\"", NONE},                                                       /* 5 */
        {"Department ne \"Accounts\"", S2 | S3 | S4},                                               /* 6: absent */
        {"Department is \"Payroll\" and Status is \"Closed\"", NONE},                               /* 7 */
        {"(Department is \"Accounts\" or Department is \"Payroll\") and Status is \"Closed\"", S1}, /* 8 */
        {"Status is \"Open\" or Department is \"Accounts\" and Status is \"Closed\"", S1 | S2},     /* 9 */
        {"not Department is \"Payroll\"", S1 | S3 | S4},                                            /* 10 */
        {"not (Department is \"Payroll\" or Department is \"Accounts\")", S3 | S4},                 /* 11 */
        {"$Principal is \"Alice\"", S4},                                                            /* 12 */
        {"$Principal is ''", S3},                                                                   /* 13 */
        {"$Language EQ \"en\" and $Country NE \"US\"", S3},                                         /* 14 */
        {"$Country in ['UK','DE','FR']", S2 | S4},                                                  /* 15 */
        {"$Country in 'UK','DE','FR'", S2 | S4},                                                    /* 16 */
        {"$Country in \"DE\" \"FR\"", S2 | S4},                                                     /* 17 */
        {"$Country in {\"DE\",\"FR\"}", S2 | S4},                                                   /* 18 */
        {"$Country in [\"fr\"]", NONE},                                                             /* 19 */
        {"hasRoles [\"operator\"]", S1 | S2},                                                       /* 20 */
        {"hasRoles [\"operator\" \"administrator\"]", S2},                                          /* 21: all-of */
        {"hasRoles 'administrator', 'operator'", S2},                                               /* 22 */
        {"hasRoles \"administrator\"", S2 | S4},                                                    /* 23 */
        {"hasRoles [\"operator\" \"trading desk\"]", S1},                                           /* 24 */
        {"hasRoles [\"operator\"] and not hasRoles [\"administrator\"]", S1},                       /* 25 */
        {"$Roles eq '\"administrator\",\"operator\"'", S2},                                         /* 26 */
        {"$Roles eq '\"operator\" \"administrator\"'", S2},                                         /* 27: sets */
        {"$Roles eq '\"administrator\"'", NONE},                                                    /* 28 */
        {"has Department", S1 | S2 | S4},                                                           /* 29 */
        {"not has Department", S3},                                                                 /* 30 */
        {"has Status and not Status is \"Closed\"", S2},                                            /* 31 */
        {"has $GatewayType", NONE},                                                                 /* 32 */
        {"has $Latitude", ALL4},                                                                    /* 33 */
        {"$Latitude is \"NaN\"", S1 | S3 | S4},                                                     /* 34 */
        {"$Principal matches \"al.*\"", S1},                                                        /* 35 */
        {"$Principal matches \"[Aa]lice\"", S1 | S4},                                               /* 36 */
        {"$Principal matches \"lic\"", NONE},                                                       /* 37: whole */
        {"Text is \"xyz\\\"\\\\\"", S4},                                                            /* 38 */
        {"Text is 'xyz\"\\\\'", S4},                                                                /* 39 */
        {"not (Department is \"Accounts\" or Department is \"Payroll\") and $Country is \"FR\"", S4}, /* 40 */
        {"$Transport is \"wss\" and hasRoles [\"accountancy\" \"administrator\"]", NONE},           /* 41 */
        {"$Transport is 'WEBSOCKET' AND hasRoles ['administrator']", S4},                           /* 42 */
        {"Department is Accounts", ERROR},                                                          /* 43 */
        {"Department is \"Accounts", ERROR},                                                        /* 44 */
        {"(Department is \"Accounts\"", ERROR},                                                     /* 45 */
        {"$StartTime exists", ERROR},                                                               /* 46 */
        {"Department = \"Accounts\"", S1},                                                          /* 47: extension */
        {"", ERROR},                                                                                /* 48 */
    };
    RUN(cases);
}

static void test_filter_keyword_case_variants(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"Department Is \"Accounts\"", S1},
        {"Department iS \"Accounts\"", S1},
        {"Department EQ \"Accounts\"", S1},
        {"Department Eq \"Accounts\"", S1},
        {"Department NE \"Accounts\"", S2 | S3 | S4},
        {"Department nE \"Accounts\"", S2 | S3 | S4},
        {"$Country IN ['FR']", S2 | S4},
        {"$Country In ['FR']", S2 | S4},
        {"$Principal MATCHES 'al.*'", S1},
        {"$Principal Matches 'al.*'", S1},
        {"HAS Department", S1 | S2 | S4},
        {"Has Department", S1 | S2 | S4},
        {"HASROLES ['client']", S3},
        {"hasroles ['client']", S3},
        {"HasRoles ['client']", S3},
        {"ALL", ALL4},
        {"All", ALL4},
        {"NOT has Department", S3},
        {"Not has Department", S3},
        {"has Status AND has Department", S1 | S2},
        {"has Status And has Department", S1 | S2},
        {"$Country is 'US' OR $Country is 'GB'", S1 | S3},
        {"$Country is 'US' Or $Country is 'GB'", S1 | S3},
    };
    RUN(cases);
}

static void test_filter_symbol_synonyms(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"Department = \"Accounts\"", S1},
        {"Department == \"Accounts\"", S1},
        {"Department =='Accounts'", S1},
        {"Department != \"Accounts\"", S2 | S3 | S4},
        {"has Status && has Department", S1 | S2},
        {"Status == 'Open' || Department == 'Accounts'", S1 | S2},
        {"! has Department", S3},
        {"!(has Department)", S3},
        {"! ! has Department", S1 | S2 | S4},
        {"$Country == 'FR' && ! (Department == 'Payroll')", S4},
        {"!has Department", ERROR}, /* `!has` is one word, so a key */
        {"Department=\"Accounts\"", ERROR},
    };
    RUN(cases);
}

static void test_filter_escapes_and_quotes(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"Text is \"xyz\\\"\\\\\"", S4},
        {"Text is 'xyz\"\\\\'", S4},
        {"Text is 'xyz\\\"\\\\'", S4},      /* escaping " inside '...' is allowed too */
        {"Text is \"xyz\\\"\\\\\\\\\"", NONE}, /* two backslashes: no match */
        {"Text is \"xyz\\\"\"", NONE},
        {"Text matches 'xyz\"\\\\\\\\'", S4}, /* the regex xyz"\\ matches a literal backslash */
        {"Department is 'Acc\\'ounts'", NONE},
        {"Department is \"Acc'ounts\" or Department is 'Payroll'", S2},
        {"Text is \"xyz\\q\"", ERROR},
        {"Text is 'abc\\", ERROR},
    };
    RUN(cases);
}

static void test_filter_lists_all_forms(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"$Country in ['FR']", S2 | S4},
        {"$Country in {'FR'}", S2 | S4},
        {"$Country in 'FR'", S2 | S4},
        {"$Country in [\"US\", 'GB']", S1 | S3},
        {"$Country in [\"US\" 'GB']", S1 | S3},
        {"$Country in {\"US\",'GB'}", S1 | S3},
        {"$Country in [ \"GB\" , \"US\" ]", S1 | S3},
        {"$Country in[\"GB\"]", S3},
        {"$Country in['GB','US']and $Language is 'en'", S1 | S3},
        {"$Country in \"GB\",\"US\" and $Language is \"en\"", S1 | S3},
        {"$Country in \"GB\" \"US\" or has Status", S1 | S2 | S3},
        {"$Country in ['FR','FR','US','FR']", S1 | S2 | S4},
        {"Department in ['Accounts', 'accounts']", S1 | S4},
        {"Department in ['']", NONE},
        {"$Principal in ['']", S3},
        {"not Department in ['Accounts']", S2 | S3 | S4},
        {"$Country in []", ERROR},
        {"$Country in ['FR',]", ERROR},
        {"$Country in ['FR'}", ERROR},
        {"$Country in FR", ERROR},
    };
    RUN(cases);
}

static void test_filter_matches(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"$Principal matches \"al.*\"", S1},
        {"$Principal matches \".*lic.*\"", S1 | S4},
        {"$Principal matches \"[Aa]lic\"", NONE},
        {"$Principal matches \"alice|bob\"", S1 | S2},    /* the anchors cover the whole alternation */
        {"$Principal matches \"a|Alice\"", S4},
        {"$Principal matches \"ALICE\"", NONE},           /* case-sensitive */
        {"$Principal matches \"\"", S3},                  /* empty pattern: empty value only */
        {"$Principal matches \".*\"", ALL4},
        {"Department matches \".*\"", S1 | S2 | S4},      /* absent: false */
        {"not Department matches \".*\"", S3},
        {"$Principal matches \"^alice$\"", S1},           /* explicit anchors are harmless */
        {"$Principal matches \"(al|Al)ice\"", S1 | S4},
        {"$Latitude matches \"[0-9]+\\\\.[0-9]+\"", S2}, /* \\. in the filter is \. in the regex */
        {"$Latitude matches '[[:digit:]]{2}[.][[:digit:]]{2}'", S2},
        {"$Country matches '[A-Z]{2}'", ALL4},
        {"$Country matches 'F(R|X){1,3}'", S2 | S4},
        {"$Roles matches '.*\"client\".*'", S3},
        {"$Principal matches 'al+ice'", S1},
        {"$Principal matches 'b\\\\(ob'", NONE},          /* \( is a literal parenthesis */
        {"$Principal matches '[)]'", NONE},               /* a ')' inside brackets is literal */
        {"City matches 'Z.rich'", S2},                    /* '.' is one character, not one byte */
        {"City matches 'Z..rich'", NONE},
        {"$Principal matches '\\\\w+'", S1 | S2 | S4},    /* GNU \w is accepted */
        {"$Principal matches '\\\\balice\\\\b'", S1},
        {"$Principal matches '(al|b)+(ice|ob)'", S1 | S2},
        {"$Principal matches 'a+*lice'", S1},             /* a star over a non-empty piece is fine */
        {"$Principal matches '(a*)+'", S3},               /* RE2 has no exponential case: no longer refused */
        {"$Principal matches 'a**lice'", S1},
        {"$Principal matches '\\\\d+'", NONE},           /* \d is [0-9] (glibc read it as the letter d) */
        {"$Latitude matches '\\\\d+\\\\.\\\\d+'", S2},
        {"$Country matches 'F(R|X){,3}'", S2 | S4},      /* GNU {,n} is {0,n} */
        {"Text matches 'xyz\"[\\\\]'", S4},             /* in brackets a backslash is literal (POSIX) */
        {"Text matches 'xyz\"[\\\\.]'", S4},
        {"$Latitude matches '48[\\\\.]85'", S2},         /* [\.] is a backslash or a dot, as in POSIX */
        {"$Latitude matches '48[.]85'", S2},
        {"$Principal matches '[]a]lice'", S1},           /* ']' first in brackets is a member */
        {"$Principal matches '[^]b]lice'", S1 | S4},
        {"Multi matches 'a.b'", S1},                      /* '.' matches a newline */
        {"Multi matches 'a[^x]b'", S1},
        {"Multi matches 'a$'", NONE},                     /* ^ and $ only at the ends of the value */
        {"Multi matches '^b'", NONE},
        {"Multi matches 'a\\\\nb'", S1},                  /* \n is a newline */
        {"City matches '[[:alpha:]]+'", NONE},            /* classes are ASCII-only: not the u-umlaut */
        {"City matches 'Z[^[:space:]]rich'", S2},
        {"$Principal matches '\\\\<alice'", ERROR},       /* GNU \< \> would be literal in RE2: refused */
        {"$Principal matches '[[.a.]]lice'", ERROR},
        {"$Principal matches 'a{'", ERROR},               /* a '{' that is no count is not a literal */
        {"$Principal matches 'a{x}'", ERROR},
        {"City matches 'Z\xc3\xbc[a-z]+'", S2},
        {"$Principal matches \"(\"", ERROR},
        {"$Principal matches \"a)b\"", ERROR},
        {"$Principal matches \"(a)\\\\1\"", ERROR},
        {"$Principal matches \"*a\"", ERROR},
        {"$Principal matches \"[a\"", ERROR},
        {"$Principal matches lic", ERROR},
    };
    RUN(cases);
}

static void test_filter_matches_ignores_process_locale(void **state)
{
    (void)state;
    /* The TUI runs under the user's locale, the server usually under "C": the answer must not differ. */
    setlocale(LC_ALL, "C");
    assert_int_equal(match_mask("City matches 'Z.rich'"), S2);
    if (setlocale(LC_ALL, "C.UTF-8"))
        assert_int_equal(match_mask("City matches 'Z.rich'"), S2);
    setlocale(LC_ALL, "C");
}

static void test_filter_roles(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"$Roles is '\"operator\",\"trading desk\"'", S1},
        {"$Roles is '\"trading desk\" \"operator\"'", S1},
        {"$Roles is \"'trading desk', 'operator'\"", S1},
        {"$Roles eq '\"administrator\",\"operator\",\"operator\"'", S2},
        {"$Roles = '\"client\"'", S3},
        {"$Roles ne '\"client\"'", S1 | S2 | S4},
        {"$Roles != '\"client\"'", S1 | S2 | S4},
        {"$Roles in ['\"client\"', '\"operator\",\"trading desk\"']", S1 | S3},
        {"$Roles in '\"client\"' '\"administrator\" \"accountancy\"'", S3 | S4},
        {"$Roles is ''", NONE},
        {"$Roles is '\"client\",\"extra\"'", NONE},
        {"$Roles is '\"operator\"'", NONE},
        {"hasRoles ['operator', 'operator']", S1 | S2},
        {"hasRoles \"accountancy\" \"administrator\"", S4},
        {"hasRoles {'administrator'}", S2 | S4},
        {"hasRoles [\"Operator\"]", NONE},
        {"hasRoles ['trading']", NONE},
        {"not hasRoles \"client\"", S1 | S2 | S4},
        {"hasRoles ['client'] or hasRoles ['trading desk']", S1 | S3},
        {"$Roles is 'operator'", ERROR},
        {"$Roles in ['\"a\"', 'b']", ERROR},
        {"hasRoles", ERROR},
    };
    RUN(cases);
}

static const char *lookup_roles_only(void *ctx, const char *key)
{
    return strcmp(key, SM_PROP_ROLES) == 0 ? (const char *)ctx : NULL;
}

static bool eval_with_roles(const char *filter, const char *roles_value)
{
    sm_filter *f = NULL;
    sm_error err;
    assert_int_equal(sm_filter_parse(filter, strlen(filter), &f, &err), SM_OK);
    bool r = sm_filter_eval(f, lookup_roles_only, (void *)roles_value);
    sm_filter_free(f);
    return r;
}

static void test_filter_roles_session_values(void **state)
{
    (void)state;
    /* Escaped quotes inside a session's role names. */
    assert_true(eval_with_roles("hasRoles 'we\"ird'", "\"we\\\"ird\",\"x\""));
    assert_true(eval_with_roles("$Roles is '\"x\",\"we\\\\\"ird\"'", "\"we\\\"ird\",\"x\""));
    assert_false(eval_with_roles("hasRoles 'we'", "\"we\\\"ird\",\"x\""));
    /* Non-canonical but valid forms (spaces, single quotes, duplicates) are read as sets. */
    assert_true(eval_with_roles("$Roles is '\"a\",\"b\"'", " 'b'  \"a\" , 'a' "));
    assert_true(eval_with_roles("hasRoles 'a' 'b'", "'b' 'a'"));
    /* An empty $Roles holds no role. */
    assert_true(eval_with_roles("$Roles is ''", ""));
    assert_false(eval_with_roles("hasRoles 'a'", ""));
    /* A malformed $Roles value equals nothing and holds nothing. */
    assert_false(eval_with_roles("hasRoles 'a'", "\"a"));
    assert_false(eval_with_roles("hasRoles 'a'", "\"a\"\"b\""));
    assert_false(eval_with_roles("$Roles is '\"a\"'", "\"a\" junk"));
    assert_false(eval_with_roles("$Roles is ''", "junk"));
    assert_true(eval_with_roles("$Roles ne '\"a\"'", "\"a\\q\""));
    /* An absent $Roles: hasRoles false, ne true. */
    assert_false(eval_with_roles("hasRoles 'a'", NULL));
    assert_true(eval_with_roles("$Roles ne ''", NULL));
}

static void test_filter_precedence_and_parentheses(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"has Status or has Department and $Country is \"FR\"", ALL4},
        {"(has Status or has Department) and $Country is \"FR\"", S2 | S4},
        {"not has Status and has Department", S4},
        {"not (has Status and has Department)", S3 | S4},
        {"not not has Department", S1 | S2 | S4},
        {"has Status and has Department or $Country is \"GB\"", S1 | S2 | S3},
        {"has Status and (has Department or $Country is \"GB\")", S1 | S2 | S3},
        {"$Country is 'FR' and (Status is 'Open' or not has Status)", S2 | S4},
        {"((((all))))", ALL4},
        {"not all", NONE},
        {"all and not all", NONE},
        {"all or not all", ALL4},
        {"(has Status)and(has Department)", S1 | S2},
        {"not(has Status)", S4},
        {"( ( has Status ) or ( ( has Text ) ) ) and not ( $Country is 'US' )", S2 | S3 | S4},
        {"(a is 'x' or b is 'y') or (all and (Department is 'Payroll'))", S2},
    };
    RUN(cases);
}

static void test_filter_keyword_named_keys(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"all is 'yes'", S3},
        {"all ne 'yes'", S1 | S2 | S4},
        {"in in ['x', 'z']", S3},
        {"in in {'x'}", S3},
        {"has in", S3},
        {"has all", S3},
        {"has has", S3},
        {"has has and has is", NONE},
        {"has is 'h'", S3},
        {"not is 'n'", S3},
        {"not not is 'n'", S1 | S2 | S4},
        {"has and", NONE},
        {"hasRoles is 'x'", NONE},
        {"x=y is 'z'", NONE},
        {"$Version in {\"6\",\"7\",\"8\"}", NONE},
    };
    RUN(cases);
}

/* ---- errors: exact message and column ---- */

typedef struct error_case {
    const char *filter;
    size_t len; /* 0: strlen */
    int code;
    size_t column;
    const char *message; /* text after "filter error at column N: " */
    bool prefix_only;    /* message from the C library: compare the start only */
} error_case;

static void run_error_cases(const error_case *cases, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const error_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->filter);
        sm_filter *f = (sm_filter *)&failures; /* must be reset to NULL */
        sm_error err;
        int rc = sm_filter_parse(c->filter, len, &f, &err);
        char want[SM_ERROR_MESSAGE_MAX];
        snprintf(want, sizeof want, "filter error at column %zu: %s", c->column, c->message);
        bool ok = rc == c->code && err.code == c->code && err.column == c->column && f == NULL &&
                  (c->prefix_only ? strncmp(err.message, want, strlen(want)) == 0 : strcmp(err.message, want) == 0);
        if (!ok) {
            print_error("error case %zu <%s>: rc %d column %zu message <%s>; expected rc %d <%s>\n", i, c->filter, rc,
                        err.column, err.message, c->code, want);
            failures++;
        }
        if (rc == SM_OK)
            sm_filter_free(f);
    }
    assert_int_equal(failures, 0);
}

#define RUN_ERRORS(cases) run_error_cases(cases, sizeof cases / sizeof cases[0])

#define CLAUSE "expected a clause (a property key, all, has, hasRoles, not or '(')"

static void test_filter_errors_syntax(void **state)
{
    (void)state;
    static const error_case cases[] = {
        {"Department is Accounts", 0, SM_ERR_INVALID, 15, "expected a quoted value after 'is'", false},
        {"$Department is Accounts", 0, SM_ERR_INVALID, 16, "expected a quoted value after 'is'", false},
        {"Department EQ Accounts", 0, SM_ERR_INVALID, 15, "expected a quoted value after 'eq'", false},
        {"Department = Accounts", 0, SM_ERR_INVALID, 14, "expected a quoted value after '='", false},
        {"Department != ", 0, SM_ERR_INVALID, 15, "expected a quoted value after '!='", false},
        {"Department ne (", 0, SM_ERR_INVALID, 15, "expected a quoted value after 'ne'", false},
        {"Department matches", 0, SM_ERR_INVALID, 19, "expected a quoted regular expression after 'matches'", false},
        {"(Department is \"Accounts\"", 0, SM_ERR_INVALID, 26, "expected ')' to close the '(' at column 1", false},
        {"has X and ((has Y) or has Z", 0, SM_ERR_INVALID, 28, "expected ')' to close the '(' at column 11", false},
        {"(Department is \"A\" Status is \"B\")", 0, SM_ERR_INVALID, 20,
         "expected 'and', 'or' or ')' to close the '(' at column 1", false},
        {"Department is \"A\")", 0, SM_ERR_INVALID, 18,
         "expected 'and', 'or' or the end of the filter (this ')' has no matching '(')", false},
        {"Department is \"A\" Status is \"B\"", 0, SM_ERR_INVALID, 19, "expected 'and', 'or' or the end of the filter",
         false},
        {"Department is 'A' 'B'", 0, SM_ERR_INVALID, 19, "expected 'and', 'or' or the end of the filter", false},
        {"$StartTime exists", 0, SM_ERR_INVALID, 12, "expected an operator (is, eq, ne, in or matches) after the key",
         false},
        {"Department", 0, SM_ERR_INVALID, 11, "expected an operator (is, eq, ne, in or matches) after the key", false},
        {"Department=\"Accounts\"", 0, SM_ERR_INVALID, 12,
         "expected an operator (is, eq, ne, in or matches) after the key (write symbol operators with spaces around "
         "them)",
         false},
        {"!has Department", 0, SM_ERR_INVALID, 6, "expected an operator (is, eq, ne, in or matches) after the key",
         false},
        {"", 0, SM_ERR_INVALID, 1, "expected a clause, but the filter is empty", false},
        {"   \t\n ", 0, SM_ERR_INVALID, 1, "expected a clause, but the filter is empty", false},
        {"Department is \"A\" and", 0, SM_ERR_INVALID, 22, CLAUSE " after 'and'", false},
        {"has Status &&", 0, SM_ERR_INVALID, 14, CLAUSE " after '&&'", false},
        {"has Status or ", 0, SM_ERR_INVALID, 15, CLAUSE " after 'or'", false},
        {"not", 0, SM_ERR_INVALID, 4, CLAUSE " after 'not'", false},
        {"!", 0, SM_ERR_INVALID, 2, CLAUSE " after '!'", false},
        {"()", 0, SM_ERR_INVALID, 2, CLAUSE " after '('", false},
        {"has Status and (", 0, SM_ERR_INVALID, 17, CLAUSE " after '('", false},
        {"[", 0, SM_ERR_INVALID, 1, CLAUSE, false},
        {"and has Status", 0, SM_ERR_INVALID, 1, "expected a clause before 'and'", false},
        {"has Status or or has X", 0, SM_ERR_INVALID, 15, "expected a clause after 'or', not 'or'", false},
        {"has Status and is", 0, SM_ERR_INVALID, 16, "expected a clause after 'and', not 'is'", false},
        {"\"Department\" is \"A\"", 0, SM_ERR_INVALID, 1,
         "expected a property key, not a quoted string (keys are written without quotes)", false},
        {"has", 0, SM_ERR_INVALID, 4, "expected a property key after 'has'", false},
        {"has (X)", 0, SM_ERR_INVALID, 5, "expected a property key after 'has'", false},
        {"has \"Department\"", 0, SM_ERR_INVALID, 5,
         "expected a property key after 'has' (keys are written without quotes)", false},
    };
    RUN_ERRORS(cases);
}

static void test_filter_errors_strings_and_lists(void **state)
{
    (void)state;
    static const error_case cases[] = {
        {"Department is \"Accounts", 0, SM_ERR_INVALID, 15, "expected a closing \" for the string that starts here",
         false},
        {"Department is 'Accounts", 0, SM_ERR_INVALID, 15, "expected a closing ' for the string that starts here",
         false},
        {"Text is \"a\\nb\"", 0, SM_ERR_INVALID, 11,
         "expected ', \" or \\ after a backslash (no other escapes exist; write \\\\ for a backslash)", false},
        {"Text is 'a\\", 0, SM_ERR_INVALID, 11,
         "expected ', \" or \\ after a backslash (no other escapes exist; write \\\\ for a backslash)", false},
        {"$Country in", 0, SM_ERR_INVALID, 12, "expected a quoted value or a list after 'in'", false},
        {"$Country in FR", 0, SM_ERR_INVALID, 13, "expected a quoted value or a list after 'in'", false},
        {"$Country in []", 0, SM_ERR_INVALID, 14, "expected a quoted value in the list (a list cannot be empty)",
         false},
        {"$Country in {}", 0, SM_ERR_INVALID, 14, "expected a quoted value in the list (a list cannot be empty)",
         false},
        {"$Country in [,'FR']", 0, SM_ERR_INVALID, 14, "expected a quoted value in the list", false},
        {"$Country in ['FR',]", 0, SM_ERR_INVALID, 19, "expected a quoted value after ','", false},
        {"$Country in ['FR',,'DE']", 0, SM_ERR_INVALID, 19, "expected a quoted value after ','", false},
        {"$Country in 'FR',", 0, SM_ERR_INVALID, 18, "expected a quoted value after ','", false},
        {"$Country in ['FR'", 0, SM_ERR_INVALID, 18,
         "expected ',', a quoted value or ']' to close the list that opens at column 13", false},
        {"$Country in ['FR'}", 0, SM_ERR_INVALID, 18,
         "expected ',', a quoted value or ']' to close the list that opens at column 13", false},
        {"$Country in {'FR']", 0, SM_ERR_INVALID, 18,
         "expected ',', a quoted value or '}' to close the list that opens at column 13", false},
        {"hasRoles", 0, SM_ERR_INVALID, 9, "expected a quoted role name or a list after 'hasRoles'", false},
        {"HASROLES operator", 0, SM_ERR_INVALID, 10, "expected a quoted role name or a list after 'hasRoles'", false},
        {"hasRoles []", 0, SM_ERR_INVALID, 11, "expected a quoted role name in the list (a list cannot be empty)",
         false},
        {"hasRoles ['a' 'b'", 0, SM_ERR_INVALID, 18,
         "expected ',', a quoted role name or ']' to close the list that opens at column 10", false},
        {"$Roles is 'operator'", 0, SM_ERR_INVALID, 11,
         "expected a role list for $Roles: quoted role names separated by commas or spaces, e.g. "
         "'\"admin\",\"operator\"'",
         false},
        {"$Roles in ['\"a\"', 'b']", 0, SM_ERR_INVALID, 19,
         "expected a role list for $Roles: quoted role names separated by commas or spaces, e.g. "
         "'\"admin\",\"operator\"'",
         false},
    };
    RUN_ERRORS(cases);
}

#define REGEX "expected a valid regular expression: "

static void test_filter_errors_regex(void **state)
{
    (void)state;
    static const error_case cases[] = {
        {"$Principal matches \"(\"", 0, SM_ERR_INVALID, 20, REGEX "a '(' without its closing ')'", false},
        {"$Principal matches \"*a\"", 0, SM_ERR_INVALID, 20,
         REGEX "a repetition (* + ? {}) with nothing before it to repeat", false},
        {"$Principal matches \"[a\"", 0, SM_ERR_INVALID, 20, REGEX "a '[' without its closing ']'", false},
        {"$Principal matches \"a{2\"", 0, SM_ERR_INVALID, 20,
         REGEX "a '{' must start a repetition count such as {2}, {2,} or {2,5}; write \\{ or [{] for a literal brace",
         false},
        {"$Principal matches \"a{2,1}\"", 0, SM_ERR_INVALID, 20,
         REGEX "in a repetition count {m,n}, n must not be smaller than m", false},
        {"$Principal matches \"[[:nope:]]\"", 0, SM_ERR_INVALID, 20,
         REGEX "a bracket expression with an unknown [:class:] or a backwards range such as z-a", false},
        {"$Principal matches \"[z-a]\"", 0, SM_ERR_INVALID, 20,
         REGEX "a bracket expression with an unknown [:class:] or a backwards range such as z-a", false},
        {"$Principal matches \"a\\\\\"", 0, SM_ERR_INVALID, 20, REGEX "a backslash at the end, escaping nothing",
         false},
        {"$Principal matches \"a\\\\q\"", 0, SM_ERR_INVALID, 20,
         REGEX "a backslash escape that does not exist; a backslash goes before punctuation (\\.) or is one of \\w \\W "
               "\\s \\S \\d \\D \\b \\B \\n \\t",
         false},
        {"$Principal matches \"(?i)a\"", 0, SM_ERR_INVALID, 20,
         REGEX "a repetition (* + ? {}) with nothing before it to repeat", false},
        {"$Principal matches \"a)b\"", 0, SM_ERR_INVALID, 20, REGEX "')' without a matching '('", false},
        {"$Principal matches \"a)|(b\"", 0, SM_ERR_INVALID, 20, REGEX "')' without a matching '('", false},
        {"$Principal matches \"(a)\\\\1\"", 0, SM_ERR_INVALID, 20,
         REGEX "back-references (\\1 to \\9) are not supported", false},
        {"$Principal matches \"\\\\<a\\\\>\"", 0, SM_ERR_INVALID, 20,
         REGEX "the GNU anchors \\< \\> \\` \\' are not supported; use \\b for a word boundary", false},
        {"$Principal matches \"[[=a=]]\"", 0, SM_ERR_INVALID, 20,
         REGEX "collating elements [. .] and equivalence classes [= =] are not supported", false},
        {"$Principal matches \"((a{255}){255}){255}\"", 0, SM_ERR_LIMIT, 20,
         REGEX "nested repetition counts multiply to more than 1000, as in (a{40}){40}", false},
        {"$Principal matches \"(a{32}){32}\"", 0, SM_ERR_LIMIT, 20,
         REGEX "nested repetition counts multiply to more than 1000, as in (a{40}){40}", false},
        {"$Principal matches \"a{5000}\"", 0, SM_ERR_LIMIT, 20, REGEX "repetition counts are at most 1000", false},
        {"$Principal matches \"a{1001}\"", 0, SM_ERR_LIMIT, 20, REGEX "repetition counts are at most 1000", false},
        {"$Principal matches \"a{99999999999999999999}\"", 0, SM_ERR_LIMIT, 20,
         REGEX "repetition counts are at most 1000", false},
        {"$Principal matches \"(ab+){257}\"", 0, SM_ERR_LIMIT, 20,
         REGEX "it compiles to ", true},
        {"$Principal matches \".*a.{1000}\"", 0, SM_ERR_LIMIT, 20,
         REGEX "it compiles to more than 64 instructions, at most 64 are allowed ('.' and repetition counts cost the "
               "most)",
         false},
        {"$Principal matches \"a{1000}\"", 0, SM_ERR_LIMIT, 20,
         REGEX "it compiles to ", true},
    };
    RUN_ERRORS(cases);
}

static void test_filter_errors_bytes(void **state)
{
    (void)state;
    static const error_case cases[] = {
        {"Department is \"A\" and \x01", 0, SM_ERR_INVALID, 23,
         "expected printable text, not a control character (outside quotes)", false},
        {"Dep\x7f is 'A'", 0, SM_ERR_INVALID, 4, "expected printable text, not a control character (outside quotes)",
         false},
        {"Department is \"\xff\"", 0, SM_ERR_INVALID, 16, "expected UTF-8 text; this byte is not valid UTF-8", false},
        {"Dep\xc3 is 'A'", 0, SM_ERR_INVALID, 4, "expected UTF-8 text; this byte is not valid UTF-8", false},
        {"K is '\xc0\xaf'", 0, SM_ERR_INVALID, 7, "expected UTF-8 text; this byte is not valid UTF-8", false},
        {"K is '\xed\xa0\x80'", 0, SM_ERR_INVALID, 7, "expected UTF-8 text; this byte is not valid UTF-8", false},
        {"Department is \"A\0\"", 18, SM_ERR_INVALID, 17, "expected text, not a NUL byte", false},
    };
    RUN_ERRORS(cases);
}

static void test_filter_utf8_keys_and_values(void **state)
{
    (void)state;
    /* Keys and values may be any valid UTF-8; control characters inside quotes are part of the value. */
    assert_int_equal(match_mask("City is 'Z\xc3\xbcrich'"), S2);
    assert_int_equal(match_mask("St\xc3\xa4""dt is 'x'"), NONE);
    assert_int_equal(match_mask("City is 'a\tb'"), NONE);
    assert_int_equal(match_mask("has \xf0\x9f\x98\x80"), NONE);
}

/* ---- limits ---- */

static char *repeat(const char *prefix, const char *unit, size_t count, const char *middle, const char *close)
{
    size_t len = strlen(prefix) + count * (strlen(unit) + strlen(close)) + strlen(middle) + 1;
    char *s = malloc(len);
    assert_non_null(s);
    strcpy(s, prefix);
    for (size_t i = 0; i < count; i++)
        strcat(s, unit);
    strcat(s, middle);
    for (size_t i = 0; i < count; i++)
        strcat(s, close);
    return s;
}

static int parse_status(const char *text, sm_error *err)
{
    sm_filter *f = NULL;
    int rc = sm_filter_parse(text, strlen(text), &f, err);
    if (rc == SM_OK) {
        assert_non_null(f);
        sm_filter_free(f);
    } else {
        assert_null(f);
    }
    return rc;
}

static void test_filter_depth_limit(void **state)
{
    (void)state;
    sm_error err;
    char *s = repeat("", "(", 64, "has Department", ")");
    assert_int_equal(parse_status(s, &err), SM_OK);
    assert_int_equal(match_mask(s), S1 | S2 | S4);
    free(s);

    s = repeat("", "(", 65, "all", ")");
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    assert_int_equal(err.column, 65);
    assert_string_equal(err.message,
                        "filter error at column 65: expected at most 64 levels of nesting (parentheses and 'not' both "
                        "count)");
    free(s);

    s = repeat("", "not ", 64, "has Department", "");
    assert_int_equal(match_mask(s), S1 | S2 | S4); /* even number of nots */
    free(s);
    s = repeat("", "not ", 65, "all", "");
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    assert_int_equal(err.column, 64 * 4 + 1);
    free(s);

    s = repeat("", "! ", 65, "all", "");
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    assert_int_equal(err.column, 64 * 2 + 1);
    free(s);

    /* Parentheses and `not` share one budget: 32 x "not (" is 64 levels. */
    s = repeat("", "not (", 32, "has Department", ")");
    assert_int_equal(match_mask(s), S1 | S2 | S4);
    free(s);
    s = repeat("not ", "not (", 32, "all", ")");
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    free(s);

    /* Sibling groups do not add up: depth is what is open at one time. */
    s = repeat("", "(", 64, "all", ")");
    char *two = malloc(2 * strlen(s) + 8);
    assert_non_null(two);
    sprintf(two, "%s and %s", s, s);
    assert_int_equal(match_mask(two), ALL4);
    free(two);
    free(s);
}

static void test_filter_hostile_nesting_fails_cleanly(void **state)
{
    (void)state;
    sm_error err;
    char *s = malloc(SM_FILTER_MAX + 1);
    assert_non_null(s);
    memset(s, '(', SM_FILTER_MAX);
    s[SM_FILTER_MAX] = '\0';
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    assert_int_equal(err.column, 65);

    for (size_t i = 0; i + 4 <= SM_FILTER_MAX; i += 4)
        memcpy(s + i, "not ", 4);
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    assert_int_equal(err.column, 257);

    for (size_t i = 0; i + 2 <= SM_FILTER_MAX; i += 2)
        memcpy(s + i, "! ", 2);
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);

    memset(s, ')', SM_FILTER_MAX);
    assert_int_equal(parse_status(s, &err), SM_ERR_INVALID);
    assert_int_equal(err.column, 1);

    memset(s, '[', SM_FILTER_MAX);
    assert_int_equal(parse_status(s, &err), SM_ERR_INVALID);

    /* A regex of 4000 nested groups is refused before RE2 sees it. */
    memset(s, '(', SM_FILTER_MAX);
    memcpy(s, "K matches '", 11);
    s[SM_FILTER_MAX - 1] = '\'';
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    assert_string_equal(err.message,
                        "filter error at column 11: expected a valid regular expression: groups nested deeper than 64 "
                        "levels");
    free(s);
}

static void test_filter_length_limit(void **state)
{
    (void)state;
    sm_error err;
    char *s = malloc(SM_FILTER_MAX + 2);
    assert_non_null(s);
    /* Department is 'aaaa...a' : exactly 4096 bytes */
    strcpy(s, "Department is '");
    size_t head = strlen(s);
    memset(s + head, 'a', SM_FILTER_MAX - head - 1);
    s[SM_FILTER_MAX - 1] = '\'';
    s[SM_FILTER_MAX] = '\0';
    assert_int_equal(strlen(s), 4096);
    assert_int_equal(parse_status(s, &err), SM_OK);
    assert_int_equal(match_mask(s), NONE);

    /* 4097 bytes: one more space at the end */
    s[SM_FILTER_MAX] = ' ';
    s[SM_FILTER_MAX + 1] = '\0';
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    assert_int_equal(err.code, SM_ERR_LIMIT);
    assert_int_equal(err.column, 4097);
    assert_string_equal(err.message, "filter error at column 4097: expected at most 4096 bytes; the filter is 4097 "
                                     "bytes long");
    free(s);
}

static void test_filter_regex_size_limit(void **state)
{
    (void)state;
    sm_error err;
    /* One regular expression: at most SM_REGEX_PROGRAM_MAX instructions. */
    assert_int_equal(match_mask("$Principal matches 'a{50}'"), NONE);
    /* 63 instructions, just under the limit */
    assert_int_equal(match_mask("$Principal matches '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'"), NONE);
    assert_int_equal(match_mask("$Principal matches '[0-9]{1,3}(\\\\.[0-9]{1,3}){3}'"), NONE);
    assert_int_equal(
        parse_status("$Principal matches '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'", &err),
        SM_ERR_LIMIT); /* 72 */
    assert_int_equal(match_mask("$Principal matches '(a{3}){10}'"), NONE);
    assert_int_equal(parse_status("$Principal matches 'a{61}'", &err), SM_ERR_LIMIT);
    assert_int_equal(err.column, 20);
    assert_int_equal(parse_status("$Principal matches '.*a.{10}'", &err), SM_ERR_LIMIT);
    assert_string_equal(err.message, "filter error at column 20: expected a valid regular expression: it compiles "
                                     "to 82 instructions, at most 64 are allowed ('.' and repetition counts cost "
                                     "the most)");
    /* A literal pattern costs one instruction per byte. */
    char *s = malloc(SM_FILTER_MAX + 1);
    assert_non_null(s);
    strcpy(s, "$Principal matches '");
    size_t head = strlen(s);
    memset(s + head, 'a', 50);
    strcpy(s + head + 50, "'");
    assert_int_equal(match_mask(s), NONE);
    memset(s + head, 'a', 1000);
    strcpy(s + head + 1000, "'");
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    assert_int_equal(err.column, head);

    /* The whole filter: SM_FILTER_REGEX_PROGRAM_MAX instructions added up over its regexes. */
    assert_int_equal(match_mask("a matches 'a{50}' or b matches 'b{50}'"), NONE);
    sm_filter *f = NULL;
    assert_int_equal(sm_filter_parse("a matches 'a{50}' or b matches 'b{50}' or has c", 47, &f, &err), SM_OK);
    assert_int_equal(sm_filter_regex_cost(f), 108); /* 54 each */
    sm_filter_free(f);
    assert_int_equal(sm_filter_parse("has c", 5, &f, &err), SM_OK);
    assert_int_equal(sm_filter_regex_cost(f), 0);
    sm_filter_free(f);
    assert_int_equal(sm_filter_regex_cost(NULL), 0);
    assert_int_equal(parse_status("a matches 'a{50}' or b matches 'b{50}' or c matches 'c{50}'", &err), SM_ERR_LIMIT);
    assert_int_equal(err.column, 53);
    assert_string_equal(err.message, "filter error at column 53: expected smaller regular expressions: with this one "
                                     "they compile to 162 instructions, at most 128 are allowed in one filter");

    /* At most SM_FILTER_MATCHES_MAX `matches` clauses, refused before the 17th is compiled. */
    s[0] = '\0';
    for (int i = 0; i < SM_FILTER_MATCHES_MAX; i++)
        strcat(s, i ? " or K matches 'x'" : "K matches 'x'");
    assert_int_equal(match_mask(s), NONE);
    size_t before = strlen(s);
    strcat(s, " or K matches '(((('");
    assert_int_equal(parse_status(s, &err), SM_ERR_LIMIT);
    assert_int_equal(err.column, before + 15);
    assert_string_equal(strchr(err.message, ':') + 2, "expected at most 16 'matches' clauses in one filter");
    free(s);
}

static const char *lookup_numbered(void *ctx, const char *key)
{
    /* Session with keys k0..k(N-1) all set to "v", except the one named by ctx (if any). */
    const char *missing = ctx;
    if (key[0] != 'k' || (missing && strcmp(key, missing) == 0))
        return NULL;
    return "v";
}

static void test_filter_long_chains(void **state)
{
    (void)state;
    char *and_chain = malloc(SM_FILTER_MAX + 1), *or_chain = malloc(SM_FILTER_MAX + 1);
    assert_non_null(and_chain);
    assert_non_null(or_chain);
    and_chain[0] = or_chain[0] = '\0';
    int n = 0;
    char clause[32];
    while (strlen(and_chain) + 32 < SM_FILTER_MAX) {
        snprintf(clause, sizeof clause, "%sk%d is 'v'", n ? " and " : "", n);
        strcat(and_chain, clause);
        snprintf(clause, sizeof clause, "%shas k%d", n ? " or " : "", n);
        strcat(or_chain, clause);
        n++;
    }
    assert_true(n > 200);
    sm_filter *fa = NULL, *fo = NULL;
    sm_error err;
    assert_int_equal(sm_filter_parse(and_chain, strlen(and_chain), &fa, &err), SM_OK);
    assert_int_equal(sm_filter_parse(or_chain, strlen(or_chain), &fo, &err), SM_OK);
    assert_true(sm_filter_eval(fa, lookup_numbered, NULL));
    assert_true(sm_filter_eval(fa, lookup_numbered, "zzz"));
    assert_false(sm_filter_eval(fa, lookup_numbered, "k0"));
    snprintf(clause, sizeof clause, "k%d", n - 1);
    assert_false(sm_filter_eval(fa, lookup_numbered, clause));
    assert_true(sm_filter_eval(fo, lookup_numbered, clause));
    assert_true(sm_filter_eval(fo, lookup_numbered, NULL));
    assert_int_equal(sm_filter_key_count(fa), (size_t)n);
    assert_true(sm_filter_uses_key(fo, clause));
    sm_filter_free(fa);
    sm_filter_free(fo);

    /* Alternating and/or keeps its precedence over hundreds of clauses: (k0 and x) or (k1 and x) ... */
    or_chain[0] = '\0';
    for (int i = 0; strlen(or_chain) + 40 < SM_FILTER_MAX; i++) {
        snprintf(clause, sizeof clause, "%shas k%d and has x", i ? " or " : "", i);
        strcat(or_chain, clause);
    }
    assert_int_equal(sm_filter_parse(or_chain, strlen(or_chain), &fo, &err), SM_OK);
    assert_false(sm_filter_eval(fo, lookup_numbered, NULL)); /* x is never present */
    sm_filter_free(fo);
    free(and_chain);
    free(or_chain);
}

static void test_filter_long_in_list(void **state)
{
    (void)state;
    char *s = malloc(SM_FILTER_MAX + 1);
    assert_non_null(s);
    strcpy(s, "Department in [");
    int n = 0;
    char item[16];
    while (strlen(s) + 16 < SM_FILTER_MAX) {
        snprintf(item, sizeof item, "'v%d',", n++);
        strcat(s, item);
    }
    strcat(s, "'Payroll']");
    assert_true(n > 500);
    assert_int_equal(match_mask(s), S2);
    free(s);
}

/* ---- API: uses_key, keys, text, NULL handling ---- */

static sm_filter *parse_ok(const char *text)
{
    sm_filter *f = NULL;
    sm_error err;
    assert_int_equal(sm_filter_parse(text, strlen(text), &f, &err), SM_OK);
    assert_non_null(f);
    return f;
}

static void test_filter_uses_key(void **state)
{
    (void)state;
    sm_filter *f = parse_ok("Department is 'A' and not has Status or hasRoles 'x' or Zeta in ['q'] or Z matches 'a'");
    assert_true(sm_filter_uses_key(f, "Department"));
    assert_true(sm_filter_uses_key(f, "Status"));
    assert_true(sm_filter_uses_key(f, SM_PROP_ROLES));
    assert_true(sm_filter_uses_key(f, "Zeta"));
    assert_true(sm_filter_uses_key(f, "Z"));
    assert_false(sm_filter_uses_key(f, "department"));
    assert_false(sm_filter_uses_key(f, SM_PROP_COUNTRY));
    assert_false(sm_filter_uses_key(f, NULL));
    assert_int_equal(sm_filter_key_count(f), 5);
    assert_string_equal(sm_filter_key(f, 0), "$Roles");
    assert_string_equal(sm_filter_key(f, 1), "Department");
    assert_string_equal(sm_filter_key(f, 2), "Status");
    assert_string_equal(sm_filter_key(f, 3), "Z");
    assert_string_equal(sm_filter_key(f, 4), "Zeta");
    assert_null(sm_filter_key(f, 5));
    sm_filter_free(f);

    f = parse_ok("all");
    assert_int_equal(sm_filter_key_count(f), 0);
    assert_false(sm_filter_uses_key(f, "Department"));
    assert_false(sm_filter_uses_key(f, SM_PROP_ROLES));
    sm_filter_free(f);

    f = parse_ok("$Roles eq '\"a\"' or Department is 'x' or Department ne 'y'");
    assert_true(sm_filter_uses_key(f, SM_PROP_ROLES));
    assert_int_equal(sm_filter_key_count(f), 2);
    sm_filter_free(f);

    f = parse_ok("hasRoles 'a'");
    assert_true(sm_filter_uses_key(f, SM_PROP_ROLES));
    assert_int_equal(sm_filter_key_count(f), 1);
    sm_filter_free(f);

    assert_false(sm_filter_uses_key(NULL, "x"));
    assert_int_equal(sm_filter_key_count(NULL), 0);
    assert_null(sm_filter_key(NULL, 0));
}

static void test_filter_text_and_null_handling(void **state)
{
    (void)state;
    const char *src = "  Department is 'Accounts'   and\tall ";
    sm_filter *f = parse_ok(src);
    assert_string_equal(sm_filter_text(f), src);
    sm_filter_free(f);

    /* Only len bytes are read: "all garbage" with len 3 is "all". */
    sm_error err;
    assert_int_equal(sm_filter_parse("all garbage", 3, &f, &err), SM_OK);
    assert_string_equal(sm_filter_text(f), "all");
    assert_true(sm_filter_eval(f, sm_props_lookup, &sessions[0]));
    sm_filter_free(f);

    assert_int_equal(sm_filter_parse(NULL, 0, &f, &err), SM_ERR_INVALID);
    assert_null(f);
    assert_int_equal(err.column, 1);
    assert_int_equal(sm_filter_parse(NULL, 5, &f, &err), SM_ERR_INVALID);
    assert_int_equal(sm_filter_parse("all", 3, NULL, &err), SM_ERR_INVALID);
    /* err may be NULL */
    assert_int_equal(sm_filter_parse("all is", 6, &f, NULL), SM_ERR_INVALID);
    assert_null(f);
    assert_int_equal(sm_filter_parse("all", 3, &f, NULL), SM_OK);
    assert_false(sm_filter_eval(f, NULL, NULL));
    sm_filter_free(f);

    assert_false(sm_filter_eval(NULL, sm_props_lookup, &sessions[0]));
    assert_null(sm_filter_text(NULL));
    sm_filter_free(NULL);

    /* A successful parse clears a stale error. */
    assert_int_equal(sm_filter_parse("all", 3, &f, &err), SM_OK);
    assert_int_equal(err.code, SM_OK);
    assert_int_equal(err.column, 0);
    sm_filter_free(f);
}

static void test_filter_eval_is_repeatable(void **state)
{
    (void)state;
    sm_filter *f = parse_ok("hasRoles 'operator' and $Principal matches '[a-z]+' or $Roles is '\"client\"'");
    for (int round = 0; round < 3; round++) {
        assert_true(sm_filter_eval(f, sm_props_lookup, &sessions[0]));
        assert_true(sm_filter_eval(f, sm_props_lookup, &sessions[1]));
        assert_true(sm_filter_eval(f, sm_props_lookup, &sessions[2]));
        assert_false(sm_filter_eval(f, sm_props_lookup, &sessions[3]));
    }
    sm_filter_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_spec_table),
        cmocka_unit_test(test_filter_research_cases),
        cmocka_unit_test(test_filter_keyword_case_variants),
        cmocka_unit_test(test_filter_symbol_synonyms),
        cmocka_unit_test(test_filter_escapes_and_quotes),
        cmocka_unit_test(test_filter_lists_all_forms),
        cmocka_unit_test(test_filter_matches),
        cmocka_unit_test(test_filter_matches_ignores_process_locale),
        cmocka_unit_test(test_filter_roles),
        cmocka_unit_test(test_filter_roles_session_values),
        cmocka_unit_test(test_filter_precedence_and_parentheses),
        cmocka_unit_test(test_filter_keyword_named_keys),
        cmocka_unit_test(test_filter_errors_syntax),
        cmocka_unit_test(test_filter_errors_strings_and_lists),
        cmocka_unit_test(test_filter_errors_regex),
        cmocka_unit_test(test_filter_errors_bytes),
        cmocka_unit_test(test_filter_utf8_keys_and_values),
        cmocka_unit_test(test_filter_depth_limit),
        cmocka_unit_test(test_filter_hostile_nesting_fails_cleanly),
        cmocka_unit_test(test_filter_length_limit),
        cmocka_unit_test(test_filter_regex_size_limit),
        cmocka_unit_test(test_filter_long_chains),
        cmocka_unit_test(test_filter_long_in_list),
        cmocka_unit_test(test_filter_uses_key),
        cmocka_unit_test(test_filter_text_and_null_handling),
        cmocka_unit_test(test_filter_eval_is_repeatable),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
