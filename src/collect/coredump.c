/* The native `core` action: an ELF core of the live process, written by
 * autodump itself. All threads are stopped with PTRACE_SEIZE + pipelined
 * PTRACE_INTERRUPT; registers come from PTRACE_GETREGSET; memory from a
 * copy-on-write snapshot forked from the target (fork_snapshot.h), which
 * runs on meanwhile, or — the stop writer — from the target held stopped,
 * with process_vm_readv in large chunks. Anonymous pages that are not present
 * (per /proc/PID/pagemap) and pages that read as zeros are left as holes,
 * so a wide, mostly untouched process gives a small sparse file quickly.
 * Mappings follow the kernel's own rules (coredump_filter, VmFlags dd/io).
 * More than 65535 segments use PN_XNUM with section header 0. */
#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "collect.h"
#include "core_elf.h"
#include "core_file.h"
#include "fork_snapshot.h"
#include "../ptrace.h"

#define CHUNK (1u << 20)                /* bytes per process_vm_readv: cache-sized, so the copy out stays fast */
#define PAGEMAP_BATCH 65536             /* pagemap entries per read */
#define PM_PRESENT (UINT64_C(1) << 63)
#define PM_SWAPPED (UINT64_C(1) << 62)

/* ---- memory ------------------------------------------------------------- */

static bool starts_with_elf(struct core *c, const struct mapping *m) {
        unsigned char magic[SELFMAG];
        struct iovec local = { magic, sizeof magic }, remote = { (void *) m->start, sizeof magic };
        return process_vm_readv(c->mem_pid, &local, 1, &remote, 1, 0) == SELFMAG &&
               memcmp(magic, ELFMAG, SELFMAG) == 0;
}

/* Calls fn for each run of pages of [start, end) that may hold data:
 * for anonymous memory only the present or swapped pages (the rest are
 * zeros); for file memory all of it. */
static int for_each_run(struct core *c, const struct mapping *m, uint64_t start, uint64_t end,
                        int (*fn)(struct core *, uint64_t, uint64_t, void *), void *arg) {
        if (!maps_is_anonymous(m) || c->pagemap_fd < 0)
                return fn(c, start, end, arg);
        uint64_t page = (uint64_t) c->page;
        _cleanup_free_ uint64_t *entries = malloc(PAGEMAP_BATCH * sizeof *entries);
        if (!entries)
                return -ENOMEM;
        uint64_t run_start = 0;
        bool in_run = false;
        for (uint64_t addr = start; addr < end;) {
                size_t n = (size_t) ((end - addr) / page);
                if (n > PAGEMAP_BATCH)
                        n = PAGEMAP_BATCH;
                ssize_t got = pread(c->pagemap_fd, entries, n * sizeof *entries, (off_t) (addr / page * 8));
                if (got <= 0)
                        return got < 0 ? negative_errno() : -EIO;
                n = (size_t) got / sizeof *entries;
                for (size_t i = 0; i < n; i++, addr += page) {
                        bool data = entries[i] & (PM_PRESENT | PM_SWAPPED);
                        if (data && !in_run) {
                                run_start = addr;
                                in_run = true;
                        } else if (!data && in_run) {
                                int r = fn(c, run_start, addr, arg);
                                if (r < 0)
                                        return r;
                                in_run = false;
                        }
                }
        }
        return in_run ? fn(c, run_start, end, arg) : 0;
}

static int count_run(struct core *c, uint64_t start, uint64_t end, void *arg) {
        *(uint64_t *) arg += end - start;
        return 0;
}

static bool page_is_zero(const void *p, size_t len) {
        const uint64_t *w = p;
        for (size_t i = 0; i < len / sizeof *w; i++)
                if (w[i])
                        return false;
        return true;
}

struct copy {
        struct core_file *out;
        const struct segment *seg;
        char *buf;
};

/* Whether the process read from exited, waiting up to `wait_ms` for the
 * target's pidfd to say so: a read that failed just as it was killed may
 * come before any sign of the exit in /proc. (A snapshot exits only when
 * killed.) */
