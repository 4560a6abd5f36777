/* Unit tests of the audit log writer: bounded buffer, dropped records counted, a failing file never blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "server/audit.h"

/* /dev/full takes the open and fails every write (ENOSPC): the buffer fills, then records are
 * dropped and counted, and nothing waits. */
static void test_full_disk_drops_and_counts(void **state)
{
    (void)state;
    smd_audit *a = smd_audit_new("/dev/full", SMD_AUDIT_MIN_BUFFER);
    assert_non_null(a);
    assert_true(smd_audit_on(a));
    char line[1000];
    memset(line, 'r', sizeof line);
    uint64_t dropped = smd_audit_dropped();
    int64_t start = sm_mono_ms();
    int kept = 0;
    for (int i = 0; i < 200; i++) {
        kept += smd_audit_append(a, line, sizeof line);
        smd_audit_flush(a);
    }
    assert_true(sm_mono_ms() - start < 1000);
    assert_int_equal(kept, SMD_AUDIT_MIN_BUFFER / (sizeof line + 1));
    assert_int_equal(smd_audit_dropped() - dropped, (uint64_t)(200 - kept));
    smd_audit_free(a);
}

static void test_records_reach_the_file_and_reopen_follows_a_rename(void **state)
{
    (void)state;
    char dir[] = "/tmp/sessmond-unit-audit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], moved[72];
    snprintf(path, sizeof path, "%s/a.log", dir);
    snprintf(moved, sizeof moved, "%s/a.log.1", dir);
    smd_audit *a = smd_audit_new(path, 0);
    uint64_t written = smd_audit_written();
    assert_true(smd_audit_append(a, "{\"n\":1}", 7));
    smd_audit_flush(a);
    assert_int_equal(smd_audit_written() - written, 1);
    assert_int_equal(rename(path, moved), 0);
    assert_true(smd_audit_append(a, "{\"n\":2}", 7)); /* buffered: goes to the old file at the reopen */
    assert_int_equal(smd_audit_reopen(a, path, 0), SM_OK);
    assert_true(smd_audit_append(a, "{\"n\":3}", 7));
    smd_audit_free(a); /* writes what is left */
    char buf[64] = "";
    FILE *f = fopen(moved, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, "{\"n\":1}\n{\"n\":2}\n");
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, "{\"n\":3}\n");
    unlink(path);
    unlink(moved);
    rmdir(dir);
}

static void test_off_and_unopenable(void **state)
{
    (void)state;
    smd_audit *off = smd_audit_new(NULL, 0);
    assert_false(smd_audit_on(off));
    assert_false(smd_audit_append(off, "x", 1));
    smd_audit_free(off);
    smd_audit *bad = smd_audit_new("/nonexistent-sessmond-dir/a.log", 0);
    assert_true(smd_audit_on(bad));
    uint64_t dropped = smd_audit_dropped();
    assert_false(smd_audit_append(bad, "x", 1));
    assert_int_equal(smd_audit_dropped() - dropped, 1);
    assert_int_equal(smd_audit_reopen(bad, "/nonexistent-sessmond-dir/a.log", 0), SM_ERR_IO);
    smd_audit_free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_disk_drops_and_counts),
        cmocka_unit_test(test_records_reach_the_file_and_reopen_follows_a_rename),
        cmocka_unit_test(test_off_and_unopenable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
