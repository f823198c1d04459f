/*
 * account.c: a person's account as they use it: logging in (the password
 * step; the code step is two_factor.c's) and out, choosing a password
 * through a welcome or reset link, the account page (/account and
 * /api/v1/me), the administrators' list of users (/admin/users and
 * /api/v1/users), and `ratify user` with the first admin's link. What
 * every request needs to know who is asking (sessions, passwords, CSRF,
 * throttling) is svc/auth.c's: this file only uses it.
 */
#include "feat/account.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "base/i18n.h"
#include "feat/assistance.h"
#include "feat/country_name.h"
#include "feat/handlers.h"
#include "feat/member_io.h"
#include "feat/two_factor.h"
#include "feat/notification.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/mail.h"

/* A "next" target must be a local path; anything else goes home. */
static const char *safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strpbrk(next, "\r\n"))
        return "/";
    return next;
}

static void login_form(Request *r, const char *email, const char *next)
{
    r->page = "login";
    r->title = tr(r, "Log in");
    r->data = json_build("{s:s, s:s}", "email", email ? email : "", "next", safe_next(next));
}

Result account_login_page(Request *r)
{
    /* raw: next is a local path that safe_next checks before any use */
    const char *next = param_raw(r, "next");
    if (r->user)
        return http_redirect(r, safe_next(next));
    login_form(r, NULL, next);
    return R_OK;
}

/* A hash to verify against when the email is unknown, so that a wrong
 * email takes as long as a wrong password and reveals nothing. */
static const char *dummy_hash(void)
{
    static char hash[crypto_pwhash_STRBYTES];
    static int ready;
    if (!ready) {
        auth_hash_password("not a real password", hash);
        ready = 1;
    }
    return hash;
}

static Result login_failed(Request *r, const char *email, const char *message, Result code)
{
    login_form(r, email, param_raw(r, "next")); /* raw: safe_next checks it */
    r->message = tr(r, message);
    if (code == R_TOO_MANY)
        r->status = 429;
    return code == R_TOO_MANY ? R_OK : R_BAD_REQUEST;
}

/* A right password: the account's failures forgotten, and the session
 * or the half-login that waits for the second factor. */
typedef struct {
    const char *account_key;
    AfterPassword after;
} LoginOpen;

static Result login_open_apply(Db *w, void *ctx)
{
    LoginOpen *l = ctx;
    if (auth_clear_failures(w, l->account_key) != R_OK)
        return R_INTERNAL;
    return two_factor_after_password_write(w, &l->after);
}

Result account_login_post(Request *r)
{
    const char *email = NULL, *password = NULL;
    /* raw: the email shown again as typed; the form escapes it */
    const char *typed = param_raw(r, "email");
    if (param_email(r, "email", &email) != R_OK ||
        param_text(r, "password", 1, PASSWORD_MAX, 0, &password) != R_OK) {
        login_form(r, typed, param_raw(r, "next")); /* raw: safe_next checks it */
        return R_BAD_REQUEST;
    }
    char account_key[65], client_key[65];
    auth_token_hash("throttle-account", email, account_key);
    auth_token_hash("throttle-client", r->client, client_key);
    if (auth_throttled(r->db, account_key, THROTTLE_ACCOUNT) ||
        auth_throttled(r->db, client_key, THROTTLE_CLIENT))
        return login_failed(r, email, N_("Too many failed attempts. Please wait 15 minutes."),
                            R_TOO_MANY);

    Stmt *st = db_prepare(
        r->db, "SELECT id, password_hash FROM users WHERE email = :email AND disabled = 0");
    db_bind_text(st, ":email", email);
    int64_t id = 0;
    char *hash = NULL;
    if (db_row(st)) {
        id = db_int(st, 0);
        hash = arena_strdup(r->arena, db_text(st, 1));
    }
    db_done(st);
    int ok = auth_verify_password(hash && *hash ? hash : dummy_hash(), password) && hash && *hash;
    if (!ok) {
        auth_failed_attempt(r->db, account_key, client_key); /* a failure is logged */
        return login_failed(r, email, N_("The email or password is not right."), R_BAD_REQUEST);
    }
    LoginOpen l = {.account_key = account_key};
    /* raw: next is a local path that safe_next checks */
    two_factor_after_password_prepare(r, &l.after, id, safe_next(param_raw(r, "next")));
    if (db_write(r->db, login_open_apply, &l) != R_OK)
        return R_INTERNAL;
    return two_factor_after_password_finish(r, &l.after);
}

