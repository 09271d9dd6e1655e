#include "ere.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* glibc's regcomp copies a repeated atom once per allowed repetition
 * (a{1,100} becomes 100 copies of a), so nested bounds multiply: the
 * compiled size is about the product of the bounds along each nesting,
 * summed over the pattern. Counting that before regcomp bounds the memory
 * and the matching time a rule file can ask for. */

#define COST_CAP (UINT64_MAX / 4)

static uint64_t saturating_add(uint64_t a, uint64_t b) {
        return a > COST_CAP - b ? COST_CAP : a + b;
}

static uint64_t saturating_mul(uint64_t a, uint64_t b) {
        return b && a > COST_CAP / b ? COST_CAP : a * b;
}

struct level {
        uint64_t sum;   /* the cost of everything in this group so far */
        uint64_t last;  /* the cost of its last atom, which a quantifier multiplies */
};

/* How many copies a {…} bound makes, from after its '{'; *end: past '}'.
 * An unparsable bound is an ordinary character for ERE's purposes, and
 * regcomp will say whether it is valid. */
static uint64_t brace_copies(const char *p, const char **end) {
        /* Digits only: strtoul would also take blanks and signs. */
        if (!isdigit((unsigned char) *p))
                return 0;
        char *e;
        unsigned long lo = strtoul(p, &e, 10), hi = lo;
        bool unbounded = false;
        if (*e == ',') {
                const char *q = e + 1;
                if (*q == '}') {
                        unbounded = true;
                        e = (char *) q;
                } else {
                        if (!isdigit((unsigned char) *q))
                                return 0;
                        hi = strtoul(q, &e, 10);
                }
        }
        if (*e != '}')
                return 0;
        *end = e + 1;
        /* x{n,} is n copies and a star: n + 1. */
        uint64_t copies = unbounded ? (uint64_t) lo + 1 : (uint64_t) (hi > lo ? hi : lo);
        return copies ? copies : 1;
}

/* Past a bracket expression starting at '[': ']' right after '[' or '[^'
 * is a member, and [: :], [. .], [= =] hold their own ']'. */
static const char *skip_bracket(const char *p) {
        p++;
        if (*p == '^')
                p++;
        if (*p == ']')
                p++;
        while (*p && *p != ']') {
                if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                        char close = p[1];
                        const char *q = p + 2;
                        while (*q && !(q[0] == close && q[1] == ']'))
                                q++;
                        p = *q ? q + 2 : q;
                } else
                        p++;
        }
        return *p ? p + 1 : p;
}

static void add_atom(struct level *l, uint64_t cost) {
        l->sum = saturating_add(l->sum, cost);
        l->last = cost;
}

static void repeat_last(struct level *l, uint64_t copies) {
        uint64_t repeated = saturating_mul(l->last, copies);
        l->sum = saturating_add(l->sum - l->last, repeated);
        l->last = repeated;
}

/* The end of the token at p that is not an operator: a bracket
 * expression, an escape, or one character. */
static const char *atom_end(const char *p) {
        if (*p == '[')
                return skip_bracket(p);
        if (*p == '\\' && p[1])
                return p + 2;
        return p + 1;
}

