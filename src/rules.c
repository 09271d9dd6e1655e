#include "rules.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

#include "ere.h"
#include "rule_actions.h"
#include "rule_metric.h"
#include "rule_when.h"
#include "schema.h"
#include "units.h"

extern const char default_rules_yaml[];

struct timing {
        usec_t interval;
        unsigned window;
        usec_t cooldown;
        unsigned max;
};

/* What a rule gets when neither the rule nor its file's `defaults` say. */
static const struct timing builtin_timing = {
        .interval = USEC_PER_SEC, .window = 10, .cooldown = 5 * 60 * USEC_PER_SEC, .max = 3,
};

/* Bounds that keep a rule's cost per target in reason: every target keeps
 * a ring of twice the window, and `check` must refuse what would fail on
 * every target later. */
#define WINDOW_MAX 3600
#define COOLDOWN_MAX (30 * 86400 * USEC_PER_SEC)

static void parse_timing(struct schema_ctx *c, const struct ynode *map, struct timing *t) {
        const struct ynode *v;
        if ((v = schema_get(map, "interval")) && schema_duration(c, v, "interval", &t->interval)) {
                if (t->interval < 10 * USEC_PER_MSEC)
                        schema_err(c, v, "interval: %s is below the 10ms minimum", v->scalar);
                else if (t->interval > RULE_DURATION_MAX)
                        schema_err(c, v, "interval: %s is more than the 1d maximum", v->scalar);
        }
        if ((v = schema_get(map, "window")) && schema_unsigned(c, v, "window", 1, &t->window) &&
            t->window > WINDOW_MAX)
                schema_err(c, v, "window: %s samples is more than the %d a window may hold (every target keeps "
                           "twice that)", v->scalar, WINDOW_MAX);
        if ((v = schema_get(map, "cooldown")) && schema_duration(c, v, "cooldown", &t->cooldown) &&
            t->cooldown > COOLDOWN_MAX)
                schema_err(c, v, "cooldown: %s is more than the 30d maximum", v->scalar);
        if ((v = schema_get(map, "max")) && schema_unsigned(c, v, "max", 0, &t->max) && t->max > RULE_COUNT_MAX)
                schema_err(c, v, "max: %s is more than %d firings; 0 means no limit", v->scalar, RULE_COUNT_MAX);
}

static void parse_defaults(struct schema_ctx *c, const struct ynode *n, struct timing *t) {
        static const char *const keys[] = { "interval", "window", "cooldown", "max", NULL };
        if (!schema_want(c, n, YNODE_MAP, "defaults"))
                return;
        schema_check_keys(c, n, "defaults", keys, NULL);
        parse_timing(c, n, t);
}

static bool valid_name(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!(islower((unsigned char) *s) || isdigit((unsigned char) *s) || strchr("_.-", *s)))
                        return false;
        return true;
}

/* cgroup, unit and recursive: a target that is a cgroup rather than the
 * processes a match selects. */
static void parse_cgroup_target(struct schema_ctx *c, const struct ynode *n, struct target_match *t) {
        const struct ynode *v;
        if ((v = schema_get(n, "cgroup")) && schema_want(c, v, YNODE_SCALAR, "cgroup")) {
                if (v->scalar[0] != '/' || strstr(v->scalar, "/../") || strstr(v->scalar, "/./"))
                        schema_err(c, v, "cgroup: '%s' must be a path from the hierarchy's root, such as "
                                   "/system.slice/nginx.service", v->scalar);
                else
                        t->cgroup = schema_strdup(c, v);
        }
        if ((v = schema_get(n, "unit")) && schema_want(c, v, YNODE_SCALAR, "unit")) {
                if (!*v->scalar || strchr(v->scalar, '/') || !strchr(v->scalar, '.'))
                        schema_err(c, v, "unit: '%s' is not a unit name, such as nginx.service", v->scalar);
                else
                        t->unit = schema_strdup(c, v);
        }
        if ((v = schema_get(n, "recursive")))
                schema_bool(c, v, "recursive", &t->recursive);
        if (schema_get(n, "cgroup") && schema_get(n, "unit"))
                schema_err(c, n, "target: give either cgroup or unit, not both");
        else if ((schema_get(n, "cgroup") || schema_get(n, "unit")) && n->n > 1 + (schema_get(n, "recursive") != NULL))
                schema_err(c, n, "target: a cgroup or unit target cannot also select processes "
                           "(self, pid, comm, cmdline, user)");
        if ((v = schema_get(n, "recursive")) && !schema_get(n, "cgroup") && !schema_get(n, "unit"))
                schema_err(c, v, "recursive goes with a cgroup or unit target");
}