Result account_logout_post(Request *r)
{
    if (auth_session_end(r->db, r->session_token) != R_OK)
        return R_INTERNAL; /* the cookie stays: the session was not ended */
    http_set_cookie(r, "session", "", -1);
    r->user = NULL;
    return http_redirect(r, "/");
}

/* The user a welcome or reset token belongs to, or 0 if it is unknown,
 * used or expired. */
static int64_t token_user(Request *r, const char *token, char hash[65])
{
    auth_token_hash("login-token", token, hash);
    Stmt *st = db_prepare(r->db, "SELECT user_id FROM login_tokens WHERE token_hash = "
                                 ":hash AND used_at IS NULL AND expires_at > :now");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":now", now_seconds());
    int64_t id = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    return id;
}

static void welcome_form(Request *r, const char *token)
{
    r->page = "welcome";
    r->title = tr(r, "Choose your password");
    r->data = json_build("{s:s, s:i}", "token", token, "min", PASSWORD_MIN);
}

static Result link_spent(Request *r)
{
    r->message = tr(r, "This link has expired or was already used. Ask an administrator "
                       "for a new one.");
    return R_NOT_FOUND;
}

Result account_welcome_page(Request *r)
{
    const char *token = NULL;
    char hash[65];
    if (param_token(r, "token", &token) != R_OK || !token_user(r, token, hash))
        return link_spent(r);
    welcome_form(r, token);
    return R_OK;
}

/* A password chosen through a welcome or reset link: the password, the
 * link spent, the audit line and what follows a right password, all or
 * nothing. */
typedef struct {
    const char *token_hash;
    int64_t user_id;
    char password_hash[128];
    AfterPassword after;
} PasswordSet;

static Result password_set_apply(Db *w, void *ctx)
{
    PasswordSet *p = ctx;
    /* Spending the link is the check that it is still good: two forms
     * sent with one link cannot both set a password. */
    Result rc = auth_login_token_spend(w, p->token_hash, p->user_id);
    if (rc != R_OK)
        return rc;
    Stmt *st = db_prepare(w, "UPDATE users SET password_hash = :hash WHERE id = :id");
    db_bind_text(st, ":hash", p->password_hash);
    db_bind_int(st, ":id", p->user_id);
    if (db_run(st) != R_OK || audit_log(w, p->user_id, "password set", "", "") != R_OK)
        return R_INTERNAL;
    return two_factor_after_password_write(w, &p->after);
}

Result account_welcome_post(Request *r)
{
    const char *token = NULL;
    char hash[65];
    int64_t user_id = param_token(r, "token", &token) == R_OK ? token_user(r, token, hash) : 0;
    if (!user_id)
        return link_spent(r);
    const char *password = NULL, *confirm = NULL;
    welcome_form(r, token);
    if (param_text(r, "password", PASSWORD_MIN, PASSWORD_MAX, 0, &password) != R_OK)
        return R_BAD_REQUEST;
    param_optional_text(r, "confirm", PASSWORD_MAX, 0, &confirm);
    if (!confirm || strcmp(password, confirm) != 0) {
        param_error(r, "confirm", N_("The two passwords are not the same."));
        return R_BAD_REQUEST;
    }
    /* argon2id takes a while: hashed here, not in the writer's turn. */
    PasswordSet p = {.token_hash = hash, .user_id = user_id};
    if (auth_hash_password(password, p.password_hash) != R_OK)
        return R_INTERNAL;
    /* A reset link proves the mailbox, not the second factor: an account
     * that has one still answers it before getting a session. */
    two_factor_after_password_prepare(r, &p.after, user_id, "/account");
    Result res = db_write(r->db, password_set_apply, &p);
    sodium_memzero(p.password_hash, sizeof p.password_hash);
    if (res == R_NOT_FOUND)
        return link_spent(r);
    if (res != R_OK)
        return R_INTERNAL;
    return two_factor_after_password_finish(r, &p.after);
}

