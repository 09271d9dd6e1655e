#include "cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "units.h"

int usage_error(const char *fmt, const char *arg) {
        fprintf(stderr, "autodump: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\nTry 'autodump --help'.\n");
        return EXIT_USAGE;
}

/* Appends the number `arg` (min..max) to a growing array. */
static int append_number(int **items, size_t *n, const char *arg, unsigned min, unsigned max) {
        unsigned v;
        if (parse_unsigned(arg, &v) < 0 || v < min || v > max)
                return -EINVAL;
        int *grown = realloc(*items, (*n + 1) * sizeof *grown);
        if (!grown)
                return -ENOMEM;
        *items = grown;
        grown[(*n)++] = (int) v;
        return 0;
}

int add_pid(struct common *c, const char *arg) {
        /* A PID fits in a pid_t: 4294967295 is no PID, not -1. */
        return append_number(&c->pids, &c->n_pids, arg, 1, INT_MAX);
}

static int add_expect_exit(struct common *c, const char *arg) {
        return append_number(&c->expect_exit, &c->n_expect_exit, arg, 0, 255);
}

static bool env_true(const char *name) {
        const char *v = getenv(name);
        return v && *v && strcmp(v, "0") != 0;
}

int run_options_from_env(struct common *c) {
        c->kill_group = env_true("AUTODUMP_KILL_PROCESS_GROUP");
        const char *v = getenv("AUTODUMP_EXPECT_EXIT");
        if (v && *v) {
                _cleanup_free_ char *copy = strdup(v);
                char *save = NULL;
                for (char *code = copy ? strtok_r(copy, ", ", &save) : NULL; code; code = strtok_r(NULL, ", ", &save))
                        if (add_expect_exit(c, code) < 0) {
                                usage_error("AUTODUMP_EXPECT_EXIT: '%s' is not an exit code (0-255)", code);
                                return -1;
                        }
        }
        if ((v = getenv("AUTODUMP_PDEATHSIG")) && *v && (c->parent_death_signal = signal_from_text(v)) < 0) {
                usage_error("AUTODUMP_PDEATHSIG: '%s' is not a signal", v);
                return -1;
        }
        return 0;
}

int parse_common(int argc, char **argv, const char *allowed, unsigned longs, struct common *c) {
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "rules", required_argument, NULL, 'r' },
                { "output", required_argument, NULL, 'o' },
                { "pid", required_argument, NULL, 'p' },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "interval", required_argument, NULL, 'i' },
                { "count", required_argument, NULL, 'n' },
                { "dry-run", no_argument, NULL, OPT_DRY_RUN },
                { "record", required_argument, NULL, OPT_RECORD },
                { "json", no_argument, NULL, OPT_JSON },
                { "cgroup", required_argument, NULL, OPT_CGROUP },
                { "compress", required_argument, NULL, OPT_COMPRESS },
                { "filter", required_argument, NULL, OPT_FILTER },
                { "via", required_argument, NULL, OPT_VIA },
                { "duration", required_argument, NULL, OPT_DURATION },
                { "frequency", required_argument, NULL, OPT_FREQUENCY },
                { "comm", required_argument, NULL, OPT_COMM },
                { "rule", required_argument, NULL, OPT_RULE },
                { "target", required_argument, NULL, OPT_TARGET },
                { "since", required_argument, NULL, OPT_SINCE },
                { "from", required_argument, NULL, OPT_FROM },
                { "to", required_argument, NULL, OPT_TO },
                { "replay", required_argument, NULL, OPT_REPLAY },
                { "type", required_argument, NULL, OPT_TYPE },
                {},
        };
        int opt;
        optind = 1;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, allowed, longopts, NULL)) != -1) {
                if (opt == '?' || opt == ':' || (opt >= 256 ? !(longs & LONG(opt)) : !strchr(allowed, opt))) {
                        usage_error("unknown or misplaced option '%s'", argv[optind - 1]);
                        return -1;
                }
                switch (opt) {
                case 'c': c->config_path = optarg; break;
                case 'r': {
                        const char **p = realloc(c->rule_paths, (c->n_rule_paths + 1) * sizeof *p);
                        if (!p)
                                return -1;
                        c->rule_paths = p;
                        c->rule_paths[c->n_rule_paths++] = optarg;
                        break;
                }
                case 'o': c->output = optarg; break;
                case 'v': c->verbosity = 1; break;
                case 'q': c->verbosity = -1; break;
                case 'g': c->kill_group = true; break;
                case 's': break;        /* run is always a subreaper; -s is tini's spelling */
                case 'e':
                        if (add_expect_exit(c, optarg) < 0) {
                                usage_error("-e: '%s' is not an exit code (0-255)", optarg);
                                return -1;
                        }
                        break;
                case 'p':
                        if (c->run) {
                                if ((c->parent_death_signal = signal_from_text(optarg)) < 0) {
                                        usage_error("-p: '%s' is not a signal", optarg);
                                        return -1;
                                }
                        } else if (add_pid(c, optarg) < 0) {
                                usage_error("-p: '%s' is not a PID", optarg);
                                return -1;
                        }
                        break;
                case 'i':
                        if (parse_duration(optarg, &c->interval) < 0 || c->interval == 0) {
                                usage_error("-i: '%s' is not a duration (such as 500ms or 2s)", optarg);
                                return -1;
                        }
                        break;
                case 'n':
                        if (parse_unsigned(optarg, &c->count) < 0) {
                                usage_error("-n: '%s' is not a count", optarg);
                                return -1;
                        }
                        break;
                case OPT_DRY_RUN: c->dry_run = true; break;
                case OPT_JSON: c->json = true; break;
                case OPT_CGROUP: {
                        char **p = realloc(c->cgroups, (c->n_cgroups + 1) * sizeof *p);
                        if (!p)
                                return -1;
                        c->cgroups = p;
                        c->cgroups[c->n_cgroups++] = optarg;
                        break;
                }
                case OPT_COMPRESS: c->compress = optarg; break;
                case OPT_FILTER: c->filter = optarg; break;
                case OPT_VIA: c->via = optarg; break;
                case OPT_DURATION: c->duration = optarg; break;
                case OPT_FREQUENCY: c->frequency = optarg; break;
                case OPT_TYPE: c->dump_type = optarg; break;
                case OPT_COMM: c->comm = optarg; break;
                case OPT_RULE: c->rule = optarg; break;
                case OPT_TARGET: c->target = optarg; break;
                case OPT_SINCE: c->since = optarg; break;
                case OPT_FROM: c->from = optarg; break;
                case OPT_TO: c->to = optarg; break;
                case OPT_REPLAY: c->replay = optarg; break;
                case OPT_RECORD: c->record = optarg; break;
                }
        }
        return optind;
}

const char *output_dir(const struct common *c, const struct config *config, const char *fallback) {
        if (c->output)
                return c->output;
        const char *env = getenv("AUTODUMP_OUTPUT");
        if (env && *env)
                return env;
        if (config->output)
                return config->output;
        return fallback;
}

int parse_time_arg(const char *s, usec_t *ret) {
        usec_t d;
        if (parse_duration(s, &d) == 0) {
                usec_t now = now_usec(CLOCK_REALTIME);
                *ret = d < now ? now - d : 0;
                return 0;
        }
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
        if (end && *end == ':')
                end = strptime(end, ":%S", &tm);
        if (!end || strcmp(end, "Z") != 0)
                return -EINVAL;
        *ret = (usec_t) timegm(&tm) * USEC_PER_SEC;
        return 0;
}
