/* The target's mappings, from /proc/PID/smaps, and which of them a core
 * dump holds: the kernel's own rules (vma_dump_size in fs/coredump.c),
 * steered by coredump_filter and VmFlags. Pure apart from the reading. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mapping {
        uint64_t start, end;
        uint64_t offset;        /* in the file */
        bool read, write, exec, shared;
        bool dontdump;          /* VmFlags dd (MADV_DONTDUMP) */
        bool io;                /* VmFlags io / pf: device or PFN memory, never read */
        bool hugetlb;           /* VmFlags ht */
        bool dontfork;          /* VmFlags dc (MADV_DONTFORK): not in a forked child */
        bool wipeonfork;        /* VmFlags wf (MADV_WIPEONFORK): zeros in a forked child */
        bool has_anon;          /* Anonymous: > 0 kB: written to (COW) */
        char *path;             /* "" for anonymous; "[heap]", "[stack]", … for special */
};

struct mapping_list {
        struct mapping *items;
        size_t n;
};

/* Bits of /proc/PID/coredump_filter (core(5)). */
enum {
        FILTER_ANON_PRIVATE = 1 << 0,
        FILTER_ANON_SHARED = 1 << 1,
        FILTER_MAPPED_PRIVATE = 1 << 2,
        FILTER_MAPPED_SHARED = 1 << 3,
        FILTER_ELF_HEADERS = 1 << 4,
        FILTER_HUGETLB_PRIVATE = 1 << 5,
        FILTER_HUGETLB_SHARED = 1 << 6,
};
#define COREDUMP_FILTER_DEFAULT 0x33

enum dump_extent {
        DUMP_NONE,              /* a header only, no bytes */
        DUMP_HEADER_PAGE,       /* the first page: an ELF header, for build-ids */
        DUMP_WHOLE,
};

int maps_parse_smaps(const char *text, struct mapping_list *ret);
int maps_read(int proc_fd, int pid, struct mapping_list *ret);
void maps_free(struct mapping_list *l);

/* What of mapping `m` a core with `filter` holds. `starts_with_elf` tells
 * whether its first page holds an ELF header (asked only when it matters). */
enum dump_extent maps_dump_extent(const struct mapping *m, unsigned filter, bool starts_with_elf);
/* Whether the mapping is backed by a file (NT_FILE lists those). */
bool maps_is_file(const struct mapping *m);
/* Anonymous memory: pages not present are zeros, so holes. */
bool maps_is_anonymous(const struct mapping *m);
/* [vdso], [vvar] (and [vvar_vclock]): kernel pages always dumped whole. */
bool maps_is_kernel_special(const struct mapping *m);
