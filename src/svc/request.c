/*
 * request.c: the helpers a handler uses on its Request: translation,
 * response headers and cookies, redirects, and typed parameter getters that
 * validate and record a translated message per field.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "svc/http.h"
#include "base/i18n.h"
#include "base/template.h"

json_t *json_build(const char *fmt, ...)
{
    json_error_t error;
    va_list ap;
    va_start(ap, fmt);
    json_t *j = json_vpack_ex(&error, 0, fmt, ap);
    va_end(ap);
    if (!j) {
        /* Never abort here: a value that reached this point unchecked must
         * cost one request a 500, not every visitor the server. */
        fault("json_build(\"%s\"): %s", fmt, error.text);
        return json_object();
    }
    return j;
}

const char *tr(Request *r, const char *msgid)
{
    return i18n_gettext(r->lang ? r->lang : "en", msgid);
}

void http_add_header(Request *r, const char *name, const char *value)
{
    if (r->header_count == MAX_RESPONSE_HEADERS) {
        log_info("%s: too many response headers, dropped %s", r->request_id, name);
        return;
    }
    r->headers[r->header_count].name = name;
    r->headers[r->header_count].value = value;
    r->header_count++;
}

void http_set_cookie(Request *r, const char *name, const char *value, int64_t max_age)
{
    /* Over TLS the __Host- prefix makes browsers refuse the cookie unless it
     * is Secure, host-only and Path=/: no subdomain can plant it. */
    const char *prefix = r->tls ? "__Host-" : "";
    const char *secure = r->tls ? "; Secure" : "";
    char *line;
    if (max_age < 0)
        line = arena_printf(r->arena, "%s%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax%s", prefix,
                            name, secure);
    else if (max_age == 0)
        line = arena_printf(r->arena, "%s%s=%s; Path=/; HttpOnly; SameSite=Lax%s", prefix, name,
                            value, secure);
    else
        line = arena_printf(r->arena, "%s%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Lax%s",
                            prefix, name, value, (long long)max_age, secure);
    http_add_header(r, "Set-Cookie", line);
}

const char *http_cookie(Request *r, const char *name)
{
    const char *header = r->header(r, "Cookie");
    if (!header)
        return NULL;
    char *full = arena_printf(r->arena, "%s%s=", r->tls ? "__Host-" : "", name);
    size_t n = strlen(full);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= n && strncmp(p, full, n) == 0)
            return arena_strndup(r->arena, p + n, len - n);
        p += len;
    }
    return NULL;
}

int http_etag(Request *r, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull; /* FNV-1a: fast, and collisions only cost a refetch */
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    char *etag = arena_printf(r->arena, "\"%016llx\"", (unsigned long long)h);
    http_add_header(r, "ETag", etag);
    return http_etag_matches(r->header(r, "If-None-Match"), etag);
}

int http_etag_matches(const char *match, const char *etag)
{
    if (!match)
        return 0;
    size_t m = strlen(match), e = strlen(etag);
    if (m == e)
        return strcmp(match, etag) == 0;
    /* One has "-gz" before the closing quote and the other not. */
    const char *longer = m > e ? match : etag, *shorter = m > e ? etag : match;
    size_t s = m > e ? e : m;
    if ((m > e ? m - e : e - m) != 3 || s < 2)
        return 0;
    return strncmp(longer, shorter, s - 1) == 0 && strcmp(longer + s - 1, "-gz\"") == 0;
}

Result http_redirect(Request *r, const char *path)
{
    /* Only local paths: an open redirect would help phishing. */
    if (path[0] != '/' || path[1] == '/' || path[1] == '\\')
        path = "/";
    r->redirect = path;
    return R_OK;
}

const char *param_raw(Request *r, const char *name)
{
    const Param *p = form_get(&r->path_params, name);
    if (!p && r->json_body) {
        /* A JSON body answers like a form: strings as they are, numbers in
         * decimal, true as "1"; anything else is absent. */
        json_t *v = json_object_get(r->json_body, name);
        if (json_is_string(v))
            return strlen(json_string_value(v)) == json_string_length(v) ? json_string_value(v)
                                                                         : "\x01";
        if (json_is_integer(v))
            return arena_printf(r->arena, "%lld", (long long)json_integer_value(v));
        if (json_is_true(v))
            return "1";
        return NULL;
    }
    if (!p && strcmp(r->method, "POST") == 0)
        p = form_get(&r->form, name);
    if (!p)
        p = form_get(&r->query, name);
    if (!p)
        return NULL;
    /* A value with an embedded NUL is never what a form field means. */
    return strlen(p->value) == p->len ? p->value : "\x01";
}

