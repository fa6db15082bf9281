/*
 * Differential libFuzzer target for server/reg_reader: for every input the fast registry
 * reader takes, jansson must accept it as an object and artemisi_decode_instances must give
 * the identical list (tests/support/reg_reader_diff.h); anything else aborts. Inputs it
 * declines only have to leave nothing behind (ASan's leak check covers the rest).
 * The first byte picks the limits, so "too many" and "too long" are reached with short inputs;
 * the length picks how much scratch the reader gets (none, a little, srv_registry_request's), so
 * every way its parts move from the scratch to the heap is taken.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "reg_reader_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    size_t max_items = sel & 0x80 ? 10000 : (size_t)(sel & 0x07) + 1;
    size_t max_str = sel & 0x40 ? 4096 : (size_t)((sel >> 3) & 0x07) + 1;
    static const size_t scratch_sizes[] = {0, 200, 1500, SRV_REG_READER_SCRATCH};
    size_t scratch = scratch_sizes[size % 4];
    char why[256];
    if (reg_reader_diff((const char *)data + 1, size - 1, max_items, max_str, scratch, why,
                        sizeof(why)) < 0) {
        fprintf(stderr, "fuzz_reg_reader: %s (max_items %zu, max_str %zu, scratch %zu)\n", why,
                max_items, max_str, scratch);
        abort();
    }
    return 0;
}
