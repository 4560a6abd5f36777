/* The session filter language of FILTERS.md: lexer, recursive-descent parser to an AST, evaluator. */
#include "core/filter.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/props.h"
#include "core/regex.h"
#include "core/roles.h"
#include "core/sorted.h"
#include "core/utf8.h"

/* A role list inside a filter needs at least two quote bytes per role, so no set can be larger. */
#define ROLES_MAX (SM_FILTER_MAX / 2 + 1)
#define ROLE_BITMAP_WORDS (ROLES_MAX / 64 + 1)

/* ---------------------------------------------------------------------------------------------
 * AST
 * ------------------------------------------------------------------------------------------- */

typedef enum node_kind {
    NODE_ALL,
    NODE_HAS,
    NODE_EQ,        /* key is/eq/ne 'value' (ne sets negate) */
    NODE_IN,        /* key in [values] */
    NODE_MATCHES,   /* key matches 're' */
    NODE_HAS_ROLES, /* hasRoles [names]: holds every listed role */
    NODE_ROLES_EQ,  /* $Roles is/eq/ne/in: role-set equality with one of sets */
    NODE_AND,
    NODE_OR
} node_kind;

typedef struct node node;

struct node {
    node_kind kind;
    bool negate; /* `not` folds into the node it applies to: no separate NOT node, no extra depth */
    char *key;   /* NODE_HAS, NODE_EQ, NODE_IN, NODE_MATCHES, NODE_ROLES_EQ */
    union {
        char *value; /* NODE_EQ */
        struct {
            char **items; /* sorted byte-wise, unique: evaluation is a binary search */
            size_t count;
        } values; /* NODE_IN */
        sm_regex *regex; /* NODE_MATCHES */
        sm_roles roles; /* NODE_HAS_ROLES */
        struct {
            sm_roles *items;
            size_t count;
        } sets; /* NODE_ROLES_EQ */
        struct {
            node **items;
            size_t count;
            size_t cap;
        } kids; /* NODE_AND, NODE_OR */
    } u;
};

struct sm_filter {
    node *root;
    char *text;
    char **keys; /* every key the result depends on, sorted, unique */
    size_t regex_cost; /* compiled size of all its regexes */
    size_t key_count;
    size_t key_cap;
};

static void node_free(node *n)
{
    if (!n)
        return;
    switch (n->kind) {
    case NODE_ALL:
    case NODE_HAS:
        break;
    case NODE_EQ:
        free(n->u.value);
        break;
    case NODE_IN:
        for (size_t i = 0; i < n->u.values.count; i++)
            free(n->u.values.items[i]);
        free(n->u.values.items);
        break;
    case NODE_MATCHES:
        sm_regex_free(n->u.regex);
        break;
    case NODE_HAS_ROLES:
        sm_roles_free(&n->u.roles);
        break;
    case NODE_ROLES_EQ:
        for (size_t i = 0; i < n->u.sets.count; i++)
            sm_roles_free(&n->u.sets.items[i]);
        free(n->u.sets.items);
        break;
    case NODE_AND:
    case NODE_OR:
        /* Depth is bounded by the parser's nesting limit, so this recursion is too. */
        for (size_t i = 0; i < n->u.kids.count; i++)
            node_free(n->u.kids.items[i]);
        free(n->u.kids.items);
        break;
    }
    free(n->key);
    free(n);
}

/* ---------------------------------------------------------------------------------------------
 * Role lists in session values, read without allocating (the evaluation hot path)
 * ------------------------------------------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

typedef struct role_scan {
    const char *s;
    size_t pos;
    bool need_separator;
} role_scan;

/* Yields the next quoted role name of a $Roles value with the same rules as sm_roles_parse, as
 * its raw (still escaped) bytes. Returns 1 for a name, 0 at the end, -1 for a malformed value. */
static int role_scan_next(role_scan *rs, const char **raw, size_t *raw_len)
{
    const char *s = rs->s;
    for (;;) {
        char c = s[rs->pos];
        if (c == '\0')
            return 0;
        if (is_blank(c) || c == ',') {
            rs->pos++;
            rs->need_separator = false;
            continue;
        }
        if ((c != '"' && c != '\'') || rs->need_separator)
            return -1;
        size_t start = ++rs->pos;
        for (;;) {
            char d = s[rs->pos];
            if (d == '\0')
                return -1;
            if (d == '\\') {
                char e = s[rs->pos + 1];
                if (e != '"' && e != '\'' && e != '\\')
                    return -1;
                rs->pos += 2;
                continue;
            }
            if (d == c)
                break;
            rs->pos++;
        }
        *raw = s + start;
        *raw_len = rs->pos - start;
        rs->pos++;
        rs->need_separator = true;
        return 1;
    }
}