static int params_valid(const Params *p, int multiline)
{
    for (size_t i = 0; i < p->count; i++) {
        const Param *it = &p->items[i];
        if (!utf8_valid_line(it->name, strlen(it->name)))
            return 0;
        if (it->filename) { /* a file's bytes are its own; its name is text */
            if (!utf8_valid_line(it->filename, strlen(it->filename)))
                return 0;
            continue;
        }
        if (multiline ? !utf8_valid_text(it->value, it->len) : !utf8_valid_line(it->value, it->len))
            return 0;
    }
    return 1;
}

/* jansson has checked the UTF-8 already; NUL (\u0000) and other controls
 * remain possible inside strings and keys. */
static int json_text_valid(json_t *v, int depth)
{
    if (depth > 32)
        return 0;
    if (json_is_string(v))
        return utf8_valid_text(json_string_value(v), json_string_length(v));
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) if (!json_text_valid(item, depth + 1)) return 0;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *item;
        json_object_foreach(v, key, item)
        {
            if (!utf8_valid_line(key, strlen(key)) || !json_text_valid(item, depth + 1))
                return 0;
        }
    }
    return 1;
}

Result request_check_text(Request *r)
{
    if (utf8_valid_line(r->path, strlen(r->path)) && params_valid(&r->query, 0) &&
        params_valid(&r->path_params, 0) && params_valid(&r->form, 1) &&
        (!r->json_body || json_text_valid(r->json_body, 0)))
        return R_OK;
    r->message = tr(r, "What you sent contains characters that are not allowed: text must be "
                       "UTF-8, without control characters. Please check what you entered and try "
                       "again.");
    return R_BAD_REQUEST;
}

Result param_error(Request *r, const char *name, const char *message)
{
    if (!r->errors)
        r->errors = json_object();
    /* The first problem found with a field is the one to show. */
    if (!json_object_get(r->errors, name))
        json_object_set_new(r->errors, name, json_string(tr(r, message)));
    return R_BAD_REQUEST;
}

json_t *form_typed(Request *r)
{
    json_t *typed = json_object();
    for (size_t i = 0; i < r->form.count; i++)
        if (strcmp(r->form.items[i].name, "csrf_token") != 0)
            json_object_set_new(typed, r->form.items[i].name, json_string(r->form.items[i].value));
    return typed;
}

json_t *form_options(Request *r, const char *const *codes, const char *const *labels,
                     const char *selected)
{
    json_t *list = json_array();
    for (int i = 0; codes[i]; i++)
        json_array_append_new(list, json_build("{s:s, s:s, s:b}", "code", codes[i], "label",
                                               tr(r, labels[i]), "selected",
                                               selected && strcmp(selected, codes[i]) == 0));
    return list;
}

const char *tr_n(Request *r, const char *msgid, const char *msgid_plural, long n)
{
    const char *form = i18n_ngettext(r->lang, msgid, msgid_plural, n < 0 ? 0 : (unsigned long)n);
    const char *at = strstr(form, "%d");
    if (!at)
        return form;
    return arena_printf(r->arena, "%.*s%ld%s", (int)(at - form), form, n, at + 2);
}

static const char *request_translate(void *ctx, const char *msgid)
{
    return tr((Request *)ctx, msgid);
}

const char *date_words(Request *r, const char *date)
{
    if (!date || !valid_date(date))
        return date ? date : "";
    Buf b = {0};
    template_date_words(&b, date, strlen(date), request_translate, r);
    const char *out = arena_strdup(r->arena, b.data ? b.data : "");
    buf_free(&b);
    return out;
}

Result http_confirm(Request *r, const ConfirmPage *c)
{
    json_decref(r->data);
    r->data = json_build("{s:s, s:o, s:s, s:s, s:s, s:s}", "heading", c->heading, "what",
                         c->what ? c->what : json_array(), "consequence", c->consequence, "action",
                         c->action, "button", c->button, "cancel", c->cancel);
    r->page = "confirm";
    r->title = c->heading;
    return R_OK;
}

void confirm_line(Request *r, json_t *what, const char *label, const char *value)
{
    if (value && *value)
        json_array_append_new(what,
                              json_build("{s:s, s:s}", "label", tr(r, label), "value", value));
}

