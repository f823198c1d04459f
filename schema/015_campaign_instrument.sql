-- 015_campaign_instrument.sql: the instrument a deployment campaigns for is
-- configuration (`ratify init --instrument SLUG`, the settings row
-- 'campaign_instrument'; treaty.c reads it), so a model letter says which
-- instrument it argues for. The shipped letters are written for the
-- OP-ICESCR: a campaign for another instrument does not offer them.

ALTER TABLE model_letters ADD COLUMN instrument TEXT NOT NULL DEFAULT 'op-icescr';
