#include "maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util.h"

void maps_free(struct mapping_list *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].path);
        free(l->items);
        *l = (struct mapping_list) {};
}

/* Whether the two-letter `flag` is among the flags of the VmFlags line
 * that starts at `flags` (the search stops at the line's end). */
static bool vmflag(const char *flags, const char *flag) {
        for (const char *p = flags; *p && *p != '\n'; p++)
                if (p[0] == flag[0] && p[1] == flag[1] && (p == flags || p[-1] == ' ') &&
                    (p[2] == ' ' || p[2] == '\n' || p[2] == 0))
                        return true;
        return false;
}

/* A header line: "start-end perms offset dev inode   path". sscanf reads
 * a copy of the line: given the whole smaps text it would measure all of
 * it at every call. */
static int parse_header(const char *text, size_t len, struct mapping *m) {
        _cleanup_free_ char *line = strndup(text, len);
        if (!line)
                return -ENOMEM;
        char perms[5];
        int fields_end = 0;
        uint64_t start, end, offset;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*x:%*x %*u%n", &start, &end, perms,
                   &offset, &fields_end) < 4 || fields_end == 0)
                return -EINVAL;
        /* The path is the rest of the line after blanks; none for
         * anonymous memory. (A %n after a blank in the format would skip
         * the newline too, into the next line.) */
        const char *path = line + fields_end;
        while (*path == ' ' || *path == '\t')
                path++;
        *m = (struct mapping) {
                .start = start, .end = end, .offset = offset,
                .read = perms[0] == 'r', .write = perms[1] == 'w', .exec = perms[2] == 'x',
                .shared = perms[3] == 's', .path = strdup(path),
        };
        return m->path ? 0 : -ENOMEM;
}

int maps_parse_smaps(const char *text, struct mapping_list *ret) {
        struct mapping_list l = {};
        size_t cap = 0;
        for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                struct mapping m;
                /* Field lines start with a key and a colon; header lines
                 * with "start-end ". Only this line is searched: smaps of a
                 * process with many mappings is large. */
                size_t len = strcspn(line, "\n");
                const char *dash = memchr(line, '-', len), *space = memchr(line, ' ', len);
                const char *colon = memchr(line, ':', len);
                bool header = dash && space && dash < space && (!colon || dash < colon);
                if (header) {
                        int r = parse_header(line, len, &m);
                        if (r < 0) {
                                maps_free(&l);
                                return r;
                        }
                        if (l.n == cap) {
                                cap = cap ? cap * 2 : 64;
                                struct mapping *n = realloc(l.items, cap * sizeof *n);
                                if (!n) {
                                        free(m.path);
                                        maps_free(&l);
                                        return -ENOMEM;
                                }
                                l.items = n;
                        }
                        l.items[l.n++] = m;
                        continue;
                }
                if (l.n == 0)
                        continue;
                struct mapping *cur = &l.items[l.n - 1];
                if (strncmp(line, "Anonymous:", 10) == 0)
                        cur->has_anon = strtoull(line + 10, NULL, 10) > 0;
                else if (strncmp(line, "VmFlags:", 8) == 0) {
                        cur->dontdump = vmflag(line + 8, "dd");
                        cur->dontfork = vmflag(line + 8, "dc");
                        cur->wipeonfork = vmflag(line + 8, "wf");
                        cur->io = vmflag(line + 8, "io") || vmflag(line + 8, "pf");
                        cur->hugetlb = vmflag(line + 8, "ht");
                }
        }
        *ret = l;
        return 0;
}

int maps_read(int proc_fd, int pid, struct mapping_list *ret) {
        char path[64];
        snprintf(path, sizeof path, "%d/smaps", pid);
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(proc_fd, path, 1u << 30, &text, NULL);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        return maps_parse_smaps(text, ret);
}

bool maps_is_file(const struct mapping *m) {
        return m->path[0] == '/';
}

bool maps_is_kernel_special(const struct mapping *m) {
        return strcmp(m->path, "[vdso]") == 0 || strncmp(m->path, "[vvar", 5) == 0;
}

bool maps_is_anonymous(const struct mapping *m) {
        /* /dev/zero and SysV shared memory are anonymous memory with a name.
         * The vDSO and its data pages are not: the kernel supplies them,
         * present in the page tables or not. */
        return (!maps_is_file(m) && !maps_is_kernel_special(m)) || strncmp(m->path, "/dev/zero", 9) == 0 ||
               strncmp(m->path, "/SYSV", 5) == 0;
}

enum dump_extent maps_dump_extent(const struct mapping *m, unsigned filter, bool starts_with_elf) {
        /* The same order of questions as the kernel's vma_dump_size(). */
        if (strcmp(m->path, "[vsyscall]") == 0)
                return DUMP_NONE;               /* not readable from another process */
        /* Always, as the kernel's always_dump_vma(): a debugger needs the
         * vDSO whole (its ELF headers, symbols and unwind tables) to unwind
         * a thread stopped in clock_gettime; [vvar] beside it the same. */
        if (maps_is_kernel_special(m))
                return DUMP_WHOLE;
        if (m->dontdump || m->io)
                return DUMP_NONE;
        if (m->hugetlb)
                return filter & (m->shared ? FILTER_HUGETLB_SHARED : FILTER_HUGETLB_PRIVATE) ? DUMP_WHOLE : DUMP_NONE;
        if (m->shared) {
                if (maps_is_anonymous(m))
                        return filter & FILTER_ANON_SHARED ? DUMP_WHOLE : DUMP_NONE;
                return filter & FILTER_MAPPED_SHARED ? DUMP_WHOLE : DUMP_NONE;
        }
        /* Private: written-to memory (anonymous, or a file's COW pages). */
        if ((m->has_anon || (maps_is_anonymous(m) && m->write)) && (filter & FILTER_ANON_PRIVATE))
                return DUMP_WHOLE;
        if (!maps_is_file(m))
                return DUMP_NONE;
        if (filter & FILTER_MAPPED_PRIVATE)
                return DUMP_WHOLE;
        if ((filter & FILTER_ELF_HEADERS) && m->offset == 0 && m->read && starts_with_elf)
                return DUMP_HEADER_PAGE;
        return DUMP_NONE;
}
