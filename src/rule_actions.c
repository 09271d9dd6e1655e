/* The actions of a rule: names, options, and the checks that go with
 * them. */
#include "rule_actions.h"

#include <signal.h>
#include <string.h>

#include "dotnet_ipc.h"
#include "rule_when.h"
#include "suggest.h"
#include "units.h"

/* The signals a `signal` action may send, NULL-terminated for near-miss
 * suggestions; SIG may be left out. */
static const char *const signal_names[] = {
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGABRT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTERM",
        "SIGCONT", "SIGSTOP", "SIGTRAP", "SIGSEGV", NULL,
};

static int signal_from_name(const char *s) {
        static const int numbers[] = {
                SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGKILL, SIGUSR1, SIGUSR2, SIGTERM, SIGCONT, SIGSTOP, SIGTRAP,
                SIGSEGV,
        };
        _Static_assert(ELEMENTSOF(numbers) + 1 == ELEMENTSOF(signal_names), "a number for every name");
        for (size_t i = 0; i < ELEMENTSOF(numbers); i++)
                if (strcmp(signal_names[i], s) == 0 || strcmp(signal_names[i] + 3, s) == 0)
                        return numbers[i];
        return -EINVAL;
}

void rule_parse_command(struct schema_ctx *c, const struct ynode *n, const char *what, struct action *a) {
        static const char *const keys[] = { "argv", "timeout", NULL };
        if (!schema_want(c, n, YNODE_MAP, what))
                return;
        schema_check_keys(c, n, what, keys, NULL);
        a->kind = ACTION_EXEC;
        const struct ynode *v = schema_get(n, "argv");
        if (!v) {
                schema_err(c, n, "%s needs 'argv', a list: the program and its arguments (no shell)", what);
                return;
        }
        if (!schema_want(c, v, YNODE_SEQ, "argv"))
                return;
        if (v->n == 0) {
                schema_err(c, v, "argv is empty");
                return;
        }
        a->argv = calloc(v->n + 1, sizeof *a->argv);
        if (!a->argv)
                abort();
        /* Up to the first item that is wrong (an error already): argv
         * stays NULL-terminated, with no hole that would leak the rest. */
        for (size_t i = 0; i < v->n; i++)
                if (!schema_want(c, v->items[i], YNODE_SCALAR, "an argv item") ||
                    !(a->argv[i] = schema_strdup(c, v->items[i])))
                        break;
        /* A bare name is looked up on PATH now, once: the program run is
         * the one `check` saw. */
        const char *prog = v->items[0]->type == YNODE_SCALAR ? v->items[0]->scalar : "/";
        char *found = NULL;
        if (prog[0] != '/' && (strchr(prog, '/') || find_in_path(prog, &found) < 0))
                schema_err(c, v->items[0], "argv[0] '%s' is neither an absolute path nor a program on PATH (no "
                           "shell)", prog);
        else if (found) {
                free(a->argv[0]);
                a->argv[0] = found;
        }
        const struct ynode *t = schema_get(n, "timeout");
        if (t && schema_duration(c, t, "timeout", &a->timeout) && a->timeout > RULE_DURATION_MAX)
                schema_err(c, t, "timeout: %s is more than the 1d maximum", t->scalar);
}

int core_via_from_name(const char *name, enum core_via *ret) {
        /* "native", the stop writer's name before snapshots, still is. */
        static const struct {
                const char *name;
                enum core_via via;
        } names[] = { { "snapshot", CORE_VIA_SNAPSHOT }, { "stop", CORE_VIA_STOP }, { "native", CORE_VIA_STOP },
                      { "gcore", CORE_VIA_GCORE } };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(names[i].name, name) == 0) {
                        *ret = names[i].via;
                        return 0;
                }
        return -ENOENT;
}

