#include "yamltree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"

const char *ynode_type_name(const struct ynode *n) {
        switch (n->type) {
        case YNODE_SCALAR: return "a scalar";
        case YNODE_MAP: return "a mapping";
        case YNODE_SEQ: return "a list";
        }
        return "?";
}

void ynode_free(struct ynode *n) {
        if (!n)
                return;
        for (size_t i = 0; i < n->nitems; i++)
                ynode_free(n->items[i]);
        free(n->items);
        free(n->scalar);
        free(n);
}

static struct ynode *ynode_new(enum ynode_type type, const yaml_mark_t *mark) {
        struct ynode *n = calloc(1, sizeof *n);
        if (n) {
                n->type = type;
                n->line = (int) mark->line + 1;
                n->col = (int) mark->column + 1;
        }
        return n;
}

static int ynode_append(struct ynode *parent, struct ynode *child) {
        struct ynode **n = realloc(parent->items, (parent->nitems + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        parent->items = n;
        parent->items[parent->nitems++] = child;
        /* A mapping's pair is complete on every second item. */
        parent->n = parent->type == YNODE_MAP ? parent->nitems / 2 : parent->nitems;
        return 0;
}

struct builder {
        yaml_parser_t parser;
        const char *file;
        struct diags *diags;
};

/* Builds the node that starts with `ev` (already taken from the parser). */
/* Line and column (in characters, as libyaml counts them) of a byte offset. */
static yaml_mark_t mark_at_offset(const char *text, size_t len, size_t offset) {
        yaml_mark_t m = { .index = offset };
        for (size_t i = 0; i < offset && i < len; ) {
                if (text[i] == '\n') {
                        m.line++;
                        m.column = 0;
                        i++;
                        continue;
                }
                m.column++;
                /* What precedes the offset is valid UTF-8: the reader got past it. */
                size_t n = utf8_sequence_length((const unsigned char *) text + i);
                i += n ? n : 1;
        }
        return m;
}

static int build_node(struct builder *b, yaml_event_t *ev, int depth, struct ynode **ret) {
        if (depth >= 64) {
                diags_add(b->diags, b->file, (int) ev->start_mark.line + 1,
                          (int) ev->start_mark.column + 1, "nesting too deep");
                return -EINVAL;
        }
        switch (ev->type) {
        case YAML_SCALAR_EVENT: {
                /* A NUL (written "\0" in a quoted scalar) would silently cut
                 * every string made of it. */
                if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) {
                        diags_add(b->diags, b->file, (int) ev->start_mark.line + 1,
                                  (int) ev->start_mark.column + 1, "a NUL character in a value");
                        return -EINVAL;
                }
                struct ynode *n = ynode_new(YNODE_SCALAR, &ev->start_mark);
                if (!n)
                        return -ENOMEM;
                n->scalar = strndup((const char *) ev->data.scalar.value, ev->data.scalar.length);
                n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
                if (!n->scalar) {
                        ynode_free(n);
                        return -ENOMEM;
                }
                *ret = n;
                return 0;
        }
        case YAML_ALIAS_EVENT:
                diags_add(b->diags, b->file, (int) ev->start_mark.line + 1,
                          (int) ev->start_mark.column + 1,
                          "YAML aliases are not supported in rule files; write the value out");
                return -EINVAL;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
                bool is_map = ev->type == YAML_MAPPING_START_EVENT;
                yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
                struct ynode *n = ynode_new(is_map ? YNODE_MAP : YNODE_SEQ, &ev->start_mark);
                if (!n)
                        return -ENOMEM;
                for (;;) {
                        yaml_event_t child_ev;
                        if (!yaml_parser_parse(&b->parser, &child_ev)) {
                                ynode_free(n);
                                return -EINVAL;
                        }
                        if (child_ev.type == end) {
                                yaml_event_delete(&child_ev);
                                break;
                        }
                        struct ynode *child = NULL;
                        int r = build_node(b, &child_ev, depth + 1, &child);
                        yaml_event_delete(&child_ev);
                        if (r >= 0)
                                r = ynode_append(n, child);
                        if (r < 0) {
                                ynode_free(child);
                                ynode_free(n);
                                return r;
                        }
                }
                *ret = n;
                return 0;
        }
        default:
                diags_add(b->diags, b->file, (int) ev->start_mark.line + 1,
                          (int) ev->start_mark.column + 1, "unexpected YAML event");
                return -EINVAL;
        }
}

int ynode_parse(const char *file, const char *text, size_t len, struct diags *diags,
                struct ynode **ret) {
        struct builder b = { .file = file, .diags = diags };
        if (!yaml_parser_initialize(&b.parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&b.parser, (const unsigned char *) text, len);

        struct ynode *root = NULL;
        int r = 0, documents = 0;
        for (;;) {
                yaml_event_t ev;
                if (!yaml_parser_parse(&b.parser, &ev)) {
                        r = -EINVAL;
                        break;
                }
                yaml_event_type_t type = ev.type;
                if (type == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&ev);
                        break;
                }
                if (type == YAML_DOCUMENT_START_EVENT && ++documents > 1) {
                        diags_add(diags, file, (int) ev.start_mark.line + 1,
                                  (int) ev.start_mark.column + 1,
                                  "only one YAML document per rule file");
                        yaml_event_delete(&ev);
                        r = -EINVAL;
                        break;
                }
                if (type == YAML_SCALAR_EVENT || type == YAML_MAPPING_START_EVENT ||
                    type == YAML_SEQUENCE_START_EVENT || type == YAML_ALIAS_EVENT)
                        r = build_node(&b, &ev, 0, &root);
                yaml_event_delete(&ev);
                if (r < 0)
                        break;
        }
        if (r < 0 && b.parser.error != YAML_NO_ERROR) {
                const yaml_mark_t *m = b.parser.context ? &b.parser.context_mark : &b.parser.problem_mark;
                if (b.parser.problem_mark.line || b.parser.problem_mark.column)
                        m = &b.parser.problem_mark;
                yaml_mark_t at = *m;
                /* The reader (bad UTF-8) sets no mark, only a byte offset. */
                if (b.parser.error == YAML_READER_ERROR)
                        at = mark_at_offset(text, len, b.parser.problem_offset);
                diags_add(diags, file, (int) at.line + 1, (int) at.column + 1, "YAML syntax: %s%s%s",
                          b.parser.problem ? b.parser.problem : "error",
                          b.parser.context ? " " : "", b.parser.context ? b.parser.context : "");
        }
        yaml_parser_delete(&b.parser);
        if (r < 0) {
                ynode_free(root);
                return r;
        }
        *ret = root;
        return 0;
}
