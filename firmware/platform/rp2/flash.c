/*
 * flash.c — port/flash.h on the RP2040/RP2350 QSPI flash.
 *
 * Memory map (offsets from the start of flash, numbers from CMake):
 *   [0, HSM_STORE_OFFSET)                        program image; store_check.ld proves at link
 *                                                 time that __flash_binary_end <= the store
 *   [HSM_STORE_OFFSET, +HSM_STORE_SIZE)           the store, up to the end of the board's flash
 *                                                 (pico: 1 MiB at 1 MiB; pico2: 3 MiB at 1 MiB)
 *
 * Reads go through the XIP no-cache, no-allocate alias (untranslated on RP2350): they never see
 * a stale cache line after a program or erase and never evict code from the cache.
 * Erase and program run inside flash_safe_execute(): interrupts off on the calling core, the
 * other core parked in RAM through multicore_lockout (main.c registers both cores). Programming
 * copies each 256-byte page into RAM first (the caller's buffer may be in flash, which cannot be
 * read while it is being programmed) and then reads it back: the result must be old AND new,
 * the only outcome NOR programming allows; an erase must read back all FF. Anything else is
 * HSM_ERR_FLASH.
 *
 * Callers: the store, on core 1. Not re-entrant (the page buffers are static, owned by the
 * function running).
 */
#include <string.h>

#include "hardware/flash.h"
#include "hardware/regs/addressmap.h"
#include "pico/flash.h"

#include "hsm/err.h"
#include "hsm/port/flash.h"

#ifdef XIP_NOCACHE_NOALLOC_NOTRANSLATE_BASE
#define FLASH_READ_BASE XIP_NOCACHE_NOALLOC_NOTRANSLATE_BASE /* RP2350 */
#else
#define FLASH_READ_BASE XIP_NOCACHE_NOALLOC_BASE /* RP2040 */
#endif
#define FLASH_LOCKOUT_TIMEOUT_MS 500u

_Static_assert(HSM_STORE_OFFSET % FLASH_SECTOR_SIZE == 0, "store must start on a sector");
_Static_assert(HSM_STORE_SIZE % FLASH_SECTOR_SIZE == 0, "store must be whole sectors");
_Static_assert(HSM_STORE_OFFSET + HSM_STORE_SIZE == PICO_FLASH_SIZE_BYTES,
               "store must end at the end of the board's flash (CMake and board header agree)");
_Static_assert(HSM_FLASH_ERASE_SIZE == FLASH_SECTOR_SIZE && HSM_FLASH_PROG_SIZE == FLASH_PAGE_SIZE,
               "port/flash.h geometry is the chip's");

static const uint8_t *store_ptr(uint32_t off) {
    return (const uint8_t *)(FLASH_READ_BASE + HSM_STORE_OFFSET + off);
}

static bool in_range(uint32_t off, size_t len) {
    return off <= HSM_STORE_SIZE && len <= HSM_STORE_SIZE - off;
}

uint32_t hsm_port_flash_size(void) { return HSM_STORE_SIZE; }

int hsm_port_flash_read(uint32_t off, void *buf, size_t len) {
    if (!in_range(off, len) || (len && !buf))
        return HSM_ERR_INTERNAL;
    memcpy(buf, store_ptr(off), len);
    return HSM_OK;
}

static uint8_t page_new[FLASH_PAGE_SIZE]; /* RAM copy handed to flash_range_program */
static uint8_t page_old[FLASH_PAGE_SIZE]; /* the page before programming */

typedef struct {
    uint32_t flash_off; /* from the start of flash */
    const uint8_t *data;
} flash_op;

static void do_program(void *arg) {
    const flash_op *op = arg;
    flash_range_program(op->flash_off, op->data, FLASH_PAGE_SIZE);
}

static void do_erase(void *arg) {
    const flash_op *op = arg;
    flash_range_erase(op->flash_off, FLASH_SECTOR_SIZE);
}

int hsm_port_flash_program(uint32_t off, const void *buf, size_t len) {
    if (!in_range(off, len) || off % FLASH_PAGE_SIZE || len % FLASH_PAGE_SIZE || (len && !buf))
        return HSM_ERR_INTERNAL;
    const uint8_t *src = buf;
    for (size_t done = 0; done < len; done += FLASH_PAGE_SIZE) {
        uint32_t o = off + (uint32_t)done;
        memcpy(page_new, src + done, FLASH_PAGE_SIZE);
        memcpy(page_old, store_ptr(o), FLASH_PAGE_SIZE);
        flash_op op = {HSM_STORE_OFFSET + o, page_new};
        if (flash_safe_execute(do_program, &op, FLASH_LOCKOUT_TIMEOUT_MS) != PICO_OK)
            return HSM_ERR_FLASH;
        const uint8_t *now = store_ptr(o);
        for (size_t i = 0; i < FLASH_PAGE_SIZE; i++)
            if (now[i] != (uint8_t)(page_old[i] & page_new[i]))
                return HSM_ERR_FLASH;
    }
    return HSM_OK;
}

int hsm_port_flash_erase(uint32_t off) {
    if (!in_range(off, FLASH_SECTOR_SIZE) || off % FLASH_SECTOR_SIZE)
        return HSM_ERR_INTERNAL;
    flash_op op = {HSM_STORE_OFFSET + off, NULL};
    if (flash_safe_execute(do_erase, &op, FLASH_LOCKOUT_TIMEOUT_MS) != PICO_OK)
        return HSM_ERR_FLASH;
    const uint32_t *p = (const uint32_t *)store_ptr(off);
    for (size_t i = 0; i < FLASH_SECTOR_SIZE / 4; i++)
        if (p[i] != 0xFFFFFFFFu)
            return HSM_ERR_FLASH;
    return HSM_OK;
}
