//! The SQLite store's own tests: the conformance suite every store passes, and what only
//! this one has (its writer's grouping and savepoints, its readers, its file's layout).

use std::sync::OnceLock;

/// One file for the whole suite (its cases use fresh ids), as one server would.
fn shared() -> super::SqliteStore {
    static DB: OnceLock<super::Db> = OnceLock::new();
    let db = DB.get_or_init(|| {
        let dir = std::env::temp_dir().join(crate::domain::new_id("sqlite-conformance"));
        super::Db::open(&dir.join("inbox.sqlite3"), super::DEFAULT_GROUP).unwrap()
    });
    super::SqliteStore::new(db.clone())
}

crate::store_conformance_tests!(async { Some(std::sync::Arc::new(shared())) });

/// Reads run on read-only connections and see only what was committed: a call's write
/// once it is answered, never the write of a call that failed (its savepoint undone).
#[tokio::test]
async fn reads_see_committed_calls_only_and_cannot_write() {
    let db = shared().db().clone();
    let key = crate::domain::new_id("k");
    let put = |k: String, fail: bool| {
        move |c: &rusqlite::Connection| {
            c.execute("INSERT INTO idempotency (org, key, body) VALUES ('o', ?, '{}')", [&k]).map_err(super::sql)?;
            if fail { Err(super::backend("undone".into())) } else { Ok(()) }
        }
    };
    let count = |k: String| {
        move |c: &rusqlite::Connection| {
            c.query_row("SELECT COUNT(*) FROM idempotency WHERE key = ?", [&k], |r| r.get::<_, i64>(0))
                .map_err(super::sql)
        }
    };
    assert!(db.call(put(format!("{key}-undone"), true)).await.is_err());
    db.call(put(key.clone(), false)).await.unwrap();
    assert_eq!(db.read(count(key.clone())).await.unwrap(), 1, "a committed call is read");
    assert_eq!(db.read(count(format!("{key}-undone"))).await.unwrap(), 0, "an undone call is not");
    let refused = db.read(put(format!("{key}-read"), false)).await.unwrap_err();
    assert!(refused.to_string().contains("readonly"), "{refused}");
}

/// A conversation's write updates its row in place only while its thread and lists stay
/// (`rows::save_conversation`): a DM known by Meta's thread id alone (no customer id yet)
/// that learns another is found by the new one, not the old.
#[tokio::test]
async fn a_conversation_that_changes_thread_is_found_by_its_new_one() {
    use crate::domain::{Conversation, ConversationChange};
    use crate::ports::ConversationStore;
    let store = shared();
    let (org, now) = (crate::domain::new_id("org"), chrono::Utc::now());
    let mut c = Conversation::opened("conv_t".into(), &org, "acc_1", "", now, now);
    c.external_thread_id = "t_old".into();
    let c = store.create_conversation(&c).await.unwrap();
    store.change_conversation(&org, &c.id, &ConversationChange::MetaThread("t_new".into())).await.unwrap();
    let found = |key: &'static str| {
        let (store, org) = (store.clone(), org.clone());
        async move { store.find_conversation(&org, "acc_1", key).await.unwrap().map(|c| c.id) }
    };
    assert_eq!(found("t_new").await, Some(c.id.clone()));
    assert_eq!(found("t_old").await, None);
}

/// A layout 1 file (its log keyed by position without rowids, each event kept once by its id)
/// is moved to this layout when opened: its events kept at their positions and still logged
/// once, in a rowid table with each event's time beside it.
#[tokio::test]
async fn a_layout_1_log_moves_to_this_layout_with_its_events() {
    use crate::domain::{Conversation, InboxEvent, LoggedEvent};
    use crate::ports::{ConversationStore, EventStore};
    let path = std::env::temp_dir().join(crate::domain::new_id("sqlite-layout")).join("inbox.sqlite3");
    let (org, now) = (crate::domain::new_id("org"), chrono::Utc::now());
    let expires = now + chrono::Duration::hours(1);
    let store = super::SqliteStore::new(super::Db::open(&path, 1).unwrap());
    let c = Conversation::opened("conv_l".into(), &org, "acc_1", "6185", now, now);
    let event = InboxEvent::conversation_updated(&store.create_conversation(&c).await.unwrap());
    drop(store);
    let at =
        |sequence| LoggedEvent { position: LoggedEvent::position_of(now, sequence, &event.id), event: event.clone() };
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(
        "DROP TABLE events;
         CREATE TABLE events (
             org TEXT NOT NULL, position TEXT NOT NULL, id TEXT NOT NULL, expires_at TEXT NOT NULL, body TEXT NOT NULL,
             PRIMARY KEY (org, position)
         ) WITHOUT ROWID;
         CREATE UNIQUE INDEX events_by_id ON events (org, id);
         PRAGMA user_version = 1;",
    )
    .unwrap();
    let body = serde_json::to_string(&event).unwrap();
    let row = rusqlite::params![org, at(1).position, event.id, super::time(expires), body];
    old.execute("INSERT INTO events (org, position, id, expires_at, body) VALUES (?, ?, ?, ?, ?)", row).unwrap();
    drop(old);

    let store = super::SqliteStore::new(super::Db::open(&path, 1).unwrap());
    assert_eq!(store.events_after(&org, None, 10, now).await.unwrap(), [at(1)], "kept where it was");
    store.append_events(&[at(2)], expires).await.unwrap();
    assert_eq!(store.events_after(&org, None, 10, now).await.unwrap(), [at(1)], "and still logged once");
    let (version, table) = store
        .db()
        .read(|conn| {
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(super::sql)?;
            let table: String = conn
                .query_row("SELECT sql FROM sqlite_master WHERE name = 'events'", [], |r| r.get(0))
                .map_err(super::sql)?;
            Ok((version, table))
        })
        .await
        .unwrap();
    assert_eq!(version, 2);
    assert!(table.contains(" at TEXT") && !table.contains("WITHOUT ROWID"), "{table}");
}

