-- gridguard SQLite schema, version 5: data-driven targeting (大数据排查).
-- Outside lists are registry entries owned by the area that received them; their
-- rows, matches, review items and review decisions are insert-once facts with
-- deterministic UUID 5 ids; targets are derived registry entries, one per household.
-- The match indexes on persons (resident_id, phone) are not here: gridguard.targeting
-- creates them on first use, so that bulk loads of a register stay fast until then.

CREATE TABLE outside_lists (
    "id" TEXT NOT NULL PRIMARY KEY,
    "source" TEXT NOT NULL,
    "area_id" TEXT NOT NULL,
    "exposure" TEXT NOT NULL,
    "received" TEXT,
    "note" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("area_id") REFERENCES areas ("id")
);
CREATE INDEX outside_lists_jurisdiction ON outside_lists ("jurisdiction");
CREATE INDEX outside_lists_area_id ON outside_lists ("area_id");

CREATE TABLE list_entries (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "list_id" TEXT NOT NULL,
    "row" INTEGER NOT NULL,
    "name" TEXT,
    "id_number" TEXT,
    "phone" TEXT,
    "last_contact" TEXT,
    "origin" TEXT NOT NULL,
    "note" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("list_id") REFERENCES outside_lists ("id")
);
CREATE INDEX list_entries_list_id ON list_entries ("list_id", "row");
CREATE INDEX list_entries_jurisdiction_at ON list_entries ("jurisdiction", "at");

CREATE TABLE matches (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "entry_id" TEXT NOT NULL,
    "person_id" TEXT NOT NULL,
    "match_pass" TEXT NOT NULL,
    "score" REAL NOT NULL,
    "source" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("person_id") REFERENCES persons ("id"),
    FOREIGN KEY ("entry_id") REFERENCES list_entries ("id")
);
CREATE INDEX matches_entry_id ON matches ("entry_id");
CREATE INDEX matches_person_id ON matches ("person_id", "at");
CREATE INDEX matches_jurisdiction_at ON matches ("jurisdiction", "at");

CREATE TABLE review_items (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "entry_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "candidates" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("entry_id") REFERENCES list_entries ("id")
);
CREATE INDEX review_items_entry_id ON review_items ("entry_id");
CREATE INDEX review_items_jurisdiction_at ON review_items ("jurisdiction", "at");

CREATE TABLE review_decisions (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "entry_id" TEXT NOT NULL,
    "person_id" TEXT,
    "note" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("entry_id") REFERENCES list_entries ("id"),
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
CREATE INDEX review_decisions_entry_id ON review_decisions ("entry_id");
CREATE INDEX review_decisions_jurisdiction_at ON review_decisions ("jurisdiction", "at");

CREATE TABLE targets (
    "id" TEXT NOT NULL PRIMARY KEY,
    "household_id" TEXT NOT NULL,
    "grid_id" TEXT,
    "priority" REAL NOT NULL,
    "persons" TEXT NOT NULL,
    "sources" TEXT NOT NULL,
    "reasons" TEXT NOT NULL,
    "last_contact" TEXT,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("grid_id") REFERENCES areas ("id")
);
CREATE INDEX targets_household_id ON targets ("household_id");
CREATE INDEX targets_grid_id ON targets ("grid_id", "priority");
CREATE INDEX targets_jurisdiction ON targets ("jurisdiction");