json_t *form_error_summary(Request *r, const FormField *fields)
{
    json_t *list = json_array();
    for (const FormField *f = fields; r->errors && f->field; f++) {
        json_t *message = json_object_get(r->errors, f->field);
        if (json_is_string(message))
            json_array_append_new(list, json_build("{s:s, s:s, s:s}", "anchor", f->anchor, "label",
                                                   tr(r, f->label), "message",
                                                   json_string_value(message)));
    }
    return list;
}

const char *code_label(const char *const *codes, const char *const *labels, const char *code)
{
    for (int i = 0; codes[i]; i++)
        if (strcmp(codes[i], code) == 0)
            return labels[i];
    return code;
}

/* Trims ASCII whitespace from both ends into the arena. */
static const char *trimmed(Request *r, const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return arena_strndup(r->arena, s, n);
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

Result param_optional_text(Request *r, const char *name, size_t max_len, int multiline,
                           const char **out)
{
    *out = NULL;
    const char *raw = param_raw(r, name);
    if (!raw)
        return R_OK;
    const char *s = trimmed(r, raw);
    if (!utf8_valid_text(s, strlen(s)) || (!multiline && strpbrk(s, "\r\n\t")))
        return param_error(r, name, N_("This contains characters that are not allowed."));
    if (utf8_length(s) > max_len)
        return param_error(r, name, N_("This is too long."));
    *out = s;
    return R_OK;
}

Result param_text(Request *r, const char *name, size_t min_len, size_t max_len, int multiline,
                  const char **out)
{
    Result res = param_optional_text(r, name, max_len, multiline, out);
    if (res != R_OK)
        return res;
    if (!*out || **out == 0)
        return param_error(r, name, N_("This field is required."));
    if (utf8_length(*out) < min_len)
        return param_error(r, name, N_("This is too short."));
    return R_OK;
}

Result param_int(Request *r, const char *name, int64_t min, int64_t max, int64_t *out)
{
    const char *s = param_raw(r, name);
    if (!s || !*s)
        return param_error(r, name, N_("This field is required."));
    int negative = *s == '-';
    const char *p = s + negative;
    if (!*p || strlen(p) > 18)
        return param_error(r, name, N_("Please enter a whole number."));
    int64_t v = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return param_error(r, name, N_("Please enter a whole number."));
        v = v * 10 + (*p - '0');
    }
    if (negative)
        v = -v;
    if (v < min || v > max)
        return param_error(r, name, N_("This number is out of range."));
    *out = v;
    return R_OK;
}

Result param_enum(Request *r, const char *name, const char *const *allowed, int *out)
{
    const char *s = param_raw(r, name);
    if (!s || !*s)
        return param_error(r, name, N_("Please choose one."));
    for (int i = 0; allowed[i]; i++) {
        if (strcmp(s, allowed[i]) == 0) {
            *out = i;
            return R_OK;
        }
    }
    return param_error(r, name, N_("Please choose one of the options."));
}

int valid_iso3(const char *s)
{
    return s && strlen(s) == 3 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
           isupper((unsigned char)s[2]);
}

Result param_iso3(Request *r, const char *name, const char **out)
{
    const char *s = param_raw(r, name);
    if (!valid_iso3(s))
        return param_error(r, name, N_("Please choose a country."));
    *out = s;
    return R_OK;
}

Result param_optional_iso3(Request *r, const char *name, const char **out)
{
    *out = NULL;
    const char *s = param_raw(r, name);
    if (!s || !*s)
        return R_OK;
    return param_iso3(r, name, out);
}

Result param_optional_int(Request *r, const char *name, int64_t min, int64_t max, int64_t def,
                          int64_t *out)
{
    const char *s = param_raw(r, name);
    if (!s || !*s) {
        *out = def;
        return R_OK;
    }
    return param_int(r, name, min, max, out);
}

Result param_optional_enum(Request *r, const char *name, const char *const *allowed, int def,
                           int *out)
{
    const char *s = param_raw(r, name);
    if (!s || !*s) {
        *out = def;
        return R_OK;
    }
    return param_enum(r, name, allowed, out);
}

const char *param_filter(Request *r, const char *name, const char *const *codes)
{
    const char *s = param_raw(r, name);
    for (int i = 0; s && codes[i]; i++)
        if (strcmp(s, codes[i]) == 0)
            return codes[i];
    return NULL;
}

