-- gridguard SQLite schema, version 10: field encryption of personal data at rest.
-- With encryption on, persons.resident_id and persons.phone hold AES-GCM tokens
-- ("gg1:<key id>:..."), and persons_blind holds one row of keyed blind indexes
-- (HMAC-SHA256, truncated) per person, so that exact matching joins here instead.
-- The key that sealed a row is named per row (key_id) and, once in force, in
-- encryption_keys; key material itself is never stored. With encryption off both
-- tables stay empty and persons is written exactly as before.

CREATE TABLE encryption_keys (
    "key_id" TEXT NOT NULL PRIMARY KEY,
    "state" TEXT NOT NULL CHECK ("state" IN ('active', 'retired')),
    "created_at" TEXT NOT NULL,
    "retired_at" TEXT
);
CREATE UNIQUE INDEX encryption_keys_one_active ON encryption_keys ("state")
    WHERE "state" = 'active';

CREATE TABLE persons_blind (
    "person_id" TEXT NOT NULL PRIMARY KEY,
    "key_id" TEXT NOT NULL,
    "resident_id" TEXT,
    "id_block" TEXT,
    "id_region" TEXT,
    "phone" TEXT,
    FOREIGN KEY ("person_id") REFERENCES persons ("id") ON DELETE CASCADE
);
CREATE INDEX persons_blind_resident_id ON persons_blind ("resident_id");
CREATE INDEX persons_blind_id_block ON persons_blind ("id_block");
CREATE INDEX persons_blind_id_region ON persons_blind ("id_region");
CREATE INDEX persons_blind_phone ON persons_blind ("phone");
CREATE INDEX persons_blind_key_id ON persons_blind ("key_id");

-- The region codes (first six digits of identity numbers) on file, sealed, one row
-- per blind index: the targeting cascade reads them to try region-code typos.
CREATE TABLE persons_regions (
    "id_region" TEXT NOT NULL PRIMARY KEY,
    "region" TEXT NOT NULL
);
