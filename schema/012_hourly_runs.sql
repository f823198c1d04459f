-- 012_hourly_runs.sql: when the hourly jobs last ran. With several nodes
-- on one database, the node whose timer fires first runs the pass and the
-- others, finding it done, skip theirs: reminders and clean-up run once an
-- hour, not once per node.

-- owner: src/svc/housekeeping.c
CREATE TABLE hourly_runs (
    name    TEXT PRIMARY KEY,
    last_at INTEGER NOT NULL
);
