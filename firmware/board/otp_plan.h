/*
 * otp_plan.h — the RP2350 OTP device root: where it lives, how its state is read, and what
 * may be done in each state. Pure decisions (host unit-tested in tests/test_otp_plan.c); the
 * reads and writes are platform/rp2/otp_rp2350.c.
 *
 * Layout: OTP page 60 (rows 0xF00..0xF3F; no boot-ROM meaning, not used by the reference
 * firmware), all rows ECC-protected (16 data bits each):
 *   F00..F0F  root secret, 32 random bytes, little-endian per row
 *   F10..F11  check: the first 4 bytes of SHA-256("pico-hsm/otp-root/v1" || secret)
 *   F12       marker 0x5048 ("HP"), written last
 * Page 60's lock (PAGE60_LOCK1, row 0xFF9, three-way majority): provisioning ends by setting
 * LOCK_BL = 3 (the USB bootloader, i.e. picotool in BOOTSEL mode, gets no access), LOCK_NS = 3
 * (no Non-secure access) and LOCK_S = 1 (our Secure firmware may read, nobody may write).
 *
 * States, from what the rows and the lock say:
 *   BLANK      every row reads 0 and the page is writable   -> flash-only; may be provisioned
 *   READY      marker and check right, page locked as above -> the root is used
 *   UNLOCKED   marker and check right, page not yet locked  -> a power cut hit between the
 *              marker and the lock: finish the lock, then use the root
 *   LOCKED_OUT every row reads 0 but the page is already read-only or locked to us -> flash-only
 *              for good (someone else locked it; nothing can be written)
 *   DAMAGED    anything else: a partial write (power cut before the marker), a marker without
 *              its check, an unreadable row -> flash-only; never written again (OTP bits only
 *              go from 0 to 1, so a retry could not produce a known secret)
 *
 * Provisioning (the explicit, irreversible, SO-PIN-guarded step): allowed only from BLANK and
 * only when the caller says the SO-PIN was verified in this session; order of writes: secret,
 * read back and compare, check, marker, lock. A power cut before the marker leaves DAMAGED (no
 * root; the flash-only model continues); after the marker, UNLOCKED (completed at next boot).
 */
#ifndef HSM_BOARD_OTP_PLAN_H
#define HSM_BOARD_OTP_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#define OTP_PLAN_PAGE 60u
#define OTP_PLAN_ROW_SECRET 0xF00u
#define OTP_PLAN_SECRET_ROWS 16u
#define OTP_PLAN_ROW_CHECK 0xF10u
#define OTP_PLAN_ROW_MARKER 0xF12u
#define OTP_PLAN_ROWS 19u /* F00..F12 */
#define OTP_PLAN_MARKER 0x5048u
#define OTP_PLAN_LOCK1_ROW 0xFF9u /* OTP_DATA_PAGE60_LOCK1_ROW */
/* LOCK1 bits 5:4 BL, 3:2 NS, 1:0 S; the row holds three copies (bits 7:0, 15:8, 23:16). */
#define OTP_PLAN_LOCK1_WANTED 0x3Du /* BL 3, NS 3, S 1 (read-only) */

typedef enum {
    OTP_BLANK,
    OTP_READY,
    OTP_UNLOCKED,
    OTP_LOCKED_OUT,
    OTP_DAMAGED,
} otp_state;

typedef enum {
    OTP_ACT_NONE,      /* flash-only, nothing to do */
    OTP_ACT_USE,       /* use the root */
    OTP_ACT_LOCK_USE,  /* write the lock row, then use the root */
    OTP_ACT_PROVISION, /* write secret, check, marker, lock */
} otp_action;

/* What was read. rows[] are the 19 ECC rows F00..F12 (16 data bits each); row_error is set
 * when any of them failed to read (ECC error or no permission); lock1 is the raw 24-bit value
 * of row 0xFF9. */
typedef struct {
    uint16_t rows[OTP_PLAN_ROWS];
    bool row_error;
    uint32_t lock1;
} otp_reading;

/* The majority value of the three copies of a lock byte. */
uint8_t otp_plan_lock_byte(uint32_t raw24);

/* The 4-byte check of a secret (first 4 bytes of SHA-256 with the label above), as two rows. */
int otp_plan_check(const uint8_t secret[32], uint16_t check[2]);

/* The state of a reading. */
otp_state otp_plan_state(const otp_reading *r);

/* At boot: what to do in state s (NONE, USE, or LOCK_USE). */
otp_action otp_plan_boot(otp_state s);

/* The provisioning request: OTP_ACT_PROVISION when allowed (returns HSM_OK), otherwise
 * OTP_ACT_NONE with the reason: HSM_ERR_SECURITY (SO-PIN not verified), HSM_ERR_CONDITIONS
 * (already provisioned: READY or UNLOCKED), HSM_ERR_NOT_ALLOWED (LOCKED_OUT or DAMAGED). */
int otp_plan_provision(otp_state s, bool so_pin_verified, otp_action *act);

/* The rows to write for a new secret: 16 secret rows, 2 check rows, the marker. */
int otp_plan_rows(const uint8_t secret[32], uint16_t rows[OTP_PLAN_ROWS]);

/* The raw 24-bit value to program into the lock row: the wanted byte in all three copies,
 * plus whatever bits are already set (OTP bits cannot be cleared, and the lock is
 * thermometer-coded so setting more bits only makes it stricter). */
uint32_t otp_plan_lock_value(uint32_t current_raw24);

/* The secret from a READY or UNLOCKED reading (little-endian per row). */
void otp_plan_secret(const otp_reading *r, uint8_t secret[32]);

#endif