/* Compares a raw role name (escapes still in it) with a plain one, like strcmp. */
static int raw_role_cmp(const char *raw, size_t raw_len, const char *plain)
{
    const unsigned char *p = (const unsigned char *)plain;
    size_t i = 0;
    while (i < raw_len) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '\\') {
            c = (unsigned char)raw[i + 1];
            i += 2;
        } else {
            i++;
        }
        if (*p == '\0')
            return 1;
        if (c != *p)
            return c < *p ? -1 : 1;
        p++;
    }
    return *p ? -1 : 0;
}

static long roles_find_raw(const sm_roles *set, const char *raw, size_t raw_len)
{
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = raw_role_cmp(raw, raw_len, set->names[mid]);
        if (c == 0)
            return (long)mid;
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Counts how many distinct roles of set the session value holds. Returns -1 for a malformed
 * value, and also (when exact) as soon as the value holds a role outside set. */
static long roles_count_held(const char *value, const sm_roles *set, bool exact)
{
    uint64_t seen[ROLE_BITMAP_WORDS] = {0};
    role_scan rs = {value, 0, false};
    const char *raw;
    size_t raw_len;
    long held = 0;
    int r;
    while ((r = role_scan_next(&rs, &raw, &raw_len)) == 1) {
        long at = roles_find_raw(set, raw, raw_len);
        if (at < 0) {
            if (exact)
                return -1;
            continue;
        }
        uint64_t bit = UINT64_C(1) << (at % 64);
        if (!(seen[at / 64] & bit)) {
            seen[at / 64] |= bit;
            held++;
        }
    }
    return r < 0 ? -1 : held;
}

/* ---------------------------------------------------------------------------------------------
 * Evaluation
 * ------------------------------------------------------------------------------------------- */

static int cmp_string_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool eval_node(const node *n, sm_prop_lookup_fn lookup, void *ctx)
{
    bool r = false;
    const char *v;
    switch (n->kind) {
    case NODE_ALL:
        r = true;
        break;
    case NODE_HAS:
        r = lookup(ctx, n->key) != NULL;
        break;
    case NODE_EQ:
        v = lookup(ctx, n->key);
        r = v && strcmp(v, n->u.value) == 0;
        break;
    case NODE_IN:
        v = lookup(ctx, n->key);
        r = v && bsearch(&v, n->u.values.items, n->u.values.count, sizeof(char *), cmp_string_ptr) != NULL;
        break;
    case NODE_MATCHES:
        v = lookup(ctx, n->key);
        r = v && sm_regex_full_match(n->u.regex, v, strlen(v));
        break;
    case NODE_HAS_ROLES:
        v = lookup(ctx, SM_PROP_ROLES);
        r = v && roles_count_held(v, &n->u.roles, false) == (long)n->u.roles.count;
        break;
    case NODE_ROLES_EQ:
        v = lookup(ctx, n->key);
        if (v)
            for (size_t i = 0; i < n->u.sets.count && !r; i++)
                r = roles_count_held(v, &n->u.sets.items[i], true) == (long)n->u.sets.items[i].count;
        break;
    case NODE_AND:
        r = true;
        for (size_t i = 0; i < n->u.kids.count && r; i++)
            r = eval_node(n->u.kids.items[i], lookup, ctx);
        break;
    case NODE_OR:
        for (size_t i = 0; i < n->u.kids.count && !r; i++)
            r = eval_node(n->u.kids.items[i], lookup, ctx);
        break;
    }
    return r != n->negate;
}

bool sm_filter_eval(const sm_filter *f, sm_prop_lookup_fn lookup, void *ctx)
{
    if (!f || !f->root || !lookup)
        return false;
    return eval_node(f->root, lookup, ctx);
}

const char *sm_filter_text(const sm_filter *f)
{
    return f ? f->text : NULL;
}

bool sm_filter_uses_key(const sm_filter *f, const char *key)
{
    if (!f || !key || f->key_count == 0)
        return false;
    return bsearch(&key, f->keys, f->key_count, sizeof(char *), cmp_string_ptr) != NULL;
}

size_t sm_filter_regex_cost(const sm_filter *f)
{
    return f ? f->regex_cost : 0;
}

size_t sm_filter_key_count(const sm_filter *f)
{
    return f ? f->key_count : 0;
}

const char *sm_filter_key(const sm_filter *f, size_t index)
{
    return f && index < f->key_count ? f->keys[index] : NULL;
}

void sm_filter_free(sm_filter *f)
{
    if (!f)
        return;
    node_free(f->root);
    for (size_t i = 0; i < f->key_count; i++)
        free(f->keys[i]);
    free(f->keys);
    free(f->text);
    free(f);
}

/* ---------------------------------------------------------------------------------------------
 * Lexer
 * ------------------------------------------------------------------------------------------- */

typedef enum tok_kind {
    TOK_EOF,
    TOK_WORD,   /* a key, keyword or symbol operator: a run of non-delimiter characters */
    TOK_STRING, /* start/len include the quotes; escapes were checked by the lexer */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_COMMA,
    TOK_ERROR
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t start;
    size_t len;
} token;

typedef enum word_kind {
    WORD_KEY,
    WORD_ALL,
    WORD_HAS,
    WORD_HASROLES,
    WORD_NOT,
    WORD_AND,
    WORD_OR,
    WORD_IS,
    WORD_EQ,
    WORD_NE,
    WORD_IN,
    WORD_MATCHES
} word_kind;

static const struct {
    const char *text;
    word_kind kind;
    bool symbol; /* symbols are matched exactly, keywords case-insensitively */
} words[] = {
    {"all", WORD_ALL, false},  {"has", WORD_HAS, false}, {"hasroles", WORD_HASROLES, false},
    {"not", WORD_NOT, false},  {"and", WORD_AND, false}, {"or", WORD_OR, false},
    {"is", WORD_IS, false},    {"eq", WORD_EQ, false},   {"ne", WORD_NE, false},
    {"in", WORD_IN, false},    {"matches", WORD_MATCHES, false},
    {"=", WORD_EQ, true},      {"==", WORD_EQ, true},    {"!=", WORD_NE, true},
    {"&&", WORD_AND, true},    {"||", WORD_OR, true},    {"!", WORD_NOT, true},
};

typedef struct parser {
    const char *text;
    size_t len;
    size_t pos;      /* lexer position */
    token look[3];   /* lookahead: the parser needs two tokens past the current one */
    size_t look_count;
    size_t depth;    /* parentheses and `not` currently open */
    size_t matches_count;        /* `matches` clauses so far */
    size_t regex_program_total;  /* their compiled program sizes added up */
    bool failed;
    int code;
    sm_error *err;
    sm_filter *filter;
} parser;

__attribute__((format(printf, 4, 5))) static void fail(parser *p, int code, size_t offset, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    p->code = code;
    if (!p->err)
        return;
    char what[SM_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    sm_error_set(p->err, code, "filter error at column %zu: %s", offset + 1, what);
    p->err->column = offset + 1;
}

static void fail_nomem(parser *p)
{
    if (p->failed)
        return;
    p->failed = true;
    p->code = SM_ERR_NOMEM;
    sm_error_set(p->err, SM_ERR_NOMEM, "filter error: out of memory");
}

static bool is_word_char(unsigned char c)
{
    return !(is_blank((char)c) || c == '"' || c == '\'' || c == '(' || c == ')' || c == '[' || c == ']' ||
             c == '{' || c == '}' || c == ',' || c < 0x20 || c == 0x7f);
}

static token lex(parser *p)
{
    const char *s = p->text;
    while (p->pos < p->len && is_blank(s[p->pos]))
        p->pos++;
    token t = {TOK_EOF, p->pos, 0};
    if (p->pos >= p->len)
        return t;
    unsigned char c = (unsigned char)s[p->pos];
    switch (c) {
    case '(': t.kind = TOK_LPAREN; break;
    case ')': t.kind = TOK_RPAREN; break;
    case '[': t.kind = TOK_LBRACKET; break;
    case ']': t.kind = TOK_RBRACKET; break;
    case '{': t.kind = TOK_LBRACE; break;
    case '}': t.kind = TOK_RBRACE; break;
    case ',': t.kind = TOK_COMMA; break;
    default: break;
    }
    if (t.kind != TOK_EOF) {
        t.len = 1;
        p->pos++;
        return t;
    }
    if (c == '"' || c == '\'') {
        size_t i = p->pos + 1;
        for (;;) {
            if (i >= p->len) {
                fail(p, SM_ERR_INVALID, p->pos, "expected a closing %c for the string that starts here", c);
                t.kind = TOK_ERROR;
                return t;
            }
            if (s[i] == '\\') {
                if (i + 1 >= p->len || (s[i + 1] != '"' && s[i + 1] != '\'' && s[i + 1] != '\\')) {
                    fail(p, SM_ERR_INVALID, i,
                         "expected ', \" or \\ after a backslash (no other escapes exist; write \\\\ for a backslash)");
                    t.kind = TOK_ERROR;
                    return t;
                }
                i += 2;
                continue;
            }
            if ((unsigned char)s[i] == c)
                break;
            i++;
        }
        t.kind = TOK_STRING;
        t.len = i + 1 - p->pos;
        p->pos = i + 1;
        return t;
    }
    if (c < 0x20 || c == 0x7f) {
        fail(p, SM_ERR_INVALID, p->pos, "expected printable text, not a control character (outside quotes)");
        t.kind = TOK_ERROR;
        return t;
    }
    size_t i = p->pos;
    while (i < p->len && is_word_char((unsigned char)s[i]))
        i++;
    t.kind = TOK_WORD;
    t.len = i - p->pos;
    p->pos = i;
    return t;
}

/* Returns the token n places ahead (n < 3). After a lexical error it returns a TOK_ERROR token
 * and p->failed is set; callers check p->failed. */
static const token *peek(parser *p, size_t n)
{
    while (p->look_count <= n) {
        if (p->look_count > 0 && p->look[p->look_count - 1].kind == TOK_ERROR)
            return &p->look[p->look_count - 1];
        p->look[p->look_count++] = lex(p);
    }
    return &p->look[n];
}

static void consume(parser *p)
{
    if (p->look_count == 0)
        return;
    memmove(&p->look[0], &p->look[1], (p->look_count - 1) * sizeof p->look[0]);
    p->look_count--;
}

static word_kind classify(const parser *p, const token *t)
{
    if (t->kind != TOK_WORD)
        return WORD_KEY;
    const char *w = p->text + t->start;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].text);
        if (n != t->len)
            continue;
        size_t j = 0;
        for (; j < n; j++) {
            char c = w[j];
            /* ASCII-only folding: strncasecmp would follow the locale (Turkish dotless i). */
            if (!words[i].symbol && c >= 'A' && c <= 'Z')
                c = (char)(c + 32);
            if (c != words[i].text[j])
                break;
        }
        if (j == n)
            return words[i].kind;
    }
    return WORD_KEY;
}

