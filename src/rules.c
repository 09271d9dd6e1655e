#include "rules.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "suggest.h"
#include "units.h"
#include "yamltree.h"

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

struct ctx {
        const char *file;
        struct diags *diags;
        size_t errors;
};

static void __attribute__((format(printf, 3, 4)))
err(struct ctx *c, const struct ynode *n, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        diags_add(c->diags, c->file, n->line, n->col, "%s", msg);
        c->errors++;
}

static bool want(struct ctx *c, const struct ynode *n, enum ynode_type type, const char *what) {
        if (n->type == type)
                return true;
        static const char *const names[] = {
                [YNODE_SCALAR] = "a scalar", [YNODE_MAP] = "a mapping", [YNODE_SEQ] = "a list",
        };
        err(c, n, "%s must be %s, not %s", what, names[type], ynode_type_name(n));
        return false;
}

/* Reports keys not in `allowed` (with the near miss), keys listed in
 * `planned` as not supported yet, and keys given twice. */
static void check_keys(struct ctx *c, const struct ynode *map, const char *where,
                       const char *const *allowed, const char *const *planned) {
        for (size_t i = 0; i < map->n; i++) {
                const struct ynode *k = ynode_key(map, i);
                if (k->type != YNODE_SCALAR) {
                        err(c, k, "keys in %s must be plain words", where);
                        continue;
                }
                for (size_t j = 0; j < i; j++) {
                        const struct ynode *prev = ynode_key(map, j);
                        if (prev->type == YNODE_SCALAR && strcmp(prev->scalar, k->scalar) == 0) {
                                err(c, k, "duplicate key '%s' in %s (first at line %d)", k->scalar,
                                    where, prev->line);
                                break;
                        }
                }
                bool known = false;
                for (const char *const *a = allowed; *a && !known; a++)
                        known = strcmp(*a, k->scalar) == 0;
                if (known)
                        continue;
                bool is_planned = false;
                for (const char *const *p = planned; p && *p && !is_planned; p++)
                        is_planned = strcmp(*p, k->scalar) == 0;
                if (is_planned) {
                        err(c, k, "'%s' in %s is not supported yet by this version", k->scalar, where);
                        continue;
                }
                const char *hint = suggest_near_miss(k->scalar, allowed);
                if (hint)
                        err(c, k, "unknown key '%s' in %s (did you mean '%s'?)", k->scalar, where, hint);
                else
                        err(c, k, "unknown key '%s' in %s", k->scalar, where);
        }
}

static const struct ynode *map_get(const struct ynode *map, const char *key) {
        for (size_t i = 0; i < map->n; i++) {
                const struct ynode *k = ynode_key(map, i);
                if (k->type == YNODE_SCALAR && strcmp(k->scalar, key) == 0)
                        return ynode_value(map, i);
        }
        return NULL;
}

static bool get_duration(struct ctx *c, const struct ynode *n, const char *what, usec_t *ret) {
        if (!want(c, n, YNODE_SCALAR, what))
                return false;
        if (parse_duration(n->scalar, ret) < 0) {
                err(c, n, "%s: '%s' is not a duration (a number with ms, s, m, h or d)", what, n->scalar);
                return false;
        }
        return true;
}

static bool get_unsigned(struct ctx *c, const struct ynode *n, const char *what, unsigned min,
                         unsigned *ret) {
        if (!want(c, n, YNODE_SCALAR, what))
                return false;
        unsigned v;
        if (parse_unsigned(n->scalar, &v) < 0 || v < min) {
                err(c, n, "%s: '%s' is not a whole number%s", what, n->scalar, min ? " ≥ 1" : "");
                return false;
        }
        *ret = v;
        return true;
}