static json_t *account_data(Request *r)
{
    json_t *countries = json_array();
    Buf text = {0};
    for (size_t i = 0; i < r->user->country_count; i++) {
        json_array_append_new(countries, json_string(r->user->countries[i]));
        /* Names, not codes (issue 14: "AGO" for Angola). */
        const char *name = country_name_of(r, r->user->countries[i]);
        buf_printf(&text, "%s%s", i ? ", " : "", name ? name : r->user->countries[i]);
    }
    json_t *account = json_build(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:b}", "id", (json_int_t)r->user->id, "email",
        r->user->email, "display_name", r->user->display_name, "role", role_name(r->user->role),
        "role_label", audit_role_words(r, role_name(r->user->role)), "lang",
        r->user->lang ? r->user->lang : "", "countries", countries, "countries_text",
        text.data ? text.data : "", "two_factor", r->user->two_factor);
    buf_free(&text);
    return account;
}

Result account_page(Request *r)
{
    r->page = "account";
    r->title = tr(r, "Your account");
    json_t *account = account_data(r);
    /* Those who are told of waiting work (notification.c) choose how:
     * coordinators and admins (applications, corrections, overdue
     * letters, reviews) and the steering committee (requests for
     * support). */
    int staff = r->user->role >= ROLE_COORDINATOR || assistance_secretariat(r->user);
    json_object_set_new(account, "staff", json_boolean(staff));
    json_object_set_new(account, "digest",
                        json_boolean(staff && notification_digest_chosen(r->db, r->user->id)));
    r->data = json_build("{s:o}", "account", account);
    /* raw: compared with one literal */
    const char *saved = param_raw(r, "saved");
    if (saved && strcmp(saved, "notifications") == 0 && strcmp(r->method, "GET") == 0)
        r->message = tr(r, "Your choice is saved.");
    return R_OK;
}

/* What account_post writes: the user's own name and language. */
typedef struct {
    int64_t id;
    const char *name, *lang; /* lang NULL: the browser's */
} AccountUpdate;

static Result account_update_apply(Db *w, void *ctx)
{
    const AccountUpdate *u = ctx;
    Stmt *st = db_prepare(w, "UPDATE users SET display_name = :name, lang = :lang WHERE id = :id");
    db_bind_text(st, ":name", u->name);
    db_bind_text(st, ":lang", u->lang);
    db_bind_int(st, ":id", u->id);
    return db_run(st);
}

