#include "cgroup_discovery.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

int cgroup_paths_id(const struct cgroup_mounts *m, const struct cgroup_paths *p, uint64_t *ret) {
        uint64_t id = CGROUP_ID_SEED;
        bool any = false;
        for (int i = 0; i < _CG_HIER_MAX; i++) {
                if (!m->path[i] || !p->path[i])
                        continue;
                _cleanup_free_ char *dir = NULL;
                struct stat st;
                if (asprintf(&dir, "%s%s", m->path[i], p->path[i]) < 0)
                        return -ENOMEM;
                if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                id = cgroup_id_step(id, (enum cgroup_hier) i, st.st_ino);
                any = true;
        }
        if (!any)
                return -ENOENT;
        *ret = id;
        return 0;
}

int cgroup_of_process(const struct proc_root *proc, pid_t pid, struct cgroup_paths *ret) {
        char path[32];
        snprintf(path, sizeof path, "%d/cgroup", (int) pid);
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(proc->fd, path, 64 << 10, &text, NULL);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        return cgroup_parse_proc(text, ret, NULL);
}

/* The first hierarchy a path can be walked in. */
static int walk_root(const struct cgroup_mounts *m) {
        for (int i = 0; i < _CG_HIER_MAX; i++)
                if (m->path[i])
                        return i;
        return -1;
}

/* Finds `name` below `dir` (a path in hierarchy h), at most `depth` levels
 * down: a user unit sits at /user.slice/user-1000.slice/user@1000.service/
 * app.slice/NAME. */
static char *find_below(const struct cgroup_mounts *m, int h, const char *dir, const char *name, int depth) {
        _cleanup_free_ char *full = NULL;
        if (depth < 0 || asprintf(&full, "%s%s", m->path[h], dir) < 0)
                return NULL;
        _cleanup_closedir_ DIR *d = opendir(full);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                char *sub;
                if (asprintf(&sub, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, de->d_name) < 0)
                        return NULL;
                if (strcmp(de->d_name, name) == 0)
                        return sub;
                char *found = find_below(m, h, sub, name, depth - 1);
                free(sub);
                if (found)
                        return found;
        }
        return NULL;
}

/* A unit's cgroup path: a system unit under /system.slice, else a user's
 * under /user.slice. */
static char *unit_path(const struct cgroup_mounts *m, const char *unit) {
        int h = walk_root(m);
        if (h < 0)
                return NULL;
        char *path;
        struct stat st;
        if (asprintf(&path, "/system.slice/%s", unit) < 0)
                return NULL;
        _cleanup_free_ char *full = NULL;
        if (asprintf(&full, "%s%s", m->path[h], path) >= 0 && stat(full, &st) == 0)
                return path;
        free(path);
        return find_below(m, h, "/user.slice", unit, 5);
}

/* Every cgroup below `path` (recursive targets): each its own target. */
static void add_below(struct cgroup_discovery *d, int h, const char *path, const struct rule **rules, size_t n,
                      int depth) {
        _cleanup_free_ char *full = NULL;
        if (depth > 32 || asprintf(&full, "%s%s", d->mounts->path[h], path) < 0)
                return;
        _cleanup_closedir_ DIR *dir = opendir(full);
        struct dirent *de;
        while (dir && (de = readdir(dir))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *sub = NULL;
                if (asprintf(&sub, "%s/%s", strcmp(path, "/") == 0 ? "" : path, de->d_name) < 0)
                        return;
                struct cgroup_paths paths;
                uint64_t id;
                if (cgroup_paths_same(sub, &paths) < 0)
                        return;
                if (cgroup_paths_id(d->mounts, &paths, &id) == 0)
                        d->found(&paths, id, rules, n, d->userdata);
                cgroup_paths_free(&paths);
                add_below(d, h, sub, rules, n, depth + 1);
        }
}

/* Whether rules a and b name the same cgroups. */
static bool same_cgroups(const struct target_match *a, const struct target_match *b) {
        return a->recursive == b->recursive && ((a->cgroup && b->cgroup && strcmp(a->cgroup, b->cgroup) == 0) ||
                                                (a->unit && b->unit && strcmp(a->unit, b->unit) == 0));
}

/* Resolves rule i's cgroups once for it and every later rule naming the
 * same ones (marked done): a scan looks at each cgroup once, whatever the
 * number of rules on it. */
static void resolve(struct cgroup_discovery *d, size_t i, bool *done, const struct rule **group) {
        const struct rule *rule = &d->rules->rules[i];
        const struct target_match *t = &rule->target;
        size_t n = 0;
        for (size_t j = i; j < d->rules->n; j++)
                if (!done[j] && same_cgroups(t, &d->rules->rules[j].target)) {
                        done[j] = true;
                        group[n++] = &d->rules->rules[j];
                }
        _cleanup_free_ char *path = t->unit ? unit_path(d->mounts, t->unit) : strdup(t->cgroup);
        struct cgroup_paths paths = {};
        uint64_t id;
        if (!path || cgroup_paths_same(path, &paths) < 0 || cgroup_paths_id(d->mounts, &paths, &id) < 0) {
                if (!d->warned[i])
                        log_warning("%s:%d: rule %s: %s %s does not exist (yet); the rule waits for it", rule->file,
                                    rule->line, rule->name, t->unit ? "unit" : "cgroup", t->unit ? t->unit : t->cgroup);
                d->warned[i] = true;
                cgroup_paths_free(&paths);
                return;
        }
        d->warned[i] = false;
        d->found(&paths, id, group, n, d->userdata);
        cgroup_paths_free(&paths);
        if (t->recursive)
                add_below(d, walk_root(d->mounts), path, group, n, 0);
}

int cgroup_discovery_scan(struct cgroup_discovery *d) {
        if (!d->warned && !(d->warned = calloc(d->rules->n + 1, sizeof *d->warned)))
                return -ENOMEM;
        _cleanup_free_ bool *done = calloc(d->rules->n + 1, sizeof *done);
        _cleanup_free_ const struct rule **group = calloc(d->rules->n + 1, sizeof *group);
        if (!done || !group)
                return -ENOMEM;
        for (size_t i = 0; i < d->rules->n; i++) {
                const struct target_match *t = &d->rules->rules[i].target;
                if ((t->cgroup || t->unit) && !done[i])
                        resolve(d, i, done, group);
        }
        return 0;
}

void cgroup_discovery_done(struct cgroup_discovery *d) {
        free(d->warned);
        d->warned = NULL;
}