static bool get_bool(struct ctx *c, const struct ynode *n, const char *what, bool *ret) {
        if (!want(c, n, YNODE_SCALAR, what))
                return false;
        if (!n->quoted && (strcmp(n->scalar, "true") == 0 || strcmp(n->scalar, "yes") == 0))
                *ret = true;
        else if (!n->quoted && (strcmp(n->scalar, "false") == 0 || strcmp(n->scalar, "no") == 0))
                *ret = false;
        else {
                err(c, n, "%s: '%s' is not true or false", what, n->scalar);
                return false;
        }
        return true;
}

static void parse_timing(struct ctx *c, const struct ynode *map, struct timing *t) {
        const struct ynode *v;
        if ((v = map_get(map, "interval")) && get_duration(c, v, "interval", &t->interval) &&
            t->interval < 10 * USEC_PER_MSEC)
                err(c, v, "interval: %s is below the 10ms minimum", v->scalar);
        if ((v = map_get(map, "window")))
                get_unsigned(c, v, "window", 1, &t->window);
        if ((v = map_get(map, "cooldown")))
                get_duration(c, v, "cooldown", &t->cooldown);
        if ((v = map_get(map, "max")))
                get_unsigned(c, v, "max", 0, &t->max);
}

static void parse_defaults(struct ctx *c, const struct ynode *n, struct timing *t) {
        static const char *const keys[] = { "interval", "window", "cooldown", "max", NULL };
        if (!want(c, n, YNODE_MAP, "defaults"))
                return;
        check_keys(c, n, "defaults", keys, NULL);
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

static void parse_target(struct ctx *c, const struct ynode *n, struct target_match *t) {
        static const char *const keys[] = { "self", "pid", "comm", "cmdline", "user", NULL };
        static const char *const planned[] = { "cgroup", "unit", NULL };
        if (!want(c, n, YNODE_MAP, "target"))
                return;
        check_keys(c, n, "target", keys, planned);
        if (n->n == 0)
                err(c, n, "target is empty; leave it out to mean the mode's default targets");
        const struct ynode *v;
        if ((v = map_get(n, "self")))
                t->has_self = get_bool(c, v, "self", &t->self);
        if ((v = map_get(n, "pid"))) {
                unsigned pid;
                if (get_unsigned(c, v, "pid", 1, &pid)) {
                        t->has_pid = true;
                        t->pid = (pid_t) pid;
                }
        }
        if ((v = map_get(n, "comm")) && want(c, v, YNODE_SCALAR, "comm")) {
                /* The kernel keeps 15 bytes of the name (TASK_COMM_LEN): a
                 * longer one could never match. */
                if (strlen(v->scalar) > 15 || !*v->scalar)
                        err(c, v, "comm '%s' must be 1 to 15 characters, as the kernel stores it",
                            v->scalar);
                else
                        t->comm = strdup(v->scalar);
        }
        if ((v = map_get(n, "cmdline")) && want(c, v, YNODE_SCALAR, "cmdline")) {
                int r = regcomp(&t->cmdline_re, v->scalar, REG_EXTENDED | REG_NOSUB);
                if (r != 0) {
                        char msg[256];
                        regerror(r, &t->cmdline_re, msg, sizeof msg);
                        err(c, v, "cmdline '%s' is not a POSIX extended regular expression: %s",
                            v->scalar, msg);
                } else
                        t->cmdline = strdup(v->scalar);
        }
        if ((v = map_get(n, "user")) && want(c, v, YNODE_SCALAR, "user")) {
                unsigned uid;
                struct passwd *pw = getpwnam(v->scalar);
                if (pw) {
                        t->has_user = true;
                        t->uid = pw->pw_uid;
                } else if (parse_unsigned(v->scalar, &uid) == 0) {
                        t->has_user = true;
                        t->uid = (uid_t) uid;
                } else
                        err(c, v, "user '%s' does not exist on this host", v->scalar);
        }
}

/* A threshold of `above` or `min`: a size, a number, or a % of the metric's
 * reference, depending on the metric. */
static bool parse_threshold(struct ctx *c, const struct ynode *v, const char *what,
                            const struct metric_info *mi, double *ret, bool *ret_pct) {
        if (!want(c, v, YNODE_SCALAR, what))
                return false;
        if (is_percent(v->scalar)) {
                if (!mi->has_reference) {
                        err(c, v, "%s: a %% needs a reference, and metric '%s' has none; give a number",
                            what, mi->name);
                        return false;
                }
                if (parse_percent(v->scalar, ret) < 0) {
                        err(c, v, "%s: '%s' is not a percentage", what, v->scalar);
                        return false;
                }
                /* For cpu the reference is one core = 100, so 90% is 90. */
                *ret_pct = mi->kind != METRIC_KIND_CORES;
                return true;
        }
        *ret_pct = false;
        if (mi->kind == METRIC_KIND_BYTES) {
                if (parse_size(v->scalar, ret) < 0) {
                        err(c, v, "%s: '%s' is not a size (bytes, or KiB MiB GiB TiB / KB MB GB TB)",
                            what, v->scalar);
                        return false;
                }
        } else if (parse_number(v->scalar, ret) < 0) {
                err(c, v, "%s: '%s' is not a number%s", what, v->scalar,
                    mi->has_reference ? " or a percentage" : "");
                return false;
        }
        return true;
}

static void parse_when(struct ctx *c, const struct ynode *n, const struct metric_info *mi,
                       struct condition *cond) {
        static const char *const keys[] = { "above", "spike", "min", "for", NULL };
        static const char *const planned[] = { "stall", "per", NULL };
        if (!want(c, n, YNODE_MAP, "when"))
                return;
        check_keys(c, n, "when", keys, planned);
        const struct ynode *v;
        if ((v = map_get(n, "above")) && mi)
                cond->has_above = parse_threshold(c, v, "above", mi, &cond->above, &cond->above_is_pct);
        if ((v = map_get(n, "min")) && mi)
                cond->has_min = parse_threshold(c, v, "min", mi, &cond->min, &cond->min_is_pct);
        if ((v = map_get(n, "spike")) && want(c, v, YNODE_SCALAR, "spike")) {
                if (!is_percent(v->scalar) || parse_percent(v->scalar, &cond->spike_pct) < 0)
                        err(c, v, "spike: '%s' must be a percentage over the mean, such as 25%%",
                            v->scalar);
                else
                        cond->has_spike = true;
        }
        if ((v = map_get(n, "for")) && want(c, v, YNODE_SCALAR, "for")) {
                unsigned samples;
                if (parse_unsigned(v->scalar, &samples) == 0 && samples >= 1)
                        cond->for_samples = samples;
                else if (parse_duration(v->scalar, &cond->for_duration) < 0)
                        err(c, v, "for: '%s' is neither a count of samples (≥ 1) nor a duration",
                            v->scalar);
        }
        if (!map_get(n, "above") && !map_get(n, "spike"))
                err(c, n, "when needs 'above' or 'spike' (min alone never fires)");
}

static int signal_from_name(const char *s) {
        static const struct { const char *name; int signo; } sigs[] = {
                { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ABRT", SIGABRT },
                { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM },
                { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TRAP", SIGTRAP }, { "SEGV", SIGSEGV },
        };
        if (strncmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                if (strcmp(sigs[i].name, s) == 0)
                        return sigs[i].signo;
        return -EINVAL;
}

static void parse_exec(struct ctx *c, const struct ynode *n, struct action *a) {
        static const char *const keys[] = { "argv", "timeout", NULL };
        if (!want(c, n, YNODE_MAP, "exec"))
                return;
        check_keys(c, n, "exec", keys, NULL);
        const struct ynode *v = map_get(n, "argv");
        if (!v) {
                err(c, n, "exec needs 'argv', a list: the program and its arguments (no shell)");
                return;
        }
        if (!want(c, v, YNODE_SEQ, "argv"))
                return;
        if (v->n == 0) {
                err(c, v, "argv is empty");
                return;
        }
        a->argv = calloc(v->n + 1, sizeof *a->argv);
        if (!a->argv)
                abort();
        for (size_t i = 0; i < v->n; i++)
                if (want(c, v->items[i], YNODE_SCALAR, "an argv item"))
                        a->argv[i] = strdup(v->items[i]->scalar);
                else
                        a->argv[i] = strdup("");
        if (v->items[0]->type == YNODE_SCALAR && v->items[0]->scalar[0] != '/')
                err(c, v->items[0], "argv[0] '%s' must be an absolute path (no PATH search, no shell)",
                    v->items[0]->scalar);
        const struct ynode *t = map_get(n, "timeout");
        if (t)
                get_duration(c, t, "timeout", &a->timeout);
}

static bool is_null(const struct ynode *n) {
        return n->type == YNODE_SCALAR && !n->quoted && (!*n->scalar || strcmp(n->scalar, "null") == 0);
}

static void parse_core(struct ctx *c, const struct ynode *n, struct action *a) {
        static const char *const keys[] = { "via", "compress", "filter", NULL };
        if (!want(c, n, YNODE_MAP, "core"))
                return;
        check_keys(c, n, "core", keys, NULL);
        const struct ynode *v;
        if ((v = map_get(n, "via")) && want(c, v, YNODE_SCALAR, "via")) {
                if (strcmp(v->scalar, "gcore") == 0)
                        a->core_via_gcore = true;
                else if (strcmp(v->scalar, "native") != 0)
                        err(c, v, "via: '%s' is neither native nor gcore", v->scalar);
        }
        if ((v = map_get(n, "compress")) && want(c, v, YNODE_SCALAR, "compress")) {
                if (strcmp(v->scalar, "zstd") == 0)
                        a->compress_zstd = true;
                else if (strcmp(v->scalar, "none") != 0)
                        err(c, v, "compress: '%s' is neither zstd nor none", v->scalar);
        }
        if ((v = map_get(n, "filter")) && want(c, v, YNODE_SCALAR, "filter")) {
                char *end;
                errno = 0;
                unsigned long f = strtoul(v->scalar, &end, 0);
                if (!*v->scalar || *end || errno || f > 0x1ff)
                        err(c, v, "filter: '%s' is not a coredump_filter mask such as 0x33 (see core(5))", v->scalar);
                else {
                        a->filter_set = true;
                        a->filter = (unsigned) f;
                }
        }
        if (a->core_via_gcore && (a->compress_zstd || a->filter_set))
                err(c, n, "core: compress and filter need the native writer, not via: gcore");
}

static void parse_profile(struct ctx *c, const struct ynode *n, struct action *a) {
        static const char *const keys[] = { "duration", "frequency", NULL };
        if (!want(c, n, YNODE_MAP, "profile"))
                return;
        check_keys(c, n, "profile", keys, NULL);
        const struct ynode *v;
        if ((v = map_get(n, "duration")) && get_duration(c, v, "duration", &a->duration) &&
            (a->duration < 100 * USEC_PER_MSEC || a->duration > 3600 * USEC_PER_SEC))
                err(c, v, "duration: %s is outside 100ms to 1h", v->scalar);
        if ((v = map_get(n, "frequency")) && get_unsigned(c, v, "frequency", 1, &a->frequency) &&
            a->frequency > 10000)
                err(c, v, "frequency: %s Hz is above the 10000 Hz this allows", v->scalar);
}

static const char *const action_names[] = { "core", "stacks", "exec", "signal", "profile", NULL };
static const char *const planned_actions[] = {
        "go.goroutines", "go.heap", "go.profile", "jvm.threaddump", "jvm.heapdump",
        "jvm.jcmd", NULL,
};

static bool parse_action(struct ctx *c, const struct ynode *n, struct action *a) {
        const struct ynode *key = n, *opts = NULL;
        if (n->type == YNODE_MAP) {
                if (n->n != 1) {
                        err(c, n, "an action is one name, or one name with its options");
                        return false;
                }
                key = ynode_key(n, 0);
                opts = ynode_value(n, 0);
        }
        if (!want(c, key, YNODE_SCALAR, "an action name"))
                return false;
        const char *name = key->scalar;
        if (action_from_name(name, &a->kind) < 0) {
                bool planned = false;
                for (const char *const *p = planned_actions; *p && !planned; p++)
                        planned = strcmp(*p, name) == 0;
                const char *hint = planned ? NULL : suggest_near_miss(name, action_names);
                if (planned)
                        err(c, key, "action '%s' is not supported yet by this version", name);
                else if (hint)
                        err(c, key, "unknown action '%s' (did you mean '%s'?)", name, hint);
                else
                        err(c, key, "unknown action '%s' (core, stacks, profile, exec, signal)", name);
                return false;
        }
        switch (a->kind) {
        case ACTION_CORE:
                if (opts && !is_null(opts))
                        parse_core(c, opts, a);
                return true;
        case ACTION_PROFILE:
                if (opts && !is_null(opts))
                        parse_profile(c, opts, a);
                return true;
        case ACTION_STACKS:
                if (opts && !is_null(opts)) {
                        static const char *const none[] = { NULL };
                        if (want(c, opts, YNODE_MAP, name))
                                check_keys(c, opts, name, none, NULL);
                }
                return true;
        case ACTION_EXEC:
                if (!opts) {
                        err(c, key, "exec needs options: {argv: [/path/to/program, args…]}");
                        return false;
                }
                parse_exec(c, opts, a);
                return true;
        case ACTION_SIGNAL:
                if (!opts || !want(c, opts, YNODE_SCALAR, "signal")) {
                        if (!opts)
                                err(c, key, "signal needs a signal name, such as 'signal: SIGQUIT'");
                        return false;
                }
                a->signo = signal_from_name(opts->scalar);
                if (a->signo < 0)
                        err(c, opts, "unknown signal '%s'", opts->scalar);
                return true;
        default:
                return false;
        }
}

static void parse_actions(struct ctx *c, const struct ynode *n, struct rule *r) {
        if (!want(c, n, YNODE_SEQ, "actions"))
                return;
        if (n->n == 0)
                err(c, n, "actions is empty; give at least one (or run with --dry-run)");
        r->actions = calloc(n->n ? n->n : 1, sizeof *r->actions);
        if (!r->actions)
                abort();
        for (size_t i = 0; i < n->n; i++) {
                struct action *a = &r->actions[r->n_actions];
                if (!parse_action(c, n->items[i], a))
                        continue;
                /* core, stacks and profile each write one file of a fixed
                 * name: twice in a rule, the second would replace the first. */
                bool repeatable = a->kind == ACTION_EXEC || a->kind == ACTION_SIGNAL;
                for (size_t j = 0; j < r->n_actions && !repeatable; j++)
                        if (r->actions[j].kind == a->kind) {
                                err(c, n->items[i], "action '%s' is given twice in this rule",
                                    action_kind_to_string(a->kind));
                                break;
                        }
                r->n_actions++;
        }
}

static void rule_free(struct rule *r) {
        free(r->name);
        free(r->file);
        free(r->target.comm);
        if (r->target.cmdline)
                regfree(&r->target.cmdline_re);
        free(r->target.cmdline);
        for (size_t i = 0; i < r->n_actions; i++) {
                for (char **a = r->actions[i].argv; a && *a; a++)
                        free(*a);
                free(r->actions[i].argv);
        }
        free(r->actions);
}

static const struct rule *find_rule(const struct rule_set *set, const char *name) {
        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->rules[i].name, name) == 0)
                        return &set->rules[i];
        return NULL;
}

static void parse_rule(struct ctx *c, struct rule_set *set, const struct ynode *n,
                       const struct timing *defaults) {
        static const char *const keys[] = {
                "name", "target", "metric", "when", "actions", "cooldown", "max", "interval",
                "window", NULL,
        };
        static const char *const planned[] = { "event", "go", NULL };
        if (!want(c, n, YNODE_MAP, "a rule"))
                return;
        size_t errors_before = c->errors;
        check_keys(c, n, "a rule", keys, planned);

        struct rule r = { .line = n->line, .target.any = true };
        const struct ynode *v = map_get(n, "name");
        if (!v)
                err(c, n, "rule has no 'name'");
        else if (want(c, v, YNODE_SCALAR, "name")) {
                const struct rule *dup = find_rule(set, v->scalar);
                if (!valid_name(v->scalar))
                        err(c, v, "name '%s' may use only a-z, 0-9, '_', '.' and '-'", v->scalar);
                else if (dup)
                        err(c, v, "duplicate rule name '%s' (first at %s:%d)", v->scalar, dup->file,
                            dup->line);
                r.name = strdup(v->scalar);
        }

        const struct metric_info *mi = NULL;
        if (!(v = map_get(n, "metric")))
                err(c, n, "rule has no 'metric'");
        else if (want(c, v, YNODE_SCALAR, "metric")) {
                if (metric_from_name(v->scalar, &r.metric) == 0)
                        mi = metric_info(r.metric);
                else if (metric_is_planned(v->scalar))
                        err(c, v, "metric '%s' has no source in this version yet", v->scalar);
                else {
                        const char *hint = suggest_near_miss(v->scalar, metric_names());
                        if (hint)
                                err(c, v, "unknown metric '%s' (did you mean '%s'?)", v->scalar, hint);
                        else
                                err(c, v, "unknown metric '%s'", v->scalar);
                }
        }

        struct timing t = *defaults;
        parse_timing(c, n, &t);
        r.interval = t.interval;
        r.window = t.window;
        r.cond = (struct condition) { .for_samples = 1, .cooldown = t.cooldown, .max = t.max };

        if ((v = map_get(n, "target"))) {
                r.target.any = false;
                parse_target(c, v, &r.target);
        }
        if (!(v = map_get(n, "when")))
                err(c, n, "rule has no 'when'");
        else
                parse_when(c, v, mi, &r.cond);
        if (!(v = map_get(n, "actions")))
                err(c, n, "rule has no 'actions'");
        else
                parse_actions(c, v, &r);

        if (c->errors != errors_before || !r.name) {
                rule_free(&r);
                return;
        }
        r.file = strdup(c->file);
        struct rule *rules = realloc(set->rules, (set->n + 1) * sizeof *rules);
        if (!rules)
                abort();
        set->rules = rules;
        set->rules[set->n++] = r;
}

int rules_load_text(struct rule_set *set, const char *file, const char *text, size_t len,
                    struct diags *diags) {
        struct ctx c = { .file = file, .diags = diags };
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
        if (want(&c, root, YNODE_MAP, "a rule file")) {
                check_keys(&c, root, "a rule file", keys, NULL);
                const struct ynode *v;
                if ((v = map_get(root, "defaults")))
                        parse_defaults(&c, v, &t);
                if (!(v = map_get(root, "rules")))
                        err(&c, root, "rule file has no 'rules' list");
                else if (want(&c, v, YNODE_SEQ, "rules"))
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
                diags_add(diags, path, 1, 1, "cannot read: %s", strerror(-r));
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
        free(set->rules);
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
        usec_t g = 0;
        for (size_t i = 0; i < set->n; i++)
                g = gcd(g, set->rules[i].interval);
        /* Intervals like 1s and 1001ms would make a 1 ms tick; sampling that
         * often helps no rule, so the tick has a floor. */
        return g < 10 * USEC_PER_MSEC ? 10 * USEC_PER_MSEC : g;
}

const char *action_kind_to_string(enum action_kind k) {
        return action_names[k];
}

int action_from_name(const char *name, enum action_kind *ret) {
        for (int i = 0; action_names[i]; i++)
                if (strcmp(action_names[i], name) == 0) {
                        *ret = (enum action_kind) i;
                        return 0;
                }
        return -ENOENT;
}
