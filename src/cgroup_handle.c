#include "cgroup_handle.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

struct place {
        enum cgroup_hier hier;
        const char *name;
};

/* Where each file is, v2 first. */
static const struct place places[_CGF_MAX][2] = {
        [CGF_MEMORY_USAGE] = { { CG_UNIFIED, "memory.current" }, { CG_MEMORY, "memory.usage_in_bytes" } },
        [CGF_MEMORY_STAT] = { { CG_UNIFIED, "memory.stat" }, { CG_MEMORY, "memory.stat" } },
        [CGF_MEMORY_OOM] = { { CG_UNIFIED, "memory.events" }, { CG_MEMORY, "memory.oom_control" } },
        /* v1's cpuacct is the hybrid host's accounting; v2's cpu.stat
         * counts too, but for v2 membership. */
        [CGF_CPU_USAGE] = { { CG_CPUACCT, "cpuacct.usage" }, { CG_UNIFIED, "cpu.stat" } },
        [CGF_CPU_STAT] = { { CG_CPU, "cpu.stat" }, { CG_UNIFIED, "cpu.stat" } },
        [CGF_PIDS_CURRENT] = { { CG_UNIFIED, "pids.current" }, { CG_PIDS, "pids.current" } },
        [CGF_PROCS] = { { CG_MEMORY, "cgroup.procs" }, { CG_UNIFIED, "cgroup.procs" } },
        [CGF_PSI_CPU] = { { CG_UNIFIED, "cpu.pressure" } },
        [CGF_PSI_MEMORY] = { { CG_UNIFIED, "memory.pressure" } },
        [CGF_PSI_IO] = { { CG_UNIFIED, "io.pressure" } },
};

int cgroup_handle_open(const struct cgroup_mounts *m, struct cgroup_paths *paths, struct cgroup_handle *ret) {
        struct cgroup_handle h = { .paths = *paths };
        *paths = (struct cgroup_paths) {};
        for (int f = 0; f < _CGF_MAX; f++)
                h.file[f] = -1;
        uint64_t id = CGROUP_ID_SEED;
        bool any = false;
        for (int i = 0; i < _CG_HIER_MAX; i++) {
                h.dir[i] = -1;
                if (!m->path[i] || !h.paths.path[i])
                        continue;
                _cleanup_free_ char *dir = NULL;
                if (asprintf(&dir, "%s%s", m->path[i], h.paths.path[i]) < 0)
                        continue;
                h.dir[i] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                struct stat st;
                if (h.dir[i] < 0 || fstat(h.dir[i], &st) < 0)
                        continue;
                id = cgroup_id_step(id, (enum cgroup_hier) i, st.st_ino);
                any = true;
        }
        if (!any) {
                cgroup_handle_close(&h);
                return -ENOENT;
        }
        h.id = id;
        *ret = h;
        return 0;
}

void cgroup_handle_close(struct cgroup_handle *h) {
        for (int i = 0; i < _CG_HIER_MAX; i++)
                if (h->dir[i] >= 0)
                        close(h->dir[i]);
        for (int f = 0; f < _CGF_MAX; f++)
                if (h->file[f] >= 0)
                        close(h->file[f]);
        cgroup_paths_free(&h->paths);
}

bool cgroup_handle_exists(const struct cgroup_handle *h) {
        for (int i = 0; i < _CG_HIER_MAX; i++)
                if (h->dir[i] >= 0)
                        return faccessat(h->dir[i], "cgroup.procs", F_OK, 0) == 0;
        return false;
}

int cgroup_handle_path_fd(const struct cgroup_handle *h, enum cgroup_file f, int *ret_dir_fd,
                          const char **ret_name) {
        for (size_t i = 0; i < ELEMENTSOF(places[f]) && places[f][i].name; i++) {
                const struct place *p = &places[f][i];
                struct stat st;
                if (h->dir[p->hier] >= 0 && fstatat(h->dir[p->hier], p->name, &st, 0) == 0) {
                        *ret_dir_fd = h->dir[p->hier];
                        *ret_name = p->name;
                        return 0;
                }
        }
        return -ENOENT;
}

static int open_file(struct cgroup_handle *h, enum cgroup_file f) {
        for (size_t i = 0; i < ELEMENTSOF(places[f]) && places[f][i].name; i++) {
                const struct place *p = &places[f][i];
                if (h->dir[p->hier] < 0)
                        continue;
                int fd = openat(h->dir[p->hier], p->name, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        h->file[f] = fd;
                        h->file_hier[f] = p->hier;
                        return 0;
                }
                if (errno != ENOENT)
                        return negative_errno();
                /* A removed cgroup is not "no such file". */
                if (!cgroup_handle_exists(h))
                        return -ENODEV;
        }
        h->file[f] = -2;
        return -ENOENT;
}

int cgroup_handle_read(struct cgroup_handle *h, enum cgroup_file f, char *buf, size_t size,
                       enum cgroup_hier *ret_hier) {
        if (h->file[f] == -2)
                return -ENOENT;
        if (h->file[f] == -1) {
                int r = open_file(h, f);
                if (r < 0)
                        return r;
        }
        int r = cgroup_pread(h->file[f], buf, size);
        if (r < 0)
                return r;
        if (ret_hier)
                *ret_hier = h->file_hier[f];
        return 0;
}
