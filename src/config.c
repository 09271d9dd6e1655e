#include "config.h"

#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "log.h"
#include "suggest.h"
#include "units.h"

#define CONFIG_DEFAULT_RULES "/etc/autodump/rules.d"

void config_defaults(struct config *c) {
        *c = (struct config) {
                .rules = strdup(CONFIG_DEFAULT_RULES),
                .output = NULL,
                .interval = USEC_PER_SEC,
                .rescan = 30 * USEC_PER_SEC,
                .max_total = 20.0 * 1024 * 1024 * 1024,
                .max_count = 200,
                .min_free_pct = 10,
                .keep = 14 * 86400 * USEC_PER_SEC,
                .timeout = 10 * 60 * USEC_PER_SEC,
                .parallel = 1,
                .queue = 16,
        };
        if (!c->rules)
                abort();        /* at startup, before anything: nothing to lose */
}

struct retention_limits config_retention(const struct config *c) {
        return (struct retention_limits) {
                .max_total = (uint64_t) c->max_total, .max_count = c->max_count, .keep = c->keep,
                .partial_age = c->timeout,
        };
}

void config_free(struct config *c) {
        free(c->rules);
        free(c->output);
        free(c->on_complete);
        free(c->debuginfod);
        free(c->hook_user.name);
        free(c->record_path);
        *c = (struct config) {};
}

struct parse_state {
        struct config *config;
        const char *path;
        struct diags *diags;
        const char *next;       /* the rest of the text, for the reader */
        const char *end;
        int line;               /* counted by the reader, as inih does not say */
        int errors;
};

static void __attribute__((format(printf, 2, 3)))
bad(struct parse_state *ps, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        diags_add(ps->diags, ps->path, ps->line, 1, "%s", msg);
        ps->errors++;
}

enum value_kind {
        VALUE_PATH, VALUE_COMMAND, VALUE_DURATION, VALUE_SIZE, VALUE_COUNT, VALUE_POSITIVE, VALUE_PERCENT, VALUE_LEVEL,
        VALUE_USER,
};

/* Durations and counts are bounded, each where a value past it is a
 * mistake: a timeout of 0s would kill every collection at once, and
 * 100000 parallel collections would fork as many collectors. */
#define DAY (86400 * USEC_PER_SEC)

static const struct key {
        const char *section, *name;
        enum value_kind kind;
        size_t offset;
        uint64_t min, max;      /* durations and counts; max 0: none */
} keys[] = {
        { "watch", "rules", VALUE_PATH, offsetof(struct config, rules), 0, 0 },
        { "watch", "output", VALUE_PATH, offsetof(struct config, output), 0, 0 },
        { "watch", "interval", VALUE_DURATION, offsetof(struct config, interval), 10 * USEC_PER_MSEC, DAY },
        { "watch", "rescan", VALUE_DURATION, offsetof(struct config, rescan), 0, DAY },
        { "storage", "max_total", VALUE_SIZE, offsetof(struct config, max_total), 0, 0 },
        { "storage", "max_count", VALUE_COUNT, offsetof(struct config, max_count), 0, 1000000 },
        { "storage", "min_free", VALUE_PERCENT, offsetof(struct config, min_free_pct), 0, 0 },
        { "storage", "keep", VALUE_DURATION, offsetof(struct config, keep), 0, 0 },
        { "collect", "timeout", VALUE_DURATION, offsetof(struct config, timeout), USEC_PER_SEC, 7 * DAY },
        { "collect", "parallel", VALUE_POSITIVE, offsetof(struct config, parallel), 1, 64 },
        { "collect", "queue", VALUE_COUNT, offsetof(struct config, queue), 0, 10000 },
        { "collect", "on_complete", VALUE_COMMAND, offsetof(struct config, on_complete), 0, 0 },
        { "collect", "on_complete_timeout", VALUE_DURATION, offsetof(struct config, on_complete_timeout), 0, DAY },
        { "collect", "debuginfod", VALUE_PATH, offsetof(struct config, debuginfod), 0, 0 },
        { "collect", "hook_user", VALUE_USER, offsetof(struct config, hook_user), 0, 0 },
        { "log", "level", VALUE_LEVEL, offsetof(struct config, log_level), 0, 0 },
        { "record", "path", VALUE_PATH, offsetof(struct config, record_path), 0, 0 },
        { "record", "max_size", VALUE_SIZE, offsetof(struct config, record_max_size), 0, 0 },
};

static const char *const sections[] = { "watch", "storage", "collect", "log", "record", NULL };

static const char *const expected[] = {
        [VALUE_PATH] = "a path",
        [VALUE_COMMAND] = "a command: an absolute path and its arguments (no shell, no quoting)",
        [VALUE_DURATION] = "a duration, such as 30s or 10m",
        [VALUE_SIZE] = "a size, such as 20GiB",
        [VALUE_COUNT] = "a whole number",
        [VALUE_POSITIVE] = "a whole number ≥ 1",
        [VALUE_PERCENT] = "a percentage, such as 10%",
        [VALUE_LEVEL] = "a log level: error, warning, notice, info or debug",
        [VALUE_USER] = "a user on this host, other than root",
};

