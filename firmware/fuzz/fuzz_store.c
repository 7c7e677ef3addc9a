/*
 * fuzz_store.c — libFuzzer target: mounting the object store from an arbitrary flash image
 * (what a corrupted or hostile flash chip could hold), then using it. Mount must either succeed
 * or fail cleanly; after a successful mount a written object must read back equal, survive a
 * remount, and every listed object must be readable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/err.h"
#include "hsm/port/flash.h"
#include "hsm/store.h"
#include "ram_port.h"

#define REGION (16u * HSM_FLASH_ERASE_SIZE)

static bool keep_none(uint16_t id)
{
    (void)id;
    return false;
}

static int read_each(uint16_t id, void *ctx)
{
    (void)ctx;
    static uint8_t buf[HSM_STORE_OBJ_MAX];
    size_t len, n;
    if (hsm_store_size(id, &len) != HSM_OK || hsm_store_read(id, 0, buf, sizeof(buf), &n) != HSM_OK ||
        n != len) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t image[REGION];
    if (ram_port_set_size(REGION) != HSM_OK) {
        abort();
    }
    ram_port_reset(NULL);
    /* Lay the input over the erased region, repeating it to fill the region. */
    if (size > 0) {
        for (size_t off = 0; off < REGION; off += size) {
            memcpy(image + off, data, size < REGION - off ? size : REGION - off);
        }
        for (uint32_t off = 0; off < REGION; off += HSM_FLASH_PROG_SIZE) {
            if (hsm_port_flash_program(off, image + off, HSM_FLASH_PROG_SIZE) != HSM_OK) {
                abort();
            }
        }
    }
    if (hsm_store_mount(keep_none) != HSM_OK) {
        return 0;
    }
    (void)hsm_store_each(read_each, NULL);
    static const uint8_t obj[300] = {1, 2, 3};
    if (hsm_store_write(0xCF01, obj, sizeof(obj), 0) == HSM_OK) {
        uint8_t back[sizeof(obj)];
        size_t n;
        if (hsm_store_read(0xCF01, 0, back, sizeof(back), &n) != HSM_OK || n != sizeof(obj) ||
            memcmp(back, obj, n) != 0) {
            abort();
        }
        if (hsm_store_mount(keep_none) != HSM_OK ||
            hsm_store_read(0xCF01, 0, back, sizeof(back), &n) != HSM_OK || n != sizeof(obj) ||
            memcmp(back, obj, n) != 0) {
            abort();
        }
    }
    return 0;
}
