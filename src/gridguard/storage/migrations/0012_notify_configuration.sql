-- gridguard SQLite schema, version 12: the workspace's notification configuration.
-- Routes, channels, contacts, quiet hours and the digest, set once with
-- "gridguard notify configure FILE" and read by every workflow that queues a
-- message. Insert-once: the latest row ("at") is in force; earlier ones stay as
-- the record of how messages were routed before.

CREATE TABLE notify_configurations (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "settings" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL
);
CREATE INDEX notify_configurations_at ON notify_configurations ("at");
