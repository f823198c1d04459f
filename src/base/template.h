/*
 * template.h: a small mustache-like template engine that escapes for HTML by
 * default.
 *
 * Syntax (a tag is "{{" ... "}}"; whitespace just inside the braces is
 * ignored):
 *   {{name}}            value of name, HTML-escaped. Dotted paths (a.b.c)
 *                       walk objects; "." is the current value. Strings print
 *                       as is, integers and reals in decimal, true as "true",
 *                       false and null as nothing.
 *   {{url name}}        the value as a link target: only http, https, mailto
 *                       and relative links pass (else "#"), HTML-escaped.
 *   {{#name}}...{{/name}}  section: for an array, once per element with the
 *                       element as context; for an object, once with it as
 *                       context; for any other truthy value, once with the
 *                       current context. Falsy: false, null, missing, "", 0,
 *                       empty array.
 *   {{^name}}...{{/name}}  inverted section: once when name is falsy.
 *   {{> partial}}       renders the template named "partial" with the
 *                       current context.
 *   {{date name}}       a date "YYYY-MM-DD" (anything after it, such as a
 *                       time, kept) in the reader's words through the
 *                       Translate callback: "5 December 2026", "5 de
 *                       diciembre de 2026"; any other value as it is.
 *                       HTML-escaped.
 *   {{_ Some text}}     the text translated through the Translate callback
 *                       (then HTML-escaped). The text is the msgid.
 *   {{! comment }}      nothing.
 *   {{& name // reason}} RAW output, not escaped. The reason after "//" is
 *                       mandatory (at least three characters): a raw tag
 *                       without one is a compile error, and `make check`
 *                       lists them.
 * Name lookup walks the context stack outwards, like mustache.
 * There is no way to change delimiters, and no lambdas.
 *
 * Lifetime: a Template is compiled once and rendered many times from many
 * threads at once (rendering does not modify it).
 */
#ifndef RATIFY_TEMPLATE_H
#define RATIFY_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "base/util.h"

typedef struct Template Template;

/* Looks up the source of a template (for partials) by name. Returns NULL if
 * there is none; *len receives the length. */
typedef const char *(*TemplateSource)(const char *name, size_t *len);

/* Translates msgid for the render in progress; returns msgid itself when
 * there is no translation. ctx is the render's translate_ctx. */
typedef const char *(*Translate)(void *ctx, const char *msgid);

/* Compiles src[0..len). name is used in error messages. On failure returns
 * NULL and, if err is not NULL, writes a message (with the line number) to
 * err, which the caller frees with free(). The caller frees the template with
 * template_free. */
Template *template_compile(const char *name, const char *src, size_t len, char **err);
void template_free(Template *t);

/* Renders t with data as the root context, appending to out. Partials are
 * looked up through source and compiled on first use (cached in a
 * process-wide, thread-safe cache keyed by name). translate may be NULL
 * (msgids print as they are). Returns 0, or -1 if a partial is missing,
 * fails to compile, or partials nest deeper than 32 (out then holds a
 * partial render that the caller must discard). */
int template_render(const Template *t, json_t *data, Buf *out, TemplateSource source,
                    Translate translate, void *translate_ctx);

/* Compiles (once, cached) and renders the template called name. Returns -1
 * if there is none or it fails to compile or render. */
int template_render_named(const char *name, json_t *data, Buf *out, TemplateSource source,
                          Translate translate, void *translate_ctx);

/* Appends date ("YYYY-MM-DD", perhaps followed by more) in words, as
 * {{date name}} prints it: the order and small words are the catalogue's
 * msgid "{day} {month} {year}", the months its "January" to "December".
 * Text that does not start with a date is appended as it is. translate may
 * be NULL (English). Not escaped. */
void template_date_words(Buf *out, const char *date, size_t len, Translate translate, void *ctx);

/* Renders t as plain text: values and translations are appended as they
 * are, nothing is escaped, and partials fail (there is no source), so the
 * result is -1. For model letters, whose output only ever reaches a PDF
 * (as text, never markup) or an HTML page through an escaping template.
 * Returns 0 or -1. */
int template_render_text(const Template *t, json_t *data, Buf *out);

/* Frees the process-wide cache of compiled templates (at exit, for leak
 * checkers). */
void template_cache_clear(void);

#endif