static bool exited(struct core *c, int wait_ms) {
        if (proc_is_gone(c->proc, c->mem_pid))
                return true;
        if (c->mem_pid != c->pid)
                return false;
        struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
        return wait_ms > 0 && c->pidfd >= 0 && poll(&p, 1, wait_ms) == 1;
}

/* Reads [addr, addr+len) into buf. A range process_vm_readv cannot read
 * (a PROT_NONE page, the vdso on some kernels) is retried page by page
 * through /proc/PID/mem, and left as zeros if that fails too. */
static int read_memory(struct core *c, uint64_t addr, char *buf, size_t len) {
        struct iovec local = { buf, len }, remote = { (void *) addr, len };
        /* A snapshot through /proc/PID/mem: process_vm_readv pins the
         * pages it reads, and pinning a page the snapshot shares with the
         * target copies it (the kernel's COW-unshare on pin) — a copy of
         * every page, and slower than the stop writer. */
        ssize_t got = c->mem_pid != c->pid ? pread(c->mem_fd, buf, len, (off_t) addr)
                                           : process_vm_readv(c->mem_pid, &local, 1, &remote, 1, 0);
        if (got < 0 && errno == ESRCH)
                return -ESRCH;
        size_t done = got > 0 ? (size_t) got : 0;
        while (done < len) {
                size_t n = (size_t) c->page - (size_t) ((addr + done) % (uint64_t) c->page);
                if (n > len - done)
                        n = len - done;
                ssize_t m = c->mem_fd >= 0 ? pread(c->mem_fd, buf + done, n, (off_t) (addr + done)) : -1;
                if (m < 0 && errno == ESRCH)
                        return -ESRCH;
                if (m != (ssize_t) n) {
                        memset(buf + done, 0, n);
                        c->unreadable += n;
                }
                done += n;
        }
        return proc_is_gone(c->proc, c->mem_pid) ? -ESRCH : 0;
}

static int copy_run(struct core *c, uint64_t start, uint64_t end, void *arg) {
        struct copy *cp = arg;
        uint64_t page = (uint64_t) c->page;
        for (uint64_t addr = start; addr < end;) {
                size_t len = end - addr < CHUNK ? (size_t) (end - addr) : CHUNK;
                int r = read_memory(c, addr, cp->buf, len);
                if (r < 0)
                        return r;
                /* Write the non-zero pages, coalesced; zero pages stay holes. */
                for (size_t i = 0; i < len;) {
                        if (page_is_zero(cp->buf + i, page)) {
                                i += page;
                                continue;
                        }
                        size_t j = i + page;
                        while (j < len && !page_is_zero(cp->buf + j, page))
                                j += page;
                        uint64_t file_off = cp->seg->offset + (addr + i - cp->seg->map->start);
                        if ((r = core_file_write_at(cp->out, file_off, cp->buf + i, j - i)) < 0)
                                return r;
                        i = j;
                }
                addr += len;
        }
        return 0;
}

/* ---- layout ------------------------------------------------------------- */

static int plan_segments(struct core *c, unsigned filter, uint64_t *ret_estimate) {
        c->segs = calloc(c->maps.n ? c->maps.n : 1, sizeof *c->segs);
        if (!c->segs)
                return -ENOMEM;
        uint64_t estimate = 0;
        for (size_t i = 0; i < c->maps.n; i++) {
                const struct mapping *m = &c->maps.items[i];
                bool need_elf = !m->shared && maps_is_file(m) && !m->has_anon && m->offset == 0;
                enum dump_extent e = maps_dump_extent(m, filter, need_elf && starts_with_elf(c, m));
                uint64_t size = e == DUMP_WHOLE ? m->end - m->start : e == DUMP_HEADER_PAGE ? (uint64_t) c->page : 0;
                /* What a snapshot lacks is a hole: its place, no bytes. */
                if (m->dontfork && c->mem_pid != c->pid)
                        size = 0;
                c->segs[c->n_segs++] = (struct segment) { .map = m, .file_size = size };
                if (size)
                        for_each_run(c, m, m->start, m->start + size, count_run, &estimate);
        }
        *ret_estimate = estimate;
        return 0;
}

