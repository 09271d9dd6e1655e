/* Where a core dump goes: a sparse file (gaps stay holes) or a zstd stream
 * (gaps are zeros, which cost next to nothing compressed). Writes come in
 * increasing offset order. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

struct core_file {
        int fd;
        uint64_t pos;           /* logical offset reached */
        ZSTD_CCtx *zstd;        /* NULL: a plain sparse file */
        void *out;
        size_t out_size;
};

int core_file_open(struct core_file *s, int fd, bool zstd);
/* Writes len bytes at logical offset `offset` ≥ pos. */
int core_file_write_at(struct core_file *s, uint64_t offset, const void *buf, size_t len);
/* Extends to `size` (a final hole, or zeros) and flushes. */
int core_file_finish(struct core_file *s, uint64_t size);
void core_file_close(struct core_file *s);
