/* nettrace_stat FILE: the events of a nettrace file, counted by provider
 * and event, through autodump's own parser — how the tests read back the
 * traces dotnet.trace writes. Exits 1 when the file is not a whole
 * nettrace stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nettrace.h"

struct count {
        char key[260];
        unsigned n;
};

static struct count counts[4096];
static size_t n_counts;

static void on_event(const struct nettrace_event *ev, void *userdata) {
        char key[260];
        snprintf(key, sizeof key, "%s/%s", ev->meta->provider, *ev->meta->name ? ev->meta->name : "?");
        for (size_t i = 0; i < n_counts; i++)
                if (strcmp(counts[i].key, key) == 0) {
                        counts[i].n++;
                        return;
                }
        if (n_counts < sizeof counts / sizeof *counts) {
                snprintf(counts[n_counts].key, sizeof counts[n_counts].key, "%s", key);
                counts[n_counts++].n = 1;
        }
}

int main(int argc, char **argv) {
        FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
        struct nettrace *p;
        if (!f || nettrace_new(&p) < 0) {
                fprintf(stderr, "usage: nettrace_stat FILE\n");
                return 2;
        }
        static char buf[1 << 16];
        size_t n;
        int r = 0;
        while (r == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
                r = nettrace_feed(p, buf, n, on_event, NULL);
        for (size_t i = 0; i < n_counts; i++)
                printf("%u\t%s\n", counts[i].n, counts[i].key);
        nettrace_free(p);
        fclose(f);
        if (r != 1)
                fprintf(stderr, "nettrace_stat: %s\n", r < 0 ? "not a nettrace stream, or a corrupt one" : "cut short");
        return r == 1 ? 0 : 1;
}