static int write_headers(struct core *c, struct core_file *out, uint64_t *ret_end) {
        size_t phnum = 1 + c->n_segs;
        bool xnum = phnum >= PN_XNUM;
        uint64_t ph_off = sizeof(Elf64_Ehdr);
        uint64_t sh_off = ph_off + phnum * sizeof(Elf64_Phdr);
        uint64_t notes_off = sh_off + (xnum ? sizeof(Elf64_Shdr) : 0);
        uint64_t page = (uint64_t) c->page;
        uint64_t data = (notes_off + c->notes_len + page - 1) / page * page;

        Elf64_Ehdr eh = {
                .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE },
                .e_type = ET_CORE, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
                .e_phoff = ph_off, .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
                .e_phnum = xnum ? PN_XNUM : (Elf64_Half) phnum,
        };
        if (xnum) {
                eh.e_shoff = sh_off;
                eh.e_shentsize = sizeof(Elf64_Shdr);
                eh.e_shnum = 1;
        }
        _cleanup_free_ char *head = calloc(1, notes_off);
        if (!head)
                return -ENOMEM;
        memcpy(head, &eh, sizeof eh);
        Elf64_Phdr *ph = (Elf64_Phdr *) (head + ph_off);
        ph[0] = (Elf64_Phdr) { .p_type = PT_NOTE, .p_offset = notes_off, .p_filesz = c->notes_len, .p_align = 4 };
        for (size_t i = 0; i < c->n_segs; i++) {
                struct segment *s = &c->segs[i];
                const struct mapping *m = s->map;
                s->offset = data;
                ph[1 + i] = (Elf64_Phdr) {
                        .p_type = PT_LOAD, .p_offset = data, .p_vaddr = m->start, .p_filesz = s->file_size,
                        .p_memsz = m->end - m->start, .p_align = page,
                        .p_flags = (m->read ? PF_R : 0) | (m->write ? PF_W : 0) | (m->exec ? PF_X : 0),
                };
                data += s->file_size;
        }
        if (xnum) {
                /* The real count, where e_phnum cannot hold it. */
                Elf64_Shdr sh = { .sh_info = (Elf64_Word) phnum };
                memcpy(head + sh_off, &sh, sizeof sh);
        }
        int r = core_file_write_at(out, 0, head, notes_off);
        if (r == 0)
                r = core_file_write_at(out, notes_off, c->notes, c->notes_len);
        *ret_end = data;
        return r;
}

static void core_free(struct core *c) {
        maps_free(&c->maps);
        free(c->segs);
        for (size_t i = 0; i < c->n_threads; i++)
                free(c->threads[i].xstate);
        free(c->threads);
        free(c->notes);
        if (c->mem_fd >= 0)
                close(c->mem_fd);
        if (c->pagemap_fd >= 0)
                close(c->pagemap_fd);
}

static unsigned read_filter(int proc_fd, pid_t pid) {
        char path[64];
        snprintf(path, sizeof path, "%d/coredump_filter", (int) pid);
        _cleanup_free_ char *text = NULL;
        if (read_file_at(proc_fd, path, 64, &text, NULL) < 0)
                return COREDUMP_FILTER_DEFAULT;
        return (unsigned) strtoul(text, NULL, 16);
}

/* Never start a capture that would leave the disk below min_free. */
static bool would_fill_disk(int dir_fd, uint64_t estimate, double min_free_pct, char *why, size_t size) {
        struct statvfs sv;
        if (min_free_pct <= 0 || fstatvfs(dir_fd, &sv) < 0 || sv.f_blocks == 0)
                return false;
        double total = (double) sv.f_blocks * sv.f_frsize;
        double after = (double) sv.f_bavail * sv.f_frsize - (double) estimate;
        if (after / total * 100 >= min_free_pct)
                return false;
        snprintf(why, size, "the core would take about %.0f MiB and leave %.1f%% free, below min_free %.0f%%",
                 (double) estimate / 1048576, after > 0 ? after / total * 100 : 0.0, min_free_pct);
        return true;
}

/* Writes everything but the end of the file: what needs the memory as it
 * was at the stop (the target stopped, or its snapshot). *ret_end is the
 * file's final size, for core_file_finish(). */
