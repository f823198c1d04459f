"""
Staff told by email when work arrives (issue 14), beyond the applications
of test_homes.py: a correction proposed to a government contact (the
country's coordinators, at once or in their digest), letters overdue (in
the daily digest of the country's coordinators, each once), and the
secretariat's reviews (every admin, once per UNTC check or UPR import that
queues new ones). Read from a real SMTP capture; the links go to the queue
pages and the emails never name the member who proposed.
"""

import re
import time

import pytest

from factories import DAY, cli_at, mail_count, mail_site, next_mail_to  # noqa: F401  (the fixture)
from ratify_server import scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the fixture)
from test_letters import write_ratify_letter
from test_untc_check import pages, planted_ratification  # noqa: F401  (the fixture)
from test_upr import PLANTED


@pytest.fixture
def site(mail_site):
    return mail_site


def quiet():
    """Long enough for the server's sender to deliver anything queued."""
    time.sleep(1)


def choose_digest(client):
    page = client.get("/account").text
    r = client.post("/account/notifications",
                    data={"csrf_token": scrape_csrf(page), "mode": "digest"})
    assert r.status_code == 303


def add_target(coord):
    """A ministry of Angola; its id."""
    page = coord.get("/countries/AGO/targets").text
    r = coord.post("/countries/AGO/targets", data={
        "csrf_token": scrape_csrf(page), "kind": "ministry", "name": "Minister of Justice"})
    assert r.status_code == 303
    page = coord.get("/countries/AGO/targets").text
    return re.findall(r"/targets/(\d+)/correction", page)[0]


def propose(client, target, text="The minister changed in March."):
    page = client.get("/countries/AGO/targets").text
    r = client.post(f"/countries/AGO/targets/{target}/correction",
                    data={"csrf_token": scrape_csrf(page), "correction": text})
    assert r.status_code == 303, r.text[:2000]


def housekeeping(site, offset=0):
    p = cli_at(site, offset, "housekeeping") if offset else site.cli("housekeeping")
    assert p.returncode == 0, p.stderr


def queued_bodies(site, email):
    """Mail to email as queued (also what a future clock queued, which the
    server's sender, on today's clock, keeps for later)."""
    return [b for (b,) in site.query("SELECT body FROM mail_queue WHERE to_addr = ? "
                                     "ORDER BY id", email)]


def test_a_correction_proposed_emails_the_coordinator_once(site, smtp):
    member = site.factory.member("AGO", name="Paula Proposer")
    coord_user = site.member("coordinator", countries=["AGO"])
    coord = site.login_user(coord_user)
    elsewhere = site.member("coordinator", countries=["KEN"])
    admin = site.member("admin")
    target = add_target(coord)
    before = mail_count(smtp, coord_user.email)
    others = (mail_count(smtp, elsewhere.email), mail_count(smtp, admin.email))
    propose(member.client, target, "The minister changed in March.")
    mail = next_mail_to(smtp, coord_user.email, before)
    assert mail.msg["Subject"] == "A correction to a government contact waits for you"
    text = SmtpCapture.body(mail)
    assert "Country: Angola" in text
    assert f"{site.base_url}/countries/AGO/targets\n" in text
    # The page says who and what, after login; the email does not.
    for private in ("Paula Proposer", member.email, "minister changed"):
        assert private not in text
    quiet()
    housekeeping(site)  # nothing of it waits for a digest
    quiet()
    assert mail_count(smtp, coord_user.email) == before + 1
    # Another country's coordinator and the admins (Angola has a
    # coordinator) are not told.
    assert (mail_count(smtp, elsewhere.email), mail_count(smtp, admin.email)) == others
    # In the coordinator's language, once they chose one.
    r = coord.post("/account", data={"csrf_token": scrape_csrf(coord.get("/account").text),
                                     "lang": "es"})
    assert r.status_code == 303
    propose(member.client, target, "And the address changed too.")
    mail = next_mail_to(smtp, coord_user.email, before + 1)
    assert mail.msg["Subject"] == "Una corrección a un contacto del gobierno le espera"
    assert "Angola" in SmtpCapture.body(mail)