Result account_post(Request *r)
{
    const char *name = NULL, *lang = NULL;
    account_page(r);
    if (param_optional_text(r, "display_name", 200, 0, &name) != R_OK ||
        param_optional_text(r, "lang", 8, 0, &lang) != R_OK)
        return R_BAD_REQUEST;
    if (lang && *lang && !i18n_supported(lang)) {
        r->errors = json_build("{s:s}", "lang", tr(r, "Please choose one of the options."));
        return R_BAD_REQUEST;
    }
    AccountUpdate u = {.id = r->user->id,
                       .name = name ? name : r->user->display_name,
                       .lang = lang && *lang ? lang : NULL};
    if (db_write(r->db, account_update_apply, &u) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/account");
}

/* The roles, for the users list and the form to add one. */
static const char *const role_codes[] = {"member", "coordinator", "admin", NULL};
static const char *const role_labels[] = {N_("Member"), N_("Coordinator"), N_("Administrator"),
                                          NULL};

/* "ARG BRA" as the reader calls them: "Argentina, Brazil". */
static const char *country_names_text(Request *r, const char *codes)
{
    Buf b = {0};
    char *copy = arena_strdup(r->arena, codes ? codes : "");
    for (char *save = NULL, *c = strtok_r(copy, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
        const char *name = country_name_of(r, c);
        buf_printf(&b, "%s%s", b.len ? ", " : "", name ? name : c);
    }
    const char *out = arena_strdup(r->arena, b.data ? b.data : "");
    buf_free(&b);
    return out;
}

Result account_users_page(Request *r)
{
    json_t *users = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT u.id, u.email, u.display_name, u.role, u.password_hash IS NOT NULL, "
               "(SELECT group_concat(iso3, ' ') FROM user_countries c WHERE c.user_id = u.id), "
               "EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = u.id "
               "AND t.enabled_at IS NOT NULL) "
               "FROM users u ORDER BY u.email");
    while (db_row(st))
        json_array_append_new(
            users,
            json_build("{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:b}", "id",
                       (json_int_t)db_int(st, 0), "email", db_text(st, 1), "display_name",
                       db_text(st, 2), "role", db_text(st, 3), "role_label",
                       tr(r, code_label(role_codes, role_labels, db_text(st, 3))), "active",
                       (int)db_int(st, 4), "countries", db_text(st, 5), "country_names",
                       country_names_text(r, db_text(st, 5)), "two_factor", (int)db_int(st, 6)));
    db_done(st);
    r->page = "admin_users";
    r->title = tr(r, "Users");
    json_decref(r->data);
    r->data = json_build("{s:o}", "users", users);
    if (r->is_api)
        return R_OK; /* the list only; the form is the page's */
    json_object_set_new(r->data, "roles", form_options(r, role_codes, role_labels, "member"));
    json_object_set_new(r->data, "form", json_build("{s:s, s:s}", "email", "", "countries", ""));
    /* After adding one: say what happened, by the new user's id. */
    int64_t added = 0;
    if (strcmp(r->method, "GET") == 0 &&
        param_optional_int(r, "added", 1, INT64_MAX, 0, &added) == R_OK && added) {
        st = db_prepare(r->db, "SELECT email FROM users WHERE id = :id");
        db_bind_int(st, ":id", added);
        if (db_row(st))
            r->message = arena_printf(
                r->arena, "%s %s",
                tr(r, "User added. A single-use link to choose a password was emailed to"),
                db_text(st, 0));
        db_done(st);
    }
    json_decref(r->errors);
    r->errors = NULL;
    return R_OK;
}

/* ---- CLI ---- */

/* A link to set a password for an existing user, from the command line:
 * auth_issue_welcome in a write of its own. */
typedef struct {
    const char *email;
    int hours;
    char path[96];
} WelcomeIssue;

static Result welcome_issue_apply(Db *w, void *ctx)
{
    WelcomeIssue *wi = ctx;
    return auth_issue_welcome(w, wi->email, "welcome", wi->hours, wi->path);
}

static Result welcome_issue(Db *db, const char *email, int hours, char out[96])
{
    WelcomeIssue wi = {.email = email, .hours = hours};
    Result rc = db_write(db, welcome_issue_apply, &wi);
    if (rc == R_OK)
        snprintf(out, 96, "%s", wi.path);
    return rc;
}

/* A user added from the command line, with the countries they coordinate,
 * the audit line and the link to choose a password: all or nothing. */
typedef struct {
    const char *email;
    Role role;
    char **countries;
    int ncountries;
    int hours;     /* the link's validity */
    int64_t actor; /* the admin who added them from the web; 0 from the command line */
    char path[96]; /* set by apply: the link */
    int64_t id;    /* set by apply: the new user */
} UserCreate;

static Result user_create_apply(Db *w, void *ctx)
{
    UserCreate *u = ctx;
    Stmt *st = db_prepare(w, "SELECT 1 FROM users WHERE email = :email");
    db_bind_text(st, ":email", u->email);
    int taken = db_row(st);
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    if (taken)
        return R_CONFLICT;
    st = db_prepare(w, "INSERT INTO users (email, role, created_at) "
                       "VALUES (:email, :role, :now) RETURNING id");
    db_bind_text(st, ":email", u->email);
    db_bind_text(st, ":role", role_name(u->role));
    db_bind_int(st, ":now", now_seconds());
    int64_t id = 0;
    if (db_insert(st, &id) != R_OK)
        return R_INTERNAL;
    for (int i = 0; i < u->ncountries; i++) {
        st = db_prepare(w, "INSERT INTO user_countries (user_id, iso3) VALUES (:user, :iso3) "
                           "ON CONFLICT DO NOTHING");
        db_bind_int(st, ":user", id);
        db_bind_text(st, ":iso3", u->countries[i]);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    u->id = id;
    char object[32];
    snprintf(object, sizeof object, "user %lld", (long long)id); /* never the email */
    if (audit_log(w, u->actor, "user added", object, "") != R_OK)
        return R_INTERNAL;
    return auth_issue_welcome(w, u->email, "welcome", u->hours, u->path);
}

/* Creates the user and their link (valid for hours) into path. */
static Result create_user(Db *db, const char *email, Role role, char **countries, int ncountries,
                          int hours, char path[96])
{
    UserCreate u = {.email = email,
                    .role = role,
                    .countries = countries,
                    .ncountries = ncountries,
                    .hours = hours};
    Result rc = db_write(db, user_create_apply, &u);
    if (rc == R_CONFLICT)
        fprintf(stderr, "ratify: a user with the email %s already exists\n", email);
    if (rc == R_OK)
        snprintf(path, 96, "%s", u.path);
    return rc;
}

/* ---- adding a user from the web (/admin/users) ---- */

/* What adding a user from the web writes: the user, their countries, the
 * audit line and the welcome link (user_create_apply, as `ratify user
 * add`), and the email carrying the link, all in one transaction. */
typedef struct {
    Request *r;
    UserCreate u;
} WebUserCreate;

static Result web_user_create_apply(Db *w, void *ctx)
{
    WebUserCreate *wu = ctx;
    Request *r = wu->r;
    Result res = user_create_apply(w, &wu->u);
    if (res != R_OK)
        return res;
    /* The public address (--public-url), so the link works from anywhere. */
    char *body = arena_printf(
        r->arena, "%s\n\n%s\n%s%s\n\n%s\n",
        tr(r, "An administrator has opened an account for you on the coalition's platform."),
        tr(r, "Choose your password within 3 days with this single-use link:"),
        r->base_url ? r->base_url : "", wu->u.path,
        tr(r, "After that, log in at any time with your email address."));
    return mail_queue(w, wu->u.email, tr(r, "Your account on the coalition's platform"), body);
}

/* The form shown again with what was typed and the problem. */
static Result users_form_failed(Request *r, const char *email, const char *role,
                                const char *countries)
{
    json_t *errors = r->errors;
    r->errors = NULL;
    account_users_page(r);
    r->errors = errors;
    json_object_set_new(r->data, "form",
                        json_build("{s:s, s:s}", "email", email ? email : "", "countries",
                                   countries ? countries : ""));
    json_object_set_new(r->data, "roles", form_options(r, role_codes, role_labels, role));
    return R_BAD_REQUEST;
}

/* Splits the coordinator's countries ("ARG BRA", commas or spaces) into
 * out (at most 64 codes, upper case, each a known country); 0 on a bad
 * one. */
/* Adds the country a names (its code, or a name in any language) to
 * out[0..*n), once; 0 when it names none or there are too many. */
static int add_country(Request *r, const CountryNames *names, const char *a, char **out, int *n)
{
    const char *iso3 = member_io_country_find(names, a);
    if (!iso3 || *n == 64)
        return 0;
    for (int i = 0; i < *n; i++)
        if (strcmp(out[i], iso3) == 0)
            return 1;
    out[(*n)++] = arena_strdup(r->arena, iso3);
    return 1;
}

/* The countries typed for a coordinator: names in any language or codes,
 * separated by commas ("Argentina, Brésil"), or codes separated by spaces
 * ("ARG BRA", as `ratify user add` takes them). 0 when one names none. */
static int parse_countries(Request *r, const char *text, char **out, int *n)
{
    *n = 0;
    CountryNames names = {0};
    if (member_io_countries(r->db, &names) != R_OK)
        return 0;
    int ok = 1;
    char *copy = arena_strdup(r->arena, text ? text : "");
    for (char *save = NULL, *piece = strtok_r(copy, ",;\n", &save); ok && piece;
         piece = strtok_r(NULL, ",;\n", &save)) {
        while (*piece == ' ' || *piece == '\t')
            piece++;
        for (char *end = piece + strlen(piece); end > piece && (end[-1] == ' ' || end[-1] == '\t');)
            *--end = 0;
        if (!*piece || add_country(r, &names, piece, out, n))
            continue;
        for (char *s2 = NULL, *w = strtok_r(piece, " \t", &s2); ok && w;
             w = strtok_r(NULL, " \t", &s2))
            ok = add_country(r, &names, w, out, n);
    }
    member_io_countries_free(&names);
    return ok;
}

Result account_users_post(Request *r)
{
    /* raw: shown again as typed when it is refused; checked by the getters */
    const char *typed_email = param_raw(r, "email");
    /* raw: shown again as typed; parsed by parse_countries */
    const char *typed_countries = param_raw(r, "countries");
    const char *role_typed = param_filter(r, "role", role_codes);
    const char *email = NULL;
    int role = 0;
    char *countries[64];
    int ncountries = 0;
    int bad = param_email(r, "email", &email) != R_OK;
    bad |= param_enum(r, "role", role_codes, &role) != R_OK;
    if (!parse_countries(r, typed_countries, countries, &ncountries))
        bad |= param_error(r, "countries",
                           N_("Please give the countries by name, separated by commas, such as "
                              "Argentina, Brazil.")) != R_OK;
    else if (role_typed && strcmp(role_typed, "coordinator") == 0 && ncountries == 0)
        bad |= param_error(r, "countries", N_("A coordinator needs at least one country.")) != R_OK;
    else if (role_typed && strcmp(role_typed, "coordinator") != 0 && ncountries > 0)
        bad |= param_error(r, "countries", N_("Countries apply to coordinators only.")) != R_OK;
    if (bad)
        return users_form_failed(r, typed_email, role_typed, typed_countries);
    WebUserCreate wu = {.r = r,
                        .u = {.email = email,
                              .role = role_from_name(role_codes[role]),
                              .countries = countries,
                              .ncountries = ncountries,
                              .hours = 72,
                              .actor = r->user->id}};
    Result res = db_write(r->db, web_user_create_apply, &wu);
    if (res == R_CONFLICT) {
        param_error(r, "email", N_("A user with this email address already exists."));
        return users_form_failed(r, typed_email, role_typed, typed_countries);
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/admin/users?added=%lld", (long long)wu.u.id));
}

static void lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static Result user_add(Db *db, int argc, char **argv, const char *base_url)
{
    if (argc < 1) {
        fprintf(stderr, "usage: ratify user add EMAIL --role admin|coordinator|member "
                        "[--country ISO3]...\n");
        return R_BAD_REQUEST;
    }
    char *email = argv[0];
    lowercase(email);
    Role role = 0;
    char *countries[64];
    int ncountries = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            role = role_from_name(argv[++i]);
        } else if (strcmp(argv[i], "--country") == 0 && i + 1 < argc && ncountries < 64) {
            countries[ncountries++] = argv[++i];
            if (!valid_iso3(countries[ncountries - 1])) {
                fprintf(stderr,
                        "ratify: --country wants an ISO 3166 alpha-3 code such as "
                        "ARG, got '%s'\n",
                        countries[ncountries - 1]);
                return R_BAD_REQUEST;
            }
        } else {
            fprintf(stderr, "ratify: unknown or incomplete option '%s'\n", argv[i]);
            return R_BAD_REQUEST;
        }
    }
    if (!valid_email(email)) {
        fprintf(stderr, "ratify: '%s' is not a valid email address\n", email);
        return R_BAD_REQUEST;
    }
    if (!role) {
        fprintf(stderr, "ratify: --role must be admin, coordinator or member\n");
        return R_BAD_REQUEST;
    }
    if (role != ROLE_COORDINATOR && ncountries) {
        fprintf(stderr, "ratify: --country applies to coordinators only\n");
        return R_BAD_REQUEST;
    }
    char path[96];
    Result res = create_user(db, email, role, countries, ncountries, 72, path);
    if (res != R_OK)
        return res;
    printf("Added %s (%s). To choose a password, open within 72 hours:\n  %s%s\n", email,
           role_name(role), base_url, path);
    return R_OK;
}

/* Reads a line from stdin without echo when it is a terminal. */
static int read_password(const char *prompt, char *out, size_t size)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *line = fgets(out, (int)size, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (!line)
        return -1;
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

/* `ratify user passwd`: the new password (hashed beforehand), and every
 * session of the user ended, since the old password may have leaked. */
typedef struct {
    const char *email;
    char password_hash[128];
} PasswordReset;

static Result password_reset_apply(Db *w, void *ctx)
{
    const PasswordReset *p = ctx;
    Stmt *st = db_prepare(w, "UPDATE users SET password_hash = :hash WHERE email = :email");
    db_bind_text(st, ":hash", p->password_hash);
    db_bind_text(st, ":email", p->email);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_NOT_FOUND;
    if (auth_sessions_end_email(w, p->email) != R_OK)
        return R_INTERNAL;
    return audit_log(w, 0, "password set", "by the command line", "");
}

static Result user_passwd(Db *db, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: ratify user passwd EMAIL  (reads the password from stdin)\n");
        return R_BAD_REQUEST;
    }
    lowercase(argv[0]);
    char password[PASSWORD_MAX + 2], again[PASSWORD_MAX + 2];
    if (read_password("New password: ", password, sizeof password) != 0)
        return R_BAD_REQUEST;
    if (isatty(STDIN_FILENO) &&
        (read_password("Again: ", again, sizeof again) != 0 || strcmp(password, again) != 0)) {
        fprintf(stderr, "ratify: the two passwords are not the same\n");
        return R_BAD_REQUEST;
    }
    if (strlen(password) < PASSWORD_MIN || strlen(password) > PASSWORD_MAX) {
        fprintf(stderr, "ratify: a password needs %d to %d characters\n", PASSWORD_MIN,
                PASSWORD_MAX);
        return R_BAD_REQUEST;
    }
    PasswordReset p = {.email = argv[0]};
    Result res = auth_hash_password(password, p.password_hash);
    sodium_memzero(password, sizeof password);
    if (res != R_OK)
        return res;
    res = db_write(db, password_reset_apply, &p);
    sodium_memzero(p.password_hash, sizeof p.password_hash);
    if (res == R_NOT_FOUND)
        fprintf(stderr, "ratify: no user with the email %s\n", argv[0]);
    if (res != R_OK)
        return res;
    printf("Password changed for %s.\n", argv[0]);
    return R_OK;
}

/* For someone who lost both their phone and their recovery codes: the
 * second factor goes, their sessions end, and an admin or coordinator
 * enrols a new one at the next login. */
static Result user_reset_two_factor(Db *db, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: ratify user reset-2fa EMAIL\n");
        return R_BAD_REQUEST;
    }
    lowercase(argv[0]);
    Stmt *st = db_prepare(db, "SELECT id FROM users WHERE email = :email");
    db_bind_text(st, ":email", argv[0]);
    int64_t id = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    if (!id) {
        fprintf(stderr, "ratify: no user with the email %s\n", argv[0]);
        return R_NOT_FOUND;
    }
    Result res = two_factor_reset(db, id);
    if (res != R_OK)
        return res;
    printf("Two-factor sign-in removed for %s; their sessions ended.\n", argv[0]);
    return R_OK;
}

