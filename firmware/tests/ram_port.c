/*
 * ram_port.c — a platform for unit tests and fuzzing: flash in RAM, and a deterministic
 * "entropy" stream (SHA-256 of a counter) so runs repeat exactly. Linked only into tests and
 * fuzz targets; never into the emulator or the firmware.
 *
 * Power cuts (ram_port_cut_after): the armed program or erase is torn, and from then on every
 * flash call fails with HSM_ERR_FLASH until ram_port_power_on(). A torn program applies a prefix
 * of its bytes (0..len, from the seeded PRNG) and clears a random subset of the bits the next
 * byte would have cleared. A torn erase either sets a random subset of the sector's pages to FF
 * or sets a random prefix of its bytes to FF; the rest keeps its old content.
 */
#include <string.h>

#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/port/entropy.h"
#include "hsm/port/flash.h"
#include "hsm/port/otp.h"
#include "hsm/port/presence.h"
#include "hsm/port/system.h"
#include "mbedtls/sha256.h"
#include "ram_port.h"

#define RAM_FLASH_MAX (1024u * 1024u)
#define RAM_FLASH_DEFAULT (256u * 1024u)

static uint8_t flash[RAM_FLASH_MAX];
static uint32_t flash_size = RAM_FLASH_DEFAULT;
static uint32_t ops, erases;   /* programs + erases, erases, since the last reset */
static uint32_t cut_at;        /* ops value whose operation is torn; 0: none armed */
static bool powered_off;
static uint64_t tear_state;    /* xorshift64 state for torn patterns */
static uint8_t uid[8] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80};
static uint64_t counter;
static bool entropy_broken;

static void otp_reset(void);

void ram_port_reset(const uint8_t id[8])
{
    otp_reset();
    memset(flash, 0xFF, flash_size);
    if (id) {
        memcpy(uid, id, 8);
    }
    counter = 0;
    entropy_broken = false;
    ops = erases = cut_at = 0;
    powered_off = false;
}

size_t ram_port_snapshot(uint8_t *buf, size_t cap)
{
    if (cap < flash_size) {
        return 0;
    }
    memcpy(buf, flash, flash_size);
    return flash_size;
}

int ram_port_restore(const uint8_t *buf, size_t n)
{
    if (n != flash_size) {
        return HSM_ERR_INTERNAL;
    }
    memcpy(flash, buf, n);
    counter = 0;
    entropy_broken = false;
    ops = erases = cut_at = 0;
    powered_off = false;
    return HSM_OK;
}

int ram_port_set_size(uint32_t bytes)
{
    if (bytes == 0 || bytes > RAM_FLASH_MAX || bytes % HSM_FLASH_ERASE_SIZE) {
        return HSM_ERR_INTERNAL;
    }
    flash_size = bytes;
    memset(flash, 0xFF, flash_size);
    return HSM_OK;
}

void ram_port_cut_after(uint32_t n, uint64_t seed)
{
    cut_at = n ? ops + n : 0;
    tear_state = seed ? seed : 0x9E3779B97F4A7C15u;
}

void ram_port_power_on(void)
{
    cut_at = 0;
    powered_off = false;
}

uint32_t ram_port_flash_ops(void)
{
    return ops;
}

uint32_t ram_port_flash_erases(void)
{
    return erases;
}

static uint32_t tear_rand(uint32_t bound)
{
    tear_state ^= tear_state << 13;
    tear_state ^= tear_state >> 7;
    tear_state ^= tear_state << 17;
    return (uint32_t)(tear_state % bound);
}

/* Counts a program or erase; true when this one is the armed cut (it is then torn). */
static bool cut_now(void)
{
    ops++;
    if (cut_at != 0 && ops == cut_at) {
        powered_off = true;
        return true;
    }
    return false;
}

static void tear_program(uint32_t off, const uint8_t *src, size_t len)
{
    size_t n = tear_rand((uint32_t)len + 1);
    for (size_t i = 0; i < n; i++) {
        flash[off + i] &= src[i];
    }
    if (n < len) {
        uint8_t clears = (uint8_t)~src[n]; /* bits the program would clear */
        flash[off + n] &= (uint8_t)~(clears & (uint8_t)tear_rand(256));
    }
}

static void tear_erase(uint32_t off)
{
    if (tear_rand(2)) {
        for (uint32_t p = 0; p < HSM_FLASH_ERASE_SIZE; p += HSM_FLASH_PROG_SIZE) {
            if (tear_rand(2)) {
                memset(flash + off + p, 0xFF, HSM_FLASH_PROG_SIZE);
            }
        }
    } else {
        memset(flash + off, 0xFF, tear_rand(HSM_FLASH_ERASE_SIZE + 1));
    }
}

void ram_port_break_entropy(bool broken)
{
    entropy_broken = broken;
}

int hsm_port_entropy(uint8_t *buf, size_t len)
{
    if (entropy_broken) {
        return HSM_ERR_ENTROPY;
    }
    while (len > 0) {
        uint8_t block[32], ctr[8];
        for (int i = 0; i < 8; i++) {
            ctr[i] = (uint8_t)(counter >> (8 * i));
        }
        counter++;
        mbedtls_sha256(ctr, sizeof(ctr), block, 0);
        size_t n = len < sizeof(block) ? len : sizeof(block);
        memcpy(buf, block, n);
        buf += n;
        len -= n;
    }
    return HSM_OK;
}

void hsm_port_unique_id(uint8_t id[8])
{
    memcpy(id, uid, 8);
}

uint64_t hsm_port_millis(void)
{
    return counter;
}

void hsm_port_led(hsm_led_state s)
{
    (void)s;
}