static void parse_target(struct schema_ctx *c, const struct ynode *n, struct target_match *t) {
        static const char *const keys[] = {
                "self", "pid", "comm", "cmdline", "user", "cgroup", "unit", "recursive", NULL,
        };
        if (!schema_want(c, n, YNODE_MAP, "target"))
                return;
        schema_check_keys(c, n, "target", keys, NULL);
        if (n->n == 0)
                schema_err(c, n, "target is empty; leave it out to mean the mode's default targets");
        const struct ynode *v;
        if ((v = schema_get(n, "self")))
                t->has_self = schema_bool(c, v, "self", &t->self);
        if ((v = schema_get(n, "pid"))) {
                unsigned pid = 0;
                /* PID_MAX_LIMIT: a larger number is no process (and past
                 * INT_MAX, not even a pid_t). */
                if (schema_unsigned(c, v, "pid", 1, &pid) && pid > 4194304)
                        schema_err(c, v, "pid: %s is above the kernel's largest PID, 4194304", v->scalar);
                else if (pid) {
                        t->has_pid = true;
                        t->pid = (pid_t) pid;
                }
        }
        if ((v = schema_get(n, "comm")) && schema_want(c, v, YNODE_SCALAR, "comm")) {
                /* The kernel keeps 15 bytes of the name (TASK_COMM_LEN): a
                 * longer one could never match. */
                if (strlen(v->scalar) > 15 || !*v->scalar)
                        schema_err(c, v, "comm '%s' must be 1 to 15 characters, as the kernel stores it",
                            v->scalar);
                else
                        t->comm = schema_strdup(c, v);
        }
        if ((v = schema_get(n, "cmdline")) && schema_want(c, v, YNODE_SCALAR, "cmdline")) {
                char msg[256];
                int r = ere_compile_search(v->scalar, &t->cmdline_re, msg, sizeof msg);
                if (r == -E2BIG)
                        schema_err(c, v, "cmdline '%s' is %s", v->scalar, msg);
                else if (r < 0)
                        schema_err(c, v, "cmdline '%s' is not a POSIX extended regular expression: %s",
                            v->scalar, msg);
                else
                        t->cmdline = schema_strdup(c, v);
        }
        if ((v = schema_get(n, "user")) && schema_want(c, v, YNODE_SCALAR, "user")) {
                unsigned uid;
                struct passwd *pw = getpwnam(v->scalar);
                if (pw) {
                        t->has_user = true;
                        t->uid = pw->pw_uid;
                } else if (parse_unsigned(v->scalar, &uid) == 0) {
                        t->has_user = true;
                        t->uid = (uid_t) uid;
                } else
                        schema_err(c, v, "user '%s' does not exist on this host", v->scalar);
        }
        parse_cgroup_target(c, n, t);
}

bool rule_watches_cgroups(const struct rule *r) {
        return r->target.cgroup || r->target.unit || metric_info(r->metric)->scope == METRIC_OF_CGROUP;
}

/* Whether the metric is of what the target selects, and how a cgroup
 * rule's process actions pick their process. */
