#include "perfmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util.h"

static int by_start(const void *a, const void *b) {
        const struct jit_symbol *x = a, *y = b;
        if (x->start != y->start)
                return x->start < y->start ? -1 : 1;
        /* Same start: keep the order of the lines (the later wins below). */
        return x < y ? -1 : x > y;
}

int perf_map_parse(const char *text, struct perf_map *ret) {
        struct perf_map m = {};
        size_t cap = 0;
        for (const char *line = text; *line;) {
                const char *eol = strchr(line, '\n');
                size_t len = eol ? (size_t) (eol - line) : strlen(line);
                char *end1, *end2;
                unsigned long long start = strtoull(line, &end1, 16), size = strtoull(end1, &end2, 16);
                const char *name = end2 + (*end2 == ' ');
                if (end1 != line && *end1 == ' ' && end2 != end1 + 1 && name < line + len && size > 0) {
                        if (m.n == cap) {
                                struct jit_symbol *s = realloc(m.syms, (cap = cap ? 2 * cap : 256) * sizeof *s);
                                if (!s) {
                                        perf_map_free(&m);
                                        return -ENOMEM;
                                }
                                m.syms = s;
                        }
                        char *copy = strndup(name, (size_t) (line + len - name));
                        if (!copy) {
                                perf_map_free(&m);
                                return -ENOMEM;
                        }
                        m.syms[m.n++] = (struct jit_symbol) { start, size, copy };
                }
                line += len + (eol ? 1 : 0);
        }
        if (m.n)        /* qsort takes no NULL, even for nothing */
                qsort(m.syms, m.n, sizeof *m.syms, by_start);
        /* Code a JIT generated again at the same place: the last line. */
        size_t k = 0;
        for (size_t i = 0; i < m.n; i++) {
                if (k > 0 && m.syms[k - 1].start == m.syms[i].start) {
                        free(m.syms[k - 1].name);
                        m.syms[k - 1] = m.syms[i];
                } else
                        m.syms[k++] = m.syms[i];
        }
        m.n = k;
        *ret = m;
        return 0;
}

/* The process's pid in its own namespace: the last of NSpid's. */
static pid_t namespace_pid(int proc_fd, pid_t pid) {
        char path[64];
        snprintf(path, sizeof path, "%d/status", (int) pid);
        _cleanup_free_ char *status = NULL;
        if (read_file_at(proc_fd, path, 64 << 10, &status, NULL) < 0)
                return pid;
        const char *ns = strstr(status, "\nNSpid:");
        if (!ns)
                return pid;
        pid_t last = pid;
        for (char *p = (char *) ns + 7, *end; *p && *p != '\n'; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                last = (pid_t) v;
        }
        return last;
}

int perf_map_load(int proc_fd, pid_t pid, struct perf_map *ret) {
        char path[96];
        snprintf(path, sizeof path, "%d/root/tmp/perf-%d.map", (int) pid, (int) namespace_pid(proc_fd, pid));
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(proc_fd, path, 256 << 20, &text, NULL);
        if (r == -ENOENT) {
                *ret = (struct perf_map) {};
                return 0;
        }
        return r < 0 ? r : perf_map_parse(text, ret);
}

const struct jit_symbol *perf_map_find(const struct perf_map *m, uint64_t addr) {
        size_t lo = 0, hi = m->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (m->syms[mid].start <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == 0)
                return NULL;
        const struct jit_symbol *s = &m->syms[lo - 1];
        return addr - s->start < s->size ? s : NULL;
}

void perf_map_free(struct perf_map *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->syms[i].name);
        free(m->syms);
        *m = (struct perf_map) {};
}
