/* The monitor's keyboard and mouse decoder: terminal bytes in, keys and mouse events out, never blocking. */
#ifndef SMT_TUI_INPUT_H
#define SMT_TUI_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A sequence longer than this is not one a terminal sends: it is dropped whole. */
#define SMT_INPUT_SEQ_MAX 48
/* A lone Esc becomes the Esc key after this long without a follow-up byte (ESCDELAY overrides). */
#define SMT_INPUT_ESC_MS 25
/* A started escape sequence that stops arriving is dropped after this long. */
#define SMT_INPUT_SEQ_MS 400

typedef enum smt_mouse_kind {
    SMT_MOUSE_PRESS = 1,
    SMT_MOUSE_RELEASE,
    SMT_MOUSE_DRAG,
    SMT_MOUSE_WHEEL_UP,
    SMT_MOUSE_WHEEL_DOWN
} smt_mouse_kind;

typedef struct smt_mouse {
    smt_mouse_kind kind;
    int button; /* 1 left, 2 middle, 3 right, 0 = unknown (an X10 release does not say) */
    int x, y;   /* 0-based screen cell */
} smt_mouse;

typedef struct smt_input_event {
    bool is_mouse;
    int32_t key; /* a code point or SMT_KEY_FN(curses key code), as keys.h */
    smt_mouse mouse;
} smt_input_event;

typedef void (*smt_input_emit_fn)(void *ctx, const smt_input_event *ev);

typedef struct smt_input {
    unsigned char pending[SMT_INPUT_SEQ_MAX];
    size_t npending;
    uint64_t pending_since; /* monotonic ms when the first pending byte came */
    int esc_ms;
    bool skipping; /* the rest of an over-long sequence: skipped up to its final byte */
    uint64_t dropped; /* sequences thrown away as malformed or incomplete (for tests and stats) */
} smt_input;

void smt_input_init(smt_input *in, int esc_ms);
/* Decodes bytes; every complete key or mouse event goes to emit at once. Incomplete sequences
 * wait for more bytes or for smt_input_expire. */
void smt_input_feed(smt_input *in, const void *bytes, size_t n, uint64_t now, smt_input_emit_fn emit, void *ctx);
/* ms until smt_input_expire has something to do (-1 = nothing pending). */
int64_t smt_input_timeout(const smt_input *in, uint64_t now);
/* A lone Esc that waited long enough becomes the Esc key; a stalled sequence is dropped. */
void smt_input_expire(smt_input *in, uint64_t now, smt_input_emit_fn emit, void *ctx);


#endif