void ere_scan(const char *pattern, struct ere_facts *ret) {
        struct level stack[REGEX_MAX_NESTING + 1] = {};
        size_t depth = 0;
        bool after_quantifier = false;
        *ret = (struct ere_facts) {};
        for (const char *p = pattern; *p; ) {
                const char *end;
                uint64_t copies = 0;
                bool quantifier = false;
                switch (*p) {
                case '(':
                        if (depth == REGEX_MAX_NESTING) {
                                ret->cost = COST_CAP;
                                return;
                        }
                        stack[++depth] = (struct level) {};
                        p++;
                        break;
                case ')':
                        if (depth == 0) {       /* an unmatched ')' is an ordinary character */
                                add_atom(&stack[0], 1);
                                p++;
                                break;
                        }
                        depth--;
                        add_atom(&stack[depth], saturating_add(stack[depth + 1].sum, 1));
                        p++;
                        break;
                case '|':
                        stack[depth].last = 0;  /* a quantifier right after '|' repeats nothing */
                        p++;
                        break;
                case '*': case '?':
                        quantifier = true;
                        p++;
                        break;
                case '+':
                        quantifier = true;
                        repeat_last(&stack[depth], 2);  /* x+ is xx* */
                        p++;
                        break;
                case '{':
                        copies = brace_copies(p + 1, &end);
                        if (copies) {
                                quantifier = true;
                                repeat_last(&stack[depth], copies);
                                p = end;
                                break;
                        }
                        /* Not a bound: an ordinary '{'. */
                        __attribute__((fallthrough));
                default:
                        if (*p == '\\' && p[1] >= '1' && p[1] <= '9')
                                ret->back_reference = true;
                        add_atom(&stack[depth], 1);
                        p = atom_end(p);
                }
                if (quantifier && after_quantifier)
                        ret->repeated_quantifier = true;
                after_quantifier = quantifier;
        }
        /* Groups left open: regcomp refuses them; count what is there. */
        for (size_t i = 0; i <= depth; i++)
                ret->cost = saturating_add(ret->cost, stack[i].sum);
}

uint64_t ere_cost(const char *pattern) {
        struct ere_facts f;
        ere_scan(pattern, &f);
        return f.cost;
}

/* "^.*(PATTERN)", with each unmatched ')' of PATTERN escaped: an ordinary
 * character as written, it would close the group when wrapped. */
static char *wrap_for_search(const char *pattern) {
        size_t len = strlen(pattern);
        char *out = malloc(2 * len + 8);
        if (!out)
                return NULL;
        char *o = stpcpy(out, "^.*(");
        size_t depth = 0;
        for (const char *p = pattern; *p; ) {
                if (*p == '(')
                        depth++;
                else if (*p == ')' && depth > 0)
                        depth--;
                else if (*p == ')')
                        *o++ = '\\';
                const char *end = *p == '(' || *p == ')' ? p + 1 : atom_end(p);
                memcpy(o, p, (size_t) (end - p));
                o += end - p;
                p = end;
        }
        strcpy(o, ")");
        return out;
}

int ere_compile_search(const char *pattern, regex_t *ret, char *error, size_t error_size) {
        struct ere_facts f;
        ere_scan(pattern, &f);
        if (f.cost > REGEX_MAX_COST) {
                snprintf(error, error_size, "too complex: its repetitions make about %llu positions (at most %d)",
                         (unsigned long long) f.cost, REGEX_MAX_COST);
                return -E2BIG;
        }
        /* POSIX leaves "a**" undefined; glibc takes seconds to compile a
         * run of them behind ".*". */
        if (f.repeated_quantifier) {
                snprintf(error, error_size, "a repetition of a repetition (such as ** or +?), which POSIX leaves "
                         "undefined");
                return -EINVAL;
        }
        /* Not ERE, and matching them can take exponential time. */
        if (f.back_reference) {
                snprintf(error, error_size, "back-references (\\1 to \\9) are not part of POSIX extended regular expressions");
                return -EINVAL;
        }
        /* Compiled as written first: "a)(b" must be refused, not
         * completed by the wrapping below. */
        regex_t as_written;
        int r = regcomp(&as_written, pattern, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                regerror(r, &as_written, error, error_size);
                return -EINVAL;
        }
        regfree(&as_written);
        /* An unanchored search tries every start position, each walking to
         * the end of the text: quadratic in a command line the process
         * shapes itself (10 s for a 256 KiB one). Anchored behind ".*", one
         * pass finds the same matches. */
        char *wrapped = wrap_for_search(pattern);
        if (!wrapped)
                return -ENOMEM;
        r = regcomp(ret, wrapped, REG_EXTENDED | REG_NOSUB);
        free(wrapped);
        if (r != 0) {
                regerror(r, ret, error, error_size);
                return r == REG_ESPACE ? -ENOMEM : -EINVAL;
        }
        return 0;
}