static bool is_operator(word_kind w)
{
    return w == WORD_IS || w == WORD_EQ || w == WORD_NE || w == WORD_IN || w == WORD_MATCHES;
}

/* The spelling of an operator or connective for messages: keywords in lower case, symbols as is. */
static const char *word_name(word_kind w, const parser *p, const token *t)
{
    switch (w) {
    case WORD_ALL: return "all";
    case WORD_HAS: return "has";
    case WORD_HASROLES: return "hasRoles";
    case WORD_NOT: return p->text[t->start] == '!' ? "!" : "not";
    case WORD_AND: return p->text[t->start] == '&' ? "&&" : "and";
    case WORD_OR: return p->text[t->start] == '|' ? "||" : "or";
    case WORD_IS: return "is";
    case WORD_EQ: return p->text[t->start] != '=' ? "eq" : t->len == 1 ? "=" : "==";
    case WORD_NE: return p->text[t->start] == '!' ? "!=" : "ne";
    case WORD_IN: return "in";
    case WORD_MATCHES: return "matches";
    case WORD_KEY: break;
    }
    return "key";
}

/* A keyword in clause position is read as a key when an operator and its value follow, so that
 * properties named like keywords (`all is 'x'`, `has in ['a']`) can still be tested. */
static bool word_is_key_here(parser *p)
{
    const token *op = peek(p, 1);
    if (p->failed || op->kind != TOK_WORD)
        return false;
    word_kind w = classify(p, op);
    if (!is_operator(w))
        return false;
    const token *value = peek(p, 2);
    if (p->failed)
        return false;
    return value->kind == TOK_STRING || (w == WORD_IN && (value->kind == TOK_LBRACKET || value->kind == TOK_LBRACE));
}