uint32_t hsm_port_flash_size(void)
{
    return flash_size;
}

int hsm_port_flash_read(uint32_t off, void *buf, size_t len)
{
    if (off > flash_size || len > flash_size - off) {
        return HSM_ERR_INTERNAL;
    }
    if (powered_off) {
        return HSM_ERR_FLASH;
    }
    memcpy(buf, flash + off, len);
    return HSM_OK;
}

int hsm_port_flash_program(uint32_t off, const void *buf, size_t len)
{
    if (off > flash_size || len > flash_size - off || off % HSM_FLASH_PROG_SIZE ||
        len % HSM_FLASH_PROG_SIZE) {
        return HSM_ERR_INTERNAL;
    }
    if (powered_off) {
        return HSM_ERR_FLASH;
    }
    const uint8_t *src = buf;
    if (cut_now()) {
        tear_program(off, src, len);
        return HSM_ERR_FLASH;
    }
    for (size_t i = 0; i < len; i++) {
        flash[off + i] &= src[i];
    }
    return HSM_OK;
}

int hsm_port_flash_erase(uint32_t off)
{
    if (off % HSM_FLASH_ERASE_SIZE || off >= flash_size) {
        return HSM_ERR_INTERNAL;
    }
    if (powered_off) {
        return HSM_ERR_FLASH;
    }
    erases++;
    if (cut_now()) {
        tear_erase(off);
        return HSM_ERR_FLASH;
    }
    memset(flash + off, 0xFF, HSM_FLASH_ERASE_SIZE);
    return HSM_OK;
}

/* ---- user presence and system (port/presence.h, port/system.h) ------------------------- */

static int presence_answer;
static uint32_t presence_calls, presence_timeout, reboots;
static bool have_wall;
static int64_t wall;

void ram_port_set_presence(int answer)
{
    presence_answer = answer;
    presence_calls = 0;
    presence_timeout = 0;
}

uint32_t ram_port_presence_calls(void)
{
    return presence_calls;
}

uint32_t ram_port_presence_timeout(void)
{
    return presence_timeout;
}

int hsm_port_user_presence(uint32_t timeout_ms)
{
    presence_calls++;
    presence_timeout = timeout_ms;
    return presence_answer;
}

void ram_port_set_wallclock(bool have, int64_t unix_seconds)
{
    have_wall = have;
    wall = unix_seconds;
}

bool hsm_port_wallclock(int64_t *unix_seconds)
{
    *unix_seconds = wall;
    return have_wall;
}

uint8_t hsm_port_platform(void)
{
    return 0x03;
}

uint32_t hsm_port_firmware_size(void)
{
    return 0;
}

void hsm_port_reboot(bool bootsel)
{
    (void)bootsel;
    reboots++;
}

uint32_t ram_port_reboots(void)
{
    return reboots;
}

/* ---- OTP root (port/otp.h) ------------------------------------------------------------- */

static hsm_otp_status otp_status = HSM_OTP_BLANK;
static uint8_t otp_root[HSM_OTP_ROOT_SIZE];
static bool otp_fail, otp_unreadable;
static uint32_t otp_writes;

static void otp_reset(void)
{
    otp_status = HSM_OTP_BLANK;
    memset(otp_root, 0, sizeof(otp_root));
    otp_fail = otp_unreadable = false;
    otp_writes = 0;
}

void ram_port_otp_absent(void)
{
    otp_reset();
    otp_status = HSM_OTP_ABSENT;
}

void ram_port_otp_blank(void)
{
    otp_reset();
}

void ram_port_otp_set_root(const uint8_t root[32])
{
    otp_reset();
    memcpy(otp_root, root, sizeof(otp_root));
    otp_status = HSM_OTP_READY;
}

void ram_port_otp_fail_provision(bool fail)
{
    otp_fail = fail;
}

void ram_port_otp_unreadable(bool unreadable)
{
    otp_unreadable = unreadable;
}

uint32_t ram_port_otp_provisions(void)
{
    return otp_writes;
}

hsm_otp_status hsm_port_otp_status(void)
{
    return otp_status == HSM_OTP_READY && otp_unreadable ? HSM_OTP_PENDING : otp_status;
}

int hsm_port_otp_root(uint8_t out[HSM_OTP_ROOT_SIZE])
{
    if (hsm_port_otp_status() != HSM_OTP_READY) {
        memset(out, 0, HSM_OTP_ROOT_SIZE);
        return HSM_ERR_NOT_FOUND;
    }
    memcpy(out, otp_root, HSM_OTP_ROOT_SIZE);
    return HSM_OK;
}

int hsm_port_otp_provision(bool so_pin_verified)
{
    if (!so_pin_verified) {
        return HSM_ERR_SECURITY;
    }
    switch (hsm_port_otp_status()) {
    case HSM_OTP_ABSENT: return HSM_ERR_UNSUPPORTED;
    case HSM_OTP_READY:
    case HSM_OTP_PENDING: return HSM_ERR_CONDITIONS;
    case HSM_OTP_DAMAGED: return HSM_ERR_NOT_ALLOWED;
    case HSM_OTP_BLANK: break;
    }
    int rc = hsm_port_entropy(otp_root, sizeof(otp_root));
    if (rc != HSM_OK) {
        return rc;
    }
    otp_writes++;
    if (otp_fail) {
        otp_fail = false;
        memset(otp_root, 0, sizeof(otp_root));
        otp_status = HSM_OTP_DAMAGED;
        return HSM_ERR_FLASH;
    }
    otp_status = HSM_OTP_READY;
    return HSM_OK;
}
