/* Pressure stall information: psi.* as sampled avg10 values, or, for a
 * `stall` rule, a kernel trigger (the file opened O_RDWR, "some 150000
 * 2000000" written to it, POLLPRI in the loop) whose notifications are
 * pushed to the consumers as they come. A cgroup target reads its own v2
 * pressure files; the root cgroup, or a host without a cgroup2 mount,
 * reads /proc/pressure. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "../bindings.h"
#include "../consumer.h"
#include "../loop.h"
#include "../source.h"

struct psi_kind {
        enum cgroup_file file;
        const char *host_file;  /* under /proc/pressure */
        const char *line;       /* "some" or "full" */
};

static const struct psi_kind kinds[] = {
        [METRIC_PSI_CPU_SOME - METRIC_PSI_CPU_SOME] = { CGF_PSI_CPU, "cpu", "some" },
        [METRIC_PSI_MEMORY_SOME - METRIC_PSI_CPU_SOME] = { CGF_PSI_MEMORY, "memory", "some" },
        [METRIC_PSI_MEMORY_FULL - METRIC_PSI_CPU_SOME] = { CGF_PSI_MEMORY, "memory", "full" },
        [METRIC_PSI_IO_SOME - METRIC_PSI_CPU_SOME] = { CGF_PSI_IO, "io", "some" },
        [METRIC_PSI_IO_FULL - METRIC_PSI_CPU_SOME] = { CGF_PSI_IO, "io", "full" },
};

static const struct psi_kind *kind_of(enum metric m) {
        return &kinds[m - METRIC_PSI_CPU_SOME];
}

struct psi_state {
        struct loop *loop;
        const struct consumers *consumers;
        int host_fd[3];                 /* /proc/pressure/{cpu,memory,io}, kept open */
};

static int host_index(const struct psi_kind *k) {
        return k->file - CGF_PSI_CPU;
}

static int psi_open(const struct source_env *env, void **ret_state) {
        struct psi_state *st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        st->loop = env->loop;
        st->consumers = env->consumers;
        static const char *const names[] = { "cpu", "memory", "io" };
        for (int i = 0; i < 3; i++) {
                char path[64];
                snprintf(path, sizeof path, "/proc/pressure/%s", names[i]);
                st->host_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
        }
        *ret_state = st;
        return 0;
}

static void psi_close(void *state) {
        struct psi_state *st = state;
        for (int i = 0; i < 3; i++)
                if (st->host_fd[i] >= 0)
                        close(st->host_fd[i]);
        free(st);
}

/* Whether `tg` reads the host's pressure rather than a cgroup's: PSI is
 * v2's, and the v2 root's is the host's. */
static bool reads_host(const struct target *tg) {
        const struct cgroup_handle *h = &tg->cgroup.handle;
        return tg->id.kind != TARGET_CGROUP || h->dir[CG_UNIFIED] < 0 || strcmp(h->paths.path[CG_UNIFIED], "/") == 0;
}

/* The text of a pressure file of `tg`. */
static int read_pressure(struct psi_state *st, struct target *tg, const struct psi_kind *k, char *buf, size_t size) {
        if (reads_host(tg)) {
                int fd = st->host_fd[host_index(k)];
                return fd < 0 ? -ENOENT : cgroup_pread(fd, buf, size);
        }
        int r = cgroup_handle_read(&tg->cgroup.handle, k->file, buf, size, NULL);
        return r == -ENODEV ? -ESRCH : r;
}

static int psi_read(void *state, struct target *tg, metric_set want, struct reading *r) {
        /* Each file once: some and full of a resource share it. */
        char text[3][256];
        int got[3] = { 1, 1, 1 };       /* 1: not read yet */
        for (int m = METRIC_PSI_CPU_SOME; m <= METRIC_PSI_IO_FULL; m++) {
                if (!(want & METRIC_BIT(m)))
                        continue;
                const struct psi_kind *k = kind_of((enum metric) m);
                int i = host_index(k);
                if (got[i] == 1)
                        got[i] = read_pressure(state, tg, k, text[i], sizeof text[i]);
                if (got[i] == -ESRCH)
                        return -ESRCH;
                double v;
                if (got[i] == 0 && cgroup_parse_psi_avg10(text[i], k->line, &v) == 0) {
                        r->raw[m] = v;
                        r->have |= METRIC_BIT(m);
                }
        }
        return 0;
}

static double psi_reference(void *state, struct target *tg, enum metric m, const char **ret_what) {
        return 0;
}

/* A notification: the stall passed the threshold within the window. The
 * value handed on is the pressure read now. */
static void on_trigger(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct binding *b = userdata;
        struct psi_state *st = b->event_owner;
        if (revents & EPOLLERR) {
                /* The cgroup went away; its target ends at the next read. */
                loop_source_free(b->event);
                b->event = NULL;
                return;
        }
        char buf[256];
        double value = 0;
        if (cgroup_pread(fd, buf, sizeof buf) == 0)
                cgroup_parse_psi_avg10(buf, kind_of(b->rule->metric)->line, &value);
        struct sample_event ev = {
                .target = b->target, .binding = b, .metric = b->rule->metric, .value = value,
                .mono = now_usec(CLOCK_MONOTONIC), .wall = now_usec(CLOCK_REALTIME),
        };
        consumers_feed(st->consumers, &ev);
}

static int psi_arm(void *state, struct binding *b) {
        struct psi_state *st = state;
        const struct psi_kind *k = kind_of(b->rule->metric);
        struct target *tg = b->target;
        int fd;
        if (reads_host(tg)) {
                char path[64];
                snprintf(path, sizeof path, "/proc/pressure/%s", k->host_file);
                fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        } else {
                int dir_fd;
                const char *name;
                int r = cgroup_handle_path_fd(&tg->cgroup.handle, k->file, &dir_fd, &name);
                if (r < 0)
                        return r;
                fd = openat(dir_fd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        }
        if (fd < 0)
                return negative_errno();
        char spec[64];
        int n = snprintf(spec, sizeof spec, "%s %llu %llu", k->line, (unsigned long long) b->rule->cond.stall,
                         (unsigned long long) b->rule->cond.stall_window);
        /* The kernel takes the trigger with its terminating NUL. */
        if (write(fd, spec, (size_t) n + 1) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        b->event_fd = fd;
        b->event_owner = st;
        int r = loop_add_io(st->loop, fd, EPOLLPRI, on_trigger, b, &b->event);
        if (r < 0) {
                close(fd);
                b->event_fd = -1;
        }
        return r;
}

const struct source_ops psi_source = {
        .open = psi_open,
        .close = psi_close,
        .read = psi_read,
        .reference = psi_reference,
        .arm = psi_arm,
};
