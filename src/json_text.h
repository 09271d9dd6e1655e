/* JSON strings from text a process chose: its comm, its command line, its
 * cgroup's path. JSON must be UTF-8 and jansson refuses anything else (a
 * NULL that would empty the whole object holding it), so bytes that are
 * not valid UTF-8 are written as the text \xNN: nothing is lost, nothing
 * is refused. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* A new JSON string of `s` (NULL: JSON null), invalid bytes as \xNN. */
json_t *json_text(const char *s);