static void parse_core(struct schema_ctx *c, const struct ynode *n, struct action *a) {
        static const char *const keys[] = { "via", "compress", "filter", NULL };
        if (!schema_want(c, n, YNODE_MAP, "core"))
                return;
        schema_check_keys(c, n, "core", keys, NULL);
        const struct ynode *v;
        if ((v = schema_get(n, "via")) && schema_want(c, v, YNODE_SCALAR, "via") &&
            core_via_from_name(v->scalar, &a->core_via) < 0)
                schema_err(c, v, "via: '%s' is none of snapshot, stop, gcore", v->scalar);
        if ((v = schema_get(n, "compress")) && schema_want(c, v, YNODE_SCALAR, "compress")) {
                if (strcmp(v->scalar, "zstd") == 0)
                        a->compress_zstd = true;
                else if (strcmp(v->scalar, "none") != 0)
                        schema_err(c, v, "compress: '%s' is neither zstd nor none", v->scalar);
        }
        if ((v = schema_get(n, "filter")) && schema_want(c, v, YNODE_SCALAR, "filter")) {
                char *end;
                errno = 0;
                unsigned long f = strtoul(v->scalar, &end, 0);
                if (!*v->scalar || *end || errno || f > 0x1ff)
                        schema_err(c, v, "filter: '%s' is not a coredump_filter mask such as 0x33 (see core(5))", v->scalar);
                else {
                        a->filter_set = true;
                        a->filter = (unsigned) f;
                }
        }
        if (a->core_via == CORE_VIA_GCORE && (a->compress_zstd || a->filter_set))
                schema_err(c, n, "core: compress and filter need the native writer, not via: gcore");
}

static void parse_profile(struct schema_ctx *c, const struct ynode *n, struct action *a) {
        static const char *const keys[] = { "duration", "frequency", NULL };
        if (!schema_want(c, n, YNODE_MAP, "profile"))
                return;
        schema_check_keys(c, n, "profile", keys, NULL);
        const struct ynode *v;
        if ((v = schema_get(n, "duration")) && schema_duration(c, v, "duration", &a->duration) &&
            (a->duration < 100 * USEC_PER_MSEC || a->duration > 3600 * USEC_PER_SEC))
                schema_err(c, v, "duration: %s is outside 100ms to 1h", v->scalar);
        if ((v = schema_get(n, "frequency")) && schema_unsigned(c, v, "frequency", 1, &a->frequency) &&
            a->frequency > 10000)
                schema_err(c, v, "frequency: %s Hz is above the 10000 Hz this allows", v->scalar);
}

/* go.profile: {seconds: N}, as pprof's own parameter. */
static void parse_go_profile(struct schema_ctx *c, const struct ynode *n, struct action *a) {
        static const char *const keys[] = { "seconds", NULL };
        if (!schema_want(c, n, YNODE_MAP, "go.profile"))
                return;
        schema_check_keys(c, n, "go.profile", keys, NULL);
        const struct ynode *v = schema_get(n, "seconds");
        unsigned seconds;
        if (v && schema_unsigned(c, v, "seconds", 1, &seconds)) {
                if (seconds > 3600)
                        schema_err(c, v, "seconds: %s is more than the 3600 this allows", v->scalar);
                a->duration = (usec_t) seconds * USEC_PER_SEC;
        }
}

/* dotnet.dump: {type: mini|heap|triage|full}, as dotnet-dump's --type. */
static void parse_dotnet_dump(struct schema_ctx *c, const struct ynode *n, struct action *a) {
        static const char *const keys[] = { "type", NULL };
        if (!schema_want(c, n, YNODE_MAP, "dotnet.dump"))
                return;
        schema_check_keys(c, n, "dotnet.dump", keys, NULL);
        const struct ynode *v = schema_get(n, "type");
        if (!v || !schema_want(c, v, YNODE_SCALAR, "type"))
                return;
        int t = dotnet_dump_type_from_name(v->scalar);
        if (t < 0)
                schema_err(c, v, "type: '%s' is none of mini, heap, triage, full", v->scalar);
        else
                a->dotnet_dump_type = (unsigned) t;
}