static int dump(struct core *c, struct core_file *out, uint64_t *ret_end) {
        struct copy cp = { .out = out, .buf = malloc(CHUNK) };
        int r = cp.buf ? write_headers(c, out, ret_end) : -ENOMEM;
        for (size_t i = 0; r == 0 && i < c->n_segs; i++) {
                cp.seg = &c->segs[i];
                if (cp.seg->file_size)
                        r = for_each_run(c, cp.seg->map, cp.seg->map->start,
                                         cp.seg->map->start + cp.seg->file_size, copy_run, &cp);
        }
        /* A process killed while we read it fails whichever read came
         * next (pagemap, memory, /proc files), each in its own way; and
         * one killed before leaves no mappings, a core of notes alone. All
         * of it is one reason: the process exited. */
        if (r != -ENOSPC && r != -EDQUOT && exited(c, r < 0 ? 200 : 0))
                r = -ESRCH;
        free(cp.buf);
        return r;
}

/* Reads memory from `pid` from now on (the target, or its snapshot). */
static void read_memory_of(struct core *c, pid_t pid) {
        char path[64];
        if (c->mem_fd >= 0)
                close(c->mem_fd);
        if (c->pagemap_fd >= 0)
                close(c->pagemap_fd);
        c->mem_pid = pid;
        snprintf(path, sizeof path, "%d/mem", (int) pid);
        c->mem_fd = openat(c->proc->fd, path, O_RDONLY | O_CLOEXEC);
        snprintf(path, sizeof path, "%d/pagemap", (int) pid);
        c->pagemap_fd = openat(c->proc->fd, path, O_RDONLY | O_CLOEXEC);
}

/* With every thread stopped and its registers read: forks the snapshot
 * the memory is read from, and lets the target run on; or says in res why
 * not, the target still stopped for the stop writer. */
static void take_snapshot(const struct collect_ctx *ctx, struct core *c, struct stopped_process *sp,
                          struct fork_snapshot *snap, struct action_result *res) {
        char why[200];
        if (fork_snapshot_take(c->proc, sp, snap, why, sizeof why) < 0) {
                snprintf(res->core_fallback, sizeof res->core_fallback, "%s", why);
                return;
        }
        (void) fork_snapshot_note(ctx->artifact->dir_fd, c->pid, ctx->starttime, snap);
        read_memory_of(c, snap->child);
        collect_resume_target(ctx, sp);
}

