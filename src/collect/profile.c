/* The `profile` action: CPU samples of every thread of the target with
 * perf_event_open (software cpu-clock, user callchains), one event and one
 * ring per thread — per-thread events with cpu=-1 cannot share an output
 * here — with the thread list rescanned so threads born during the
 * profile are sampled too. The stacks are symbolized with libdw while the
 * target lives, and written as pprof (profile.pb.gz). The target is never
 * stopped. */
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "collect.h"
#include "pprof.h"
#include "symbols.h"

#define RING_PAGES 16                   /* data pages per thread: 64 KiB */
#define DRAIN_MS 100
#define STACK_BUCKETS 4096
#define MAX_FRAMES 256

struct event_ring {
        pid_t tid;
        int fd;
        void *base;
        size_t data_size;
};

struct stack {
        uint64_t hash;
        size_t n;
        int64_t count;
        struct stack *next;
        uint64_t ips[];                 /* leaf first */
};

struct profiler {
        int proc_fd;
        pid_t pid;
        long page;
        unsigned frequency;
        struct event_ring *rings;
        size_t n_rings, cap_rings;
        struct stack *buckets[STACK_BUCKETS];
        uint64_t samples, lost;
        int open_error;                 /* the first perf_event_open errno */
};

static int open_ring(struct profiler *p, pid_t tid) {
        struct perf_event_attr attr = {
                .size = sizeof attr,
                .type = PERF_TYPE_SOFTWARE,
                .config = PERF_COUNT_SW_CPU_CLOCK,
                .freq = 1,
                .sample_freq = p->frequency,
                .sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN,
                .exclude_kernel = 1,
                .exclude_hv = 1,
                .exclude_callchain_kernel = 1,
        };
        int fd = (int) syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0) {
                if (!p->open_error && errno != ESRCH)
                        p->open_error = errno;
                return -errno;
        }
        size_t size = (size_t) (RING_PAGES + 1) * (size_t) p->page;
        void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED) {
                if (!p->open_error)
                        p->open_error = errno;
                close(fd);
                return -errno;
        }
        if (p->n_rings == p->cap_rings) {
                size_t cap = p->cap_rings ? 2 * p->cap_rings : 64;
                struct event_ring *r = realloc(p->rings, cap * sizeof *r);
                if (!r) {
                        munmap(base, size);
                        close(fd);
                        return -ENOMEM;
                }
                p->rings = r;
                p->cap_rings = cap;
        }
        p->rings[p->n_rings++] = (struct event_ring) { tid, fd, base, (size_t) RING_PAGES * (size_t) p->page };
        return 0;
}

static bool has_ring(const struct profiler *p, pid_t tid) {
        for (size_t i = 0; i < p->n_rings; i++)
                if (p->rings[i].tid == tid)
                        return true;
        return false;
}

/* Opens an event for every thread not sampled yet. */
static int add_new_threads(struct profiler *p) {
        char path[64];
        snprintf(path, sizeof path, "%d/task", (int) p->pid);
        DIR *d;
        int r = opendir_at(p->proc_fd, path, &d);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        struct dirent *de;
        while ((de = readdir(d))) {
                pid_t tid = (pid_t) strtol(de->d_name, NULL, 10);
                if (tid > 0 && !has_ring(p, tid))
                        open_ring(p, tid);
        }
        closedir(d);
        return 0;
}

static uint64_t hash_ips(const uint64_t *ips, size_t n) {
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < n; i++)
                h = (h ^ ips[i]) * 1099511628211ULL;
        return h;
}

static void count_stack(struct profiler *p, const uint64_t *ips, size_t n) {
        uint64_t h = hash_ips(ips, n);
        struct stack **slot = &p->buckets[h % STACK_BUCKETS];
        for (struct stack *s = *slot; s; s = s->next)
                if (s->hash == h && s->n == n && memcmp(s->ips, ips, n * sizeof *ips) == 0) {
                        s->count++;
                        return;
                }
        struct stack *s = malloc(sizeof *s + n * sizeof *ips);
        if (!s)
                return;
        *s = (struct stack) { .hash = h, .n = n, .count = 1, .next = *slot };
        memcpy(s->ips, ips, n * sizeof *ips);
        *slot = s;
}