/* dotnet.trace: {duration: 30s, providers: ["Name[:keywords[:level]]", …]}. */
static void parse_dotnet_trace(struct schema_ctx *c, const struct ynode *n, struct action *a) {
        static const char *const keys[] = { "duration", "providers", NULL };
        if (!schema_want(c, n, YNODE_MAP, "dotnet.trace"))
                return;
        schema_check_keys(c, n, "dotnet.trace", keys, NULL);
        const struct ynode *v;
        if ((v = schema_get(n, "duration")) && schema_duration(c, v, "duration", &a->duration) &&
            (a->duration < USEC_PER_SEC || a->duration > 3600 * USEC_PER_SEC))
                schema_err(c, v, "duration: %s is outside 1s to 1h", v->scalar);
        if (!(v = schema_get(n, "providers")) || !schema_want(c, v, YNODE_SEQ, "providers"))
                return;
        if (v->n == 0 || v->n > 32) {
                schema_err(c, v, "providers: 1 to 32 of them");
                return;
        }
        a->providers = calloc(v->n + 1, sizeof *a->providers);
        if (!a->providers)
                abort();
        for (size_t i = 0; i < v->n; i++) {
                char name[128];
                struct dotnet_provider p;
                if (!schema_want(c, v->items[i], YNODE_SCALAR, "a provider"))
                        break;
                if (dotnet_provider_parse(v->items[i]->scalar, name, sizeof name, &p) < 0) {
                        schema_err(c, v->items[i], "provider '%s' is not Name[:keywords[:level]], such as "
                                   "Microsoft-Windows-DotNETRuntime:0x1:4", v->items[i]->scalar);
                        break;
                }
                a->providers[i] = schema_strdup(c, v->items[i]);
        }
}

void rule_parse_go(struct schema_ctx *c, const struct ynode *n, struct rule *r) {
        static const char *const keys[] = { "pprof", NULL };
        if (!schema_want(c, n, YNODE_MAP, "go"))
                return;
        schema_check_keys(c, n, "go", keys, NULL);
        const struct ynode *v = schema_get(n, "pprof");
        if (!v || !schema_want(c, v, YNODE_SCALAR, "pprof")) {
                if (!v)
                        schema_err(c, n, "go needs 'pprof: HOST:PORT', where net/http/pprof listens");
                return;
        }
        const char *colon = strrchr(v->scalar, ':');
        unsigned port;
        if (!colon || colon == v->scalar || parse_unsigned(colon + 1, &port) < 0 || port == 0 || port > 65535 ||
            strcspn(v->scalar, "/?#@ ") != strlen(v->scalar))
                schema_err(c, v, "pprof: '%s' is not HOST:PORT, such as 127.0.0.1:6060", v->scalar);
        else
                r->go_pprof = schema_strdup(c, v);
}

static const char *const action_names[] = {
        "core", "stacks", "exec", "signal", "profile", "jvm.threaddump", "jvm.heapdump", "jvm.jcmd",
        "go.goroutines", "go.heap", "go.profile", "dotnet.dump", "dotnet.trace", NULL,
};

static bool parse_action(struct schema_ctx *c, const struct ynode *n, struct action *a) {
        const struct ynode *key = n, *opts = NULL;
        if (n->type == YNODE_MAP) {
                if (n->n != 1) {
                        schema_err(c, n, "an action is one name, or one name with its options");
                        return false;
                }
                key = ynode_key(n, 0);
                opts = ynode_value(n, 0);
        }
        if (!schema_want(c, key, YNODE_SCALAR, "an action name"))
                return false;
        const char *name = key->scalar;
        if (action_from_name(name, &a->kind) < 0) {
                const char *hint = suggest_near_miss(name, action_names);
                if (hint)
                        schema_err(c, key, "unknown action '%s' (did you mean '%s'?)", name, hint);
                else
                        schema_err(c, key, "unknown action '%s' (core, stacks, profile, exec, signal, "
                                   "jvm.threaddump, jvm.heapdump, jvm.jcmd, go.goroutines, go.heap, go.profile, "
                                   "dotnet.dump, dotnet.trace)",
                                   name);
                return false;
        }
        switch (a->kind) {
        case ACTION_CORE:
                if (opts && !schema_is_null(opts))
                        parse_core(c, opts, a);
                return true;
        case ACTION_PROFILE:
                if (opts && !schema_is_null(opts))
                        parse_profile(c, opts, a);
                return true;
        case ACTION_JVM_JCMD:
                /* One line of jcmd: the JVM parses it, as jcmd would send it. */
                if (!opts || !schema_want(c, opts, YNODE_SCALAR, "jvm.jcmd")) {
                        if (!opts)
                                schema_err(c, key, "jvm.jcmd needs a command, such as 'jvm.jcmd: GC.class_histogram'");
                        return false;
                }
                if (!*opts->scalar || strlen(opts->scalar) > 1024)
                        schema_err(c, opts, "jvm.jcmd: a command of 1 to 1024 characters");
                else
                        a->jcmd = schema_strdup(c, opts);
                return true;
        case ACTION_GO_PROFILE:
                if (opts && !schema_is_null(opts))
                        parse_go_profile(c, opts, a);
                return true;
        case ACTION_DOTNET_DUMP:
                if (opts && !schema_is_null(opts))
                        parse_dotnet_dump(c, opts, a);
                return true;
        case ACTION_DOTNET_TRACE:
                if (opts && !schema_is_null(opts))
                        parse_dotnet_trace(c, opts, a);
                return true;
        case ACTION_STACKS:
        case ACTION_JVM_THREADDUMP:
        case ACTION_JVM_HEAPDUMP:
        case ACTION_GO_GOROUTINES:
        case ACTION_GO_HEAP:
                if (opts && !schema_is_null(opts)) {
                        static const char *const none[] = { NULL };
                        if (schema_want(c, opts, YNODE_MAP, name))
                                schema_check_keys(c, opts, name, none, NULL);
                }
                return true;
        case ACTION_EXEC:
                if (!opts) {
                        schema_err(c, key, "exec needs options: {argv: [/path/to/program, args…]}");
                        return false;
                }
                rule_parse_command(c, opts, "exec", a);
                return true;
        case ACTION_SIGNAL:
                if (!opts || !schema_want(c, opts, YNODE_SCALAR, "signal")) {
                        if (!opts)
                                schema_err(c, key, "signal needs a signal name, such as 'signal: SIGQUIT'");
                        return false;
                }
                a->signo = signal_from_name(opts->scalar);
                if (a->signo < 0) {
                        const char *hint = suggest_near_miss(opts->scalar, signal_names);
                        if (hint)
                                schema_err(c, opts, "unknown signal '%s' (did you mean '%s'?)", opts->scalar, hint);
                        else
                                schema_err(c, opts, "unknown signal '%s'", opts->scalar);
                }
                return true;
        default:
                return false;
        }
}

