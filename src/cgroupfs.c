#include "cgroupfs.h"

#include <fcntl.h>
#include <libcgroup.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static const char *const hier_names[_CG_HIER_MAX] = {
        [CG_UNIFIED] = "unified", [CG_MEMORY] = "memory", [CG_CPU] = "cpu",
        [CG_CPUACCT] = "cpuacct", [CG_PIDS] = "pids",
};

const char *cgroup_hier_name(enum cgroup_hier h) {
        return hier_names[h];
}

/* libcgroup 2.0.2 names no mount for the v2 hierarchy of a hybrid host:
 * the mount table does. */
static char *find_cgroup2_mount(void) {
        FILE *f = setmntent("/proc/self/mounts", "re");
        if (!f)
                return NULL;
        char *path = NULL;
        struct mntent *m;
        while (!path && (m = getmntent(f)))
                if (strcmp(m->mnt_type, "cgroup2") == 0)
                        path = strdup(m->mnt_dir);
        endmntent(f);
        return path;
}

int cgroup_mounts_discover(struct cgroup_mounts *ret) {
        struct cgroup_mounts m = {};
        m.path[CG_UNIFIED] = find_cgroup2_mount();
        if (cgroup_init() == 0)
                for (int h = CG_MEMORY; h < _CG_HIER_MAX; h++) {
                        char *mp = NULL;
                        if (cgroup_get_subsys_mount_point(hier_names[h], &mp) != 0)
                                continue;
                        /* On a pure v2 host a controller "mount" is the
                         * unified one: its files are v2's, read there. */
                        if (m.path[CG_UNIFIED] && strcmp(mp, m.path[CG_UNIFIED]) == 0)
                                free(mp);
                        else
                                m.path[h] = mp;
                }
        if (!cgroup_mounts_any(&m))
                return -ENOENT;
        *ret = m;
        return 0;
}

int cgroup_mounts_at(const char *root, struct cgroup_mounts *ret) {
        struct cgroup_mounts m = {};
        for (int h = 0; h < _CG_HIER_MAX; h++) {
                char *p;
                struct stat st;
                if (asprintf(&p, "%s/%s", root, hier_names[h]) < 0) {
                        cgroup_mounts_free(&m);
                        return -ENOMEM;
                }
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        m.path[h] = p;
                else
                        free(p);
        }
        if (!cgroup_mounts_any(&m))
                return -ENOENT;
        *ret = m;
        return 0;
}

void cgroup_mounts_free(struct cgroup_mounts *m) {
        for (int h = 0; h < _CG_HIER_MAX; h++)
                free(m->path[h]);
        *m = (struct cgroup_mounts) {};
}

bool cgroup_mounts_any(const struct cgroup_mounts *m) {
        for (int h = 0; h < _CG_HIER_MAX; h++)
                if (m->path[h])
                        return true;
        return false;
}

/* The hierarchies a v1 line's controller list names ("cpu,cpuacct"). */
static int set_v1_paths(struct cgroup_paths *p, const char *controllers, size_t len, const char *path) {
        for (int h = CG_MEMORY; h < _CG_HIER_MAX; h++) {
                size_t n = strlen(hier_names[h]);
                for (const char *c = controllers; c < controllers + len;) {
                        const char *end = memchr(c, ',', (size_t) (controllers + len - c));
                        size_t clen = end ? (size_t) (end - c) : (size_t) (controllers + len - c);
                        if (clen == n && memcmp(c, hier_names[h], n) == 0 && !p->path[h] &&
                            !(p->path[h] = strdup(path)))
                                return -ENOMEM;
                        c += clen + 1;
                }
        }
        return 0;
}

int cgroup_parse_proc(const char *text, struct cgroup_paths *ret, bool *ret_deleted) {
        struct cgroup_paths p = {};
        bool deleted = false;
        for (const char *line = text; *line;) {
                const char *eol = strchr(line, '\n');
                size_t len = eol ? (size_t) (eol - line) : strlen(line);
                const char *c1 = memchr(line, ':', len);
                const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t) (c1 + 1 - line)) : NULL;
                if (c2) {
                        _cleanup_free_ char *path = strndup(c2 + 1, len - (size_t) (c2 + 1 - line));
                        if (!path) {
                                cgroup_paths_free(&p);
                                return -ENOMEM;
                        }
                        size_t plen = strlen(path);
                        static const char suffix[] = " (deleted)";
                        if (plen >= sizeof suffix - 1 && strcmp(path + plen - (sizeof suffix - 1), suffix) == 0) {
                                path[plen - (sizeof suffix - 1)] = 0;
                                deleted = true;
                        }
                        bool v2 = c1 == line + 1 && line[0] == '0' && c2 == c1 + 1;
                        int r = 0;
                        if (v2 && !p.path[CG_UNIFIED])
                                r = (p.path[CG_UNIFIED] = strdup(path)) ? 0 : -ENOMEM;
                        else if (!v2)
                                r = set_v1_paths(&p, c1 + 1, (size_t) (c2 - c1 - 1), path);
                        if (r < 0) {
                                cgroup_paths_free(&p);
                                return r;
                        }
                }
                line += len + (eol ? 1 : 0);
        }
        *ret = p;
        if (ret_deleted)
                *ret_deleted = deleted;
        return 0;
}

