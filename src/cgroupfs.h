/* The cgroup filesystems: where each hierarchy is mounted (v1 controllers
 * through libcgroup, the v2 unified mount from the mount table), which
 * cgroup a process is in (parsed from /proc/PID/cgroup by hand: Debian's
 * libcgroup 2.0.2 mis-parses v2 "0::" lines, its issue #335), and parsers
 * for the files' formats. Readers take the mounts from a struct, so tests
 * point them at a fixture tree. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The hierarchies autodump reads. On a pure v2 host only UNIFIED exists
 * and holds every controller; a hybrid host (this project's CI) has v1
 * memory, cpu, cpuacct and pids beside a v2 mount with PSI files. */
enum cgroup_hier { CG_UNIFIED, CG_MEMORY, CG_CPU, CG_CPUACCT, CG_PIDS, _CG_HIER_MAX };

struct cgroup_mounts {
        char *path[_CG_HIER_MAX];       /* NULL where not mounted */
};

/* The host's mounts. -ENOENT if no cgroup hierarchy autodump reads is
 * mounted. */
int cgroup_mounts_discover(struct cgroup_mounts *ret);
/* A fixture tree: ROOT/unified, ROOT/memory, ROOT/cpu, ROOT/cpuacct and
 * ROOT/pids, each where it exists. */
int cgroup_mounts_at(const char *root, struct cgroup_mounts *ret);
void cgroup_mounts_free(struct cgroup_mounts *m);
bool cgroup_mounts_any(const struct cgroup_mounts *m);
const char *cgroup_hier_name(enum cgroup_hier h);

/* A cgroup as a path in each hierarchy ("/" for the root). */
struct cgroup_paths {
        char *path[_CG_HIER_MAX];       /* NULL: no line for that hierarchy */
};

/* Parses the text of /proc/PID/cgroup: "ID:CONTROLLERS:PATH" lines, v1
 * ("4:memory:/a", "1:cpu,cpuacct:/b"), v2 ("0::/c") or both. A cgroup
 * removed while the process was in it reads as "/x (deleted)": the suffix
 * is dropped and *ret_deleted says so. */
int cgroup_parse_proc(const char *text, struct cgroup_paths *ret, bool *ret_deleted);
/* The same path in every hierarchy, for `cgroup: PATH` rules. */
int cgroup_paths_same(const char *path, struct cgroup_paths *ret);
void cgroup_paths_free(struct cgroup_paths *p);
/* The path people know the cgroup by: the first that is not the root, in
 * hierarchy order, else "/". */
const char *cgroup_paths_name(const struct cgroup_paths *p);

/* A cgroup's identity: its directories' inodes, hashed in hierarchy
 * order. A cgroup removed and made again gets new inodes. */
#define CGROUP_ID_SEED UINT64_C(14695981039346656037)
static inline uint64_t cgroup_id_step(uint64_t id, enum cgroup_hier h, uint64_t ino) {
        return (id ^ (ino + (uint64_t) h)) * UINT64_C(1099511628211);
}

/* "KEY VALUE" lines (memory.stat, cpu.stat, memory.events,
 * memory.oom_control): the value of `key`; -ENOENT if absent. */
int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* A limit file (memory.max, memory.limit_in_bytes, pids.max): *ret is 0
 * for "max" or v1's "unlimited" (a page counter's maximum). */
int cgroup_parse_limit(const char *text, uint64_t *ret);
/* A PSI file ("some avg10=1.23 …" / "full …"): avg10 of `line` ("some" or
 * "full"), in %. */
int cgroup_parse_psi_avg10(const char *text, const char *line, double *ret);

/* Reads a small cgroup file at dirfd/name into buf (NUL-terminated). */
int cgroup_read_at(int dir_fd, const char *name, char *buf, size_t size);
/* pread of a kept-open file from offset 0 (NUL-terminated). -ENODEV
 * (as the kernel says) once the cgroup is removed. */
int cgroup_pread(int fd, char *buf, size_t size);

/* The memory limit that applies to a cgroup: v2, the smallest memory.max
 * on its path up to the root; v1, memory.stat's hierarchical_memory_limit.
 * 0 if none. */
int cgroup_memory_limit(const struct cgroup_mounts *m, const struct cgroup_paths *p, uint64_t *ret);
/* The memory a cgroup uses now (v1 memory.usage_in_bytes, v2
 * memory.current). */
int cgroup_memory_usage(const struct cgroup_mounts *m, const struct cgroup_paths *p, uint64_t *ret);