int collect_core_native(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
#if !defined(__x86_64__)
        result_set(res, ACTION_FAILED, "the native core writer supports x86-64 only; use core: {via: gcore}");
        return -EOPNOTSUPP;
#else
        struct core c = { .pid = ctx->pid, .pidfd = ctx->pidfd, .proc = ctx->proc, .page = ctx->proc->page_size,
                          .mem_fd = -1, .pagemap_fd = -1 };
        const char *name = a->compress_zstd ? "core.zst" : "core";
        struct stopped_process sp = {};
        struct fork_snapshot snap = {};
        int fd = -1, r;

        /* What would refuse a snapshot is looked at before the stop. */
        bool snapshot = a->core_via == CORE_VIA_SNAPSHOT;
        if (snapshot && ctx->held)
                snprintf(res->core_fallback, sizeof res->core_fallback, "a crashing process is held in its signal");
        else if (snapshot && ctx->stopped_at_firing)
                /* Resumed for the injection, it would leave its group stop. */
                snprintf(res->core_fallback, sizeof res->core_fallback, "it was stopped already (SIGSTOP): "
                         "nothing to spare it");
        else if (snapshot)
                (void) fork_snapshot_refusal(c.proc, c.pid, res->core_fallback, sizeof res->core_fallback);
        snapshot = snapshot && !*res->core_fallback;
        r = collect_stop_target(ctx, &sp);
        if (r < 0) {
                result_stop_failed(res, ctx, r);
                return r;
        }
        read_memory_of(&c, c.pid);
        uint64_t estimate = 0, end = 0;
        char why[256];
        if ((r = proc_read_stat(ctx->proc, c.pid, &c.stat)) < 0 || (r = core_read_registers(&c, &sp)) < 0) {
                result_set(res, ACTION_FAILED, r == -ESRCH ? "process exited during the capture"
                                                           : "cannot read the process: %s", strerror(-r));
                goto out;
        }
        /* The stop is over for a snapshot: the rest is read from it, or,
         * for what it lacks, from the target running on. */
        if (snapshot)
                take_snapshot(ctx, &c, &sp, &snap, res);
        res->core_via = snap.child ? "snapshot" : "stop";
        if ((r = maps_read(c.proc->fd, c.mem_pid, &c.maps)) < 0 ||
            (snap.child && (r = fork_snapshot_add_not_copied(c.proc, c.pid, &c.maps, &res->not_in_snapshot_bytes)) < 0) ||
            (r = plan_segments(&c, a->filter_set ? a->filter : read_filter(c.proc->fd, c.pid), &estimate)) < 0 ||
            (r = core_build_notes(&c)) < 0) {
                result_set(res, ACTION_FAILED, r == -ESRCH ? "process exited during the capture"
                                                           : "cannot read the process: %s", strerror(-r));
                goto out;
        }
        if (would_fill_disk(ctx->artifact->dir_fd, estimate, ctx->min_free_pct, why, sizeof why)) {
                result_set(res, ACTION_SKIPPED, "%s", why);
                r = -ENOSPC;
                goto out;
        }
        if ((r = artifact_open_partial(ctx->artifact, name, &fd)) < 0) {
                result_set(res, ACTION_FAILED, "cannot create %s: %s", name, strerror(-r));
                goto out;
        }
        struct core_file file;
        if ((r = core_file_open(&file, fd, a->compress_zstd)) < 0)
                goto out;
        r = dump(&c, &file, &end);
        if (snap.child) {
                (void) fork_snapshot_extra_bytes(c.proc, &snap, &res->snapshot_extra_bytes);
                if (r == -ESRCH)
                        r = -ECHILD;    /* the snapshot, not the target, went: killed for memory */
        }
        /* The memory is copied: the process runs on while the file is
         * finished (the last compressed blocks, the final hole). */
        collect_resume_target(ctx, &sp);
        if (r == 0)
                r = core_file_finish(&file, end);
        core_file_close(&file);
out:
        collect_resume_target(ctx, &sp);        /* no-op if already resumed */
        if (snap.child) {
                (void) fork_snapshot_end(c.proc, ctx->pid, ctx->starttime, &snap);
                (void) unlinkat(ctx->artifact->dir_fd, FORK_SNAPSHOT_NOTE, 0);
        }
        res->has_stopped = true;
        res->stopped_seconds = (double) sp.stopped_usec / USEC_PER_SEC;
        if (fd >= 0) {
                /* Start the writeback now rather than whenever the kernel
                 * gets to it, without waiting for it: the evidence heads
                 * for the disk, and a large core does not pile up as dirty
                 * memory that slows every writer on the machine. */
                if (r == 0)
                        sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
                close(fd);
                if (r == 0)
                        r = artifact_publish(ctx->artifact, name);
                if (r < 0) {
                        /* No partial core is left behind. */
                        artifact_discard(ctx->artifact, name);
                        if (r == -ESRCH)
                                result_set(res, ACTION_FAILED, "process exited during the capture");
                        else if (r == -ECHILD)
                                result_set(res, ACTION_FAILED, "the snapshot was killed while the core was written "
                                           "(out of memory?)");
                        else if (r == -ENOSPC || r == -EDQUOT)
                                result_set(res, ACTION_FAILED, "disk full while writing %s; the partial file was removed", name);
                        else
                                result_set(res, ACTION_FAILED, "cannot write %s: %s", name, strerror(-r));
                }
        }
        if (r == 0) {
                result_add_file(res, ctx->artifact->dir_fd, name);
                struct stat st;
                if (fstatat(ctx->artifact->dir_fd, name, &st, 0) == 0)
                        res->disk_bytes = (uint64_t) st.st_blocks * 512;
                if (c.unreadable > res->not_in_snapshot_bytes)
                        result_set(res, ACTION_OK, "%llu bytes could not be read and are zeros in the core",
                                   (unsigned long long) (c.unreadable - res->not_in_snapshot_bytes));
                else
                        result_set(res, ACTION_OK, NULL);
        }
        core_free(&c);
        return r;
#endif
}
