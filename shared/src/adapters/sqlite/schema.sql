-- The embedded durable store: one table per aggregate, each row's document as JSON in
-- `body`, and beside it the columns its lookups and orders need, each behind an index.
-- Sort keys are `time_sort_key` strings (RFC 3339, milliseconds): text order is time order.

CREATE TABLE IF NOT EXISTS accounts (
    org TEXT NOT NULL, id TEXT NOT NULL, created_at TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (org, id)
) WITHOUT ROWID;
-- Meta's deauthorize and data deletion callbacks find accounts by who connected them.
CREATE INDEX IF NOT EXISTS accounts_by_meta_user ON accounts (json_extract(body, '$.metaUserId'))
    WHERE json_extract(body, '$.metaUserId') IS NOT NULL;
-- Instagram account id or page id -> the account last stored with it (webhook routing).
CREATE TABLE IF NOT EXISTS account_routes (
    external_id TEXT PRIMARY KEY, org TEXT NOT NULL, id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS account_routes_by_owner ON account_routes (org, id);

-- `due_at`: the expiry of a token whose refresh has not failed (what the refresh lists).
CREATE TABLE IF NOT EXISTS tokens (
    org TEXT NOT NULL, account_id TEXT NOT NULL, kind TEXT NOT NULL, due_at TEXT, body TEXT NOT NULL,
    PRIMARY KEY (org, account_id, kind)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokens_due ON tokens (due_at, org, account_id) WHERE due_at IS NOT NULL;

-- `thread_key`: the customer's id (DMs) or `comment:<id>` (a comment thread).
CREATE TABLE IF NOT EXISTS conversations (
    org TEXT NOT NULL, id TEXT NOT NULL, account_id TEXT NOT NULL, thread_key TEXT NOT NULL,
    provider TEXT NOT NULL, kind TEXT NOT NULL, sort_key TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (org, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS conversations_by_thread ON conversations (org, account_id, thread_key);
-- A customer's conversations, for their erasure.
CREATE INDEX IF NOT EXISTS conversations_by_participant ON conversations (org, json_extract(body, '$.participantId'));
CREATE INDEX IF NOT EXISTS conversations_inbox ON conversations (org, sort_key, id);
CREATE INDEX IF NOT EXISTS conversations_inbox_by_provider ON conversations (org, provider, sort_key, id);
CREATE INDEX IF NOT EXISTS conversations_inbox_by_kind ON conversations (org, kind, sort_key, id);
CREATE INDEX IF NOT EXISTS conversations_inbox_by_provider_kind ON conversations (org, provider, kind, sort_key, id);

CREATE TABLE IF NOT EXISTS messages (
    org TEXT NOT NULL, id TEXT NOT NULL, conversation_id TEXT NOT NULL, sort_key TEXT NOT NULL,
    external_id TEXT, body TEXT NOT NULL,
    PRIMARY KEY (org, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_meta_id ON messages (org, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_of_conversation ON messages (org, conversation_id, sort_key, id);

-- Changes waiting for their message, in arrival order (rowid).
CREATE TABLE IF NOT EXISTS pending_changes (
    org TEXT NOT NULL, mid TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    UNIQUE (org, mid, id)
);

CREATE TABLE IF NOT EXISTS leads (
    org TEXT NOT NULL, id TEXT NOT NULL, sort_key TEXT NOT NULL, instagram_user_id TEXT, handle TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (org, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS leads_by_user_id ON leads (org, instagram_user_id) WHERE instagram_user_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS leads_by_handle ON leads (org, handle) WHERE handle IS NOT NULL;
CREATE INDEX IF NOT EXISTS leads_newest ON leads (org, sort_key, id);

CREATE TABLE IF NOT EXISTS profiles (
    org TEXT NOT NULL, instagram_user_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (org, instagram_user_id)
) WITHOUT ROWID;
-- A lead known by handle only finds its customer's profile (added to layout 1: an index only).
CREATE INDEX IF NOT EXISTS profiles_by_username ON profiles (org, lower(json_extract(body, '$.username')));

CREATE TABLE IF NOT EXISTS raw_events (
    id TEXT PRIMARY KEY, external_account_id TEXT NOT NULL, sort_key TEXT NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS raw_events_of_account ON raw_events (external_account_id, sort_key, id);

-- `open_until`: when an open job counts as stranded (`IntegrationJob::open_until`).
CREATE TABLE IF NOT EXISTS jobs (
    org TEXT NOT NULL, id TEXT NOT NULL, open_until TEXT, body TEXT NOT NULL,
    PRIMARY KEY (org, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (open_until, org, id) WHERE open_until IS NOT NULL;

CREATE TABLE IF NOT EXISTS idempotency (
    org TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (org, key)
) WITHOUT ROWID;

-- The local jobs queue. `due_at` (Unix ms): when it may be delivered; a delivered message
-- is leased (`leased` = 1, `due_at` moved past its budget) until it is settled.
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, correlation TEXT,
    due_at INTEGER NOT NULL, leased INTEGER NOT NULL DEFAULT 0, receives INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_due ON queue (due_at);
-- Messages delivered too often without success (SQS's dead-letter queue).
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY, body TEXT NOT NULL, correlation TEXT, receives INTEGER NOT NULL, dead_at INTEGER NOT NULL
);

-- Each organization's event log (`position`: append time, then the event id). A rowid table:
-- an event's document (about 1 KiB) fits beside the next ones in its page, where keyed by
-- (org, position) without a rowid it spilled to an overflow page of its own, a page written
-- per event (layout 2; `layout.rs` moves a layout 1 log here).
CREATE TABLE IF NOT EXISTS events (
    org TEXT NOT NULL, position TEXT NOT NULL, id TEXT NOT NULL, at TEXT NOT NULL, expires_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_in_order ON events (org, position);
-- An event once: its id is a digest of its data, which holds its time (`at`), so (at, id) is
-- as unique as the id. Led by the time, new entries join the index's end, where the id alone
-- sent each to a page of its own.
CREATE UNIQUE INDEX IF NOT EXISTS events_once ON events (org, at, id);

-- Each organization's settings; `retention_days` beside the body for the scheduled run's round.
CREATE TABLE IF NOT EXISTS organizations (
    org TEXT PRIMARY KEY, retention_days INTEGER, body TEXT NOT NULL
) WITHOUT ROWID;
