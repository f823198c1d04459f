/*
 * router.c: the route table, built from routes.def, and path matching.
 *
 * Matching is a linear scan of a few dozen patterns, segment by segment,
 * without allocation until a match: cheaper than anything cleverer at this
 * size. Literal segments win over {name} ones only by table order, so keep
 * literal routes above patterned ones when both could match.
 */
#include "web/router.h"
#include "feat/handlers.h"

#include <string.h>
#include <strings.h>

#define CSRF 1
#define NOCSRF 0
#define ROUTE(method, pattern, handler, permission, csrf)                                          \
    {#method, pattern, handler, PERM_##permission, csrf, #handler},
const Route routes[] = {
#include "feat/routes.def"
    {NULL, NULL, NULL, PERM_PUBLIC, 0, NULL},
};
#undef ROUTE

/* Does path match pattern? If params is not NULL, records the captures. */
static int match_pattern(const char *pattern, const char *path, Arena *a, Params *params)
{
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *end = strchr(s, '/');
            size_t seg_len = end ? (size_t)(end - s) : strlen(s);
            if (seg_len == 0)
                return 0;
            if (params) {
                char *value = arena_strndup(a, s, seg_len);
                Param *items = arena_alloc(a, (params->count + 1) * sizeof(Param));
                if (params->count)
                    memcpy(items, params->items, params->count * sizeof(Param));
                items[params->count].name = arena_strndup(a, p + 1, (size_t)(close - p - 1));
                items[params->count].value = value;
                items[params->count].len = strlen(value);
                params->items = items;
                params->count++;
            }
            p = close + 1;
            s += seg_len;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *p == 0 && *s == 0;
}

const Route *router_match(const char *method, const char *path, Arena *a, Params *params,
                          Result *result)
{
    int path_matched = 0;
    int head = strcmp(method, "HEAD") == 0;
    for (const Route *rt = routes; rt->method; rt++) {
        if (!match_pattern(rt->pattern, path, NULL, NULL))
            continue;
        path_matched = 1;
        if (strcmp(rt->method, method) != 0 && !(head && strcmp(rt->method, "GET") == 0))
            continue;
        Params captured = {0};
        if (!match_pattern(rt->pattern, path, a, &captured)) {
            *result = R_BAD_REQUEST;
            return NULL;
        }
        *params = captured;
        *result = R_OK;
        return rt;
    }
    *result = path_matched ? R_METHOD : R_NOT_FOUND;
    return NULL;
}

const char *router_allowed(const char *path, Arena *a)
{
    int get = 0, post = 0;
    for (const Route *rt = routes; rt->method; rt++) {
        if (!match_pattern(rt->pattern, path, NULL, NULL))
            continue;
        get |= strcmp(rt->method, "GET") == 0;
        post |= strcmp(rt->method, "POST") == 0;
    }
    return arena_printf(a, "%s%s%s", get ? "GET, HEAD" : "", get && post ? ", " : "",
                        post ? "POST" : "");
}

const char *permission_name(Permission p)
{
    static const char *const names[] = {"PUBLIC", "MEMBER",   "COORDINATOR",
                                        "ADMIN",  "API_READ", "API_WRITE"};
    return names[p];
}

void router_print(FILE *out)
{
    fprintf(out, "%-5s %-28s %-12s %-5s %s\n", "METH", "PATH", "PERMISSION", "CSRF", "HANDLER");
    for (const Route *rt = routes; rt->method; rt++)
        fprintf(out, "%-5s %-28s %-12s %-5s %s\n", rt->method, rt->pattern,
                permission_name(rt->permission), rt->csrf ? "yes" : "no", rt->name);
}