/* A sample record: ip, pid, tid, nr, ips[nr] (the fields in sample_type
 * order). The callchain holds context markers, skipped. */
static void take_sample(struct profiler *p, const uint8_t *rec, size_t size) {
        if (size < sizeof(struct perf_event_header) + 3 * sizeof(uint64_t))
                return;
        const uint64_t *f = (const uint64_t *) (rec + sizeof(struct perf_event_header));
        uint64_t nr = f[2];
        if (sizeof(struct perf_event_header) + (3 + nr) * sizeof(uint64_t) > size)
                return;
        uint64_t ips[MAX_FRAMES];
        size_t n = 0;
        for (uint64_t i = 0; i < nr && n < MAX_FRAMES; i++)
                if (f[3 + i] < PERF_CONTEXT_MAX)
                        ips[n++] = f[3 + i];
        if (n == 0)
                ips[n++] = f[0];
        count_stack(p, ips, n);
        p->samples++;
}

static void drain(struct profiler *p, struct event_ring *r) {
        struct perf_event_mmap_page *meta = r->base;
        const uint8_t *data = (const uint8_t *) r->base + p->page;
        uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
        uint64_t tail = meta->data_tail;
        uint8_t copy[65536];  /* a record is at most 64 KiB: its size is a u16 */
        while (tail < head) {
                size_t at = (size_t) (tail % r->data_size);
                struct perf_event_header h;
                /* A record may wrap around the end of the ring. */
                for (size_t i = 0; i < sizeof h; i++)
                        ((uint8_t *) &h)[i] = data[(at + i) % r->data_size];
                if (h.size < sizeof h)
                        break;
                for (size_t i = 0; i < h.size; i++)
                        copy[i] = data[(at + i) % r->data_size];
                if (h.type == PERF_RECORD_SAMPLE)
                        take_sample(p, copy, h.size);
                else if (h.type == PERF_RECORD_LOST)
                        p->lost += ((const uint64_t *) (copy + sizeof h))[1];
                tail += h.size;
        }
        __atomic_store_n(&meta->data_tail, head, __ATOMIC_RELEASE);
}

static void unmap_ring(const struct profiler *p, const struct event_ring *r) {
        munmap(r->base, r->data_size + (size_t) p->page);
        close(r->fd);
}

/* The thread of ring i has exited (its event hangs up): its last samples
 * are drained, then its fd and ring go, so a target whose threads come
 * and go does not pile up one of each per thread it ever had. */
static void release_ring(struct profiler *p, size_t i) {
        drain(p, &p->rings[i]);
        unmap_ring(p, &p->rings[i]);
        p->rings[i] = p->rings[--p->n_rings];
}

static void close_rings(struct profiler *p) {
        for (size_t i = 0; i < p->n_rings; i++)
                unmap_ring(p, &p->rings[i]);
        free(p->rings);
        p->rings = NULL;
        p->n_rings = 0;
}

static void free_stacks(struct profiler *p) {
        for (size_t b = 0; b < STACK_BUCKETS; b++)
                for (struct stack *s = p->buckets[b], *next; s; s = next) {
                        next = s->next;
                        free(s);
                }
}

