/*
 * device.h — the device record (object HSM_ID_DEVICE): configuration and PIN state.
 *
 * One object, so every change to it — a retry counter, a PIN, the options, initialisation —
 * is one atomic store write. Serialised layout (168 bytes, multi-byte fields big-endian):
 *
 *   off size  field
 *   0   1     format (1)
 *   1   1     flags: bit 0 = transport PIN still to be changed; bit 1 = the user PIN's wrap,
 *               bit 2 = the SO-PIN's wrap is made under a KEK bound to the OTP root (pin.h)
 *   2   2     options (tag 80 of INITIALIZE)
 *   4   1     user PIN retry maximum      5  1  user PIN retries left
 *   6   1     SO-PIN retries left         7  1  user PIN length (6..16)
 *   8   1     DKEK shares (FF = no DKEK)  9  1  PKA keys total   10  1  PKA keys required
 *   11  1     key domains                 12 4  PIN KDF iterations
 *   16  32    device salt (random per initialisation)
 *   48  60    MKEK wrapped under the user PIN: nonce 12 | AES-256-GCM ciphertext 32 | tag 16
 *   108 60    MKEK wrapped under the SO-PIN (same layout)
 *
 * No PIN and no MKEK is ever stored in clear: see pin.c for the derivations.
 */
#ifndef HSM_DEVICE_H
#define HSM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSM_DEVICE_RECORD_SIZE 168u
#define HSM_WRAP_SIZE 60u
#define HSM_SO_PIN_LEN 8u
#define HSM_SO_PIN_TRIES 15u
#define HSM_PIN_MIN 6u
#define HSM_PIN_MAX 16u

enum {
    HSM_DEV_TRANSPORT_PIN = 1u << 0,
    HSM_DEV_USER_OTP = 1u << 1, /* user_wrap's KEK is bound to the OTP root */
    HSM_DEV_SO_OTP = 1u << 2,   /* so_wrap's KEK is bound to the OTP root */
};

typedef struct {
    uint8_t flags;
    uint16_t options;
    uint8_t user_max, user_left, so_left, user_len;
    uint8_t dkek_shares, pka_total, pka_required, key_domains;
    uint32_t kdf_iterations;
    uint8_t salt[32];
    uint8_t user_wrap[HSM_WRAP_SIZE];
    uint8_t so_wrap[HSM_WRAP_SIZE];
} hsm_device;

/* Loads the record. HSM_OK, HSM_ERR_REF_NOT_FOUND when the device was never initialised,
 * HSM_ERR_FLASH / HSM_ERR_INTERNAL on a store error or a malformed record. */
int hsm_device_load(hsm_device *d);
/* Stores the record atomically; with wipe, every non-device object goes in the same step. */
int hsm_device_save(const hsm_device *d, bool wipe);
/* True when a device record exists. */
bool hsm_device_initialised(void);

#endif