static int set_value(struct config *c, const struct key *k, const char *value) {
        void *field = (char *) c + k->offset;
        double pct;
        unsigned n;
        int r;
        switch (k->kind) {
        case VALUE_PATH:
        case VALUE_COMMAND: {
                char *copy = strdup(value);
                if (!copy || !*copy || (k->kind == VALUE_COMMAND && *copy != '/')) {
                        free(copy);
                        return -EINVAL;
                }
                free(*(char **) field);
                *(char **) field = copy;
                return 0;
        }
        case VALUE_DURATION: {
                usec_t d;
                if (parse_duration(value, &d) < 0)
                        return -EINVAL;
                if (d < k->min || (k->max && d > k->max))
                        return -ERANGE;
                *(usec_t *) field = d;
                return 0;
        }
        case VALUE_SIZE:
                return parse_size(value, field);
        case VALUE_COUNT:
        case VALUE_POSITIVE:
                r = parse_unsigned(value, &n);
                if (r < 0 || (k->kind == VALUE_POSITIVE && n == 0))
                        return -EINVAL;
                if (n < k->min || (k->max && n > k->max))
                        return -ERANGE;
                *(unsigned *) field = n;
                return 0;
        case VALUE_PERCENT:
                r = is_percent(value) ? parse_percent(value, &pct) : -EINVAL;
                if (r < 0 || pct > 100)
                        return -EINVAL;
                *(double *) field = pct;
                return 0;
        case VALUE_LEVEL:
                return log_level_from_name(value, field);
        case VALUE_USER: {
                /* Resolved now: after a fork, in the hook's child, nothing
                 * but system calls is safe. */
                struct passwd *pw = getpwnam(value);
                char *name = pw && pw->pw_uid != 0 ? strdup(value) : NULL;
                if (!name)
                        return -EINVAL;
                struct hook_user *u = field;
                free(u->name);
                *u = (struct hook_user) { name, pw->pw_uid, pw->pw_gid };
                return 0;
        }
        }
        return -EINVAL;
}

static bool known_section(const char *name) {
        for (const char *const *s = sections; *s; s++)
                if (strcmp(*s, name) == 0)
                        return true;
        return false;
}

static void check_section_header(struct parse_state *ps, const char *line) {
        const char *p = line + strspn(line, " \t");
        const char *close = *p == '[' ? strchr(p, ']') : NULL;
        if (!close)
                return;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int) (close - p - 1), p + 1);
        const char *hint = known_section(name) ? NULL : suggest_near_miss(name, sections);
        if (hint)
                bad(ps, "unknown section [%s] (did you mean [%s]?)", name, hint);
        else if (!known_section(name))
                bad(ps, "unknown section [%s] (watch, storage, collect, log, record)", name);
}

/* inih's reader: one line of the text per call. inih does not tell about a
 * section with no keys, nor the line of anything: sections are checked
 * here, as each line is read. A line longer than inih's buffer would come
 * back as two lines (its tail parsed as a line of its own, perhaps a
 * section header): it is reported and its tail dropped. A NUL would end
 * the line early for inih without a word: reported too. */
static char *read_line(char *str, int num, void *stream) {
        struct parse_state *ps = stream;
        if (ps->next >= ps->end)
                return NULL;
        const char *nl = memchr(ps->next, '\n', (size_t) (ps->end - ps->next));
        const char *stop = nl ? nl + 1 : ps->end;
        size_t len = (size_t) (stop - ps->next);
        ps->line++;
        if (memchr(ps->next, 0, len))
                bad(ps, "a NUL byte in the line");
        if (len > (size_t) num - 1) {
                bad(ps, "line is longer than %d bytes", num - 2);
                len = (size_t) num - 2;
        }
        memcpy(str, ps->next, len);
        str[len] = 0;
        ps->next = stop;
        check_section_header(ps, str);
        return str;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        struct parse_state *ps = user;
        if (!known_section(section)) {
                if (!*section)
                        bad(ps, "'%s' is outside any [section]", name);
                return 1;       /* an unknown section was reported once, at its header */
        }
        const char *names[ELEMENTSOF(keys) + 1] = {};
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (strcmp(keys[i].section, section) != 0)
                        continue;
                names[n++] = keys[i].name;
                if (strcmp(keys[i].name, name) != 0)
                        continue;
                int r = set_value(ps->config, &keys[i], value);
                if (r == -ERANGE && keys[i].kind == VALUE_DURATION) {
                        char lo[32], hi[32];
                        format_duration(keys[i].min, lo, sizeof lo);
                        format_duration(keys[i].max, hi, sizeof hi);
                        bad(ps, "%s: %s is outside %s to %s", name, value, lo, hi);
                } else if (r == -ERANGE)
                        bad(ps, "%s: %s is outside %llu to %llu", name, value, (unsigned long long) keys[i].min,
                            (unsigned long long) keys[i].max);
                else if (r < 0)
                        bad(ps, "%s: '%s' is not %s", name, value, expected[keys[i].kind]);
                return 1;
        }
        const char *hint = suggest_near_miss(name, names);
        if (hint)
                bad(ps, "unknown key '%s' (did you mean '%s'?)", name, hint);
        else
                bad(ps, "unknown key '%s' in [%s]", name, section);
        return 1;
}

int config_load_text(struct config *c, const char *path, const char *text, size_t len, struct diags *diags) {
        struct parse_state ps = { .config = c, .path = path, .diags = diags, .next = text, .end = text + len };
        int r = ini_parse_stream(read_line, &ps, handler, &ps);
        if (r > 0) {
                diags_add(diags, path, r, 1, "syntax error (expected [section] or key = value)");
                return -EINVAL;
        }
        return ps.errors ? -EINVAL : 0;
}

int config_load(struct config *c, const char *path, bool required, struct diags *diags) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_file_at(AT_FDCWD, path, 1 << 20, &text, &len);
        if (r < 0) {
                if (!required && r == -ENOENT)
                        return 0;
                diags_add(diags, path, 1, 1, "cannot read: %s", read_error_text(r));
                return r;
        }
        return config_load_text(c, path, text, len, diags);
}
