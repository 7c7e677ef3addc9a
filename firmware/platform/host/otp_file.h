/*
 * otp_file.h — the emulator's OTP root (port/otp.h): a small file, by default the flash file's
 * name with ".otp" appended, that behaves like the RP2350's OTP page:
 *   absent file     BLANK: no root, may be provisioned
 *   valid file      READY: the root is used; provisioning answers "already" (HSM_ERR_CONDITIONS)
 *   anything else   DAMAGED (a torn write, an edited file): no root, never written again
 * Format (44 bytes): "PHSMOTP1" | root (32) | first 4 bytes of SHA-256("PHSMOTP1" | root).
 * Provisioning creates the file with O_EXCL (write-once: never replaced), writes and fsyncs it.
 * "none" instead of a path gives a platform without OTP (as the RP2040).
 */
#ifndef HSM_HOST_OTP_FILE_H
#define HSM_HOST_OTP_FILE_H

/* Reads the OTP file's state (path NULL or "none": no OTP). Returns 0, or -1 with a message on
 * stderr when the file exists but cannot be read. */
int hsm_host_otp_open(const char *path);

#endif
