/*
 * home.c: the front page, the public status endpoint and static files.
 * Static files stay a route here rather than a special case in web/: the
 * route table (and so `ratify help routes`, the access tests and the
 * router's permission check) then covers every path the server answers.
 */
#include <string.h>

#include "feat/handlers.h"
#include "feat/treaty.h"
#include "base/assets.h"
#include "db/db.h"
#include "svc/http.h"
#include "base/version.h"

Result home_page(Request *r)
{
    r->page = "home";
    r->title = tr(r, "Ratify");
    Campaign c = treaty_campaign(r->db);
    r->data = json_build("{s:s, s:o}", "version", RATIFY_VERSION, "campaign",
                         treaty_campaign_json(r, &c));
    return R_OK;
}

Result home_status_api(Request *r)
{
    r->data = json_build("{s:s, s:s, s:i, s:i}", "name", "ratify", "version", RATIFY_VERSION,
                         "schema_version", db_schema_version(r->db), "migrations_embedded",
                         db_migrations_available());
    return R_OK;
}

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Static files are compiled in and never change while the binary runs, so
 * the ETag is a hash of the content and caches may keep them for a year
 * (pages link them with ?v=<version>). */
Result home_static_file_page(Request *r)
{
    /* raw: a path looked up among the compiled-in files, nothing else */
    const char *file = param_raw(r, "file");
    char path[128];
    if (!file || strlen(file) > 100 || file[0] == '.')
        return R_NOT_FOUND;
    snprintf(path, sizeof path, "static/%s", file);
    const Asset *a = asset_find(path);
    if (!a)
        return R_NOT_FOUND;
    http_add_header(r, "Cache-Control", "public, max-age=31536000, immutable");
    r->content_type = mime_type(path);
    if (http_etag(r, a->data, a->len)) {
        r->status = 304;
        return R_OK;
    }
    buf_append(&r->body_out, (const char *)a->data, a->len);
    return R_OK;
}
