/*
 * flash_file.c — port/flash.h and the unique ID over a file (see flash_file.h).
 *
 * Writes go straight to the file with pwrite (no cache of our own), so a process killed at
 * any point leaves in the file exactly the flash operations that completed.
 */
#include "flash_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/port/flash.h"

static const char magic[8] = {'P', 'H', 'S', 'M', 'E', 'M', 'U', '1'};
static int fd = -1;
static uint32_t size;
static uint8_t unique_id[8];

static int pwrite_all(const void *buf, size_t len, off_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        len -= (size_t)w;
        off += w;
    }
    return 0;
}

static int pread_all(void *buf, size_t len, off_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        p += r;
        len -= (size_t)r;
        off += r;
    }
    return 0;
}

static int create(const char *path, uint32_t region_size)
{
    static uint8_t ff[HSM_FLASH_ERASE_SIZE];
    uint8_t trailer[16];
    memset(ff, 0xFF, sizeof(ff));
    memcpy(trailer, magic, 8);
    if (getrandom(trailer + 8, 8, 0) != 8) {
        fprintf(stderr, "pico-hsm-emu: cannot get random bytes for the unique ID: %s\n", strerror(errno));
        return -1;
    }
    for (uint32_t off = 0; off < region_size; off += sizeof(ff)) {
        if (pwrite_all(ff, sizeof(ff), off) != 0) {
            goto fail;
        }
    }
    if (pwrite_all(trailer, sizeof(trailer), region_size) != 0 || fsync(fd) != 0) {
        goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "pico-hsm-emu: cannot write %s: %s\n", path, strerror(errno));
    return -1;
}

int hsm_host_flash_open(const char *path, uint32_t region_size)
{
    if (region_size == 0 || region_size % HSM_FLASH_ERASE_SIZE != 0) {
        fprintf(stderr, "pico-hsm-emu: flash size must be a multiple of %u\n", HSM_FLASH_ERASE_SIZE);
        return -1;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "pico-hsm-emu: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        fprintf(stderr, "pico-hsm-emu: cannot stat %s: %s\n", path, strerror(errno));
        goto fail;
    }
    if (st.st_size == 0 && create(path, region_size) != 0) {
        goto fail;
    }
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != (uint64_t)region_size + 16) {
        fprintf(stderr, "pico-hsm-emu: %s is not a flash file of this size (%u bytes + 16)\n", path,
                region_size);
        goto fail;
    }
    uint8_t trailer[16];
    if (pread_all(trailer, sizeof(trailer), region_size) != 0 || memcmp(trailer, magic, 8) != 0) {
        fprintf(stderr, "pico-hsm-emu: %s is not a Pico HSM emulator flash file\n", path);
        goto fail;
    }
    memcpy(unique_id, trailer + 8, 8);
    size = region_size;
    return 0;
fail:
    close(fd);
    fd = -1;
    return -1;
}

void hsm_host_flash_close(void)
{
    if (fd >= 0) {
        fsync(fd);
        close(fd);
        fd = -1;
    }
}

void hsm_port_unique_id(uint8_t id[8])
{
    memcpy(id, unique_id, 8);
}

uint32_t hsm_port_flash_size(void)
{
    return size;
}

static bool in_range(uint32_t off, size_t len)
{
    return fd >= 0 && off <= size && len <= size - off;
}

int hsm_port_flash_read(uint32_t off, void *buf, size_t len)
{
    if (!in_range(off, len)) {
        return HSM_ERR_INTERNAL;
    }
    return pread_all(buf, len, off) == 0 ? HSM_OK : HSM_ERR_FLASH;
}

int hsm_port_flash_program(uint32_t off, const void *buf, size_t len)
{
    if (!in_range(off, len) || off % HSM_FLASH_PROG_SIZE || len % HSM_FLASH_PROG_SIZE) {
        return HSM_ERR_INTERNAL;
    }
    /* NOR semantics: programming can only clear bits. */
    uint8_t cur[HSM_FLASH_PROG_SIZE];
    const uint8_t *src = buf;
    for (size_t done = 0; done < len; done += sizeof(cur)) {
        if (pread_all(cur, sizeof(cur), off + done) != 0) {
            return HSM_ERR_FLASH;
        }
        for (size_t i = 0; i < sizeof(cur); i++) {
            cur[i] &= src[done + i];
        }
        if (pwrite_all(cur, sizeof(cur), off + done) != 0) {
            return HSM_ERR_FLASH;
        }
    }
    return HSM_OK;
}

int hsm_port_flash_erase(uint32_t off)
{
    static uint8_t ff[HSM_FLASH_ERASE_SIZE];
    if (!in_range(off, HSM_FLASH_ERASE_SIZE) || off % HSM_FLASH_ERASE_SIZE) {
        return HSM_ERR_INTERNAL;
    }
    memset(ff, 0xFF, sizeof(ff));
    return pwrite_all(ff, sizeof(ff), off) == 0 ? HSM_OK : HSM_ERR_FLASH;
}