/* ---------------------------------------------------------------------------------------------
 * Parser
 * ------------------------------------------------------------------------------------------- */

static char *token_text(parser *p, const token *t)
{
    char *s = strndup(p->text + t->start, t->len);
    if (!s)
        fail_nomem(p);
    return s;
}

/* Decodes a string token: drops the quotes, resolves the escapes checked by the lexer. */
static char *string_value(parser *p, const token *t, size_t *out_len)
{
    char *out = malloc(t->len);
    if (!out) {
        fail_nomem(p);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = t->start + 1; i < t->start + t->len - 1; i++) {
        if (p->text[i] == '\\')
            i++;
        out[n++] = p->text[i];
    }
    out[n] = '\0';
    if (out_len)
        *out_len = n;
    return out;
}

static node *node_new(parser *p, node_kind kind)
{
    node *n = calloc(1, sizeof *n);
    if (!n) {
        fail_nomem(p);
        return NULL;
    }
    n->kind = kind;
    return n;
}

static bool remember_key(parser *p, const char *key)
{
    sm_filter *f = p->filter;
    bool found;
    size_t lo = sm_sorted_search(f->keys, f->key_count, sizeof *f->keys, key, &found);
    if (found)
        return true;
    if (f->key_count == f->key_cap) {
        size_t cap = f->key_cap ? f->key_cap * 2 : 4;
        char **keys = realloc(f->keys, cap * sizeof *keys);
        if (!keys) {
            fail_nomem(p);
            return false;
        }
        f->keys = keys;
        f->key_cap = cap;
    }
    char *copy = strdup(key);
    if (!copy) {
        fail_nomem(p);
        return false;
    }
    memmove(&f->keys[lo + 1], &f->keys[lo], (f->key_count - lo) * sizeof *f->keys);
    f->keys[lo] = copy;
    f->key_count++;
    return true;
}