static void parse_scope(struct schema_ctx *c, const struct ynode *n, const struct metric_info *mi, struct rule *r) {
        const struct ynode *v;
        bool cgroup_target = r->target.cgroup || r->target.unit;
        if (mi && cgroup_target && mi->scope == METRIC_OF_PROCESS)
                schema_err(c, schema_get(n, "metric"), "metric '%s' is of a process; a cgroup or unit target "
                           "takes cgroup.* and psi.* metrics", mi->name);
        r->pick_max = 4;
        if ((v = schema_get(n, "pick")) && schema_want(c, v, YNODE_SCALAR, "pick")) {
                if (strcmp(v->scalar, "all") == 0)
                        r->pick_all = true;
                else if (strcmp(v->scalar, "leader") != 0)
                        schema_err(c, v, "pick: '%s' is neither 'leader' (the default) nor 'all'", v->scalar);
        }
        if ((v = schema_get(n, "pick_max")))
                schema_unsigned(c, v, "pick_max", 1, &r->pick_max);
        if ((v = schema_get(n, "pick") ? schema_get(n, "pick") : schema_get(n, "pick_max")) && mi &&
            mi->scope == METRIC_OF_PROCESS)
                schema_err(c, v, "pick: metric '%s' is of one process; pick is for cgroup rules", mi->name);
}

static void rule_free(struct rule *r) {
        free(r->name);
        free(r->file);
        free(r->target.comm);
        if (r->target.cmdline)
                regfree(&r->target.cmdline_re);
        free(r->target.cmdline);
        free(r->target.cgroup);
        free(r->target.unit);
        for (size_t i = 0; i < r->n_actions; i++)
                action_clear(&r->actions[i]);
        free(r->actions);
        action_clear(&r->on_complete);
        free(r->go_pprof);
}

static size_t name_hash(const char *name) {
        size_t h = 5381;
        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                h = h * 33 + *p;
        return h;
}

/* The slot of `name` in the index: its rule's, or the free one it would
 * take. Names are looked up once a rule, so loading is linear. */
static size_t *name_slot(const struct rule_set *set, const char *name) {
        for (size_t i = name_hash(name) & (set->by_name_cap - 1);; i = (i + 1) & (set->by_name_cap - 1)) {
                size_t *slot = &set->by_name[i];
                if (*slot == 0 || strcmp(set->rules[*slot - 1].name, name) == 0)
                        return slot;
        }
}

static const struct rule *find_rule(const struct rule_set *set, const char *name) {
        size_t *slot = set->by_name_cap ? name_slot(set, name) : NULL;
        if (slot && *slot)
                return &set->rules[*slot - 1];
        /* Event rules are few: a scan finds them. */
        for (size_t i = 0; i < set->n_crash; i++)
                if (strcmp(set->crash[i].name, name) == 0)
                        return &set->crash[i];
        return NULL;
}

/* Event rules are sampled by nothing: they live apart, so nothing that
 * binds, ticks or samples has to skip them. */
static void add_crash_rule(struct rule_set *set, const struct rule *r) {
        struct rule *rules = realloc(set->crash, (set->n_crash + 1) * sizeof *rules);
        if (!rules)
                abort();
        set->crash = rules;
        set->crash[set->n_crash++] = *r;
}

/* Appends r (taken over), growing the array and the index geometrically. */
static void add_rule(struct rule_set *set, const struct rule *r) {
        if (set->n == set->cap) {
                set->cap = set->cap ? 2 * set->cap : 16;
                struct rule *rules = realloc(set->rules, set->cap * sizeof *rules);
                if (!rules)
                        abort();
                set->rules = rules;
        }
        set->rules[set->n++] = *r;
        if (2 * set->n >= set->by_name_cap) {
                free(set->by_name);
                set->by_name_cap = set->by_name_cap ? 2 * set->by_name_cap : 64;
                if (!(set->by_name = calloc(set->by_name_cap, sizeof *set->by_name)))
                        abort();
                for (size_t i = 0; i < set->n; i++)
                        *name_slot(set, set->rules[i].name) = i + 1;
        } else
                *name_slot(set, r->name) = set->n;
}

/* `event: crash`: no metric, no condition, nothing sampled. */
static void parse_event(struct schema_ctx *c, const struct ynode *n, const struct ynode *event, struct rule *r) {
        static const char *const sampled_only[] = { "metric", "when", "interval", "window", "pick", "pick_max", NULL };
        if (!schema_want(c, event, YNODE_SCALAR, "event"))
                return;
        if (strcmp(event->scalar, "crash") != 0) {
                schema_err(c, event, "unknown event '%s' (the event is 'crash')", event->scalar);
                return;
        }
        r->event = RULE_EVENT_CRASH;
        for (const char *const *k = sampled_only; *k; k++) {
                const struct ynode *v = schema_get(n, *k);
                if (v)
                        schema_err(c, v, "'%s' is for sampled rules; an event rule fires when its event happens", *k);
        }
}