Result param_checkbox(Request *r, const char *name, int *out)
{
    /* A browser sends a ticked box's value ("on" unless the form says
     * "1"), a JSON body true as "1"; an unticked box sends nothing. */
    const char *s = param_raw(r, name);
    *out = 0;
    if (!s || !*s)
        return R_OK;
    if (strcmp(s, "1") != 0 && strcmp(s, "on") != 0)
        return param_error(r, name, N_("Please tick the box or leave it empty."));
    *out = 1;
    return R_OK;
}

int valid_date(const char *s)
{
    int y, m, d;
    char tail;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return 0;
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1945 || y > 2100 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return 0;
    return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

Result param_optional_date(Request *r, const char *name, const char **out)
{
    *out = NULL;
    const char *raw = param_raw(r, name);
    if (!raw)
        return R_OK;
    const char *s = trimmed(r, raw);
    if (!*s)
        return R_OK;
    /* No format in the message: a date picker shows the date in the
     * reader's own format (mm/dd/yyyy, dd/mm/yyyy ...) and always sends a
     * well-formed one, so only the day itself can be wrong here. */
    if (!valid_date(s))
        return param_error(r, name, N_("Please enter a real date between 1945 and 2100."));
    *out = s;
    return R_OK;
}

Result param_date(Request *r, const char *name, const char **out)
{
    Result res = param_optional_date(r, name, out);
    if (res == R_OK && !*out)
        return param_error(r, name, N_("Please enter a date."));
    return res;
}

int valid_slug(const char *s, size_t min_len, size_t max_len)
{
    size_t n = s ? strlen(s) : 0;
    if (n < min_len || n > max_len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

Result param_slug(Request *r, const char *name, size_t min_len, size_t max_len, const char **out)
{
    Result res = param_text(r, name, min_len, max_len, 0, out);
    if (res != R_OK)
        return res;
    if (!valid_slug(*out, min_len, max_len))
        return param_error(r, name, N_("Use only lowercase letters, digits and hyphens (-)."));
    return R_OK;
}

Result param_link(Request *r, const char *name, const char **out)
{
    Result res = param_optional_text(r, name, 2000, 0, out);
    if (res != R_OK)
        return res;
    if (*out && **out && strncmp(*out, "https://", 8) != 0 && strncmp(*out, "http://", 7) != 0)
        return param_error(r, name, N_("A source must be a web address (https://...)."));
    return R_OK;
}

Result param_token(Request *r, const char *name, const char **out)
{
    const char *s = param_raw(r, name);
    size_t n = s ? strlen(s) : 0;
    int ok = n == 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok)
        return param_error(r, name, N_("This link is not complete: please copy all of it."));
    *out = s;
    return R_OK;
}

/* A pragmatic check, not RFC 5322: one '@', a non-empty local part without
 * spaces or quotes, a domain with a dot, letters, digits, '-' and '.', and
 * nothing that could break a mail header. */
int valid_email(const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > 254 || !at || at == s || strchr(at + 1, '@') || at - s > 64)
        return 0;
    for (const char *p = s; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
            return 0;
    }
    const char *domain = at + 1;
    if (!strchr(domain, '.') || domain[0] == '.' || domain[0] == '-' || s[n - 1] == '.' ||
        strstr(domain, ".."))
        return 0;
    for (const char *p = domain; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
            return 0;
    return 1;
}

Result param_email(Request *r, const char *name, const char **out)
{
    const char *raw = param_raw(r, name);
    if (!raw || !*raw)
        return param_error(r, name, N_("Please enter your email address."));
    char *s = (char *)trimmed(r, raw);
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!valid_email(s))
        return param_error(r, name, N_("Please enter a valid email address."));
    *out = s;
    return R_OK;
}

const char *role_name(Role role)
{
    switch (role) {
    case ROLE_ADMIN:
        return "admin";
    case ROLE_COORDINATOR:
        return "coordinator";
    case ROLE_MEMBER:
        break;
    }
    return "member";
}

Role role_from_name(const char *name)
{
    if (strcmp(name, "admin") == 0)
        return ROLE_ADMIN;
    if (strcmp(name, "coordinator") == 0)
        return ROLE_COORDINATOR;
    if (strcmp(name, "member") == 0)
        return ROLE_MEMBER;
    return (Role)0;
}
