-- gridguard SQLite schema, version 6: the outbox's pending set, and the match indexes.
--
-- outbox_pending holds one small row per message that is not settled yet (no
-- 'sent' or 'dead' entry in its attempt log): when it is due, its latest attempt
-- ("stage" orders a claim, 0, before its result, 1) and that attempt's error.
-- gridguard.notify.outbox writes it in the same transaction as the message
-- (enqueue) and as each log entry (record_attempts), so a claim round reads the
-- pending set instead of the whole outbox. It is derived state: the append-only
-- outbox and its attempt log stay the truth, and a claim checks each candidate
-- against the log. No index beyond its key: every index here would be written
-- by every enqueue, in the transaction of the fact that causes the message.

CREATE TABLE outbox_pending (
    "message_id" TEXT NOT NULL PRIMARY KEY,
    "channel" TEXT NOT NULL,
    "due_at" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "stage" INTEGER NOT NULL DEFAULT 1,
    "error" TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- Messages enqueued before this version: every unsettled one, as its latest log entry says.
INSERT INTO outbox_pending ("message_id", "channel", "due_at", "attempt", "stage", "error")
SELECT m."id", m."channel",
       COALESCE(l."due_at", m."not_before", m."at"),
       COALESCE(l."attempt", 0),
       CASE WHEN l."outcome" = 'claimed' THEN 0 ELSE 1 END,
       COALESCE(l."error", '')
FROM outbox m
LEFT JOIN outbox_attempts l ON l."id" = (
    SELECT a."id" FROM outbox_attempts a WHERE a."message_id" = m."id"
    ORDER BY a."attempt" DESC, CASE a."outcome" WHEN 'claimed' THEN 0 ELSE 1 END DESC
    LIMIT 1)
WHERE NOT EXISTS (SELECT 1 FROM outbox_attempts f
                  WHERE f."message_id" = m."id" AND f."outcome" IN ('sent', 'dead'));


-- The match indexes (gridguard.targeting.matching looks persons up by identity
-- number and by phone). The schema owns them; a bulk load of persons that is
-- large enough (a register import, the city generator) drops them and builds
-- them again once after the load, which is several times faster than keeping
-- them up to date row by row.
CREATE INDEX IF NOT EXISTS persons_resident_id ON persons ("resident_id");
CREATE INDEX IF NOT EXISTS persons_phone ON persons ("phone");
