"""
Access control, route by route (issue 8): every route of src/feat/routes.def, for
every kind of user, and for the routes that read or change an object with a
visibility, for every visibility of that object, against EXPECT below.

EXPECT is the specification, written from what each route should allow:
visibility first (an object the user may not see is a 404, whoever they
are, so its existence does not leak), then the right to act (403), and for
visitors a login (303 to /login for a page, 401 for the API and for POSTs).
A route added to routes.def without a line here fails the test.

For a GET answered 200 the body must hold no marker of an object the user may
not see (VISIBLE says who sees which level; the author always sees their
own). For a refused POST the database must be unchanged (every table but the
ones that count sessions, throttling and mail).

Users and objects are made the way people make them: `ratify user add`,
the join form with its emailed confirmation, the coordinator's approval and
the welcome link, the letter, stage and response forms. No SQL is written.
"""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from factories import mailed_link
from ratify_server import REPO, RatifyServer, db_tables, scrape_csrf
from smtp_capture import SmtpCapture

ROLES = ("anon", "member_here", "member_elsewhere", "coord_here", "coord_elsewhere", "admin",
         "owner")
LEVELS = ("public", "members", "country", "steering", "private")
HERE, ELSEWHERE = "AGO", "BRA"
NOWHERE = 999999  # an id no object has

# Who sees an object of each visibility in HERE (the author of an object
# always sees it as well; "owner" is a member of HERE who wrote things).
#                      public members country steering private
VISIBLE = {
    "anon":             (1,     0,      0,      0,       0),
    "member_here":      (1,     1,      1,      0,       0),
    "member_elsewhere": (1,     1,      0,      0,       0),
    "coord_here":       (1,     1,      1,      1,       0),
    "coord_elsewhere":  (1,     1,      0,      0,       0),
    "admin":            (1,     1,      1,      1,       1),
    "owner":            (1,     1,      1,      0,       0),
}

_ = None  # a level the object cannot have (letters are never "steering")
LIMITED = frozenset((400, 429))  # either answer

