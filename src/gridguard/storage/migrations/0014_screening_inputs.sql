-- gridguard SQLite schema, version 14: a screening run keeps what it saw.
-- `inputs` is JSON: the run's number among the runs of its rule set version and
-- day, and per community a fingerprint of the rows screening reads, so that the
-- next run of the same day screens only what changed (gridguard.screening).
-- Runs stored before say nothing (''), and the next run is a full one. The table
-- is rebuilt so that its columns keep the model's order with jurisdiction last.

CREATE TABLE screening_runs_0014 (
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
    "inputs" TEXT NOT NULL DEFAULT '',
    "jurisdiction" TEXT NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES campaigns ("id")
);
INSERT INTO screening_runs_0014 (
    "id", "at", "recorded_by", "campaign_id", "rule_set_id", "rule_set_version",
    "rule_set_digest", "day", "mode", "flagged", "watermark", "jurisdiction"
)
SELECT
    "id", "at", "recorded_by", "campaign_id", "rule_set_id", "rule_set_version",
    "rule_set_digest", "day", "mode", "flagged", "watermark", "jurisdiction"
FROM screening_runs;
DROP TABLE screening_runs;
ALTER TABLE screening_runs_0014 RENAME TO screening_runs;
CREATE INDEX screening_runs_campaign_id ON screening_runs ("campaign_id", "rule_set_id", "at");
CREATE INDEX screening_runs_jurisdiction_at ON screening_runs ("jurisdiction", "at");