static Result user_list(Db *db)
{
    Stmt *st = db_prepare(
        db, "SELECT u.email, u.role, u.password_hash IS NOT NULL, "
            "(SELECT group_concat(iso3, ' ') FROM user_countries c WHERE c.user_id = u.id) "
            "FROM users u ORDER BY u.email");
    printf("%-40s %-12s %-8s %s\n", "EMAIL", "ROLE", "PASSWORD", "COUNTRIES");
    while (db_row(st))
        printf("%-40s %-12s %-8s %s\n", db_text(st, 0), db_text(st, 1),
               db_int(st, 2) ? "set" : "not set", db_text(st, 3));
    db_done(st);
    return R_OK;
}

Result account_user_cmd(Db *db, int argc, char **argv, const char *base_url)
{
    if (argc >= 1 && strcmp(argv[0], "add") == 0)
        return user_add(db, argc - 1, argv + 1, base_url);
    if (argc >= 1 && strcmp(argv[0], "passwd") == 0)
        return user_passwd(db, argc - 1, argv + 1);
    if (argc == 1 && strcmp(argv[0], "list") == 0)
        return user_list(db);
    if (argc >= 1 && strcmp(argv[0], "reset-2fa") == 0)
        return user_reset_two_factor(db, argc - 1, argv + 1);
    fprintf(stderr, "usage: ratify user add EMAIL --role ROLE [--country ISO3]...\n"
                    "       ratify user passwd EMAIL\n"
                    "       ratify user list\n"
                    "       ratify user reset-2fa EMAIL\n");
    return R_BAD_REQUEST;
}