def test_with_the_digest_chosen_nothing_comes_at_once_and_one_digest_has_it(site, smtp):
    member = site.factory.member("AGO")
    coord_user = site.member("coordinator", countries=["AGO"])
    coord = site.login_user(coord_user)
    choose_digest(coord)
    target = add_target(coord)
    before = mail_count(smtp, coord_user.email)
    propose(member.client, target)
    propose(member.client, target, "Her title is Minister of Justice and Human Rights.")
    quiet()
    assert mail_count(smtp, coord_user.email) == before
    housekeeping(site)
    digest = next_mail_to(smtp, coord_user.email, before)
    assert digest.msg["Subject"] == "Work waiting for you: your daily summary"
    text = SmtpCapture.body(digest)
    assert "Corrections to government contacts proposed" in text
    # (Sent by `ratify housekeeping`: links on the stored public address,
    # here the default one, as no --public-url was given.)
    assert "- Angola: 2\n  http://" in text and "/countries/AGO/targets\n" in text
    assert "Letters that passed their reminder" not in text
    assert site.scalar("SELECT count(*) FROM notification_items") == 0
    housekeeping(site)
    quiet()
    assert mail_count(smtp, coord_user.email) == before + 1


def test_an_overdue_letter_is_in_one_digest_and_not_in_the_next(site, smtp):
    member = site.factory.member("AGO")
    coord_user = site.member("coordinator", countries=["AGO"])
    coord = site.login_user(coord_user)
    admin = site.member("admin")
    # A letter sent in January with a four-week reminder, and no answer.
    path = write_ratify_letter(member.client)
    page = member.client.get(path).text
    r = member.client.post(path + "/sent", data={
        "csrf_token": scrape_csrf(page), "sent_on": "2026-01-05", "sent_via": "post",
        "remind_weeks": "4", "visibility": "country"})
    assert r.status_code == 303
    before, admin_before = mail_count(smtp, coord_user.email), mail_count(smtp, admin.email)
    # Overdue letters come by time: in the digest even for a coordinator
    # who chose an email per item (the default).
    housekeeping(site)
    digest = next_mail_to(smtp, coord_user.email, before)
    assert digest.msg["Subject"] == "Work waiting for you: your daily summary"
    text = SmtpCapture.body(digest)
    assert "Letters that passed their reminder without an answer" in text
    assert "- Angola: 1\n" in text and f"/admin/letters\n" in text
    assert site.scalar("SELECT count(*) FROM notification_letters_told") == 1
    # Told once: the next hour says nothing of it.
    housekeeping(site)
    quiet()
    assert mail_count(smtp, coord_user.email) == before + 1
    # The next day's digest, with other work in it, does not repeat it,
    # though the letter is still overdue.
    choose_digest(coord)
    propose(member.client, add_target(coord))
    housekeeping(site, DAY + 60)
    bodies = queued_bodies(site, coord_user.email)
    assert len(bodies) == before + 2
    assert "Corrections to government contacts" in bodies[-1]
    assert "Letters that passed their reminder" not in bodies[-1]
    assert site.scalar("SELECT status FROM letters") == "no_response"
    assert site.scalar("SELECT count(*) FROM notification_items") == 0
    # Angola has a coordinator: the admins are not told.
    assert mail_count(smtp, admin.email) == admin_before
    assert len(queued_bodies(site, admin.email)) == admin_before


def test_a_untc_check_that_queues_differences_emails_the_admins_once(site, smtp, pages):  # noqa: F811
    admin = site.member("admin")
    summary = site.member("admin")
    choose_digest(site.login_user(summary))
    url = pages.serve("/icescr_op.html", planted_ratification())
    before = mail_count(smtp, admin.email)
    p = site.cli("untc", "check", "--url", url)
    assert p.returncode == 0 and "1 newly queued" in p.stdout, p.stdout + p.stderr
    mail = next_mail_to(smtp, admin.email, before)
    assert mail.msg["Subject"] == "Changes from the UN Treaty Collection wait for review"
    text = SmtpCapture.body(mail)
    assert "waiting for review: 1\n" in text and "/admin/untc\n" in text
    # The same page again queues nothing new: no email.
    p = site.cli("untc", "check", "--url", url)
    assert p.returncode == 0 and "0 newly queued" in p.stdout, p.stdout
    quiet()
    assert mail_count(smtp, admin.email) == before + 1
    # The admin who chose the digest hears of it there, once.
    assert mail_count(smtp, summary.email) == 0
    housekeeping(site)
    digest = next_mail_to(smtp, summary.email, 0)
    assert "waiting for review: 1\n" in SmtpCapture.body(digest)
    assert "/admin/untc" in SmtpCapture.body(digest)


