/* Rule files: the schema of DESIGN.md, loaded from YAML into rule structs.
 * Every problem is reported with its position, all in one pass. */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <sys/types.h>

#include "diag.h"
#include "engine.h"
#include "metric.h"
#include "util.h"

enum action_kind {
        ACTION_CORE,
        ACTION_STACKS,
        ACTION_EXEC,
        ACTION_SIGNAL,
        ACTION_PROFILE,
        ACTION_JVM_THREADDUMP,
        ACTION_JVM_HEAPDUMP,
        ACTION_JVM_JCMD,
        ACTION_GO_GOROUTINES,
        ACTION_GO_HEAP,
        ACTION_GO_PROFILE,
        ACTION_DOTNET_DUMP,
        ACTION_DOTNET_TRACE,
        _ACTION_MAX,
};

/* How `core` writes: from a copy-on-write snapshot forked from the target
 * (stopped for the fork alone; the stop writer when that cannot be), from
 * the target held stopped all along, or by gdb's gcore. */
enum core_via { CORE_VIA_SNAPSHOT, CORE_VIA_STOP, CORE_VIA_GCORE };

struct action {
        enum action_kind kind;
        char **argv;            /* exec: NULL-terminated, placeholders unexpanded */
        usec_t timeout;         /* exec: 0 = the collection's own timeout */
        int signo;              /* signal */
        enum core_via core_via; /* core: {via: …} */
        bool compress_zstd;     /* core: {compress: zstd} */
        bool filter_set;        /* core: {filter: 0x33}, else the process's coredump_filter */
        unsigned filter;
        usec_t duration;        /* profile, go.profile, dotnet.trace: 0 = 10s */
        unsigned frequency;     /* profile: Hz, 0 = 99 */
        char *jcmd;             /* jvm.jcmd: the command and its arguments, as jcmd takes them */
        unsigned dotnet_dump_type;      /* dotnet.dump: enum dotnet_dump_type, 0 = heap */
        char **providers;       /* dotnet.trace: "Name[:keywords[:level]]"s; NULL: CPU sampling */
};

struct target_match {
        bool any;               /* no `target` key: the default targets of the mode */
        bool has_self, self;
        bool has_pid;
        pid_t pid;
        char *comm;
        char *cmdline;
        regex_t cmdline_re;
        bool has_user;
        uid_t uid;
        char *cgroup;           /* a cgroup path: that cgroup is the target */
        char *unit;             /* a systemd unit: its cgroup is the target */
        bool recursive;         /* and every cgroup below it, each its own */
};

enum rule_event {
        RULE_EVENT_NONE,        /* a sampled rule: metric and when */
        RULE_EVENT_CRASH,       /* event: crash */
};

struct rule {
        char *name;
        char *file;
        int line, column;       /* of the rule in its file */
        struct target_match target;
        enum rule_event event;
        enum metric metric;
        struct condition cond;
        usec_t interval;
        unsigned window;
        struct action *actions;
        size_t n_actions;
        struct action on_complete;      /* run once the artifact is in place; argv NULL: none */
        char *go_pprof;         /* go: {pprof: HOST:PORT}; NULL: found from the target's sockets */
        bool pick_all;          /* cgroup rules: process actions on every process, not the leader */
        unsigned pick_max;      /* with pick_all: at most this many */
};

/* Whether the rule watches cgroups: a cgroup or unit target, or a cgroup
 * metric (then of the cgroups of the processes it selects). */
bool rule_watches_cgroups(const struct rule *r);

struct rule_set {
        struct rule *rules;     /* sampled rules */
        size_t n, cap;
        struct rule *crash;     /* event: crash rules, apart: nothing samples them */
        size_t n_crash;
        size_t *by_name;        /* open addressing: index + 1 of a rule, 0 = free */
        size_t by_name_cap;     /* a power of two, over twice n */
};

/* Adds the rules of one YAML text to `set`. Returns -EINVAL when any
 * diagnostic was added (the set then holds only the valid rules). */
int rules_load_text(struct rule_set *set, const char *file, const char *text, size_t len,
                    struct diags *diags);
/* A file, or a directory's *.yaml / *.yml in name order. */
int rules_load_path(struct rule_set *set, const char *path, struct diags *diags);
/* The built-in rules/default.yaml. */
int rules_load_default(struct rule_set *set, struct diags *diags);
void rule_set_free(struct rule_set *set);

/* The greatest common divisor of all rule intervals: the sampling tick. */
usec_t rule_set_tick(const struct rule_set *set);

const char *action_kind_to_string(enum action_kind k);
/* snapshot, stop (or native, its old name), gcore; -ENOENT if none. */
int core_via_from_name(const char *name, enum core_via *ret);
/* The action called `name`; -ENOENT if there is none. */
int action_from_name(const char *name, enum action_kind *ret);
/* A command given on one line ("/usr/bin/ship {dir}", the config's
 * on_complete): split at blanks, no shell, no quoting. -EINVAL if empty or
 * not an absolute path. */
int action_from_command_line(const char *line, usec_t timeout, struct action *ret);
/* Frees what an action holds. */
void action_clear(struct action *a);
