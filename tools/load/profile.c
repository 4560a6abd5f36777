/* sessmon-load's simulated users: a seeded RNG and realistic, skewed property values per session. */
#include "tools/load/profile.h"

#include <stdio.h>
#include <string.h>

void sm_rng_seed(sm_rng *r, uint64_t seed)
{
    /* splitmix64 spreads small seeds (0, 1, 2, ...) over the whole state; state must not be 0. */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->state = z ? z : 0x2545F4914F6CDD1Dull;
}

uint64_t sm_rng_next(sm_rng *r)
{
    uint64_t x = r->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

size_t sm_rng_below(sm_rng *r, size_t n)
{
    return n ? (size_t)(sm_rng_next(r) % n) : 0;
}

double sm_rng_unit(sm_rng *r)
{
    return (double)(sm_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* A value and its relative frequency. */
typedef struct weighted {
    const char *value;
    unsigned weight;
} weighted;

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const weighted departments[] = {
    {"Accounts", 15}, {"Payroll", 8}, {"Sales", 25}, {"Engineering", 20}, {"Support", 17}, {"Trading", 15},
};
static const weighted tiers[] = {{"gold", 10}, {"silver", 30}, {"bronze", 60}};
/* Newest first: most users run the latest release, a tail lags behind. */
static const weighted versions[] = {{"5.2.0", 50}, {"5.1.3", 28}, {"5.0.9", 14}, {"4.8.2", 8}};
static const weighted regions[] = {{"EU", 35}, {"US", 30}, {"APAC", 25}, {"LATAM", 10}};
static const weighted statuses[] = {{"online", 55}, {"idle", 25}, {"away", 12}, {"busy", 8}};

typedef struct client_kind {
    const char *type;
    unsigned weight;
    const char *environments[4]; /* NULL-terminated when shorter */
} client_kind;

static const client_kind client_kinds[] = {
    {"JAVASCRIPT_BROWSER", 38,
     {"Chrome 124 / Windows 11", "Firefox 125 / Windows 11", "Safari 17.4 / macOS 14.4", "Edge 124 / Windows 10"}},
    {"JAVA", 14, {"Java 21.0.2 (Temurin) / Linux amd64", "Java 17.0.10 (Temurin) / Windows Server 2022", NULL, NULL}},
    {"C", 6, {"C libsessmon 0.1 / Linux x86_64", "C libsessmon 0.1 / Linux aarch64", NULL, NULL}},
    {"PYTHON", 10, {"Python 3.11.2 / Linux x86_64", "Python 3.12.3 / macOS arm64", NULL, NULL}},
    {"ANDROID", 17, {"Android 14 / Pixel 8", "Android 13 / Galaxy S23", "Android 12 / Redmi Note 11", NULL}},
    {"IOS", 15, {"iOS 17.4 / iPhone 15", "iOS 16.7 / iPhone 12", "iPadOS 17.4 / iPad Air", NULL}},
};

/* Source address -> Region, as the demo geo table (demo/sessmond.json) places them. */
static const struct {
    const char *ip;
    const char *region;
} source_regions[] = {
    {"127.0.0.2", "EU"},   /* FR */
    {"127.0.0.3", "US"},   /* US */
    {"127.0.0.4", "EU"},   /* GB */
    {"127.0.0.5", "EU"},   /* DE */
    {"127.0.0.6", "APAC"}, /* JP */
    {"127.0.0.7", "LATAM"}, /* BR */
    {"127.0.0.8", "APAC"}, /* IN */
    {"127.0.0.9", "APAC"}, /* AU */
};

static uint8_t pick(sm_rng *r, const weighted *w, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i].weight;
    size_t x = sm_rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i].weight)
            return (uint8_t)i;
        x -= w[i].weight;
    }
    return 0;
}

static uint8_t pick_client_kind(sm_rng *r)
{
    unsigned total = 0;
    for (size_t i = 0; i < COUNT(client_kinds); i++)
        total += client_kinds[i].weight;
    size_t x = sm_rng_below(r, total);
    for (size_t i = 0; i < COUNT(client_kinds); i++) {
        if (x < client_kinds[i].weight)
            return (uint8_t)i;
        x -= client_kinds[i].weight;
    }
    return 0;
}

static size_t environment_count(const client_kind *k)
{
    size_t n = 0;
    while (n < COUNT(k->environments) && k->environments[n])
        n++;
    return n;
}

const char *sm_profile_region_for_source(const char *source_ip)
{
    if (!source_ip)
        return NULL;
    for (size_t i = 0; i < COUNT(source_regions); i++)
        if (strcmp(source_regions[i].ip, source_ip) == 0)
            return source_regions[i].region;
    return NULL;
}

void sm_profile_draw(sm_profile *p, sm_rng *r, const char *source_ip)
{
    memset(p, 0, sizeof *p);
    p->department = pick(r, departments, COUNT(departments));
    p->tier = pick(r, tiers, COUNT(tiers));
    p->app_version = pick(r, versions, COUNT(versions));
    p->status = pick(r, statuses, COUNT(statuses));
    p->client_type = pick_client_kind(r);
    p->environment = (uint8_t)sm_rng_below(r, environment_count(&client_kinds[p->client_type]));
    p->user_number = (uint32_t)(sm_rng_below(r, 900000) + 100000);
    const char *region = sm_profile_region_for_source(source_ip);
    p->region = pick(r, regions, COUNT(regions));
    for (size_t i = 0; region && i < COUNT(regions); i++)
        if (strcmp(regions[i].value, region) == 0)
            p->region = (uint8_t)i;
}

size_t sm_profile_props(const sm_profile *p, sm_property *props, char *user_buf, size_t user_buf_len)
{
    snprintf(user_buf, user_buf_len, "u%06u", (unsigned)p->user_number);
    size_t n = 0;
    props[n++] = (sm_property){"Department", departments[p->department].value};
    props[n++] = (sm_property){"Tier", tiers[p->tier].value};
    props[n++] = (sm_property){"AppVersion", versions[p->app_version].value};
    props[n++] = (sm_property){"Region", regions[p->region].value};
    props[n++] = (sm_property){"Status", statuses[p->status].value};
    props[n++] = (sm_property){"UserId", user_buf};
    return n;
}

const char *sm_profile_client_type(const sm_profile *p)
{
    return client_kinds[p->client_type].type;
}

const char *sm_profile_environment(const sm_profile *p)
{
    return client_kinds[p->client_type].environments[p->environment];
}

/* A different index than current, drawn with the table's weights. */
static uint8_t pick_other(sm_rng *r, const weighted *w, size_t n, uint8_t current)
{
    for (int tries = 0; tries < 8; tries++) {
        uint8_t i = pick(r, w, n);
        if (i != current)
            return i;
    }
    return (uint8_t)((current + 1) % n);
}

void sm_profile_mutate(sm_profile *p, sm_rng *r, sm_property *out)
{
    double x = sm_rng_unit(r);
    if (x < 0.08 && p->app_version > 0) {
        /* Users upgrade, they never downgrade. */
        p->app_version = (uint8_t)(p->app_version - 1);
        *out = (sm_property){"AppVersion", versions[p->app_version].value};
    } else if (x < 0.16) {
        p->tier = pick_other(r, tiers, COUNT(tiers), p->tier);
        *out = (sm_property){"Tier", tiers[p->tier].value};
    } else {
        p->status = pick_other(r, statuses, COUNT(statuses), p->status);
        *out = (sm_property){"Status", statuses[p->status].value};
    }
}
