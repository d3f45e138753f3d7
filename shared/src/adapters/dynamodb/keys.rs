//! The table's key design. One table, string keys `pk`/`sk`, three GSIs (`gsi1`..`gsi3`,
//! each `<name>pk`/`<name>sk`). Every item of an organization lives under `ORG#<org>`.
//!
//! | item | pk | sk | gsi1 (pk / sk) | gsi2 (pk / sk) |
//! |---|---|---|---|---|
//! (Comment threads also have gsi3: `ORG#o#CONVS#KIND#COMMENT` / `<lastMessageAt>#id`; DMs
//! are the providers' gsi1 lists filtered, and DMs written before 2026-12-04 also sit in gsi3
//! `ORG#o#CONVS#KIND#DM` until their next write; the whole inbox is the merge of every
//! provider's gsi1 list. Conversations written before
//! 2026-12-03 also sit in gsi2 `ORG#o#CONVS` until their next write; nothing reads it.
//! With `INBOX_INDEX_SHARDS` = n > 1, each of the conversation-list partitions gains
//! `#SHARD#k` for a conversation whose id hashes to shard k in 1..n; shard 0 keeps the plain
//! key, so conversations written before sharding are read as shard 0.)
//! | account | `ORG#o` | `ACCOUNT#id` | `ACCOUNTS#ACTIVE` / `o#id` (active accounts only) | |
//! | account lookup | `EXTACC#<ig id or page id>` | `EXTACC` | | |
//! | conversation | `ORG#o` | `CONV#id` | `ORG#o#CONVS#<provider>` / `<lastMessageAt>#id` | |
//! | conversation key (only beside a drawn id; a derived one is found by itself) | `ORG#o` | `CONVKEY#<account>#<customer id, or comment:<id>>` | | |
//! | message | `ORG#o` | `MSG#<random end of the id>#id` (`MSG#id` for ids made before) | `ORG#o#CONV#c#MSGS` / `<createdAt>#id` | |
//! | Meta id lookup | `ORG#o` | `MID#<mid>` | | |
//! | lead | `ORG#o` | `LEAD#id` | `ORG#o#LEADS` / `<createdAt>#id` | |
//! | lead lookups | `ORG#o` | `LEADHANDLE#h`, `LEADIGID#id` | | |
//! | profile | `ORG#o` | `PROFILE#<customer id>` | | |
//! | job | `ORG#o` | `JOB#id` | `JOBS#OPEN#<shard>` / `<openUntil>#o#id` (open jobs only) | |
//! | idempotency key | `ORG#o` | `IDEMP#key` | | |
//! | token | `ORG#o` | `TOKEN#<account>#<kind>` | | `TOKENS` / `<expiresAt>#o#account#kind` (expiring, not failed) |
//! | event (log) | `ORG#o`, or `ORG#o#EVT#k` in shard k | `EVT#<appended at>#<event id>` (TTL) | | |
//! | event id guard | `ORG#o` | `EVTID#<event id>` (TTL) | | |
//! | settings | `ORG#o` | `SETTINGS` | `RETENTION` / `o` (with a retention only) | |
//! | raw event | `RAW#<account id>` | `EVENT#id` | `RAW#<account id>` / `<receivedAt>#id` | |

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";
pub const GSI3: &str = "gsi3";

pub fn org(org: &str) -> String {
    format!("ORG#{org}")
}

pub fn account(id: &str) -> String {
    format!("ACCOUNT#{id}")
}

/// Every organization's active accounts (the scheduled sweep's round).
pub const ACTIVE_ACCOUNTS: &str = "ACCOUNTS#ACTIVE";

/// An organization's settings item (sk under `ORG#o`).
pub const SETTINGS: &str = "SETTINGS";

/// Every organization that set a message retention (gsi1; the scheduled run's round).
pub const RETENTION: &str = "RETENTION";

/// The accounts one Meta user connected, in any organization (gsi2; Meta's callbacks).
pub fn meta_user(meta_user_id: &str) -> String {
    format!("METAUSER#{meta_user_id}")
}

pub fn external_account(external_id: &str) -> String {
    format!("EXTACC#{external_id}")
}

pub fn conversation(id: &str) -> String {
    format!("CONV#{id}")
}

pub fn conversation_key(account_id: &str, thread_key: &str) -> String {
    format!("CONVKEY#{account_id}#{thread_key}")
}

pub fn conversations_of(org: &str, provider: &str) -> String {
    format!("ORG#{org}#CONVS#{provider}")
}

pub fn conversations_of_kind(org: &str, kind: &str) -> String {
    format!("ORG#{org}#CONVS#KIND#{kind}")
}

