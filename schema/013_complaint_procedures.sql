-- 013_complaint_procedures.sql: the four other UN complaint procedures as
-- instruments, so that a state's record on them (its "position in the past
-- on similar treaties", issue 11 item 4) comes from the depositary like the
-- Protocol's. treaty.c seeds their participants from the UNTC pages in
-- data/untc/ (dates and references from those pages and their README).
-- None has a parent here: only the Covenant is an instrument, and these
-- are not ways to the OP-ICESCR.
--
-- opt_in_articles: the CRC procedure's inter-State communications
-- (article 12) need a declaration; its page lists them among the general
-- declarations (no section of their own), so none is recorded as an
-- action. The others' inquiry procedures are opt-out, not opt-in.

INSERT INTO instruments (id, slug, short_name, title, adopted_on, opened_on, in_force_on,
                         in_force_condition, depositary_ref, source_url, opt_in_articles,
                         parent_id)
VALUES
    (3, 'op-cedaw', 'OP-CEDAW',
     'Optional Protocol to the Convention on the Elimination of All Forms of Discrimination against Women',
     '1999-10-06', '1999-12-10', '2000-12-22',
     'three months after the deposit of the 10th instrument of ratification or accession (art. 16)',
     'IV-8-b',
     'https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-8-b&chapter=4&clang=_en',
     '', NULL),
    (4, 'op-crpd', 'OP-CRPD',
     'Optional Protocol to the Convention on the Rights of Persons with Disabilities',
     '2006-12-13', '2007-03-30', '2008-05-03',
     'on the 30th day after the deposit of the 10th instrument of ratification or accession (art. 13)',
     'IV-15-a',
     'https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-15-a&chapter=4&clang=_en',
     '', NULL),
    (5, 'op-crc-ic', 'OP-CRC-IC',
     'Optional Protocol to the Convention on the Rights of the Child on a communications procedure',
     '2011-12-19', '2012-02-28', '2014-04-14',
     'three months after the deposit of the 10th instrument of ratification or accession (art. 19)',
     'IV-11-d',
     'https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-11-d&chapter=4&clang=_en',
     '12', NULL),
    (6, 'iccpr-op1', 'ICCPR-OP1',
     'Optional Protocol to the International Covenant on Civil and Political Rights',
     '1966-12-16', '1966-12-19', '1976-03-23',
     'three months after the deposit of the 10th instrument of ratification or accession, not before the Covenant (art. 9)',
     'IV-5',
     'https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-5&chapter=4&clang=_en',
     '', NULL);