/* What can be done with a process held in its fatal signal: read it. It
 * will not live to be profiled, autodump holds its trace, so gdb cannot
 * attach, and a held JVM answers no attach request. */
static void check_crash_actions(struct schema_ctx *c, const struct ynode *actions, const struct rule *r) {
        for (size_t i = 0; i < r->n_actions; i++) {
                const struct action *a = &r->actions[i];
                if (a->kind != ACTION_CORE && a->kind != ACTION_STACKS && a->kind != ACTION_EXEC)
                        schema_err(c, actions, "%s: a crashing process is about to die; a crash rule takes core, "
                                   "stacks and exec", action_kind_to_string(a->kind));
                else if (a->kind == ACTION_CORE && a->core_via == CORE_VIA_GCORE)
                        schema_err(c, actions, "core: {via: gcore}: gdb cannot attach to a crashing process "
                                   "autodump holds; the native core writer can");
        }
}

static void parse_rule(struct schema_ctx *c, struct rule_set *set, const struct ynode *n,
                       const struct timing *defaults) {
        static const char *const keys[] = {
                "name", "target", "metric", "when", "event", "actions", "cooldown", "max", "interval",
                "window", "pick", "pick_max", "on_complete", "go", NULL,
        };
        if (!schema_want(c, n, YNODE_MAP, "a rule"))
                return;
        size_t errors_before = c->errors;
        schema_check_keys(c, n, "a rule", keys, NULL);

        struct rule r = { .line = n->line, .column = n->col, .target.any = true };
        const struct ynode *v = schema_get(n, "name");
        if (!v)
                schema_err(c, n, "rule has no 'name'");
        else if (schema_want(c, v, YNODE_SCALAR, "name")) {
                const struct rule *dup = find_rule(set, v->scalar);
                if (!valid_name(v->scalar))
                        schema_err(c, v, "name '%s' may use only a-z, 0-9, '_', '.' and '-'", v->scalar);
                else if (dup)
                        schema_err(c, v, "duplicate rule name '%s' (first at %s:%d)", v->scalar, dup->file,
                            dup->line);
                r.name = schema_strdup(c, v);
        }

        const struct metric_info *mi = NULL;
        const struct ynode *event = schema_get(n, "event");
        if (event)
                parse_event(c, n, event, &r);
        else if (!(v = schema_get(n, "metric")))
                schema_err(c, n, "rule has no 'metric' (or 'event')");
        else if (rule_parse_metric(c, v, &r.metric))
                mi = metric_info(r.metric);

        struct timing t = *defaults;
        parse_timing(c, n, &t);
        r.interval = t.interval;
        r.window = t.window;
        r.cond = (struct condition) { .for_samples = 1, .cooldown = t.cooldown, .max = t.max };

        if ((v = schema_get(n, "target"))) {
                r.target.any = false;
                parse_target(c, v, &r.target);
                if (r.event == RULE_EVENT_CRASH && (r.target.cgroup || r.target.unit))
                        schema_err(c, v, "a crash happens to a process: the target of an event rule selects "
                                   "processes, not a cgroup or unit");
        }
        /* An event has no condition: it happened. */
        if (event)
                ;
        else if (!(v = schema_get(n, "when")))
                schema_err(c, n, "rule has no 'when'");
        else
                rule_parse_when(c, v, mi, r.interval, &r.cond);
        if (!(v = schema_get(n, "actions")))
                schema_err(c, n, "rule has no 'actions'");
        else {
                rule_parse_actions(c, v, &r);
                if (r.event == RULE_EVENT_CRASH)
                        check_crash_actions(c, v, &r);
        }
        if ((v = schema_get(n, "on_complete")))
                rule_parse_command(c, v, "on_complete", &r.on_complete);
        if ((v = schema_get(n, "go")))
                rule_parse_go(c, v, &r);
        parse_scope(c, n, mi, &r);

        if (c->errors != errors_before || !r.name) {
                rule_free(&r);
                return;
        }
        if (!(r.file = strdup(c->file))) {
                schema_err(c, n, "out of memory");
                rule_free(&r);
                return;
        }
        if (r.event == RULE_EVENT_CRASH)
                add_crash_rule(set, &r);
        else
                add_rule(set, &r);
}

