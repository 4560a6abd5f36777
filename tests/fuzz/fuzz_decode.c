/* libFuzzer target: decodes arbitrary bytes as a protocol message; a decoded message must re-encode and decode to itself. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/protocol.h"
#include "tests/core/protocol_compare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_decode: %s: %s\n", what, detail);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly size bytes on the heap, so ASan sees any read past the end. */
    char *input = malloc(size ? size : 1);
    if (!input)
        return 0;
    if (size)
        memcpy(input, data, size);

    sm_msg first;
    sm_error err;
    int rc = sm_msg_decode(input, size, SM_CLIENT_MAX_MESSAGE, &first, &err);
    if (rc != SM_OK) {
        if (err.code != rc || !err.message[0])
            die("failure without an error message", err.message);
        for (const char *p = err.message; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                die("error message is not printable ASCII", err.message);
        sm_msg_free(&first);
        free(input);
        return 0;
    }
    /* The decoder's fast path for events (no cJSON tree behind the message) must give what the
     * general decoder gives: an ignored extra field with a \u escape keeps it off the fast path. */
    if (first.type == SM_MSG_EVENTS && !first.priv_json) {
        const char *close = memrchr(input, '}', size);
        if (!close)
            die("the events fast path took a message without a closing brace", "");
        static const char extra[] = ",\"zz\":\"\\u0041\"";
        size_t at = (size_t)(close - input), len = size + sizeof extra - 1;
        char *general = malloc(len);
        if (!general)
            die("out of memory", "");
        memcpy(general, input, at);
        memcpy(general + at, extra, sizeof extra - 1);
        memcpy(general + at + sizeof extra - 1, input + at, size - at);
        sm_msg slow;
        if (sm_msg_decode(general, len, 0, &slow, &err) != SM_OK)
            die("the general decoder refuses what the events fast path took", err.message);
        char why[128];
        if (!slow.priv_json || !sm_test_msg_equal(&first, &slow, why, sizeof why))
            die("the events fast path and the general decoder differ", why);
        sm_msg_free(&slow);
        free(general);
    }
    /* The decoded strings must not depend on the input buffer. */
    memset(input, 'X', size);
    free(input);

    sm_buf text;
    sm_buf_init(&text, 16, 0);
    rc = sm_msg_encode(&first, &text);
    if (rc != SM_OK)
        die("a decoded message does not encode", sm_msg_type_name(first.type));

    sm_msg second;
    rc = sm_msg_decode(sm_buf_payload(&text), text.len, 0, &second, &err);
    if (rc != SM_OK)
        die("re-encoded message does not decode", err.message);
    char why[128];
    if (!sm_test_msg_equal(&first, &second, why, sizeof why))
        die("round trip changed the message", why);

    /* Encoding is deterministic: the second message gives the same bytes. */
    sm_buf again;
    sm_buf_init(&again, 0, 0);
    if (sm_msg_encode(&second, &again) != SM_OK || again.len != text.len ||
        memcmp(sm_buf_payload(&again), sm_buf_payload(&text), text.len) != 0)
        die("re-encoding is not stable", sm_buf_payload(&text));

    /* The incremental events writer agrees with the whole-message encoder. */
    if (first.type == SM_MSG_EVENTS) {
        sm_buf inc;
        sm_buf_init(&inc, 0, 0);
        bool ok = sm_events_begin(&inc, first.listener) == SM_OK;
        for (size_t i = 0; ok && i < first.event_count; i++)
            ok = sm_events_add(&inc, &first.events[i], i == 0) == SM_OK;
        ok = ok && sm_events_end(&inc) == SM_OK;
        if (!ok || inc.len != text.len || memcmp(sm_buf_payload(&inc), sm_buf_payload(&text), text.len) != 0)
            die("incremental events encoding differs", sm_buf_payload(&text));
        sm_buf_free(&inc);
    }

    sm_buf_free(&again);
    sm_buf_free(&text);
    sm_msg_free(&second);
    sm_msg_free(&first);
    return 0;
}