def test_a_upr_import_with_recommendations_to_review_emails_the_admins_once(site, smtp, tmp_path):
    admin = site.member("admin")
    path = tmp_path / "upr.csv"
    path.write_text(PLANTED)
    before = mail_count(smtp, admin.email)
    p = site.cli("import", "upr", str(path))  # a dry run tells nobody
    assert p.returncode == 0 and "1 for review" in p.stdout, p.stdout + p.stderr
    quiet()
    assert mail_count(smtp, admin.email) == before
    p = site.cli("import", "upr", str(path), "--apply")
    assert p.returncode == 0 and "Written." in p.stdout, p.stdout + p.stderr
    mail = next_mail_to(smtp, admin.email, before)
    assert mail.msg["Subject"] == "UPR recommendations wait for review"
    assert "waiting for review: 1\n" in SmtpCapture.body(mail)
    assert "/admin/upr\n" in SmtpCapture.body(mail)
    p = site.cli("import", "upr", str(path), "--apply")  # nothing new
    assert p.returncode == 0 and "0 new" in p.stdout
    quiet()
    assert mail_count(smtp, admin.email) == before + 1


def test_a_request_for_support_follows_each_admins_choice(site, smtp):
    """A new request for support reaches the secretariat at once or in the
    digest, as each chose; the requester, who knows, gets nothing."""
    from test_assistance import ask
    at_once = site.member("admin")
    summary = site.member("admin")
    choose_digest(site.login_user(summary))
    requester = site.factory.member("AGO", name="Rosa Requester")
    before = mail_count(smtp, at_once.email)
    mine = mail_count(smtp, requester.email)
    r = ask(requester.client)
    assert r.status_code == 303, r.text[:2000]
    rid = int(re.fullmatch(r".*/assistance/(\d+)", r.headers["Location"]).group(1))
    mail = next_mail_to(smtp, at_once.email, before)
    assert mail.msg["Subject"] == f"Request for support {rid}"
    text = SmtpCapture.body(mail)
    assert "Country: Angola" in text and f"/assistance/{rid}\n" in text
    assert "/account" in text  # where to choose the digest instead
    for private in ("Rosa Requester", requester.email, "adjudication"):
        assert private not in text
    quiet()
    assert mail_count(smtp, summary.email) == 0
    assert mail_count(smtp, requester.email) == mine
    # The digest has it, by country, with the secretariat's list.
    housekeeping(site)
    digest = next_mail_to(smtp, summary.email, 0)
    assert digest.msg["Subject"] == "Work waiting for you: your daily summary"
    text = SmtpCapture.body(digest)
    assert "Requests for support made since your last summary:" in text
    assert "- Angola: 1\n" in text and "/admin/assistance\n" in text
    assert "Rosa Requester" not in text
    # Told once: the one at once is not in a digest, the digest not again.
    quiet()
    assert mail_count(smtp, at_once.email) == before + 1
    assert site.scalar("SELECT count(*) FROM notification_items") == 0


def test_the_steering_committee_chooses_too(site, smtp):
    """A member on the steering committee (not a coordinator) is told of
    requests for support, so /account offers them the choice; a plain
    member is told of nothing and is not offered it."""
    from test_assistance import ask
    admin = site.login_user(site.member("admin"))
    plain = site.member("member")
    assert "Emails about work waiting for you" not in site.login_user(plain).get("/account").text
    user = site.member("member")
    page = admin.get("/admin/steering-committee").text
    assert admin.post("/admin/steering-committee",
                      data={"csrf_token": scrape_csrf(page), "email": user.email}
                      ).status_code == 303
    committee = site.login_user(user)  # enrols the second factor the committee needs
    assert "Emails about work waiting for you" in committee.get("/account").text
    choose_digest(committee)
    before = mail_count(smtp, user.email)
    assert ask(site.factory.member("AGO").client).status_code == 303
    quiet()
    assert mail_count(smtp, user.email) == before  # nothing at once
    housekeeping(site)
    digest = next_mail_to(smtp, user.email, before)
    assert "Requests for support made since your last summary:" in SmtpCapture.body(digest)