int cgroup_paths_same(const char *path, struct cgroup_paths *ret) {
        struct cgroup_paths p = {};
        for (int h = 0; h < _CG_HIER_MAX; h++)
                if (!(p.path[h] = strdup(path))) {
                        cgroup_paths_free(&p);
                        return -ENOMEM;
                }
        *ret = p;
        return 0;
}

void cgroup_paths_free(struct cgroup_paths *p) {
        for (int h = 0; h < _CG_HIER_MAX; h++)
                free(p->path[h]);
        *p = (struct cgroup_paths) {};
}

const char *cgroup_paths_name(const struct cgroup_paths *p) {
        for (int h = 0; h < _CG_HIER_MAX; h++)
                if (p->path[h] && strcmp(p->path[h], "/") != 0)
                        return p->path[h];
        return "/";
}

int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret) {
        size_t n = strlen(key);
        for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
                if (strncmp(line, key, n) == 0 && line[n] == ' ') {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(line + n + 1, &end, 10);
                        if (errno || end == line + n + 1)
                                return -EINVAL;
                        *ret = v;
                        return 0;
                }
        return -ENOENT;
}

/* v1 says "no limit" with its page counter's maximum, a little below
 * 2^63 (rounded to pages). */
static uint64_t unlimited_as_zero(uint64_t v) {
        return v >= (UINT64_C(1) << 62) ? 0 : v;
}

int cgroup_parse_limit(const char *text, uint64_t *ret) {
        if (strncmp(text, "max", 3) == 0) {
                *ret = 0;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || end == text)
                return -EINVAL;
        *ret = unlimited_as_zero(v);
        return 0;
}

int cgroup_parse_psi_avg10(const char *text, const char *line, double *ret) {
        size_t n = strlen(line);
        for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
                if (strncmp(l, line, n) == 0 && strncmp(l + n, " avg10=", 7) == 0) {
                        char *end;
                        double v = strtod(l + n + 7, &end);
                        if (end == l + n + 7)
                                return -EINVAL;
                        *ret = v;
                        return 0;
                }
        return -ENOENT;
}

int cgroup_read_at(int dir_fd, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return cgroup_pread(fd, buf, size);
}

int cgroup_pread(int fd, char *buf, size_t size) {
        ssize_t n = pread(fd, buf, size - 1, 0);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        return 0;
}

/* v2: memory.max on the path and every ancestor below the root (the root
 * has none); the smallest set one wins. */
static int unified_memory_limit(const char *mount, const char *path, uint64_t *ret) {
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s%s", mount, path) < 0)
                return -ENOMEM;
        uint64_t best = 0;
        bool found = false;
        for (;;) {
                char buf[64];
                _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                uint64_t v;
                if (fd >= 0 && cgroup_read_at(fd, "memory.max", buf, sizeof buf) == 0 &&
                    cgroup_parse_limit(buf, &v) == 0) {
                        found = true;
                        if (v && (!best || v < best))
                                best = v;
                }
                char *slash = strrchr(dir, '/');
                if (!slash || (size_t) (slash - dir) < strlen(mount))
                        break;
                *slash = 0;
        }
        if (!found)
                return -ENOENT;
        *ret = best;
        return 0;
}

int cgroup_memory_limit(const struct cgroup_mounts *m, const struct cgroup_paths *p, uint64_t *ret) {
        if (m->path[CG_MEMORY] && p->path[CG_MEMORY]) {
                _cleanup_free_ char *dir = NULL;
                if (asprintf(&dir, "%s%s", m->path[CG_MEMORY], p->path[CG_MEMORY]) < 0)
                        return -ENOMEM;
                _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                char buf[8192];
                uint64_t v;
                if (fd >= 0 && cgroup_read_at(fd, "memory.stat", buf, sizeof buf) == 0 &&
                    cgroup_parse_keyed(buf, "hierarchical_memory_limit", &v) == 0) {
                        *ret = unlimited_as_zero(v);
                        return 0;
                }
        }
        if (m->path[CG_UNIFIED] && p->path[CG_UNIFIED])
                return unified_memory_limit(m->path[CG_UNIFIED], p->path[CG_UNIFIED], ret);
        return -ENOENT;
}

int cgroup_memory_usage(const struct cgroup_mounts *m, const struct cgroup_paths *p, uint64_t *ret) {
        /* v1's counter where the memory controller is v1, else v2's. */
        bool v1 = m->path[CG_MEMORY] && p->path[CG_MEMORY];
        if (!v1 && !(m->path[CG_UNIFIED] && p->path[CG_UNIFIED]))
                return -ENOENT;
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s%s", v1 ? m->path[CG_MEMORY] : m->path[CG_UNIFIED],
                     v1 ? p->path[CG_MEMORY] : p->path[CG_UNIFIED]) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char buf[64];
        if (fd < 0)
                return -errno;
        int r = cgroup_read_at(fd, v1 ? "memory.usage_in_bytes" : "memory.current", buf, sizeof buf);
        if (r < 0)
                return r;
        *ret = strtoull(buf, NULL, 10);
        return 0;
}
