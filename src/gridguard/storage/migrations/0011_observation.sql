-- gridguard SQLite schema, version 11: quarantine orders carry their exposure.
-- An order's window is counted from one exposure (a trip's return, an arrival
-- from an outbreak area, a close contact...): the order keeps its kind and the
-- day of its last contact. The table is rebuilt, as in version 8, so that its
-- columns keep the model's order with jurisdiction and version last. Orders
-- stored before leave both empty. Releases and extensions refer to the orders:
-- they are set aside while the old table is dropped and put back unchanged once
-- the rebuilt table holds every order again (foreign keys stay on throughout).

CREATE TABLE quarantine_orders_0011 (
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
    "exposure_kind" TEXT,
    "last_contact" TEXT,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
INSERT INTO quarantine_orders_0011 (
    "id", "household_id", "person_id", "kind", "start", "end", "reason", "rule_id",
    "rule_set_id", "rule_set_version", "campaign_id", "status", "ordered_by", "ordered_at",
    "jurisdiction", "version"
)
SELECT
    "id", "household_id", "person_id", "kind", "start", "end", "reason", "rule_id",
    "rule_set_id", "rule_set_version", "campaign_id", "status", "ordered_by", "ordered_at",
    "jurisdiction", "version"
FROM quarantine_orders;
CREATE TEMP TABLE releases_0011 AS SELECT * FROM quarantine_releases;
CREATE TEMP TABLE extensions_0011 AS SELECT * FROM quarantine_extensions;
DELETE FROM quarantine_releases;
DELETE FROM quarantine_extensions;
DROP TABLE quarantine_orders;
ALTER TABLE quarantine_orders_0011 RENAME TO quarantine_orders;
INSERT INTO quarantine_releases SELECT * FROM releases_0011;
INSERT INTO quarantine_extensions SELECT * FROM extensions_0011;
DROP TABLE releases_0011;
DROP TABLE extensions_0011;
CREATE INDEX quarantine_orders_household_id ON quarantine_orders ("household_id");
CREATE INDEX quarantine_orders_person_id ON quarantine_orders ("person_id");
CREATE INDEX quarantine_orders_status ON quarantine_orders ("status", "start", "end");
CREATE INDEX quarantine_orders_jurisdiction ON quarantine_orders ("jurisdiction");
