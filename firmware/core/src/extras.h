/*
 * extras.h — device options, the PHY record, the real-time clock and press-to-confirm
 * (pico-hsm-extensions.md 3.2-3.6), shared by EXTRAS (cmd_extras.c), the rescue applet
 * (rescue.c) and the dispatcher (card.c).
 *
 * Options: the 16-bit word of the device record (device.h); the high byte is the "dynamic"
 * byte written by EXTRAS 06. Without a device record the word reads 0000 and cannot be written.
 * PHY record: object HSM_ID_PHY, a flat list of 1-byte tag, 1-byte length entries (3.6),
 * at most HSM_PHY_MAX bytes; it survives INITIALIZE.
 * Clock: RAM only (3.4): platform wall clock plus an offset where there is one, otherwise the
 * uptime counted from 2020-01-01 00:00:00 UTC until a host sets it.
 */
#ifndef HSM_EXTRAS_H
#define HSM_EXTRAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSM_OPT_BUTTON 0x0100u      /* press-to-confirm */
#define HSM_OPT_COUNTER_ALL 0x0200u /* usage counter on every new key */
#define HSM_OPT_SECURE_LOCK 0x0400u /* secure lock active (never set or cleared by 06 writes) */
#define HSM_PHY_MAX 128u
#define HSM_PHY_BUTTON_TIMEOUT 0x08u
#define HSM_PRESENCE_DEFAULT_S 15u        /* HSM operations (3.5 Decision) */
#define HSM_PRESENCE_RESCUE_DEFAULT_S 30u /* rescue applet (3.5) */

int hsm_options_get(uint16_t *opt);
/* Replaces the dynamic byte, keeping the secure-lock bit as it is (spec 9 #8). */
int hsm_options_set_dynamic(uint8_t dyn);

int hsm_phy_read(uint8_t *buf, size_t cap, size_t *len);
/* Replaces the whole record (rescue 1C 01); HSM_ERR_WRONG_LENGTH if malformed or too long. */
int hsm_phy_write(const uint8_t *rec, size_t len);
/* Sets one field (legacy EXTRAS 1B), replacing an entry with the same tag. */
int hsm_phy_set_field(uint8_t tag, const uint8_t *v, size_t len);

/* Unix seconds now; false when no host set the clock since boot (and the platform has none). */
bool hsm_clock_get(int64_t *unix_seconds);
void hsm_clock_set(int64_t unix_seconds);
/* Forgets the offset a host set (power off: the devices have no battery-backed clock). */
void hsm_clock_forget(void);
/* 8-byte broken-down form (3.3): year (2, BE), month (0-based, verbatim), day, weekday (0 =
 * Sunday; ignored when setting), hour, minute, second. */
int64_t hsm_clock_from_tm(const uint8_t tm[8]);
void hsm_clock_to_tm(int64_t t, uint8_t tm[8]);

/* Memory report (3.3 EXTRAS 05, rescue 1E 02): free, used, total store bytes, live objects,
 * flash size, as five 4-byte big-endian words. */
void hsm_extras_memory(uint8_t out[20]);

/* Press-to-confirm (3.5): HSM_OK when the option is off, when the PHY timeout is 0, or when the
 * user confirmed; HSM_ERR_PRESENCE on timeout. */
int hsm_presence_confirm(void);
/* Unconditional wait for the rescue applet's device-changing commands; true when confirmed. */
bool hsm_presence_rescue(void);

#endif
