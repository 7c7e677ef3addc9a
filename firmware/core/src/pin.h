/*
 * pin.h — PIN checking and the MKEK's protection by the PINs.
 *
 * Each PIN role (user 81, SO 88) wraps the same 256-bit MKEK:
 *   KEK  = PBKDF2-HMAC-SHA256(PIN, salt = "pico-hsm/pin" | role | unique ID | device salt,
 *                             iterations from the device record, 32 bytes)
 *   wrap = nonce(12) | AES-256-GCM(KEK, nonce, MKEK, AAD = "pico-hsm/mkek" | role | unique ID)
 * A PIN is right exactly when its wrap authenticates (GCM's tag compare is constant-time), so
 * no separate verifier is stored: a flash dump gives an attacker nothing faster than running
 * the KDF once per guess.
 *
 * Binding to the OTP root (port/otp.h; RP2350 once provisioned, the emulator's .otp file):
 * when the platform has a root, the KEK is instead
 *   KEK = HKDF-SHA256(salt = root, IKM = the PBKDF2 output above, info = "pico-hsm/pin/otp" | role)
 * and the device record's flag for that wrap (HSM_DEV_USER_OTP, HSM_DEV_SO_OTP) is set; then a
 * flash dump is useless without the chip, even to an offline PIN search. Every new wrap is
 * bound when the root exists. A wrap made before provisioning is re-made bound by the next
 * successful hsm_pin_check() of its PIN, in the same atomic record write that restores the
 * counter. A wrap flagged bound while the root cannot be read fails closed (HSM_ERR_EXEC,
 * 6400), before any try is spent: there is never a fall-back to the unbound KEK.
 *
 * hsm_pin_check() is the only way a PIN is compared. Its order is the security property:
 *   1. retries left == 0  -> HSM_ERR_BLOCKED, nothing compared
 *      the wrap is bound but the OTP root is unreadable -> HSM_ERR_EXEC, nothing compared
 *   2. retries left - 1 is written to the store; if that write fails, nothing is compared
 *   3. compare (unwrap); on success the counter is restored to its maximum (a second write,
 *      which also carries the re-bound wrap when the wrap predates the root)
 */
#ifndef HSM_PIN_H
#define HSM_PIN_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"

#define HSM_PIN_ROLE_USER 0x81u
#define HSM_PIN_ROLE_SO 0x88u
#define HSM_MKEK_SIZE 32u
/* PBKDF2 iterations for new records: about 0.3 s per PIN check on an RP2040 at 125 MHz. The
 * fuzz build lowers it (a record carries its own count, so the code path is the same). */
#ifndef HSM_PIN_KDF_ITERATIONS
#define HSM_PIN_KDF_ITERATIONS 3000u
#endif

/* The common start of VERIFY and CHANGE REFERENCE DATA: P1 must be 00 (6B00), P2 a PIN role
 * (6A88 otherwise, so the biometric probes 85/86 are answered as OpenSC needs), and the device
 * record must exist (6A88 before initialisation). */
int hsm_pin_command_setup(uint8_t p1, uint8_t p2, hsm_device *d);

/* Wraps mkek under pin for role into out (HSM_WRAP_SIZE bytes): bound to the OTP root when
 * the platform has one, and d's flag for that role's wrap set accordingly (out must be that
 * role's wrap in d, or be copied there by the caller). */
int hsm_pin_wrap(hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                 const uint8_t mkek[HSM_MKEK_SIZE], uint8_t out[HSM_WRAP_SIZE]);

/* Checks pin for role with the retry discipline above; on success writes the MKEK into mkek.
 * d is updated (and saved) in place, its wrap re-bound when due. Returns HSM_OK,
 * HSM_ERR_VERIFY_FAILED with *tries_left, HSM_ERR_BLOCKED, HSM_ERR_EXEC (bound wrap, no root),
 * or a store error. */
int hsm_pin_check(hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                  uint8_t mkek[HSM_MKEK_SIZE], unsigned *tries_left);

/* hsm_pin_check() that also returns the PIN's KEK (kek may be NULL): the secure lock re-wraps
 * the MKEK under both PINs without knowing them (lock.h). The caller wipes kek. */
int hsm_pin_check_kek(hsm_device *d, uint8_t role, const uint8_t *pin, size_t pin_len,
                      uint8_t mkek[HSM_MKEK_SIZE], uint8_t *kek, unsigned *tries_left);

/* hsm_pin_wrap() with the KEK instead of the PIN. */
int hsm_pin_wrap_kek(uint8_t role, const uint8_t kek[32], const uint8_t mkek[HSM_MKEK_SIZE],
                     uint8_t out[HSM_WRAP_SIZE]);

#endif
