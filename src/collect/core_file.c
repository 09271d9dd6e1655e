#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_file.h"
#include "../util.h"

/* Fast levels trade little ratio for much speed; a core is written while
 * the target is stopped. */
#define ZSTD_LEVEL 1

int core_file_open(struct core_file *s, int fd, bool zstd) {
        *s = (struct core_file) { .fd = fd };
        if (!zstd)
                return 0;
        s->zstd = ZSTD_createCCtx();
        s->out_size = ZSTD_CStreamOutSize();
        s->out = malloc(s->out_size);
        if (!s->zstd || !s->out) {
                core_file_close(s);
                return -ENOMEM;
        }
        ZSTD_CCtx_setParameter(s->zstd, ZSTD_c_compressionLevel, ZSTD_LEVEL);
        ZSTD_CCtx_setParameter(s->zstd, ZSTD_c_checksumFlag, 1);
        /* Compress on worker threads, one a CPU: the target waits while
         * its memory is copied, so the copy is what must be quick. Where
         * libzstd has no threads this is refused and it stays serial. */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        ZSTD_CCtx_setParameter(s->zstd, ZSTD_c_nbWorkers, cpus > 1 ? (int) (cpus < 8 ? cpus : 8) : 0);
        return 0;
}

void core_file_close(struct core_file *s) {
        ZSTD_freeCCtx(s->zstd);
        free(s->out);
        s->zstd = NULL;
        s->out = NULL;
}

static int zstd_feed(struct core_file *s, const void *buf, size_t len, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in = { buf, len, 0 };
        for (;;) {
                ZSTD_outBuffer out = { s->out, s->out_size, 0 };
                size_t left = ZSTD_compressStream2(s->zstd, &out, &in, mode);
                if (ZSTD_isError(left))
                        return -EIO;
                int r = write_all(s->fd, s->out, out.pos);
                if (r < 0)
                        return r;
                if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
                        return 0;
        }
}

static int zstd_zeros(struct core_file *s, uint64_t n) {
        static const char zeros[1 << 16];
        while (n > 0) {
                size_t chunk = n < sizeof zeros ? (size_t) n : sizeof zeros;
                int r = zstd_feed(s, zeros, chunk, ZSTD_e_continue);
                if (r < 0)
                        return r;
                n -= chunk;
        }
        return 0;
}

int core_file_write_at(struct core_file *s, uint64_t offset, const void *buf, size_t len) {
        if (offset < s->pos)
                return -EINVAL;
        int r;
        if (s->zstd) {
                if ((r = zstd_zeros(s, offset - s->pos)) < 0 || (r = zstd_feed(s, buf, len, ZSTD_e_continue)) < 0)
                        return r;
        } else {
                /* pwrite past the end leaves a hole: the file stays sparse. */
                const char *p = buf;
                uint64_t at = offset;
                while (len > 0) {
                        ssize_t w = pwrite(s->fd, p, len, (off_t) at);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return negative_errno();
                        }
                        p += w;
                        at += (uint64_t) w;
                        len -= (size_t) w;
                }
                s->pos = at;
                return 0;
        }
        s->pos = offset + len;
        return 0;
}

int core_file_finish(struct core_file *s, uint64_t size) {
        int r;
        if (s->zstd) {
                if ((r = zstd_zeros(s, size > s->pos ? size - s->pos : 0)) < 0 ||
                    (r = zstd_feed(s, NULL, 0, ZSTD_e_end)) < 0)
                        return r;
        } else if (ftruncate(s->fd, (off_t) size) < 0)
                return negative_errno();
        s->pos = size;
        return 0;
}