#[test]
fn a_file_of_another_layout_is_refused_and_this_one_reopens() {
    let dir = std::env::temp_dir().join(crate::domain::new_id("sqlite-version"));
    std::fs::create_dir_all(&dir).unwrap();
    let old = dir.join("old.sqlite3");
    rusqlite::Connection::open(&old).unwrap().execute_batch("CREATE TABLE conversations (x TEXT)").unwrap();
    let Err(refused) = super::Db::open(&old, 1) else { panic!("an older layout was opened") };
    assert!(refused.to_string().contains("schema version 0"), "{refused}");
    let fresh = dir.join("inbox.sqlite3");
    drop(super::Db::open(&fresh, 1).unwrap());
    assert!(super::Db::open(&fresh, 1).is_ok(), "its own layout reopens");
}

/// The statements that run for every DM (its pending changes), every page of every list and
/// every poll of the live stream are planned once per connection, not again for each value
/// bound to them (`UNPLANNED`): each runs with other values, and none was planned again.
#[tokio::test]
async fn per_dm_list_and_stream_statements_are_planned_once() {
    use crate::domain::{Conversation, Cursor, Message, PageRequest};
    use crate::ports::RawEvent;
    use rusqlite::StatementStatus::RePrepare;
    let replans = shared()
        .db()
        .read(|conn| {
            for n in 0..3 {
                let (org, key) = (format!("org_plan_{n}"), format!("mid_{n}"));
                let request =
                    PageRequest { limit: 10 + n, after: Some(Cursor { sort_key: key.clone(), id: key.clone() }) };
                let by_provider: [(&str, &dyn rusqlite::ToSql); 2] = [("org", &org), ("provider", &key)];
                super::page::<Conversation>(conn, "conversations", &by_provider, &request, true)?;
                let of_conversation: [(&str, &dyn rusqlite::ToSql); 2] = [("org", &org), ("conversation_id", &key)];
                super::page::<Message>(conn, "messages", &of_conversation, &request, true)?;
                super::all::<RawEvent>(conn, super::messages::PENDING_CHANGES, &[&org, &key])?;
                let mut poll = conn.prepare_cached(super::events::EVENTS_AFTER).map_err(super::sql)?;
                let mut rows = poll.query(rusqlite::params![org, key, key, 10 + n as i64]).map_err(super::sql)?;
                while rows.next().map_err(super::sql)?.is_some() {}
            }
            let statements = [
                super::page_query("conversations", &["org", "provider"], true),
                super::page_query("messages", &["org", "conversation_id"], true),
                super::messages::PENDING_CHANGES.to_owned(),
                super::events::EVENTS_AFTER.to_owned(),
            ];
            let replanned = statements.map(|sql| {
                let planned = conn.prepare_cached(&sql).map(|s| s.get_status(RePrepare)).unwrap_or(-1);
                (sql, planned)
            });
            Ok(replanned)
        })
        .await
        .unwrap();
    for (sql, replanned) in replans {
        assert_eq!(replanned, 0, "planned again with new values: {sql}");
    }
}

/// Each list, with its values bound as `+?`, still reads its own index as a range in order:
/// no other index filtered row by row, no sort of the whole list.
#[tokio::test]
async fn each_list_reads_its_own_index_in_order() {
    let lists = [
        ("conversations", vec!["org"], "conversations_inbox "),
        ("conversations", vec!["org", "provider"], "conversations_inbox_by_provider "),
        ("conversations", vec!["org", "kind"], "conversations_inbox_by_kind "),
        ("conversations", vec!["org", "provider", "kind"], "conversations_inbox_by_provider_kind "),
        ("messages", vec!["org", "conversation_id"], "messages_of_conversation "),
        ("leads", vec!["org"], "leads_newest "),
        ("raw_events", vec!["external_account_id"], "raw_events_of_account "),
    ];
    let plans = shared()
        .db()
        .read(move |conn| {
            let plan = |sql: String| {
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).map_err(super::sql)?;
                let values: Vec<&dyn rusqlite::ToSql> = vec![&"o"; stmt.parameter_count()];
                let steps = stmt.query_map(values.as_slice(), |r| r.get::<_, String>(3)).map_err(super::sql)?;
                steps.collect::<Result<Vec<_>, _>>().map(|s| s.join(" | ")).map_err(super::sql)
            };
            let mut plans = Vec::new();
            for (table, columns, index) in lists {
                for descending in [true, false] {
                    plans.push((index, plan(super::page_query(table, &columns, descending))?));
                }
            }
            Ok(plans)
        })
        .await
        .unwrap();
    for (index, plan) in plans {
        assert!(plan.starts_with("SEARCH") && plan.contains(index) && !plan.contains("TEMP B-TREE"), "{index}: {plan}");
    }
}
