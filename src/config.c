#include "config.h"

#include <ini.h>
#include <string.h>

#include "suggest.h"
#include "units.h"

void config_defaults(struct config *c) {
        *c = (struct config) {
                .rules = strdup("/etc/autodump/rules.d"),
                .output = NULL,
                .interval = USEC_PER_SEC,
                .max_total = 20.0 * 1024 * 1024 * 1024,
                .max_count = 200,
                .min_free_pct = 10,
                .keep = 14 * 86400 * USEC_PER_SEC,
                .timeout = 10 * 60 * USEC_PER_SEC,
                .parallel = 1,
        };
}

void config_free(struct config *c) {
        free(c->rules);
        free(c->output);
        *c = (struct config) {};
}

struct parse_state {
        struct config *config;
        const char *path;
        struct diags *diags;
        FILE *file;
        int line;               /* counted by the reader, as inih does not say */
        int errors;
};

/* inih's reader callback: counting lines here gives each handler call the
 * line it is about. */
static char *read_line(char *str, int num, void *stream) {
        struct parse_state *ps = stream;
        char *s = fgets(str, num, ps->file);
        if (s)
                ps->line++;
        return s;
}

static void bad(struct parse_state *ps, const char *fmt, const char *a, const char *b) {
        char msg[512];
        snprintf(msg, sizeof msg, fmt, a, b);
        diags_add(ps->diags, ps->path, ps->line, 1, "%s", msg);
        ps->errors++;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        struct parse_state *ps = user;
        struct config *c = ps->config;
        double pct;
        int r = 0;
        if (strcmp(section, "watch") == 0) {
                if (strcmp(name, "rules") == 0) {
                        free(c->rules);
                        c->rules = strdup(value);
                } else if (strcmp(name, "output") == 0) {
                        free(c->output);
                        c->output = strdup(value);
                } else if (strcmp(name, "interval") == 0)
                        r = parse_duration(value, &c->interval);
                else
                        goto unknown_key;
        } else if (strcmp(section, "storage") == 0) {
                if (strcmp(name, "max_total") == 0)
                        r = parse_size(value, &c->max_total);
                else if (strcmp(name, "max_count") == 0)
                        r = parse_unsigned(value, &c->max_count);
                else if (strcmp(name, "min_free") == 0) {
                        r = is_percent(value) ? parse_percent(value, &pct) : -EINVAL;
                        if (r == 0 && pct > 100)
                                r = -ERANGE;
                        if (r == 0)
                                c->min_free_pct = pct;
                } else if (strcmp(name, "keep") == 0)
                        r = parse_duration(value, &c->keep);
                else
                        goto unknown_key;
        } else if (strcmp(section, "collect") == 0) {
                if (strcmp(name, "timeout") == 0)
                        r = parse_duration(value, &c->timeout);
                else if (strcmp(name, "parallel") == 0) {
                        r = parse_unsigned(value, &c->parallel);
                        if (r == 0 && c->parallel == 0)
                                r = -ERANGE;
                } else
                        goto unknown_key;
        } else {
                static const char *const sections[] = { "watch", "storage", "collect", NULL };
                const char *hint = suggest_near_miss(section, sections);
                if (hint)
                        bad(ps, "unknown section [%s] (did you mean [%s]?)", section, hint);
                else
                        bad(ps, "unknown section [%s]%s", section, " (watch, storage, collect)");
                return 1;
        }
        if (r < 0)
                bad(ps, "%s: bad value '%s' (see autodump.conf's comments for the units)", name, value);
        return 1;

unknown_key:;
        static const char *const all_keys[] = {
                "rules", "output", "interval", "max_total", "max_count", "min_free", "keep",
                "timeout", "parallel", NULL,
        };
        const char *hint = suggest_near_miss(name, all_keys);
        if (hint)
                bad(ps, "unknown key '%s' (did you mean '%s'?)", name, hint);
        else
                bad(ps, "unknown key '%s' in this section%s", name, "");
        return 1;
}

int config_load(struct config *c, const char *path, bool required, struct diags *diags) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f) {
                if (!required && errno == ENOENT)
                        return 0;
                int r = negative_errno();
                diags_add(diags, path, 1, 1, "cannot read: %s", strerror(-r));
                return r;
        }
        struct parse_state ps = { .config = c, .path = path, .diags = diags, .file = f };
        int r = ini_parse_stream(read_line, &ps, handler, &ps);
        if (r > 0) {
                diags_add(diags, path, r, 1, "syntax error (expected [section] or key = value)");
                return -EINVAL;
        }
        return ps.errors ? -EINVAL : 0;
}
