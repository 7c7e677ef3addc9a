/*
 * otp_none.c — port/otp.h on the RP2040: the chip has no OTP for a device root, so the
 * flash-only model applies (docs/security.md).
 */
#include <string.h>

#include "hsm/err.h"
#include "hsm/port/otp.h"
#include "rp2.h"

void rp2_otp_boot(void) {}

hsm_otp_status hsm_port_otp_status(void) {
    return HSM_OTP_ABSENT;
}

int hsm_port_otp_root(uint8_t out[HSM_OTP_ROOT_SIZE]) {
    memset(out, 0, HSM_OTP_ROOT_SIZE);
    return HSM_ERR_NOT_FOUND;
}

int hsm_port_otp_provision(bool so_pin_verified) {
    return so_pin_verified ? HSM_ERR_UNSUPPORTED : HSM_ERR_SECURITY;
}