Result account_first_admin(Db *db, const char *email, const char *base_url)
{
    Stmt *st = db_prepare(db, "SELECT email, password_hash IS NOT NULL FROM users "
                              "WHERE role = 'admin' ORDER BY id LIMIT 1");
    char existing[256] = "";
    int has_password = 0;
    if (db_row(st)) {
        snprintf(existing, sizeof existing, "%s", db_text(st, 0));
        has_password = (int)db_int(st, 1);
    }
    db_done(st);
    if (existing[0] && has_password) {
        printf("Log in at %s/login as %s. Forgot the password? Run: ratify user passwd %s\n",
               base_url, existing, existing);
        return R_OK;
    }
    char path[96];
    Result res = existing[0] ? welcome_issue(db, existing, 24, path)
                             : create_user(db, email, ROLE_ADMIN, NULL, 0, 24, path);
    if (res != R_OK)
        return res;
    if (!existing[0])
        snprintf(existing, sizeof existing, "%s", email);
    printf("\nFirst login: open this one-time link within 24 hours to choose the password of "
           "the admin account %s:\n\n    %s%s\n\n",
           existing, base_url, path);
    return R_OK;
}

/* ---- writes, for the files that open or close a member's account ---- */

Result account_insert_member(Db *w, const char *email, int64_t now, int64_t *id)
{
    Stmt *st = db_prepare(w, "INSERT INTO users (email, role, created_at) "
                             "VALUES (:email, 'member', :now) RETURNING id");
    db_bind_text(st, ":email", email);
    db_bind_int(st, ":now", now);
    return db_insert(st, id);
}

Result account_ensure_member(Db *w, const char *email, int64_t now)
{
    Stmt *st = db_prepare(w, "INSERT INTO users (email, role, created_at) VALUES (:email, "
                             "'member', :now) ON CONFLICT (email) DO NOTHING");
    db_bind_text(st, ":email", email);
    db_bind_int(st, ":now", now);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result account_delete(Db *w, int64_t user)
{
    Stmt *st = db_prepare(w, "DELETE FROM users WHERE id = :id");
    db_bind_int(st, ":id", user);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}
