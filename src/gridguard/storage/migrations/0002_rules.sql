-- gridguard SQLite schema, version 2: what screening runs store.
-- Assessments and runs are insert-once facts; quarantine orders and tasks are
-- registry entries (their status changes). Ids are deterministic UUID 5s.

CREATE TABLE assessments (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "person_id" TEXT NOT NULL,
    "household_id" TEXT NOT NULL,
    "campaign_id" TEXT NOT NULL,
    "rule_set_id" TEXT NOT NULL,
    "rule_set_version" TEXT NOT NULL,
    "day" TEXT NOT NULL,
    "screening_id" TEXT,
    "risk" TEXT NOT NULL,
    "fired" TEXT NOT NULL,
    "referrals" TEXT NOT NULL,
    "notify" TEXT NOT NULL,
    "follow_up_hours" INTEGER,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
CREATE INDEX assessments_person_id ON assessments ("person_id", "rule_set_id", "day");
CREATE INDEX assessments_jurisdiction_at ON assessments ("jurisdiction", "at");

CREATE TABLE quarantine_orders (
    "id" TEXT NOT NULL PRIMARY KEY,
    "household_id" TEXT NOT NULL,
    "person_id" TEXT,
    "kind" TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "end" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "rule_id" TEXT NOT NULL,
    "rule_set_id" TEXT NOT NULL,
    "rule_set_version" TEXT NOT NULL,
    "campaign_id" TEXT,
    "status" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
CREATE INDEX quarantine_orders_household_id ON quarantine_orders ("household_id");
CREATE INDEX quarantine_orders_person_id ON quarantine_orders ("person_id");
CREATE INDEX quarantine_orders_status ON quarantine_orders ("status", "start", "end");
CREATE INDEX quarantine_orders_jurisdiction ON quarantine_orders ("jurisdiction");

CREATE TABLE tasks (
    "id" TEXT NOT NULL PRIMARY KEY,
    "household_id" TEXT NOT NULL,
    "person_id" TEXT,
    "kind" TEXT NOT NULL,
    "due" TEXT NOT NULL,
    "note" TEXT NOT NULL,
    "rule_id" TEXT NOT NULL,
    "rule_set_id" TEXT NOT NULL,
    "rule_set_version" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
CREATE INDEX tasks_household_id ON tasks ("household_id");
CREATE INDEX tasks_person_id ON tasks ("person_id");
CREATE INDEX tasks_jurisdiction_due ON tasks ("jurisdiction", "due");

CREATE TABLE screening_runs (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "campaign_id" TEXT NOT NULL,
    "rule_set_id" TEXT NOT NULL,
    "rule_set_version" TEXT NOT NULL,
    "rule_set_digest" TEXT NOT NULL,
    "day" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "flagged" INTEGER NOT NULL,
    "watermark" TEXT,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES campaigns ("id")
);
CREATE INDEX screening_runs_campaign_id ON screening_runs ("campaign_id", "rule_set_id", "at");
CREATE INDEX screening_runs_jurisdiction_at ON screening_runs ("jurisdiction", "at");