/// A message's sort key. Ids made since messages were spread (`Message::new_id`, `msg2_...`)
/// put the last 4 hex digits of their UUIDv7 (random) first, so one organization's new
/// messages land all over its key space instead of at its growing end, which DynamoDB cannot
/// split; earlier ids (`msg_...`, any other) keep `MSG#<id>`, so nothing moves.
pub fn message(id: &str) -> String {
    let spread =
        id.strip_prefix(crate::domain::SPREAD_MESSAGE_ID).and_then(|uuid| uuid.get(uuid.len().checked_sub(4)?..));
    match spread {
        Some(tail) => format!("MSG#{tail}#{id}"),
        None => format!("MSG#{id}"),
    }
}

pub fn messages_of(org: &str, conversation_id: &str) -> String {
    format!("ORG#{org}#CONV#{conversation_id}#MSGS")
}

pub fn mid(mid: &str) -> String {
    format!("MID#{mid}")
}

/// The changes waiting for message `mid` (under the organization's partition).
pub fn pending_changes(mid: &str) -> String {
    format!("PENDING#{mid}")
}

/// An event at its place in the organization's log.
pub fn event(position: &str) -> String {
    format!("EVT#{position}")
}

/// The partition of shard `shard` of an organization's event log: shard 0 (all of an unsharded
/// log) is the organization's own, shard k `ORG#o#EVT#k`, a partition of its own so DynamoDB
/// places each shard's growing end by its hash, with no split needed.
pub fn event_log(org: &str, shard: u32) -> String {
    if shard == 0 { self::org(org) } else { format!("ORG#{org}#EVT#{shard}") }
}

/// Whether a sort key is an event of the log (what the stream relay puts on the bus).
pub fn is_event_key(sk: &str) -> bool {
    sk.starts_with("EVT#")
}

/// Just above every `EVT#` key (`$` follows `#`).
pub const EVENTS_END: &str = "EVT$";

/// The guard that keeps an event logged once.
pub fn event_id(id: &str) -> String {
    format!("EVTID#{id}")
}

pub fn lead(id: &str) -> String {
    format!("LEAD#{id}")
}

pub fn leads_of(org: &str) -> String {
    format!("ORG#{org}#LEADS")
}

pub fn lead_handle(handle: &str) -> String {
    format!("LEADHANDLE#{handle}")
}

pub fn lead_ig_id(user_id: &str) -> String {
    format!("LEADIGID#{user_id}")
}

pub fn profile(customer_id: &str) -> String {
    format!("PROFILE#{customer_id}")
}

/// A copy of a customer's profile under their (normalised) username.
pub fn profile_by_username(username: &str) -> String {
    format!("PROFILEUSER#{username}")
}

pub fn job(id: &str) -> String {
    format!("JOB#{id}")
}

/// Open jobs are indexed over a few partitions, so a busy send queue has no hot key.
pub const OPEN_JOB_SHARDS: u32 = 8;

pub fn open_jobs(shard: u32) -> String {
    format!("JOBS#OPEN#{shard}")
}

pub fn open_job_shard(job_id: &str) -> u32 {
    shard_of(job_id, OPEN_JOB_SHARDS)
}

/// A stable shard in `0..shards` for an id (the same in every process and release).
pub fn shard_of(id: &str, shards: u32) -> u32 {
    id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32)) % shards.max(1)
}

/// Shard `k` of a list partition: shard 0 is the partition itself (what an unsharded
/// deployment wrote), the others carry `#SHARD#k`.
pub fn shard(partition: String, k: u32) -> String {
    if k == 0 { partition } else { format!("{partition}#SHARD#{k}") }
}

/// Every shard of a list partition, for a read that merges them.
pub fn shards(partition: &str, shards: u32) -> Vec<String> {
    (0..shards.max(1)).map(|k| shard(partition.to_owned(), k)).collect()
}

/// The open-jobs index's sort key: when the job should run by, then its owner.
pub fn open_job_order(at: chrono::DateTime<chrono::Utc>, org: &str, job_id: &str) -> String {
    ordered(&crate::domain::time_sort_key(at), &format!("{org}#{job_id}"))
}

pub fn idempotency(key: &str) -> String {
    format!("IDEMP#{key}")
}

pub fn token(account_id: &str, kind: crate::domain::TokenKind) -> String {
    format!("TOKEN#{account_id}#{}", kind.as_str())
}

pub const TOKENS: &str = "TOKENS";

pub fn raw(external_account_id: &str) -> String {
    format!("RAW#{external_account_id}")
}

pub fn raw_event(id: &str) -> String {
    format!("EVENT#{id}")
}

/// `<sort key>#<id>`: a GSI sort key that orders as the (sort key, id) pair does, because
/// every sort key is fixed width.
pub fn ordered(sort_key: &str, id: &str) -> String {
    format!("{sort_key}#{id}")
}
