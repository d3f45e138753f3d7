//! Parser tests of `meta::webhook`.

use super::*;
use serde_json::json;

#[test]
fn ids_and_timestamps_accept_every_shape_meta_sends() {
    assert_eq!(crate::meta::id_string(&json!(17841400000000001u64)).as_deref(), Some("17841400000000001"));
    assert_eq!(crate::meta::id_string(&json!("17841400000000001")).as_deref(), Some("17841400000000001"));
    let ms = time_of(&json!(1732460000123i64)).unwrap();
    assert_eq!(ms.timestamp_millis(), 1732460000123);
    assert_eq!(time_of(&json!(1732460000)).unwrap().timestamp(), 1732460000);
    assert_eq!(time_of(&json!("1732460000123")).unwrap(), ms);
    assert_eq!(time_of(&json!("2024-11-24T14:53:20.123Z")).unwrap(), ms);
    // The Graph API's own form: the offset without a colon.
    let graph = time_of(&json!("2021-09-08T06:34:04+0000")).unwrap();
    assert_eq!(graph, DateTime::parse_from_rfc3339("2021-09-08T06:34:04Z").unwrap());
    assert_eq!(time_of(&json!("2021-09-08T08:34:04+0200")).unwrap(), graph);
    assert_eq!(time_of(&json!("2021-09-08 06:34")), None);
    assert_eq!(time_of(&json!(true)), None);
}

#[test]
fn numeric_ids_and_string_timestamps_parse_in_messaging_items() {
    let body = json!({"object":"instagram","entry":[{"id":17841400000000001u64,"time":"1732460000","messaging":[
        {"sender":{"id":6185000000000001u64},"recipient":{"id":"17841400000000001"},"timestamp":"1732460000123",
         "message":{"mid":"m1","text":"hi"}}]}]});
    let env = parse(body.to_string().as_bytes()).unwrap();
    assert!(env.rejected.is_empty());
    let item = &env.items[0];
    assert_eq!(item.entry_id, "17841400000000001");
    assert_eq!(item.event.sender, "6185000000000001");
    assert_eq!(item.occurred_at().unwrap().timestamp_millis(), 1732460000123);
}

#[test]
fn a_bad_item_is_rejected_beside_the_good_ones() {
    let body = json!({"object":"instagram","entry":[
        {"id":"1","messaging":[{"sender":{},"recipient":{"id":"1"}},
                               {"sender":{"id":"2"},"recipient":{"id":"1"},"message":{"mid":"m","text":"ok"}}]},
        "not an entry"]});
    let env = parse(body.to_string().as_bytes()).unwrap();
    assert_eq!(env.items.len(), 1);
    assert_eq!(env.rejected.len(), 2);
}

#[test]
fn unknown_kinds_parse_as_unknown() {
    let body = json!({"object":"instagram","entry":[{"id":"1","messaging":[
        {"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"something_new":{"x":1}}]}]});
    let env = parse(body.to_string().as_bytes()).unwrap();
    assert_eq!(env.items[0].event.kind, EventKind::Unknown);
}

#[test]
fn standby_and_changes_forms_yield_items() {
    let msg = json!({"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1732460000123i64,"message":{"mid":"m","text":"t"}});
    let body = json!({"object":"instagram","entry":[
        {"id":"1","standby":[msg.clone()]},
        {"id":"0","time":1732460000,"changes":[{"field":"messages","value":msg},{"field":"comments","value":{}}]}]});
    let env = parse(body.to_string().as_bytes()).unwrap();
    assert_eq!(env.items.len(), 2);
    assert_eq!(env.items[0].source, Source::Standby);
    assert_eq!(env.items[1].source, Source::Changes);
    assert_eq!(env.items[1].account_id(), "1", "entry id 0 falls back to the recipient");
    assert_eq!(env.rejected.len(), 1);
}

#[test]
fn every_meta_fixture_parses_without_a_rejected_item() {
    let fixtures = crate::fixtures::all_webhooks();
    assert!(fixtures.len() >= 20, "fixtures found: {}", fixtures.len());
    for (name, body) in fixtures {
        let envelope = parse(body.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(envelope.rejected.is_empty(), "{name}: {:?}", envelope.rejected);
        assert!(!envelope.items.is_empty(), "{name}");
        for item in &envelope.items {
            assert!(item.occurred_at().is_some(), "{name}: no timestamp");
            assert_ne!(item.event.kind, EventKind::Unknown, "{name}: kind not recognised");
        }
    }
}

#[test]
fn envelope_errors_are_distinguished() {
    assert!(matches!(parse(b"{nope"), Err(EnvelopeError::NotJson(_))));
    assert_eq!(parse(br#"{"object":"user","entry":[]}"#), Err(EnvelopeError::NotInstagram));
    assert_eq!(parse(br#"{"object":"instagram"}"#), Err(EnvelopeError::NotInstagram));
}
