-- gridguard SQLite schema, version 3: indexes for the door-to-door sweep.
-- Planning, follow-up and coverage read a campaign's visits household by household
-- and count the persons screened per community; these covering indexes turn both
-- into index-only scans (no table rows read, no sorting), which is what keeps a
-- city of 1.5 million households within seconds. No table changes.

CREATE INDEX visits_sweep
    ON visits ("household_id", "jurisdiction", "campaign_id", "at", "outcome", "channel");
CREATE INDEX screenings_sweep ON screenings ("jurisdiction", "person_id", "at");
