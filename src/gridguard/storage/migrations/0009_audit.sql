-- gridguard SQLite schema, version 9: the audit log.
-- Append-only and hash-chained: each entry's "hash" is SHA-256 over "prev_hash" and
-- the entry's other columns (gridguard.audit). "seq" numbers entries without gaps;
-- its unique index makes two writers that raced for the same place collide instead
-- of forking the chain. The triggers refuse UPDATE and DELETE, so that only someone
-- who drops them on purpose can change history (and "gridguard audit verify" then
-- names the entries that were touched).

CREATE TABLE audit_log (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" TEXT NOT NULL,
    "recorded_by" TEXT,
    "seq" INTEGER NOT NULL,
    "principal" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_log_seq ON audit_log ("seq");
CREATE INDEX audit_log_at ON audit_log ("at");

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
