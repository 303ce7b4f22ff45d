-- gridguard SQLite schema, version 4: the notification outbox.
-- Append-only: a message is stored once; its delivery state is derived from
-- its attempt log (claimed / sent / failed / dead), which is also its audit trail.

CREATE TABLE outbox (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "area_id" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "recipient" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "data" TEXT NOT NULL,
    "not_before" TEXT,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("area_id") REFERENCES areas ("id")
) WITHOUT ROWID;
-- One b-tree and no secondary index: a message costs its cause's transaction
-- as little as possible. The dispatcher's queries go through outbox_attempts.

CREATE TABLE outbox_attempts (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "message_id" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "due_at" TEXT,
    "error" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("message_id") REFERENCES outbox ("id")
);
CREATE INDEX outbox_attempts_message_id ON outbox_attempts ("message_id", "attempt");
CREATE INDEX outbox_attempts_jurisdiction_at ON outbox_attempts ("jurisdiction", "at");
