-- gridguard SQLite schema, version 13: a task can be given to a team.
-- `assignee` holds the id of the team the task is assigned to (checked when it
-- is assigned: a team of the task's community, of the right kind, that meets
-- the composition policy); tasks stored before are unassigned (NULL). The
-- table is rebuilt, as in version 11, so that its columns keep the model's
-- order with jurisdiction and version last. No table refers to tasks.

CREATE TABLE tasks_0013 (
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
    "assignee" TEXT,
    "jurisdiction" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY ("household_id") REFERENCES households ("id"),
    FOREIGN KEY ("person_id") REFERENCES persons ("id")
);
INSERT INTO tasks_0013 (
    "id", "household_id", "person_id", "kind", "due", "note", "rule_id", "rule_set_id",
    "rule_set_version", "status", "jurisdiction", "version"
)
SELECT
    "id", "household_id", "person_id", "kind", "due", "note", "rule_id", "rule_set_id",
    "rule_set_version", "status", "jurisdiction", "version"
FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_0013 RENAME TO tasks;
CREATE INDEX tasks_household_id ON tasks ("household_id");
CREATE INDEX tasks_person_id ON tasks ("person_id");
CREATE INDEX tasks_jurisdiction_due ON tasks ("jurisdiction", "due");
