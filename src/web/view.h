/*
 * view.h: turning a handler's result into a response: a page rendered in
 * the layout, JSON for the API, a redirect, or an error page, with the
 * status that the result code maps to.
 */
#ifndef RATIFY_VIEW_H
#define RATIFY_VIEW_H

#include "svc/http.h"

/* Fills r->status, r->body_out and r->content_type from result and what
 * the handler set. An R_BAD_REQUEST with r->page set shows the form again
 * (status 400) with r->data and r->errors; other failures show the error
 * page, or {"error": {...}} under /api/. */
void view_respond(Request *r, Result result);

/* The source of templates/NAME.html (a TemplateSource). */
const char *view_template_source(const char *name, size_t *len);

#endif