/* Appends child to an AND/OR node; a child of the same kind is merged in, so long chains and
 * redundant parentheses stay one flat node. Takes ownership of child in every case. */
static bool node_append(parser *p, node *parent, node *child)
{
    size_t add = (child->kind == parent->kind && !child->negate) ? child->u.kids.count : 1;
    if (parent->u.kids.count + add > parent->u.kids.cap) {
        size_t cap = parent->u.kids.cap ? parent->u.kids.cap * 2 : 4;
        while (cap < parent->u.kids.count + add)
            cap *= 2;
        node **items = realloc(parent->u.kids.items, cap * sizeof *items);
        if (!items) {
            node_free(child);
            fail_nomem(p);
            return false;
        }
        parent->u.kids.items = items;
        parent->u.kids.cap = cap;
    }
    if (child->kind == parent->kind && !child->negate) {
        memcpy(&parent->u.kids.items[parent->u.kids.count], child->u.kids.items, add * sizeof(node *));
        parent->u.kids.count += add;
        free(child->u.kids.items);
        free(child);
    } else {
        parent->u.kids.items[parent->u.kids.count++] = child;
    }
    return true;
}

typedef struct string_list {
    char **items;
    size_t count;
    size_t cap;
    size_t *offsets; /* source offset of each item's opening quote */
} string_list;

static void string_list_free(string_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    free(l->offsets);
    memset(l, 0, sizeof *l);
}

static bool string_list_push(parser *p, string_list *l, const token *t)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        char **items = realloc(l->items, cap * sizeof *items);
        if (!items) {
            fail_nomem(p);
            return false;
        }
        l->items = items;
        size_t *offsets = realloc(l->offsets, cap * sizeof *offsets);
        if (!offsets) {
            fail_nomem(p);
            return false;
        }
        l->offsets = offsets;
        l->cap = cap;
    }
    char *v = string_value(p, t, NULL);
    if (!v)
        return false;
    l->offsets[l->count] = t->start;
    l->items[l->count++] = v;
    return true;
}

/* list := "[" items "]" | "{" items "}" | items;  items := string ( [","] string )* */
static bool parse_list(parser *p, const char *after, const char *what, string_list *out)
{
    const token *t = peek(p, 0);
    if (p->failed)
        return false;
    tok_kind close = TOK_EOF;
    size_t open_at = t->start;
    if (t->kind == TOK_LBRACKET || t->kind == TOK_LBRACE) {
        close = t->kind == TOK_LBRACKET ? TOK_RBRACKET : TOK_RBRACE;
        consume(p);
    } else if (t->kind != TOK_STRING) {
        fail(p, SM_ERR_INVALID, t->start, "expected a quoted %s or a list after '%s'", what, after);
        return false;
    }
    char close_char = close == TOK_RBRACKET ? ']' : '}';
    t = peek(p, 0);
    if (p->failed)
        return false;
    if (t->kind != TOK_STRING) {
        if (t->kind == close)
            fail(p, SM_ERR_INVALID, t->start, "expected a quoted %s in the list (a list cannot be empty)", what);
        else
            fail(p, SM_ERR_INVALID, t->start, "expected a quoted %s in the list", what);
        return false;
    }
    for (;;) {
        /* t is a string here */
        if (!string_list_push(p, out, t))
            return false;
        consume(p);
        t = peek(p, 0);
        if (p->failed)
            return false;
        if (t->kind == TOK_COMMA) {
            consume(p);
            t = peek(p, 0);
            if (p->failed)
                return false;
            if (t->kind != TOK_STRING) {
                fail(p, SM_ERR_INVALID, t->start, "expected a quoted %s after ','", what);
                return false;
            }
            continue;
        }
        if (t->kind == TOK_STRING)
            continue;
        if (close == TOK_EOF)
            return true;
        if (t->kind == close) {
            consume(p);
            return true;
        }
        fail(p, SM_ERR_INVALID, t->start,
             "expected ',', a quoted %s or '%c' to close the list that opens at column %zu", what, close_char,
             open_at + 1);
        return false;
    }
}

static bool roles_from_string(parser *p, const char *value, size_t len, size_t offset, sm_roles *out)
{
    sm_error rerr;
    int rc = sm_roles_parse(value, len, out, &rerr);
    if (rc == SM_ERR_NOMEM) {
        fail_nomem(p);
        return false;
    }
    if (rc != SM_OK) {
        fail(p, SM_ERR_INVALID, offset,
             "expected a role list for $Roles: quoted role names separated by commas or spaces, e.g. "
             "'\"admin\",\"operator\"'");
        return false;
    }
    return true;
}

