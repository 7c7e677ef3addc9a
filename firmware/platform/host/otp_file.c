/*
 * otp_file.c — port/otp.h over a write-once file (see otp_file.h).
 */
#include "otp_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm/err.h"
#include "hsm/port/entropy.h"
#include "hsm/port/otp.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"

#define OTP_FILE_SIZE (8u + HSM_OTP_ROOT_SIZE + 4u)

static const char magic[8] = {'P', 'H', 'S', 'M', 'O', 'T', 'P', '1'};
static char otp_path[4096];
static hsm_otp_status status = HSM_OTP_ABSENT;
static uint8_t root[HSM_OTP_ROOT_SIZE];

/* The 4-byte check of an image (magic and root). */
static void check_of(const uint8_t img[OTP_FILE_SIZE], uint8_t check[4])
{
    uint8_t h[32];
    mbedtls_sha256(img, 8 + HSM_OTP_ROOT_SIZE, h, 0);
    memcpy(check, h, 4);
}

int hsm_host_otp_open(const char *path)
{
    mbedtls_platform_zeroize(root, sizeof(root));
    status = HSM_OTP_ABSENT;
    if (path == NULL || strcmp(path, "none") == 0) {
        return 0;
    }
    if (strlen(path) >= sizeof(otp_path)) {
        fprintf(stderr, "pico-hsm-emu: OTP file name too long\n");
        return -1;
    }
    strcpy(otp_path, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            status = HSM_OTP_BLANK;
            return 0;
        }
        fprintf(stderr, "pico-hsm-emu: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t img[OTP_FILE_SIZE + 1], check[4];
    ssize_t n = read(fd, img, sizeof(img));
    close(fd);
    status = HSM_OTP_DAMAGED;
    if (n == (ssize_t)OTP_FILE_SIZE && memcmp(img, magic, 8) == 0) {
        check_of(img, check);
        if (memcmp(check, img + 8 + HSM_OTP_ROOT_SIZE, 4) == 0) {
            memcpy(root, img + 8, HSM_OTP_ROOT_SIZE);
            status = HSM_OTP_READY;
        }
    }
    if (status == HSM_OTP_DAMAGED) {
        fprintf(stderr, "pico-hsm-emu: %s is not a valid OTP file: no OTP root (never rewritten)\n", path);
    }
    mbedtls_platform_zeroize(img, sizeof(img));
    return 0;
}

hsm_otp_status hsm_port_otp_status(void)
{
    return status;
}

int hsm_port_otp_root(uint8_t out[HSM_OTP_ROOT_SIZE])
{
    if (status != HSM_OTP_READY) {
        memset(out, 0, HSM_OTP_ROOT_SIZE);
        return HSM_ERR_NOT_FOUND;
    }
    memcpy(out, root, HSM_OTP_ROOT_SIZE);
    return HSM_OK;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int hsm_port_otp_provision(bool so_pin_verified)
{
    if (!so_pin_verified) {
        return HSM_ERR_SECURITY;
    }
    switch (status) {
    case HSM_OTP_ABSENT: return HSM_ERR_UNSUPPORTED;
    case HSM_OTP_READY:
    case HSM_OTP_PENDING: return HSM_ERR_CONDITIONS;
    case HSM_OTP_DAMAGED: return HSM_ERR_NOT_ALLOWED;
    case HSM_OTP_BLANK: break;
    }
    uint8_t img[OTP_FILE_SIZE];
    memcpy(img, magic, 8);
    int rc = hsm_port_entropy(img + 8, HSM_OTP_ROOT_SIZE);
    if (rc != HSM_OK) {
        goto out;
    }
    check_of(img, img + 8 + HSM_OTP_ROOT_SIZE);
    /* From here on the "page" is no longer blank, whatever happens. */
    status = HSM_OTP_DAMAGED;
    rc = HSM_ERR_FLASH;
    int fd = open(otp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "pico-hsm-emu: cannot create %s: %s\n", otp_path, strerror(errno));
        goto out;
    }
    bool ok = write_all(fd, img, sizeof(img)) == 0 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok) {
        memcpy(root, img + 8, HSM_OTP_ROOT_SIZE);
        status = HSM_OTP_READY;
        rc = HSM_OK;
    }
out:
    mbedtls_platform_zeroize(img, sizeof(img));
    return rc;
}