# For routes whose object has a visibility: role -> the status for each
# level, in the order of LEVELS. For the others: one status per role, in
# the order of ROLES.
#                       anon member_here member_elsewhere coord_here coord_elsewhere admin owner
EXPECT = {
    "GET /":                                 (200, 200, 200, 200, 200, 200, 200),
    "GET /static/{file}":                    (200, 200, 200, 200, 200, 200, 200),
    "GET /login":                            (200, 303, 303, 303, 303, 303, 303),
    "POST /login":                           (400, 400, 400, 400, 400, 400, 400),
    "POST /logout":                          (401, 303, 303, 303, 303, 303, 303),
    "GET /welcome/{token}":                  (404, 404, 404, 404, 404, 404, 404),
    "POST /welcome/{token}":                 (404, 404, 404, 404, 404, 404, 404),
    "GET /account":                          (303, 200, 200, 200, 200, 200, 200),
    "POST /account":                         (401, 303, 303, 303, 303, 303, 303),
    "GET /admin/users":                      (303, 403, 403, 403, 403, 200, 403),
    # Two-factor sign-in: everyone logged in may enrol; the empty form is
    # refused with 400. Admins and coordinators are enrolled at their first
    # login by the test's login, so enrolling again only takes them back to
    # their account (303); they may not turn it off (403). Members without a
    # second factor have nothing to turn off or renew: back to the account.
    "GET /account/two-factor":               (303, 200, 200, 200, 200, 200, 200),
    "POST /account/two-factor":              (401, 400, 400, 303, 303, 303, 400),
    "POST /account/two-factor/off":          (401, 303, 303, 403, 403, 403, 303),
    "POST /account/two-factor/recovery":     (401, 303, 303, 400, 400, 400, 303),
    # The code step belongs to a half-login (a pending cookie): without one
    # it sends people to the login form.
    "GET /login/code":                       (303, 303, 303, 303, 303, 303, 303),
    "POST /login/code":                      (303, 303, 303, 303, 303, 303, 303),
    "GET /admin/audit":                      (303, 403, 403, 403, 403, 200, 403),
    "GET /api/v1/status":                    (200, 200, 200, 200, 200, 200, 200),
    # Every administration page with its count (issue 14): coordinators see
    # the ones they may open, admins all.
    "GET /admin":                            (303, 403, 403, 200, 200, 200, 403),
    # A visitor's language, in a cookie: sent without a language, refused.
    "GET /language":                         (400, 400, 400, 400, 400, 400, 400),
    # Admins add users from the web; the empty form is refused.
    "POST /admin/users":                     (401, 403, 403, 403, 403, 400, 403),
    # Immediate or daily emails about work: the empty form is refused.
    "POST /account/notifications":           (401, 400, 400, 400, 400, 400, 400),
    "GET /api/v1/me":                        (401, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/users":                     (401, 403, 403, 403, 403, 200, 403),
    "GET /countries":                        (200, 200, 200, 200, 200, 200, 200),
    "GET /countries/{iso3}":                 (200, 200, 200, 200, 200, 200, 200),
    # Coordinators of the country and admins only; the form is sent empty,
    # so those allowed get 400 and nothing is recorded.
    "POST /countries/{iso3}/actions":        (401, 403, 403, 400, 403, 400, 403),
    # Destructive actions ask first (issue 14): the same rights as the POST.
    "GET /countries/{iso3}/actions/{id}/delete":  (303, 403, 403, 404, 403, 404, 403),
    "POST /countries/{iso3}/actions/{id}/delete": (401, 403, 403, 404, 403, 404, 403),
    "POST /countries/{iso3}/stages":         (401, 403, 403, 400, 403, 400, 403),
    # A stage is seen before it is deleted: members are refused by the
    # route, a coordinator elsewhere or here meets the stage's visibility.
    "GET /countries/{iso3}/stages/{id}/delete": {
        #                  public members country steering private
        "anon":             (303,  303,    303,    303,     303),
        "member_here":      (403,  403,    403,    403,     403),
        "member_elsewhere": (403,  403,    403,    403,     403),
        "coord_here":       (200,  200,    200,    200,     404),
        "coord_elsewhere":  (403,  403,    404,    404,     404),
        "admin":            (200,  200,    200,    200,     200),
        "owner":            (200,  200,    200,    200,     200),
    },
    "POST /countries/{iso3}/stages/{id}/delete": {
        #                  public members country steering private
        "anon":             (401,  401,    401,    401,     401),
        "member_here":      (403,  403,    403,    403,     403),
        "member_elsewhere": (403,  403,    403,    403,     403),
        "coord_here":       (303,  303,    303,    303,     404),
        "coord_elsewhere":  (403,  403,    404,    404,     404),
        "admin":            (303,  303,    303,    303,     303),
        "owner":            (303,  303,    303,    303,     303),  # the coordinator who recorded it
    },
    "GET /treaties/{slug}":                  (200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/countries":                 (200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/countries/{iso3}":          (200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/treaties/{slug}/status":    (200, 200, 200, 200, 200, 200, 200),
    "GET /admin/import":                     (303, 403, 403, 403, 403, 200, 403),
    "POST /admin/import":                    (401, 403, 403, 403, 403, 400, 403),
    # The UNTC review queue: admins only; there is no change with that id.
    "GET /admin/untc":                       (303, 403, 403, 403, 403, 200, 403),
    "POST /admin/untc/{id}/apply":           (401, 403, 403, 403, 403, 404, 403),
    "POST /admin/untc/{id}/reject":          (401, 403, 403, 403, 403, 404, 403),
    # UPR recommendations: admins import and decide; no recommendation has that id.
    "GET /admin/upr":                        (303, 403, 403, 403, 403, 200, 403),
    "POST /admin/upr":                       (401, 403, 403, 403, 403, 400, 403),
    "POST /admin/upr/{id}":                  (401, 403, 403, 403, 403, 404, 403),
    # Without ?iso3= (the test sends none): a bad request, for everyone.
    "GET /api/v1/upr-recommendations":       (400, 400, 400, 400, 400, 400, 400),
    # International gatherings: members; the secretariat records them; none has that id.
    "GET /gatherings":                       (303, 200, 200, 200, 200, 200, 200),
    "GET /gatherings/new":                   (303, 403, 403, 403, 403, 200, 403),
    "POST /gatherings":                      (401, 403, 403, 403, 403, 400, 403),
    "GET /gatherings/{id}":                  (303, 404, 404, 404, 404, 404, 404),
    "POST /gatherings/{id}/attend":          (401, 404, 404, 404, 404, 404, 404),
    "POST /gatherings/{id}/notes":           (401, 404, 404, 404, 404, 404, 404),
    "GET /gatherings/{id}/letter/{iso3}":    (303, 404, 404, 404, 404, 404, 404),
    "GET /api/v1/gatherings":                (401, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/gatherings/{id}":           (401, 404, 404, 404, 404, 404, 404),
    # The events API: no event has that id.
    "GET /api/v1/events":                    (200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/events/{id}":               (404, 404, 404, 404, 404, 404, 404),
    "GET /api/v1/events/{id}/attendances":   (401, 404, 404, 404, 404, 404, 404),
    # Outcomes across countries: the secretariat (admins; no committee here).
    "GET /admin/outcomes":                   (303, 403, 403, 403, 403, 200, 403),
    "GET /admin/outcomes.csv":               (303, 403, 403, 403, 403, 200, 403),
    "GET /admin/outcomes/report":            (303, 403, 403, 403, 403, 200, 403),
    # Submissions: drafts of a request nobody has with that id; kept ones likewise.
    "GET /assistance/{id}/drafts":           (303, 404, 404, 404, 404, 404, 404),
    "POST /assistance/{id}/drafts":          (401, 404, 404, 404, 404, 404, 404),
    "POST /assistance/{id}/final":           (401, 404, 404, 404, 404, 404, 404),
    "GET /countries/{iso3}/submissions/{id}": (404, 404, 404, 404, 404, 404, 404),
    # Friends of the Protocol: public facts about states; coordinators (for
    # their own states) and admins record them; no action has that id.
    "GET /friends":                          (200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/state-actions":             (200, 200, 200, 200, 200, 200, 200),
    "POST /friends/actions":                 (401, 403, 403, 400, 400, 400, 403),
    "GET /friends/actions/{id}/delete":      (303, 403, 403, 404, 404, 404, 403),
    "POST /friends/actions/{id}/delete":     (401, 403, 403, 404, 404, 404, 403),
    # Positions: everyone sees what is public; the secretariat writes.
    "GET /countries/{iso3}/position":        (200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/countries/{iso3}/position": (200, 200, 200, 200, 200, 200, 200),
    "POST /countries/{iso3}/position":       (401, 403, 403, 403, 403, 400, 403),
    "POST /countries/{iso3}/position/statements": (401, 403, 403, 403, 403, 400, 403),
    "GET /countries/{iso3}/position/statements/{id}/delete": (303, 403, 403, 403, 403, 404, 403),
    "POST /countries/{iso3}/position/statements/{id}/delete": (401, 403, 403, 403, 403, 404, 403),
    "GET /join":                             (200, 200, 200, 200, 200, 200, 200),
    # Public forms are rate-limited per address, and the test's own joins use
    # up the allowance: refused either way, and nothing is written.
    "POST /join":                            (LIMITED,) * 7,
    "GET /join/confirm/{token}":             (404, 404, 404, 404, 404, 404, 404),
    "POST /join/confirm/{token}":            (404, 404, 404, 404, 404, 404, 404),
    "GET /password/reset":                   (200, 200, 200, 200, 200, 200, 200),
    "POST /password/reset":                  (400, 400, 400, 400, 400, 400, 400),
    "GET /members":                          (303, 200, 200, 200, 200, 200, 200),
    # Profiles are members' own: coordinators and admins made with `ratify
    # user add` have none (404).
    "GET /profile":                          (303, 200, 200, 404, 404, 404, 200),
    "POST /profile":                         (401, 303, 303, 404, 404, 404, 303),
    "GET /profile/export":                   (303, 200, 200, 404, 404, 404, 200),
    "GET /profile/views":                    (303, 200, 200, 404, 404, 404, 200),
    "GET /profile/close":                    (303, 200, 200, 404, 404, 404, 200),
    "POST /profile/close":                   (401, 400, 400, 404, 404, 404, 400),
    "GET /admin/members":                    (303, 403, 403, 200, 200, 200, 403),
    # An application (here, member_here's, already decided) is seen by its
    # country's coordinators and the admins: elsewhere it is a 404.
    "POST /admin/members/{id}/approve":      (401, 403, 403, 409, 404, 409, 403),
    "POST /admin/members/{id}/decline":      (401, 403, 403, 409, 404, 409, 403),
    "POST /admin/members/{id}/status":       (401, 403, 403, 303, 404, 303, 403),
    "GET /groups":                           (303, 200, 200, 200, 200, 200, 200),
    "POST /groups":                          (401, 403, 403, 403, 403, 400, 403),
    "GET /groups/{slug}":                    (303, 200, 200, 200, 200, 200, 200),
    "POST /groups/{slug}/edit":              (401, 403, 403, 403, 403, 400, 403),
    # Groups are every member's to see; joining one takes a member profile.
    "POST /groups/{slug}/join":              (401, 303, 303, 403, 403, 403, 303),
    # Asked of a member in the group (these joined it above); one who is not
    # is sent back to the group (test_confirmations.py).
    "GET /groups/{slug}/leave":              (303, 200, 200, 403, 403, 403, 200),
    "POST /groups/{slug}/leave":             (401, 303, 303, 403, 403, 403, 303),
    "POST /groups/{slug}/moderators":        (401, 403, 403, 403, 403, 400, 403),
    "GET /api/v1/groups":                    (401, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/groups/{slug}":             (401, 200, 200, 200, 200, 200, 200),
    "GET /countries/{iso3}/coalition":       (303, 403, 403, 200, 403, 200, 403),
    "POST /countries/{iso3}/coalition":      (401, 403, 403, 303, 403, 303, 403),
    "GET /api/v1/countries/{iso3}/coalition": (200, 200, 200, 200, 200, 200, 200),
    "GET /admin/tokens":                     (303, 403, 403, 403, 403, 200, 403),
    "POST /admin/tokens":                    (401, 403, 403, 403, 403, 400, 403),
    "GET /admin/tokens/{id}/revoke":         (303, 403, 403, 403, 403, 404, 403),
    "POST /admin/tokens/{id}/revoke":        (401, 403, 403, 403, 403, 404, 403),
    "GET /admin/mail":                       (303, 403, 403, 403, 403, 200, 403),
    "POST /admin/mail/{id}/retry":           (401, 403, 403, 403, 403, 404, 403),
    "GET /api/v1/people":                    (401, 403, 403, 403, 403, 200, 403),
    "GET /api/v1/organisations":             (401, 403, 403, 403, 403, 200, 403),
    "GET /api/v1/memberships":               (401, 403, 403, 403, 403, 200, 403),
    "POST /api/v1/memberships":              (401, 403, 403, 403, 403, 400, 403),
    # The owner's organisation, listed "hidden": its own people's and the
    # admins'. Others meet a 404 (admins and coordinators have no profile
    # to act from); the owner, its contact, sends an empty form.
    "POST /profile/organisations/{id}":      (401, 404, 404, 404, 404, 404, 400),
    "POST /profile/organisations/{id}/invite": (401, 404, 404, 404, 404, 404, 400),
    "GET /countries/{iso3}/targets":         (303, 200, 200, 200, 200, 200, 200),
    "POST /countries/{iso3}/targets":        (401, 403, 403, 400, 403, 400, 403),
    "POST /countries/{iso3}/targets/{id}/correction": (401, 303, 303, 303, 303, 303, 303),
    "GET /letters":                          (303, 200, 200, 200, 200, 200, 200),
    "GET /letters/new":                      (303, 200, 200, 200, 200, 200, 200),
    "POST /letters":                         (401, 400, 400, 400, 400, 400, 400),
    "GET /letters/{id}": {
        #                  public members country steering private
        "anon":             (303,  303,    303,    _,       303),
        "member_here":      (200,  200,    200,    _,       404),
        "member_elsewhere": (200,  200,    404,    _,       404),
        "coord_here":       (200,  200,    200,    _,       404),
        "coord_elsewhere":  (200,  200,    404,    _,       404),
        "admin":            (200,  200,    200,    _,       200),
        "owner":            (200,  200,    200,    _,       200),
    },
    # Seen first, then changed by its author, the country's coordinators or
    # an admin.
    "POST /letters/{id}": {
        "anon":             (401,  401,    401,    _,       401),
        "member_here":      (403,  403,    403,    _,       404),
        "member_elsewhere": (403,  403,    404,    _,       404),
        "coord_here":       (303,  303,    303,    _,       404),
        "coord_elsewhere":  (403,  403,    404,    _,       404),
        "admin":            (303,  303,    303,    _,       303),
        "owner":            (303,  303,    303,    _,       303),
    },
    # The editing page of a draft: seen first, then for who may edit it.
    "GET /letters/{id}/edit": {
        "anon":             (303,  303,    303,    _,       303),
        "member_here":      (403,  403,    403,    _,       404),
        "member_elsewhere": (403,  403,    404,    _,       404),
        "coord_here":       (200,  200,    200,    _,       404),
        "coord_elsewhere":  (403,  403,    404,    _,       404),
        "admin":            (200,  200,    200,    _,       200),
        "owner":            (200,  200,    200,    _,       200),
    },
    "GET /letters/{id}/pdf": {
        "anon":             (303,  303,    303,    _,       303),
        "member_here":      (200,  200,    200,    _,       404),
        "member_elsewhere": (200,  200,    404,    _,       404),
        "coord_here":       (200,  200,    200,    _,       404),
        "coord_elsewhere":  (200,  200,    404,    _,       404),
        "admin":            (200,  200,    200,    _,       200),
        "owner":            (200,  200,    200,    _,       200),
    },
    "POST /letters/{id}/sent": {
        "anon":             (401,  401,    401,    _,       401),
        "member_here":      (403,  403,    403,    _,       404),
        "member_elsewhere": (403,  403,    404,    _,       404),
        "coord_here":       (303,  303,    303,    _,       404),
        "coord_elsewhere":  (403,  403,    404,    _,       404),
        "admin":            (303,  303,    303,    _,       303),
        "owner":            (303,  303,    303,    _,       303),
    },
    "POST /letters/{id}/responses": {
        "anon":             (401,  401,    401,    _,       401),
        "member_here":      (403,  403,    403,    _,       404),
        "member_elsewhere": (403,  403,    404,    _,       404),
        "coord_here":       (303,  303,    303,    _,       404),
        "coord_elsewhere":  (403,  403,    404,    _,       404),
        "admin":            (303,  303,    303,    _,       303),
        "owner":            (303,  303,    303,    _,       303),
    },
    # Responses are shared with the country, all members or everyone.
    "GET /responses/{id}/file": {
        "anon":             (303,  303,    303,    _,       _),
        "member_here":      (200,  200,    200,    _,       _),
        "member_elsewhere": (200,  200,    404,    _,       _),
        "coord_here":       (200,  200,    200,    _,       _),
        "coord_elsewhere":  (200,  200,    404,    _,       _),
        "admin":            (200,  200,    200,    _,       _),
        "owner":            (200,  200,    200,    _,       _),
    },
    "POST /responses/{id}/help": {
        "anon":             (401,  401,    401,    _,       _),
        "member_here":      (303,  303,    303,    _,       _),
        "member_elsewhere": (303,  303,    404,    _,       _),
        "coord_here":       (303,  303,    303,    _,       _),
        "coord_elsewhere":  (303,  303,    404,    _,       _),
        "admin":            (303,  303,    303,    _,       _),
        "owner":            (303,  303,    303,    _,       _),
    },
    "GET /meetings":                         (303, 200, 200, 200, 200, 200, 200),
    # Without ?country=: the member's own country, the coordinator's first;
    # an admin has none to default to.
    "GET /meetings/new":                     (303, 200, 200, 200, 200, 404, 200),
    # Planning in HERE: its members and coordinators and the admins; the
    # form is otherwise empty (400).
    "POST /meetings":                        (401, 400, 403, 400, 403, 400, 400),
    # A meeting is shared with the secretariat (private), the national
    # coalition or all members; its delegation (here its planner, "owner")
    # always sees it.
    "GET /meetings/{id}": {
        #                  public members country steering private
        "anon":             (_,    303,    303,    _,       303),
        "member_here":      (_,    200,    200,    _,       404),
        "member_elsewhere": (_,    200,    404,    _,       404),
        "coord_here":       (_,    200,    200,    _,       404),
        "coord_elsewhere":  (_,    200,    404,    _,       404),
        "admin":            (_,    200,    200,    _,       200),
        "owner":            (_,    200,    200,    _,       200),
    },
    "GET /meetings/{id}/thanks.pdf": {
        "anon":             (_,    303,    303,    _,       303),
        "member_here":      (_,    200,    200,    _,       404),
        "member_elsewhere": (_,    200,    404,    _,       404),
        "coord_here":       (_,    200,    200,    _,       404),
        "coord_elsewhere":  (_,    200,    404,    _,       404),
        "admin":            (_,    200,    200,    _,       200),
        "owner":            (_,    200,    200,    _,       200),
    },
    "GET /api/v1/meetings":                  (401, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/meetings/{id}": {
        "anon":             (_,    401,    401,    _,       401),
        "member_here":      (_,    200,    200,    _,       404),
        "member_elsewhere": (_,    200,    404,    _,       404),
        "coord_here":       (_,    200,    200,    _,       404),
        "coord_elsewhere":  (_,    200,    404,    _,       404),
        "admin":            (_,    200,    200,    _,       200),
        "owner":            (_,    200,    200,    _,       200),
    },
    # Seen first, then changed by the delegation, the country's coordinators
    # or an admin; the forms are sent without the version they edit (400),
    # and closing without a follow-up owner is refused (409).
    "POST /meetings/{id}/brief": {
        "anon":             (_,    401,    401,    _,       401),
        "member_here":      (_,    403,    403,    _,       404),
        "member_elsewhere": (_,    403,    404,    _,       404),
        "coord_here":       (_,    400,    400,    _,       404),
        "coord_elsewhere":  (_,    403,    404,    _,       404),
        "admin":            (_,    400,    400,    _,       400),
        "owner":            (_,    400,    400,    _,       400),
    },
    "POST /meetings/{id}/outcome": {
        "anon":             (_,    401,    401,    _,       401),
        "member_here":      (_,    403,    403,    _,       404),
        "member_elsewhere": (_,    403,    404,    _,       404),
        "coord_here":       (_,    400,    400,    _,       404),
        "coord_elsewhere":  (_,    403,    404,    _,       404),
        "admin":            (_,    400,    400,    _,       400),
        "owner":            (_,    400,    400,    _,       400),
    },
    "POST /meetings/{id}/people": {
        "anon":             (_,    401,    401,    _,       401),
        "member_here":      (_,    403,    403,    _,       404),
        "member_elsewhere": (_,    403,    404,    _,       404),
        "coord_here":       (_,    400,    400,    _,       404),
        "coord_elsewhere":  (_,    403,    404,    _,       404),
        "admin":            (_,    400,    400,    _,       400),
        "owner":            (_,    400,    400,    _,       400),
    },
    "POST /meetings/{id}/close": {
        "anon":             (_,    401,    401,    _,       401),
        "member_here":      (_,    403,    403,    _,       404),
        "member_elsewhere": (_,    403,    404,    _,       404),
        "coord_here":       (_,    409,    409,    _,       404),
        "coord_elsewhere":  (_,    403,    404,    _,       404),
        "admin":            (_,    409,    409,    _,       409),
        "owner":            (_,    409,    409,    _,       409),
    },
    "GET /assistance":                       (303, 200, 200, 200, 200, 200, 200),
    "GET /assistance/new":                   (303, 200, 200, 200, 200, 200, 200),
    "POST /assistance":                      (401, 400, 400, 400, 400, 400, 400),
    # The owner's request: theirs, the steering committee's and the admins'.
    "GET /assistance/{id}":                  (303, 404, 404, 404, 404, 200, 200),
    "GET /assistance/attachments/{id}":      (303, 404, 404, 404, 404, 200, 200),
    "POST /assistance/{id}/messages":        (401, 404, 404, 404, 404, 303, 303),
    "GET /admin/assistance":                 (303, 403, 403, 403, 403, 200, 403),
    "POST /admin/assistance/{id}":           (401, 403, 403, 403, 403, 303, 403),
    "GET /admin/steering-committee":         (303, 403, 403, 403, 403, 200, 403),
    "POST /admin/steering-committee":        (401, 403, 403, 403, 403, 400, 403),
    "GET /admin/steering-committee/{id}/remove":  (303, 403, 403, 403, 403, 404, 403),
    "POST /admin/steering-committee/{id}/remove": (401, 403, 403, 403, 403, 404, 403),
    "GET /admin/letters":                    (303, 403, 403, 200, 200, 200, 403),
    "GET /admin/letters.csv":                (303, 403, 403, 200, 200, 200, 403),
    "GET /api/v1/letters":                   (401, 403, 403, 403, 403, 200, 403),
    "GET /api/v1/responses":                 (401, 403, 403, 403, 403, 200, 403),
    "GET /api/v1/letters/{id}": {
        "anon":             (401,  401,    401,    _,       401),
        "member_here":      (200,  200,    200,    _,       404),
        "member_elsewhere": (200,  200,    404,    _,       404),
        "coord_here":       (200,  200,    200,    _,       404),
        "coord_elsewhere":  (200,  200,    404,    _,       404),
        "admin":            (200,  200,    200,    _,       200),
        "owner":            (200,  200,    200,    _,       200),
    },
    "GET /admin/members/import":             (303, 403, 403, 403, 403, 200, 403),
    "POST /admin/members/import":            (401, 403, 403, 403, 403, 400, 403),
    "GET /admin/members/import/{id}":        (303, 403, 403, 403, 403, 404, 403),
    "GET /admin/members/export":             (303, 403, 403, 403, 403, 200, 403),
    "GET /admin/members/export.csv":         (303, 403, 403, 403, 403, 200, 403),
    "GET /admin/members/export.xlsx":        (303, 403, 403, 403, 403, 200, 403),
    "GET /admin/model-letters":              (303, 403, 403, 403, 403, 200, 403),
    "POST /admin/model-letters":             (401, 403, 403, 403, 403, 400, 403),
    "GET /countries/{iso3}/targets/{id}/delete": (303, 403, 403, 404, 403, 404, 403),
    "POST /countries/{iso3}/targets/{id}/delete": (401, 403, 403, 404, 403, 404, 403),
    # An open correction some member proposed, closed by the country's
    # coordinators or an admin.
    "POST /countries/{iso3}/targets/corrections/{id}": (401, 403, 403, 303, 403, 303, 403),
    "GET /invitations/{token}":              (404, 404, 404, 404, 404, 404, 404),
    "POST /invitations/{token}":             (404, 404, 404, 404, 404, 404, 404),
    # Events (their visibility and rights per role: tests/e2e/test_events.py);
    # here an id no event has and a token no invitation has.
    "GET /events/new":                       (303, 200, 200, 200, 200, 200, 200),
    "POST /events":                          (401, 400, 400, 400, 400, 400, 400),
    "GET /events/{id}":                      (404, 404, 404, 404, 404, 404, 404),
    "GET /events/{id}/edit":                 (303, 404, 404, 404, 404, 404, 404),
    "POST /events/{id}/edit":                (401, 404, 404, 404, 404, 404, 404),
    "GET /events/{id}/event.ics":            (404, 404, 404, 404, 404, 404, 404),
    "POST /events/{id}/invite":              (401, 404, 404, 404, 404, 404, 404),
    "POST /events/{id}/attendance":          (401, 404, 404, 404, 404, 404, 404),
    "POST /events/{id}/report":              (401, 404, 404, 404, 404, 404, 404),
    "GET /rsvp/{token}":                     (404, 404, 404, 404, 404, 404, 404),
    "POST /rsvp/{token}":                    (404, 404, 404, 404, 404, 404, 404),
    "GET /calendar":                         (200, 200, 200, 200, 200, 200, 200),
    "GET /calendar.ics":                     (200, 200, 200, 200, 200, 200, 200),
    "GET /calendar/feed/{file}":             (404, 404, 404, 404, 404, 404, 404),
    "POST /calendar/feed":                   (401, 200, 200, 200, 200, 200, 200),
    # Without a private feed (this world makes one only later) there is
    # nothing to ask: back to the calendar.
    "GET /calendar/feed/revoke":             (303, 303, 303, 303, 303, 303, 303),
    "POST /calendar/feed/revoke":            (401, 303, 303, 303, 303, 303, 303),
}

# Tables a refused request may still touch: who is logged in, throttling
# and rate counters, the mail queue.
VOLATILE = {"sessions", "login_failures", "rate_limits", "mail_queue", "sqlite_sequence",
            "schema_migrations", "settings"}

ROUTE_RE = re.compile(r'^ROUTE\((GET|POST),\s*"([^"]+)"', re.M)
BOGUS_TOKEN = "0" * 64
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"


def routes():
    text = (REPO / "src" / "feat" / "routes.def").read_text()
    return [f"{m} {p}" for m, p in ROUTE_RE.findall(text)]


def test_every_route_has_an_expectation():
    declared = routes()
    assert len(declared) == len(set(declared)), "a route is declared twice"
    missing = sorted(set(declared) - set(EXPECT))
    stale = sorted(set(EXPECT) - set(declared))
    assert not missing, f"routes with no line in EXPECT (write what they should allow): {missing}"
    assert not stale, f"EXPECT lines for routes that no longer exist: {stale}"


# ---- the world: users and objects, made as people make them ----


LINK_RE = re.compile(r"https?://[^\s]+/(join/confirm|welcome)/([0-9a-f]{64})")


def mail_link(smtp, email, kind, count):
    # count: the messages so far; staff notifications (issue 14) arrive in
    # between, so the link is waited for by address (factories.mailed_link).
    return mailed_link(smtp, email, kind)


class World:
    def __init__(self, srv, smtp):
        self.srv, self.smtp = srv, smtp
        self.mails = 0
        self.clients = {}
        self.users = {}
        self.csrf = {}
        self.markers = []  # (text, level, author key)

    # -- users --

    def cli_user(self, key, role, countries=()):
        self.users[key] = self.srv.member(role, countries=countries)
        self.login(key)

    def login(self, key):
        c = self.srv.login_user(self.users[key])
        self.clients[key] = c
        self.csrf[key] = scrape_csrf(c.get("/join").text)
        return c

    def joined(self, key, iso3, kind="individual", listing="members", org_name=None,
               approver="admin"):
        """Joins through the form, confirms by the emailed link, is approved
        by approver and chooses a password through the welcome link."""
        email = f"{key}@example.org"
        c = self.srv.client()
        form = {"csrf_token": scrape_csrf(c.get("/join").text), "kind": kind,
                "name": f"Name of {key}", "email": email, "iso3": iso3, "listing": listing,
                "not_government": "1", "consent_store": "1"}
        if org_name:
            form.update(org_name=org_name, org_type="human_rights_ngo")
        r = c.post("/join", data=form)
        assert r.status_code in (200, 303), r.text[:2000]
        self.mails += 1
        path = mail_link(self.smtp, email, "join/confirm", self.mails)
        r = c.post(path, data={"csrf_token": scrape_csrf(c.get(path).text)})
        assert r.status_code == 200, r.text[:2000]
        if approver is None:
            return None
        approver_client = self.clients[approver]
        page = approver_client.get("/admin/members").text
        mid = re.findall(r'action="/admin/members/(\d+)/approve"', page)
        assert len(mid) == 1, page
        r = approver_client.post(f"/admin/members/{mid[0]}/approve",
                                 data={"csrf_token": self.csrf[approver]})
        assert r.status_code == 303, r.text[:2000]
        self.mails += 1
        path = mail_link(self.smtp, email, "welcome", self.mails)
        password = f"the password of {key} 42"
        r = c.post(path, data={"csrf_token": scrape_csrf(c.get(path).text),
                               "password": password, "confirm": password})
        assert r.status_code == 303, r.text[:2000]
        self.users[key] = SimpleNamespace(email=email, password=password)
        self.login(key)
        return int(mid[0])

    def post(self, key, path, data=None, files=None):
        c = self.clients[key]
        form = {"csrf_token": self.csrf[key], **(data or {})}
        return c.post(path, data=form, files=files,
                      headers={"X-CSRF-Token": self.csrf[key]})

    # -- objects --

    def letter(self, level):
        """A letter by owner in HERE, shared at level, its subject and text
        carrying a marker."""
        page = self.clients["owner"].get("/letters/new", params={"country": HERE}).text
        model = re.findall(r'<option value="(\d+)">[^<]+\(en\)</option>', page)[0]
        r = self.post("owner", "/letters", {"country": HERE, "model": model,
                                            "sender": "Mosaiko", "visibility": level})
        assert r.status_code == 303, r.text[:2000]
        path = r.headers["Location"]
        marker = f"MARK-letter-{level}"
        self.markers.append((marker, level, "owner"))
        r = self.post("owner", path, {"sender": "Mosaiko", "recipient": "Ministry",
                                      "subject": f"{marker} subject",
                                      "body": f"{marker}: Dear Minister, please ratify."})
        assert r.status_code == 303, r.text[:2000]
        return int(path.rsplit("/", 1)[1])

    def meeting(self, level):
        """A meeting planned by owner in HERE with the target, shared at
        level, its goal carrying a marker."""
        page = self.clients["owner"].get("/meetings/new", params={"country": HERE}).text
        target = re.findall(r'name="target" value="(\d+)"', page)[0]
        marker = f"MARK-meeting-{level}"
        self.markers.append((marker, level, "owner"))
        r = self.post("owner", "/meetings", {"country": HERE, "meeting_on": "2026-12-10",
                                             "goal": f"{marker}: ask for ratification",
                                             "target": target, "lang": "pt",
                                             "visibility": level})
        assert r.status_code == 303, r.text[:2000]
        return int(r.headers["Location"].rsplit("/", 1)[1])

    def stage(self, level, evidence):
        r = self.post("stage_owner", f"/countries/{HERE}/stages",
                      {"instrument": "op-icescr", "stage": "cabinet_approval",
                       "date": "2026-06-01", "evidence": evidence,
                       "source_url": "https://example.org/decree", "visibility": level})
        assert r.status_code == 303, r.text[:2000]
        stages = self.clients["admin"].get(f"/api/v1/countries/{HERE}").json()
        ids = [s["id"] for s in stages["country"]["stages"] if s["evidence"] == evidence]
        assert len(ids) == 1, stages
        return ids[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("access")
    smtp = SmtpCapture(base / "mail").start()
    srv = RatifyServer(base / "ratify",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}"))
    srv.start()
    w = World(srv, smtp)
    try:
        w.cli_user("admin", "admin")
        w.cli_user("coord_here", "coordinator", [HERE])
        w.cli_user("coord_elsewhere", "coordinator", [ELSEWHERE])
        w.cli_user("stage_owner", "coordinator", [HERE])
        w.membership_here = w.joined("member_here", HERE)
        w.joined("member_elsewhere", ELSEWHERE)
        w.joined("owner", HERE, kind="organisation", listing="hidden",
                 org_name="MARK-org-hidden")
        # Not listed in any directory, but a record of the country's
        # coalition: its coordinators work with it (moderation, the
        # coalition form), as the admins do.
        w.markers.append(("MARK-org-hidden", "steering", "owner"))
        # An application waiting in HERE: its coordinators' and the admins'.
        w.joined("applicant", HERE, approver=None, listing="public")
        w.markers.append(("Name of applicant", "steering", None))
        w.letters = {lvl: w.letter(lvl) for lvl in LEVELS if lvl != "steering"}
        for lvl in LEVELS:
            w.markers.append((f"MARK-stage-{lvl}", lvl, "stage_owner"))
            w.stage(lvl, f"MARK-stage-{lvl}")
        # Responses, one per level, to a public letter, each with a file.
        on = w.letters["public"]
        w.responses = {}
        for lvl in ("public", "members", "country"):
            marker = f"MARK-response-{lvl}"
            w.markers.append((marker, lvl, "owner"))
            r = w.post("owner", f"/letters/{on}/responses",
                       {"received_on": "2026-11-15", "class": "refusal", "reasons": "cost",
                        "visibility": lvl, "text": marker},
                       files={"file": ("reply.pdf", PDF, "application/pdf")})
            assert r.status_code == 303, r.text[:2000]
        for item in w.clients["admin"].get("/api/v1/responses").json()["items"]:
            w.responses[item["text"].rsplit("-", 1)[1]] = item["id"]
        # A request for support: its requester's, the steering committee's
        # and the admins' only (like "private": this world has no committee
        # member), with a file in its thread.
        r = w.post("owner", f"/responses/{w.responses['public']}/help",
                   {"details": "MARK-assist-details"})
        assert r.status_code == 303
        w.markers.append(("MARK-assist-details", "private", "owner"))
        page = w.clients["admin"].get("/admin/assistance").text
        w.assistance = int(re.findall(r'href="/assistance/(\d+)"', page)[0])
        r = w.post("owner", f"/assistance/{w.assistance}/messages",
                   {"body": "MARK-assist-message"},
                   files={"attachment": ("a.pdf", PDF, "application/pdf")})
        assert r.status_code == 303, r.text[:2000]
        w.markers.append(("MARK-assist-message", "private", "owner"))
        page = w.clients["owner"].get(f"/assistance/{w.assistance}").text
        w.attachment = int(re.findall(r'/assistance/attachments/(\d+)', page)[0])
        r = w.post("coord_here", f"/countries/{HERE}/targets",
                   {"kind": "ministry", "name": "Minister of Justice", "email": "t@gov.ao"})
        assert r.status_code == 303, r.text[:2000]
        w.target = w.clients["admin"].get(f"/countries/{HERE}/targets").text
        w.target = int(re.findall(r'/targets/(\d+)/correction', w.target)[0])
        w.meetings = {lvl: w.meeting(lvl) for lvl in ("members", "country", "private")}
        w.org = int(re.findall(r'action="/profile/organisations/(\d+)"',
                               w.clients["owner"].get("/profile").text)[0])
        yield w
    finally:
        srv.stop_and_check()
        smtp.stop()


# ---- what each route is asked ----


def request_for(w, route, role, level):
    """(method, path, form data, files) for route as role; level names the
    object's visibility for routes that have one."""
    method, pattern = route.split(" ", 1)
    data, files = {}, None
    ids = {"iso3": HERE, "slug": "legal", "file": "style.css", "token": BOGUS_TOKEN,
           "id": NOWHERE}
    if (pattern in ("/letters/{id}", "/letters/{id}/sent") and method == "POST") \
            or pattern == "/letters/{id}/edit":
        # A draft of its own for each case: once sent or answered, a
        # letter's text can no longer be edited (issue 14), so the shared
        # letters (one of which has a response) would answer 409.
        ids["id"] = w.letter(level)
    elif pattern.startswith("/letters/{id}") or pattern == "/api/v1/letters/{id}":
        ids["id"] = w.letters[level]
    elif pattern.startswith("/meetings/{id}") or pattern == "/api/v1/meetings/{id}":
        ids["id"] = w.meetings[level]
    elif pattern.startswith("/responses/{id}"):
        ids["id"] = w.responses[level]
    elif pattern == "/countries/{iso3}/stages/{id}/delete":
        # A stage of its own for each case: deleting is allowed to some.
        ids["id"] = w.stage(level, f"fresh stage {method} {role} {level}")
    elif pattern.startswith("/admin/members/{id}/"):
        ids["id"] = w.membership_here
    elif pattern in ("/admin/assistance/{id}", "/assistance/{id}", "/assistance/{id}/messages"):
        ids["id"] = w.assistance
    elif pattern == "/assistance/attachments/{id}":
        ids["id"] = w.attachment
    elif pattern == "/countries/{iso3}/targets/{id}/correction":
        ids["id"] = w.target
    elif pattern == "/countries/{iso3}/targets/corrections/{id}":
        page = w.clients["admin"].get(f"/countries/{HERE}/targets").text
        ids["id"] = re.findall(r'/targets/corrections/(\d+)"', page)[0]
    elif pattern.startswith("/profile/organisations/{id}"):
        ids["id"] = w.org
    elif pattern == "/treaties/{slug}" or pattern == "/api/v1/treaties/{slug}/status":
        ids["slug"] = "op-icescr"
    path = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), pattern)
    if method == "POST":
        data = {
            # A different unknown account each time: five failures on one
            # account are throttled (429).
            "/login": {"email": f"nobody-{role}@example.org", "password": "not it"},
            "/countries/{iso3}/targets/corrections/{id}": {"status": "rejected"},
            "/account": {"display_name": f"Display {role}"},
            "/profile": {"name": f"Name of {role}", "listing": "members"},
            "/admin/members/{id}/status": {"status": "active"},
            "/countries/{iso3}/targets/{id}/correction": {"correction": f"Fix by {role}"},
            "/letters": {"country": HERE},
            "/meetings": {"country": HERE},
            "/letters/{id}": {"sender": "Mosaiko", "recipient": "Ministry",
                              "subject": f"MARK-letter-{level} subject, edited by {role}",
                              "body": f"MARK-letter-{level}: Dear Minister, from {role}."},
            "/letters/{id}/sent": {"sent_on": "2026-10-01", "sent_via": "post",
                                   "visibility": level},
            "/letters/{id}/responses": {"received_on": "2026-11-20", "class": "positive",
                                        "visibility": "country", "text": f"Reply for {role}"},
            "/responses/{id}/help": {"details": f"Help for {role}"},
            "/admin/assistance/{id}": {"draft": f"Draft by {role}"},
            "/assistance/{id}/messages": {"body": f"Message from {role}"},
            "/password/reset": {"email": "not an address"},
        }.get(pattern, {})
    return method, path, data, files


def expected(route, role, level):
    want = EXPECT[route]
    if isinstance(want, dict):
        return want[role][LEVELS.index(level)]
    return want[ROLES.index(role)]


def levels_of(route):
    want = EXPECT[route]
    if not isinstance(want, dict):
        return [None]
    return [lvl for i, lvl in enumerate(LEVELS) if want["anon"][i] is not None]


def actor(route, role):
    """Who plays role: for a stage the "owner" is the coordinator who
    recorded it."""
    if role == "owner" and "/stages/" in route:
        return "stage_owner"
    return role


def database_state(w):
    """Every table's rows but the volatile ones, to compare before and after
    a refused request."""
    # A read: "a refused request changes nothing" is checked on every table
    # at once, including ones no page or API shows. Rows are sorted here, as
    # a table without ORDER BY has no order another engine must keep.
    tables = [t for t in db_tables(w.srv.db) if t not in VOLATILE]
    return {t: sorted(w.srv.query(f'SELECT * FROM "{t}"'), key=repr) for t in tables}


def hidden_markers(w, who):
    """The markers of the objects who may not see."""
    out = []
    for text, level, author in w.markers:
        if author == who:
            continue
        row = VISIBLE.get(who, VISIBLE["coord_here"] if who == "stage_owner" else None)
        if not row[LEVELS.index(level)]:
            out.append(text)
    return out


def fresh_client(w, who):
    """A session of its own, for a request that ends it."""
    if who == "anon":
        c = w.srv.client()
        return c, scrape_csrf(c.get("/join").text)
    c = w.srv.login_user(w.users[who])
    return c, scrape_csrf(c.get("/join").text)


def test_every_route_for_every_role_and_visibility(world):
    w = world
    failures = []
    for route in routes():
        if route not in EXPECT:
            continue  # reported by test_every_route_has_an_expectation
        for role in ROLES:
            who = actor(route, role)
            for level in levels_of(route):
                want = expected(route, role, level)
                method, path, data, files = request_for(w, route, role, level)
                if route == "POST /logout" or who == "anon":
                    c, token = fresh_client(w, who)
                else:
                    c, token = w.clients[who], w.csrf[who]
                if method == "GET":
                    r = c.get(path)
                    got = r.status_code
                    if got == 200:
                        body = r.text if "text" in r.headers.get("Content-Type", "") or \
                            "json" in r.headers.get("Content-Type", "") else ""
                        leaked = [m for m in hidden_markers(w, who) if m in body]
                        if leaked:
                            failures.append(f"{route} as {role} ({level}): shows {leaked}")
                else:
                    before = database_state(w)
                    r = c.post(path, data={"csrf_token": token, **data}, files=files,
                               headers={"X-CSRF-Token": token})
                    got = r.status_code
                    if got not in (200, 303) and route not in ("POST /login",):
                        after = database_state(w)
                        if after != before:
                            changed = [t for t in after if after[t] != before.get(t)]
                            failures.append(f"{route} as {role} ({level}): refused with {got} "
                                            f"but changed {changed}")
                if got not in want if isinstance(want, frozenset) else got != want:
                    failures.append(f"{route} as {role}" + (f" ({level})" if level else "") +
                                    f": {got}, expected {want}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures)
    # The servers's log has no sanitizer report, and it is still up.
    assert w.srv.proc.poll() is None


def test_contacts_email_links_are_mailto(world):
    page = world.clients["member_here"].get(f"/countries/{HERE}/targets").text
    assert 'href="mailto:t@gov.ao"' in page
    assert 'href="t@gov.ao"' not in page


def test_a_new_letter_is_private_and_says_who_sees_it(world):
    w = world
    page = w.clients["owner"].get("/letters/new", params={"country": HERE}).text
    assert re.search(r'name="visibility" value="private" checked', page), page
    assert "Only you and the administrators will see it" in page
    model = re.findall(r'<option value="(\d+)">[^<]+\(en\)</option>', page)[0]
    r = w.post("owner", "/letters", {"country": HERE, "model": model, "sender": "Mosaiko"})
    assert r.status_code == 303
    path = r.headers["Location"]
    assert w.clients["admin"].get("/api/v1" + path).json()["letter"]["visibility"] == "private"
    assert w.clients["coord_here"].get(path).status_code == 404
    assert w.clients["member_here"].get(path).status_code == 404
    # Shared by its author with the coalition, the coordinator may now edit it,
    # but not widen or narrow who sees it.
    r = w.post("owner", path, {"sender": "Mosaiko", "subject": "Shared now",
                               "body": "Dear Minister, please ratify the Protocol.",
                               "visibility": "country"})
    assert r.status_code == 303
    assert w.clients["member_here"].get(path).status_code == 200
    r = w.post("coord_here", path, {"sender": "Mosaiko", "subject": "Shared now",
                                    "body": "Dear Minister, please ratify the Protocol.",
                                    "visibility": "public"})
    assert r.status_code == 303
    assert w.clients["admin"].get("/api/v1" + path).json()["letter"]["visibility"] == "country"