/* Compiles the pattern of a `matches` clause within the filter's regex budget (core/regex.h):
 * the clause count is checked before compiling, so a filter of hundreds of clauses costs little
 * to refuse. */
static node *compile_matches(parser *p, char *key, const token *t)
{
    if (p->matches_count == SM_FILTER_MATCHES_MAX) {
        fail(p, SM_ERR_LIMIT, t->start, "expected at most %d 'matches' clauses in one filter", SM_FILTER_MATCHES_MAX);
        free(key);
        return NULL;
    }
    p->matches_count++;
    size_t len;
    char *re = string_value(p, t, &len);
    node *n = re ? node_new(p, NODE_MATCHES) : NULL;
    if (!n) {
        free(re);
        free(key);
        return NULL;
    }
    n->key = key;
    char why[SM_ERROR_MESSAGE_MAX / 2];
    int rc = sm_regex_compile(re, len, &n->u.regex, why, sizeof why);
    free(re);
    if (rc == SM_ERR_NOMEM) {
        fail_nomem(p);
    } else if (rc != SM_OK) {
        fail(p, rc, t->start, "expected a valid regular expression: %s", why);
    } else {
        size_t size = sm_regex_program_size(n->u.regex);
        p->regex_program_total += size;
        if (size > SM_REGEX_PROGRAM_MAX)
            fail(p, SM_ERR_LIMIT, t->start,
                 "expected a valid regular expression: it compiles to %zu instructions, at most %d are allowed "
                 "('.' and repetition counts cost the most)",
                 size, SM_REGEX_PROGRAM_MAX);
        else if (p->regex_program_total > SM_FILTER_REGEX_PROGRAM_MAX)
            fail(p, SM_ERR_LIMIT, t->start,
                 "expected smaller regular expressions: with this one they compile to %zu instructions, at most %d "
                 "are allowed in one filter",
                 p->regex_program_total, SM_FILTER_REGEX_PROGRAM_MAX);
    }
    if (p->failed) {
        node_free(n);
        return NULL;
    }
    return n;
}

static node *parse_key_clause(parser *p)
{
    const token *t = peek(p, 0);
    char *key = token_text(p, t);
    if (!key)
        return NULL;
    bool key_ends_with_equals = t->len > 0 && p->text[t->start + t->len - 1] == '=';
    consume(p);
    const token *op_tok = peek(p, 0);
    if (p->failed) {
        free(key);
        return NULL;
    }
    word_kind op = classify(p, op_tok);
    if (op_tok->kind != TOK_WORD || !is_operator(op)) {
        fail(p, SM_ERR_INVALID, op_tok->start, "expected an operator (is, eq, ne, in or matches) after the key%s",
             key_ends_with_equals && op_tok->kind == TOK_STRING ? " (write symbol operators with spaces around them)"
                                                                : "");
        free(key);
        return NULL;
    }
    const char *op_name = word_name(op, p, op_tok);
    consume(p);
    if (!remember_key(p, key)) {
        free(key);
        return NULL;
    }
    bool roles = strcmp(key, SM_PROP_ROLES) == 0;

    if (op == WORD_IN) {
        string_list list = {0};
        if (!parse_list(p, op_name, "value", &list)) {
            string_list_free(&list);
            free(key);
            return NULL;
        }
        node *n = node_new(p, roles ? NODE_ROLES_EQ : NODE_IN);
        if (!n) {
            string_list_free(&list);
            free(key);
            return NULL;
        }
        n->key = key;
        if (roles) {
            n->u.sets.items = calloc(list.count, sizeof *n->u.sets.items);
            if (!n->u.sets.items) {
                fail_nomem(p);
                string_list_free(&list);
                node_free(n);
                return NULL;
            }
            for (size_t i = 0; i < list.count; i++) {
                if (!roles_from_string(p, list.items[i], strlen(list.items[i]), list.offsets[i],
                                       &n->u.sets.items[i])) {
                    string_list_free(&list);
                    node_free(n);
                    return NULL;
                }
                n->u.sets.count++;
            }
            string_list_free(&list);
            return n;
        }
        qsort(list.items, list.count, sizeof *list.items, cmp_string_ptr);
        size_t unique = 0;
        for (size_t i = 0; i < list.count; i++) {
            if (unique > 0 && strcmp(list.items[unique - 1], list.items[i]) == 0)
                free(list.items[i]);
            else
                list.items[unique++] = list.items[i];
        }
        n->u.values.items = list.items;
        n->u.values.count = unique;
        free(list.offsets);
        return n;
    }

    const token *v = peek(p, 0);
    if (p->failed) {
        free(key);
        return NULL;
    }
    if (v->kind != TOK_STRING) {
        fail(p, SM_ERR_INVALID, v->start, "expected a quoted %s after '%s'",
             op == WORD_MATCHES ? "regular expression" : "value", op_name);
        free(key);
        return NULL;
    }
    token value_tok = *v;
    consume(p);
    if (op == WORD_MATCHES)
        return compile_matches(p, key, &value_tok);

    size_t len;
    char *value = string_value(p, &value_tok, &len);
    node *n = value ? node_new(p, roles ? NODE_ROLES_EQ : NODE_EQ) : NULL;
    if (!n) {
        free(value);
        free(key);
        return NULL;
    }
    n->key = key;
    n->negate = op == WORD_NE;
    if (!roles) {
        n->u.value = value;
        return n;
    }
    n->u.sets.items = calloc(1, sizeof *n->u.sets.items);
    if (!n->u.sets.items) {
        fail_nomem(p);
        free(value);
        node_free(n);
        return NULL;
    }
    bool ok = roles_from_string(p, value, len, value_tok.start, &n->u.sets.items[0]);
    free(value);
    if (!ok) {
        node_free(n);
        return NULL;
    }
    n->u.sets.count = 1;
    return n;
}

