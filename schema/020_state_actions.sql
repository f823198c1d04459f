-- 020_state_actions.sql: what states do to bring others to the Protocol,
-- as "Friends of the Protocol" (issue 13, item 3): the five actions the
-- campaign page asks of them. UPR recommendations on the Protocol are not
-- copied here: friend.c counts them from upr_recommendations, so that a
-- reclassified recommendation counts, or stops counting, at once.
--
-- kind: announce (made its ratification known: international meetings,
-- a press conference, letters to other states), propose_language (in
-- international or regional declarations), upr_recommendation (made
-- outside the imported UPR data), inter_state_dialogue (raised it in
-- another dialogue on human rights), technical_assistance (offered help
-- or shared its experience with another state).

-- owner: src/feat/friend.c
CREATE TABLE state_actions (
    id          INTEGER PRIMARY KEY,
    iso3        TEXT NOT NULL REFERENCES countries (iso3),  -- the state that acted
    kind        TEXT NOT NULL CHECK (kind IN ('announce', 'propose_language',
                                              'upr_recommendation', 'inter_state_dialogue',
                                              'technical_assistance')),
    acted_on    TEXT NOT NULL,                              -- ISO date
    forum       TEXT NOT NULL,                              -- where: "HRC 58", "EU-CELAC summit"
    target_iso3 TEXT REFERENCES countries (iso3),           -- the state pressed, if one
    summary     TEXT NOT NULL DEFAULT '',
    source_url  TEXT NOT NULL DEFAULT '',
    recorded_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    recorded_at INTEGER NOT NULL
);

CREATE INDEX state_actions_iso3 ON state_actions (iso3, acted_on);