/* Samples until `duration` has passed or the process is gone. */
static int sample(struct profiler *p, int pidfd, usec_t duration) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + duration;
        struct pollfd *pfds = NULL;
        int r = 0;
        for (;;) {
                if ((r = add_new_threads(p)) < 0 && r != -ESRCH)
                        break;
                bool gone = r == -ESRCH;
                r = 0;
                if (p->n_rings == 0 && p->open_error)
                        break;
                struct pollfd *n = realloc(pfds, (p->n_rings + 1) * sizeof *n);
                if (!n) {
                        r = -ENOMEM;
                        break;
                }
                pfds = n;
                pfds[0] = (struct pollfd) { .fd = pidfd, .events = POLLIN };
                for (size_t i = 0; i < p->n_rings; i++)
                        pfds[i + 1] = (struct pollfd) { .fd = p->rings[i].fd, .events = POLLIN };
                usec_t now = now_usec(CLOCK_MONOTONIC);
                int wait_ms = now >= end ? 0 : (int) ((end - now) / 1000);
                if (!gone)
                        poll(pfds, p->n_rings + 1, wait_ms < DRAIN_MS ? wait_ms : DRAIN_MS);
                /* From the end: release_ring moves the last ring into i. */
                for (size_t i = p->n_rings; i-- > 0;)
                        if (!gone && (pfds[i + 1].revents & POLLHUP))
                                release_ring(p, i);
                        else
                                drain(p, &p->rings[i]);
                if (gone || (pfds[0].revents & POLLIN) || now_usec(CLOCK_MONOTONIC) >= end)
                        break;
        }
        free(pfds);
        return r;
}

/* Turns the counted stacks into pprof samples, symbolizing each distinct
 * address once with libdw against the live process's modules. */
struct module_ids {
        struct pprof *out;
        const char *exe;
        bool main_pass;
        Dwfl_Module *mods[512];
        uint64_t ids[512];
        size_t n;
};

/* Adds each module as a pprof mapping, the executable first: pprof takes
 * the first mapping for the main binary. */
static int add_mapping(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg) {
        struct module_ids *m = arg;
        Dwarf_Addr end;
        const char *file = NULL;
        dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, &file, NULL);
        const char *path = file ? file : name;
        bool is_exe = m->exe && path && strcmp(path, m->exe) == 0;
        if (is_exe != m->main_pass || m->n >= ELEMENTSOF(m->mods))
                return DWARF_CB_OK;
        /* The ELF build ID, in hex as pprof and debuginfod name it: the
         * profile can be symbolized again against debug symbols. */
        const unsigned char *bits;
        GElf_Addr vaddr, bias;
        (void) dwfl_module_getelf(mod, &bias);  /* the ID is known once its ELF is read */
        int len = dwfl_module_build_id(mod, &bits, &vaddr);
        char build_id[2 * 64 + 1] = "";
        for (int i = 0; i < len && i < 64; i++)
                snprintf(build_id + 2 * i, 3, "%02x", bits[i]);
        m->mods[m->n] = mod;
        m->ids[m->n++] = pprof_mapping(m->out, start, end, 0, path ? path : "", build_id);
        return DWARF_CB_OK;
}

static uint64_t mapping_of(const struct module_ids *m, Dwfl_Module *mod) {
        for (size_t i = 0; mod && i < m->n; i++)
                if (m->mods[i] == mod)
                        return m->ids[i];
        return 0;
}

