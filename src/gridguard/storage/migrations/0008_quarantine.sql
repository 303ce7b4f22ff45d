-- gridguard SQLite schema, version 8: the quarantine lifecycle and services.
-- Quarantine orders gain who ordered them by hand and when. The table is rebuilt
-- (not ALTER TABLE ADD COLUMN) so that its columns keep the model's order, with
-- jurisdiction and version last like every registry table; no table refers to it.
-- Releases, extensions, service assignments and completions are insert-once facts.

CREATE TABLE quarantine_orders_0008 (
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
    "ordered_by" TEXT,
    "ordered_at" TEXT,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
INSERT INTO quarantine_orders_0008 (
    "id", "household_id", "person_id", "kind", "start", "end", "reason", "rule_id",
    "rule_set_id", "rule_set_version", "campaign_id", "status", "jurisdiction", "version"
)
SELECT
    "id", "household_id", "person_id", "kind", "start", "end", "reason", "rule_id",
    "rule_set_id", "rule_set_version", "campaign_id", "status", "jurisdiction", "version"
FROM quarantine_orders;
DROP TABLE quarantine_orders;
ALTER TABLE quarantine_orders_0008 RENAME TO quarantine_orders;
CREATE INDEX quarantine_orders_household_id ON quarantine_orders ("household_id");
CREATE INDEX quarantine_orders_person_id ON quarantine_orders ("person_id");
CREATE INDEX quarantine_orders_status ON quarantine_orders ("status", "start", "end");
CREATE INDEX quarantine_orders_jurisdiction ON quarantine_orders ("jurisdiction");

CREATE TABLE quarantine_releases (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "order_id" TEXT NOT NULL,
    "household_id" TEXT NOT NULL,
    "person_id" TEXT,
    "end" TEXT NOT NULL,
    "early" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "released_by" TEXT,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("order_id") REFERENCES quarantine_orders ("id"),
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
CREATE INDEX quarantine_releases_order_id ON quarantine_releases ("order_id");
CREATE INDEX quarantine_releases_jurisdiction_at ON quarantine_releases ("jurisdiction", "at");

CREATE TABLE quarantine_extensions (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "order_id" TEXT NOT NULL,
    "household_id" TEXT NOT NULL,
    "last_exposure" TEXT NOT NULL,
    "previous_end" TEXT NOT NULL,
    "new_end" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("order_id") REFERENCES quarantine_orders ("id")
);
CREATE INDEX quarantine_extensions_order_id ON quarantine_extensions ("order_id", "at");
CREATE INDEX quarantine_extensions_jurisdiction_at ON quarantine_extensions ("jurisdiction", "at");

CREATE TABLE service_assignments (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "request_id" TEXT NOT NULL,
    "household_id" TEXT NOT NULL,
    "team_id" TEXT,
    "person_id" TEXT,
    "due" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("request_id") REFERENCES service_requests ("id"),
    FOREIGN KEY ("team_id") REFERENCES teams ("id"),
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
CREATE INDEX service_assignments_request_id ON service_assignments ("request_id", "at");
CREATE INDEX service_assignments_jurisdiction_at ON service_assignments ("jurisdiction", "at");

CREATE TABLE service_completions (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "request_id" TEXT NOT NULL,
    "household_id" TEXT NOT NULL,
    "note" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("request_id") REFERENCES service_requests ("id")
);
CREATE INDEX service_completions_request_id ON service_completions ("request_id");
CREATE INDEX service_completions_jurisdiction_at ON service_completions ("jurisdiction", "at");