void rule_parse_actions(struct schema_ctx *c, const struct ynode *n, struct rule *r) {
        if (!schema_want(c, n, YNODE_SEQ, "actions"))
                return;
        if (n->n == 0)
                schema_err(c, n, "actions is empty; give at least one (or run with --dry-run)");
        r->actions = calloc(n->n ? n->n : 1, sizeof *r->actions);
        if (!r->actions)
                abort();
        for (size_t i = 0; i < n->n; i++) {
                struct action *a = &r->actions[r->n_actions];
                if (!parse_action(c, n->items[i], a))
                        continue;
                /* The others each write one file of a fixed name: twice in a
                 * rule, the second would replace the first. */
                bool repeatable = a->kind == ACTION_EXEC || a->kind == ACTION_SIGNAL || a->kind == ACTION_JVM_JCMD;
                for (size_t j = 0; j < r->n_actions && !repeatable; j++)
                        if (r->actions[j].kind == a->kind) {
                                schema_err(c, n->items[i], "action '%s' is given twice in this rule",
                                    action_kind_to_string(a->kind));
                                break;
                        }
                r->n_actions++;
        }
}

const char *action_kind_to_string(enum action_kind k) {
        return action_names[k];
}

void action_clear(struct action *a) {
        for (char **p = a->argv; p && *p; p++)
                free(*p);
        free(a->argv);
        a->argv = NULL;
        free(a->jcmd);
        a->jcmd = NULL;
        for (char **p = a->providers; p && *p; p++)
                free(*p);
        free(a->providers);
        a->providers = NULL;
}

int action_from_command_line(const char *line, usec_t timeout, struct action *ret) {
        _cleanup_free_ char *copy = strdup(line);
        if (!copy)
                return -ENOMEM;
        struct action a = { .kind = ACTION_EXEC, .timeout = timeout };
        size_t n = 0;
        char *save = NULL;
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                char **m = realloc(a.argv, (n + 2) * sizeof *m);
                if (!m || !(m[n] = strdup(w))) {
                        a.argv = m ? m : a.argv;
                        action_clear(&a);
                        return -ENOMEM;
                }
                a.argv = m;
                a.argv[++n] = NULL;
        }
        if (n == 0 || a.argv[0][0] != '/') {
                action_clear(&a);
                return -EINVAL;
        }
        *ret = a;
        return 0;
}

int action_from_name(const char *name, enum action_kind *ret) {
        for (int i = 0; action_names[i]; i++)
                if (strcmp(action_names[i], name) == 0) {
                        *ret = (enum action_kind) i;
                        return 0;
                }
        return -ENOENT;
}
