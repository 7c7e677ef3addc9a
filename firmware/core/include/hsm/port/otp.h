/*
 * port/otp.h — platform service: a device root secret in one-time-programmable memory.
 *
 * RP2350 only (platform/rp2/otp_rp2350.c; layout, states and power-cut behaviour in
 * firmware/board/otp_plan.h). Other platforms answer HSM_ERR_NOT_FOUND / HSM_ERR_UNSUPPORTED:
 * the flash-only model applies there (docs/security.md).
 *
 * The emulator keeps its root in a file next to the flash file (platform/host/otp_file.c), the
 * unit tests in RAM (tests/ram_port.c), both with the same write-once behaviour.
 *
 * Use by the core (the core owns the policy, the platform the fuses):
 *   - EXTRAS F0 01 (cmd_extras.c), with the SO-PIN verified, calls hsm_port_otp_provision(true)
 *     — the explicit, irreversible step;
 *   - from then on every PIN-derived key is bound to the root (pin.c):
 *     KEK = HKDF-SHA256(salt = root, IKM = PBKDF2 output, info = "pico-hsm/pin/otp" | role),
 *     so a flash dump without the chip is useless; the wraps made before provisioning are
 *     re-made under root-bound KEKs when each PIN is next presented (a flag per wrap in the
 *     device record says which kind it is).
 */
#ifndef HSM_PORT_OTP_H
#define HSM_PORT_OTP_H

#include <stdbool.h>
#include <stdint.h>

#define HSM_OTP_ROOT_SIZE 32u

/* What the platform's OTP root looks like now (reported by EXTRAS F0 00). */
typedef enum {
    HSM_OTP_ABSENT = 0,  /* no OTP on this chip (RP2040): the flash-only model, for good */
    HSM_OTP_BLANK = 1,   /* not provisioned: the flash-only model; hsm_port_otp_provision() may */
    HSM_OTP_READY = 2,   /* provisioned; hsm_port_otp_root() answers HSM_OK */
    HSM_OTP_PENDING = 3, /* provisioned, but the root is not usable until the next boot (RP2350:
                          * the page's lock is still to be written) */
    HSM_OTP_DAMAGED = 4, /* a partial write or a page locked by someone else: never usable */
} hsm_otp_status;

hsm_otp_status hsm_port_otp_status(void);

/* Copies the root into out. HSM_OK, or HSM_ERR_NOT_FOUND when there is none (no OTP, not yet
 * provisioned, or unusable): out is then zeroed. The caller wipes its copy after use. */
int hsm_port_otp_root(uint8_t out[HSM_OTP_ROOT_SIZE]);

/* Irreversibly writes a fresh random root and locks its OTP page (no bootloader, no
 * Non-secure access, read-only to the firmware). so_pin_verified: the caller's statement that
 * the SO-PIN was verified in this session; false is refused before anything is read.
 * HSM_OK; HSM_ERR_SECURITY (SO-PIN not verified); HSM_ERR_CONDITIONS (already provisioned);
 * HSM_ERR_NOT_ALLOWED (page locked out or damaged: never writable again); HSM_ERR_UNSUPPORTED
 * (no OTP on this chip); HSM_ERR_ENTROPY; HSM_ERR_FLASH (an OTP write or read-back failed — the
 * page is then damaged or awaits its lock, and the flash-only model continues). */
int hsm_port_otp_provision(bool so_pin_verified);

#endif