static node *parse_clause(parser *p, const char *after)
{
    const token *t = peek(p, 0);
    if (p->failed)
        return NULL;
    if (t->kind != TOK_WORD) {
        if (t->kind == TOK_STRING)
            fail(p, SM_ERR_INVALID, t->start,
                 "expected a property key, not a quoted string (keys are written without quotes)");
        else if (t->kind == TOK_EOF && !after) /* only the first clause has nothing before it */
            fail(p, SM_ERR_INVALID, 0, "expected a clause, but the filter is empty");
        else if (!after)
            fail(p, SM_ERR_INVALID, t->start, "expected a clause (a property key, all, has, hasRoles, not or '(')");
        else
            fail(p, SM_ERR_INVALID, t->start,
                 "expected a clause (a property key, all, has, hasRoles, not or '(') after '%s'", after);
        return NULL;
    }
    word_kind w = classify(p, t);
    if (w != WORD_KEY) {
        bool key = word_is_key_here(p);
        if (p->failed)
            return NULL;
        if (!key && w != WORD_ALL && w != WORD_HAS && w != WORD_HASROLES) {
            /* A connective or operator where a clause belongs, e.g. `and x is 'y'` or `a is 'b' or or`. */
            if (after)
                fail(p, SM_ERR_INVALID, t->start, "expected a clause after '%s', not '%s'", after,
                     word_name(w, p, t));
            else
                fail(p, SM_ERR_INVALID, t->start, "expected a clause before '%s'", word_name(w, p, t));
            return NULL;
        }
        if (!key) {
            const char *name = word_name(w, p, t);
            consume(p);
            if (w == WORD_ALL)
                return node_new(p, NODE_ALL);
            if (w == WORD_HAS) {
                const token *k = peek(p, 0);
                if (p->failed)
                    return NULL;
                if (k->kind != TOK_WORD) {
                    fail(p, SM_ERR_INVALID, k->start, "expected a property key after 'has'%s",
                         k->kind == TOK_STRING ? " (keys are written without quotes)" : "");
                    return NULL;
                }
                char *key_text = token_text(p, k);
                if (!key_text)
                    return NULL;
                consume(p);
                node *n = remember_key(p, key_text) ? node_new(p, NODE_HAS) : NULL;
                if (!n) {
                    free(key_text);
                    return NULL;
                }
                n->key = key_text;
                return n;
            }
            string_list list = {0};
            node *n = NULL;
            if (parse_list(p, name, "role name", &list) && remember_key(p, SM_PROP_ROLES))
                n = node_new(p, NODE_HAS_ROLES);
            if (n) {
                sm_roles_init(&n->u.roles);
                for (size_t i = 0; i < list.count; i++) {
                    if (sm_roles_add(&n->u.roles, list.items[i]) != SM_OK) {
                        fail_nomem(p);
                        node_free(n);
                        n = NULL;
                        break;
                    }
                }
            }
            string_list_free(&list);
            return n;
        }
    }
    return parse_key_clause(p);
}

static node *parse_or(parser *p, const char *after);