int rules_load_text(struct rule_set *set, const char *file, const char *text, size_t len,
                    struct diags *diags) {
        struct schema_ctx c = { .file = file, .diags = diags };
        struct ynode *root = NULL;
        int r = ynode_parse(file, text, len, diags, &root);
        if (r < 0)
                return r;
        if (!root) {
                diags_add(diags, file, 1, 1, "empty rule file: expected a mapping with 'rules'");
                return -EINVAL;
        }
        static const char *const keys[] = { "defaults", "rules", NULL };
        struct timing t = builtin_timing;
        if (schema_want(&c, root, YNODE_MAP, "a rule file")) {
                schema_check_keys(&c, root, "a rule file", keys, NULL);
                const struct ynode *v;
                if ((v = schema_get(root, "defaults")))
                        parse_defaults(&c, v, &t);
                if (!(v = schema_get(root, "rules")))
                        schema_err(&c, root, "rule file has no 'rules' list");
                else if (schema_want(&c, v, YNODE_SEQ, "rules"))
                        for (size_t i = 0; i < v->n; i++)
                                parse_rule(&c, set, v->items[i], &t);
        }
        ynode_free(root);
        return c.errors ? -EINVAL : 0;
}

static int load_file(struct rule_set *set, const char *path, struct diags *diags) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_file_at(AT_FDCWD, path, 16 << 20, &text, &len);
        if (r < 0) {
                diags_add(diags, path, 1, 1, "cannot read: %s", read_error_text(r));
                return r;
        }
        return rules_load_text(set, path, text, len, diags);
}

static int yaml_filter(const struct dirent *de) {
        const char *dot = strrchr(de->d_name, '.');
        return de->d_name[0] != '.' && dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0);
}

int rules_load_path(struct rule_set *set, const char *path, struct diags *diags) {
        struct stat st;
        if (stat(path, &st) < 0) {
                int r = negative_errno();
                diags_add(diags, path, 1, 1, "cannot read: %s", strerror(-r));
                return r;
        }
        if (!S_ISDIR(st.st_mode))
                return load_file(set, path, diags);

        struct dirent **entries;
        int n = scandir(path, &entries, yaml_filter, alphasort);
        if (n < 0) {
                int r = negative_errno();
                diags_add(diags, path, 1, 1, "cannot read directory: %s", strerror(-r));
                return r;
        }
        int result = 0;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *file = NULL;
                if (asprintf(&file, "%s/%s", path, entries[i]->d_name) < 0)
                        abort();
                int r = load_file(set, file, diags);
                if (r < 0 && result == 0)
                        result = r;
                free(entries[i]);
        }
        free(entries);
        return result;
}

int rules_load_default(struct rule_set *set, struct diags *diags) {
        return rules_load_text(set, "<built-in default.yaml>", default_rules_yaml,
                               strlen(default_rules_yaml), diags);
}

void rule_set_free(struct rule_set *set) {
        for (size_t i = 0; i < set->n; i++)
                rule_free(&set->rules[i]);
        for (size_t i = 0; i < set->n_crash; i++)
                rule_free(&set->crash[i]);
        free(set->crash);
        free(set->rules);
        free(set->by_name);
        *set = (struct rule_set) {};
}

static usec_t gcd(usec_t a, usec_t b) {
        while (b) {
                usec_t t = a % b;
                a = b;
                b = t;
        }
        return a;
}

usec_t rule_set_tick(const struct rule_set *set) {
        /* Event rules only: nothing to sample, a scan a second. */
        if (set->n == 0)
                return USEC_PER_SEC;
        usec_t g = 0;
        for (size_t i = 0; i < set->n; i++)
                g = gcd(g, set->rules[i].interval);
        /* Intervals like 1s and 1001ms would make a 1 ms tick; sampling that
         * often helps no rule, so the tick has a floor. */
        return g < 10 * USEC_PER_MSEC ? 10 * USEC_PER_MSEC : g;
}