static int symbolize(struct profiler *p, struct pprof *out) {
        Dwfl *dwfl = symbols_open(p->pid);
        struct perf_map jit = {};
        (void) perf_map_load(p->proc_fd, p->pid, &jit);
        char exe_link[64], exe[4096];
        snprintf(exe_link, sizeof exe_link, "%d/exe", (int) p->pid);
        ssize_t len = readlinkat(p->proc_fd, exe_link, exe, sizeof exe - 1);
        exe[len > 0 ? len : 0] = 0;
        struct module_ids *mods = calloc(1, sizeof *mods);
        if (!mods) {
                if (dwfl)
                        dwfl_end(dwfl);
                perf_map_free(&jit);
                return -ENOMEM;
        }
        *mods = (struct module_ids) { .out = out, .exe = len > 0 ? exe : NULL, .main_pass = true };
        if (dwfl) {
                dwfl_getmodules(dwfl, add_mapping, mods, 0);
                mods->main_pass = false;
                dwfl_getmodules(dwfl, add_mapping, mods, 0);
        }
        int r = 0;
        uint64_t ids[MAX_FRAMES];
        for (size_t b = 0; r == 0 && b < STACK_BUCKETS; b++)
                for (struct stack *s = p->buckets[b]; r == 0 && s; s = s->next) {
                        for (size_t i = 0; i < s->n; i++) {
                                /* Callers' addresses are return addresses: the
                                 * call is the instruction before. */
                                Dwarf_Addr lookup = i == 0 ? s->ips[i] : s->ips[i] - 1;
                                struct symbol sym = {};
                                symbols_lookup(dwfl, &jit, lookup, &sym);
                                const char *name = sym.name;
                                char unknown[64];
                                if (!name) {
                                        const char *base = sym.module ? strrchr(sym.module, '/') : NULL;
                                        snprintf(unknown, sizeof unknown, "[%s]",
                                                 base ? base + 1 : sym.module ? sym.module : "unknown");
                                        name = unknown;
                                }
                                uint64_t fn = pprof_function(out, name, sym.file);
                                Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, lookup) : NULL;
                                ids[i] = pprof_location(out, s->ips[i], mapping_of(mods, mod), fn, sym.line);
                                if (!fn || !ids[i])
                                        r = -ENOMEM;
                        }
                        if (r == 0)
                                r = pprof_add_sample(out, ids, s->n, s->count,
                                                     s->count * (int64_t) (1000000000 / p->frequency));
                }
        if (dwfl)
                dwfl_end(dwfl);
        perf_map_free(&jit);
        free(mods);
        return r;
}

int collect_profile(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        struct profiler p = { .proc_fd = ctx->proc->fd, .pid = ctx->pid, .page = ctx->proc->page_size,
                              .frequency = a->frequency ? a->frequency : 99 };
        usec_t duration = a->duration ? a->duration : 10 * USEC_PER_SEC;
        struct pprof out;
        int fd = -1, r = pprof_init(&out);
        usec_t start = now_usec(CLOCK_REALTIME), t0 = now_usec(CLOCK_MONOTONIC);
        if (r == 0 && collect_check_identity(ctx) < 0) {
                result_set(res, ACTION_FAILED, "process exited before the capture");
                r = -ESRCH;
                goto out;
        }
        if (r == 0)
                r = sample(&p, ctx->pidfd, duration);
        close_rings(&p);
        if (r == 0 && p.samples == 0 && p.open_error) {
                _cleanup_free_ char *paranoid = NULL;
                read_file_at(AT_FDCWD, "/proc/sys/kernel/perf_event_paranoid", 64, &paranoid, NULL);
                if (paranoid)
                        paranoid[strcspn(paranoid, "\n")] = 0;
                result_set(res, ACTION_FAILED, "perf_event_open refused: %s (kernel.perf_event_paranoid = %s)",
                           strerror(p.open_error), paranoid ? paranoid : "?");
                r = -p.open_error;
                goto out;
        }
        out.time_nanos = (int64_t) start * 1000;
        out.duration_nanos = (int64_t) (now_usec(CLOCK_MONOTONIC) - t0) * 1000;
        out.period = 1000000000 / p.frequency;
        if (r == 0)
                r = symbolize(&p, &out);
        if (r == 0 && (r = artifact_open_partial(ctx->artifact, "profile.pb.gz", &fd)) == 0) {
                r = pprof_write_gzip(&out, fd);
                close(fd);
                if (r == 0)
                        r = artifact_publish(ctx->artifact, "profile.pb.gz");
                if (r < 0)
                        artifact_discard(ctx->artifact, "profile.pb.gz");
        }
        if (r < 0) {
                result_set(res, ACTION_FAILED, "cannot write profile.pb.gz: %s", strerror(-r));
                goto out;
        }
        result_add_file(res, ctx->artifact->dir_fd, "profile.pb.gz");
        if (p.samples == 0)
                result_set(res, ACTION_OK, "no samples: the process used no CPU while profiled");
        else if (p.lost)
                result_set(res, ACTION_OK, "%llu of the samples were lost (ring overflow)",
                           (unsigned long long) p.lost);
        else
                result_set(res, ACTION_OK, NULL);
out:
        free_stacks(&p);
        pprof_free(&out);
        return r;
}