static node *parse_unary(parser *p, const char *after)
{
    const token *t = peek(p, 0);
    if (p->failed)
        return NULL;
    if (t->kind == TOK_WORD && classify(p, t) == WORD_NOT) {
        bool key = word_is_key_here(p);
        if (p->failed)
            return NULL;
        if (!key) {
            const char *name = word_name(WORD_NOT, p, t);
            if (++p->depth > SM_FILTER_DEPTH_MAX) {
                fail(p, SM_ERR_LIMIT, t->start,
                     "expected at most %d levels of nesting (parentheses and 'not' both count)", SM_FILTER_DEPTH_MAX);
                return NULL;
            }
            consume(p);
            node *n = parse_unary(p, name);
            p->depth--;
            if (n)
                n->negate = !n->negate;
            return n;
        }
    }
    if (t->kind == TOK_LPAREN) {
        size_t open_at = t->start;
        if (++p->depth > SM_FILTER_DEPTH_MAX) {
            fail(p, SM_ERR_LIMIT, t->start, "expected at most %d levels of nesting (parentheses and 'not' both count)",
                 SM_FILTER_DEPTH_MAX);
            return NULL;
        }
        consume(p);
        node *n = parse_or(p, "(");
        if (!n)
            return NULL;
        t = peek(p, 0);
        if (p->failed) {
            node_free(n);
            return NULL;
        }
        if (t->kind != TOK_RPAREN) {
            if (t->kind == TOK_EOF)
                fail(p, SM_ERR_INVALID, t->start, "expected ')' to close the '(' at column %zu", open_at + 1);
            else
                fail(p, SM_ERR_INVALID, t->start, "expected 'and', 'or' or ')' to close the '(' at column %zu",
                     open_at + 1);
            node_free(n);
            return NULL;
        }
        consume(p);
        p->depth--;
        return n;
    }
    return parse_clause(p, after);
}

static node *parse_binary(parser *p, const char *after, word_kind connective)
{
    node *first = connective == WORD_OR ? parse_binary(p, after, WORD_AND) : parse_unary(p, after);
    if (!first)
        return NULL;
    node *chain = NULL;
    for (;;) {
        const token *t = peek(p, 0);
        if (p->failed)
            break;
        if (t->kind != TOK_WORD || classify(p, t) != connective)
            return chain ? chain : first;
        const char *name = word_name(connective, p, t);
        consume(p);
        node *next = connective == WORD_OR ? parse_binary(p, name, WORD_AND) : parse_unary(p, name);
        if (!next)
            break;
        if (!chain) {
            chain = node_new(p, connective == WORD_OR ? NODE_OR : NODE_AND);
            if (!chain) {
                node_free(next);
                break;
            }
            if (!node_append(p, chain, first)) {
                first = NULL;
                node_free(next);
                break;
            }
            first = NULL;
        }
        if (!node_append(p, chain, next))
            break;
    }
    node_free(first);
    node_free(chain);
    return NULL;
}

static node *parse_or(parser *p, const char *after)
{
    return parse_binary(p, after, WORD_OR);
}

/* Reports the first byte that is not valid UTF-8 (or is NUL). */
static bool check_utf8(parser *p)
{
    const char *s = p->text;
    size_t i = 0;
    while (i < p->len) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x01 && c < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = c == 0 ? 0 : sm_utf8_decode(s + i, p->len - i, &cp);
        if (n == 0) {
            fail(p, SM_ERR_INVALID, i, "%s",
                 c == 0 ? "expected text, not a NUL byte" : "expected UTF-8 text; this byte is not valid UTF-8");
            return false;
        }
        i += n;
    }
    return true;
}

static bool check_text(parser *p)
{
    if (p->len > SM_FILTER_MAX) {
        fail(p, SM_ERR_LIMIT, SM_FILTER_MAX, "expected at most %d bytes; the filter is %zu bytes long", SM_FILTER_MAX,
             p->len);
        return false;
    }
    return check_utf8(p);
}

int sm_filter_check_text(const char *text, size_t len, sm_error *err)
{
    sm_error_clear(err);
    parser p = {.text = text ? text : "", .len = text ? len : 0, .err = err};
    return check_text(&p) ? SM_OK : p.code;
}

int sm_filter_parse(const char *text, size_t len, sm_filter **out, sm_error *err)
{
    sm_error_clear(err);
    if (out)
        *out = NULL;
    if (!out || (!text && len > 0)) {
        return sm_error_set(err, SM_ERR_INVALID, "filter error: no filter text");
    }
    if (!text)
        text = "";
    parser p = {.text = text, .len = len, .err = err};
    if (!check_text(&p))
        return p.code;
    sm_filter *f = calloc(1, sizeof *f);
    if (!f) {
        fail_nomem(&p);
        return p.code;
    }
    p.filter = f;
    f->root = parse_or(&p, NULL);
    if (f->root) {
        const token *t = peek(&p, 0);
        if (!p.failed && t->kind != TOK_EOF) {
            if (t->kind == TOK_RPAREN)
                fail(&p, SM_ERR_INVALID, t->start,
                     "expected 'and', 'or' or the end of the filter (this ')' has no matching '(')");
            else
                fail(&p, SM_ERR_INVALID, t->start, "expected 'and', 'or' or the end of the filter");
        }
    }
    if (!p.failed) {
        f->regex_cost = p.regex_program_total;
        f->text = strndup(text, len);
        if (!f->text)
            fail_nomem(&p);
    }
    if (p.failed) {
        sm_filter_free(f);
        return p.code;
    }
    *out = f;
    return SM_OK;
}
