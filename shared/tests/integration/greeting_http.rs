//! An account's greeting over HTTP (`GET`/`PUT .../connected-accounts/:id/profile`): ice
//! breakers and the persistent menu set at Meta's messenger profile (an Instagram account's
//! through its Page with `platform=instagram`), read back from Meta, checked against each
//! channel's rules before Meta is asked.

use crate::common::oauth::connect_both_channels;
use crate::common::*;
use serde_json::{Value, json};

const ORG: &str = "org_a";

fn profile_calls(app: &TestApp, method: &str) -> Vec<GraphCall> {
    app.graph.calls().into_iter().filter(|c| c.method == method && c.path.ends_with("/messenger_profile")).collect()
}

fn questions(locale: &str, n: usize) -> Value {
    let q = json!({"question": "What are your opening hours?", "payload": "HOURS"});
    json!({"locale": locale, "questions": vec![q; n]})
}

#[tokio::test]
async fn ice_breakers_and_a_menu_are_set_at_meta_per_channel_and_read_back() {
    let app = TestApp::prod().await;
    let (instagram, messenger) = connect_both_channels(&app, ORG).await;
    let path = |id: &str| format!("/api/integrations/connected-accounts/{id}/profile");
    let (status, empty) = app.get(ORG, &path(&instagram)).await;
    assert_eq!((status, &empty), (200, &json!({"iceBreakers": [], "persistentMenu": []})));

    let menu = json!([{"locale": "default", "items": [
        {"type": "POSTBACK", "title": "Track my order", "payload": "TRACK"},
        {"type": "WEB_URL", "title": "Shop", "url": "https://shop.example"}]}]);
    let greeting = json!({"iceBreakers": [questions("default", 4), questions("pt_PT", 1)], "persistentMenu": menu});
    let (status, set) = app.put(ORG, &path(&instagram), greeting.clone()).await;
    assert_eq!(status, 200, "{set}");
    let expected = json!({"iceBreakers": greeting["iceBreakers"],
                          "persistentMenu": [{"locale": "default", "composerInputDisabled": false, "items": menu[0]["items"]}]});
    assert_eq!(set, expected, "answered as Meta has it");
    let posted = profile_calls(&app, "POST");
    assert_eq!(posted[0].path, format!("/v21.0/{PAGE_ID}/messenger_profile"));
    assert_eq!(posted[0].body["platform"], "instagram", "an Instagram account's profile, through its Page");
    assert_eq!(posted[0].body["ice_breakers"][1]["call_to_actions"][0]["payload"], "HOURS");
    assert_eq!(app.get(ORG, &path(&instagram)).await.1, expected);

    // The Page's own (Messenger) profile is another: it may turn typing off.
    let messenger_menu = json!({"persistentMenu": [{"locale": "default", "composerInputDisabled": true,
                                                    "items": [{"type": "POSTBACK", "title": "Talk to us", "payload": "TALK"}]}]});
    let (status, set) = app.put(ORG, &path(&messenger), messenger_menu).await;
    assert_eq!((status, set["persistentMenu"][0]["composerInputDisabled"].as_bool()), (200, Some(true)), "{set}");
    assert!(profile_calls(&app, "POST")[1].body.get("platform").is_none());
    assert_eq!(app.get(ORG, &path(&instagram)).await.1, expected, "Instagram's stays as it was");

    // Emptied: removed at Meta.
    let (status, cleared) = app.put(ORG, &path(&instagram), json!({})).await;
    assert_eq!((status, &cleared), (200, &json!({"iceBreakers": [], "persistentMenu": []})));
    let deleted = profile_calls(&app, "DELETE");
    assert_eq!(deleted[0].body["fields"], json!(["ice_breakers"]), "the Page's: a PUT is the whole greeting");
    assert_eq!(deleted[1].body, json!({"fields": ["ice_breakers", "persistent_menu"], "platform": "instagram"}));
    assert_eq!(app.get("org_b", &path(&instagram)).await.0, 404, "another organization's account");
}

#[tokio::test]
async fn a_greeting_meta_would_refuse_is_refused_before_meta_is_asked() {
    let app = TestApp::prod().await;
    let (instagram, _) = connect_both_channels(&app, ORG).await;
    let path = format!("/api/integrations/connected-accounts/{instagram}/profile");
    let item = json!({"type": "POSTBACK", "title": "Track", "payload": "T"});
    for (body, code) in [
        (json!({"iceBreakers": [questions("default", 5)]}), "LIMIT_EXCEEDED"),
        (json!({"iceBreakers": [questions("pt_PT", 1)]}), "VALIDATION_ERROR"),
        (
            json!({"iceBreakers": [{"locale": "default", "questions": [{"question": "q".repeat(81), "payload": "P"}]}]}),
            "LIMIT_EXCEEDED",
        ),
        (json!({"persistentMenu": [{"locale": "default", "items": vec![item.clone(); 21]}]}), "LIMIT_EXCEEDED"),
        (
            json!({"persistentMenu": [{"locale": "default", "composerInputDisabled": true, "items": [item]}]}),
            "NOT_SUPPORTED_ON_CHANNEL",
        ),
        (json!({"greeting": "hello"}), "VALIDATION_ERROR"),
    ] {
        let (status, answer) = app.put(ORG, &path, body.clone()).await;
        assert_eq!((status, error_code(&answer)), (400, code), "{body}: {answer}");
    }
    assert!(profile_calls(&app, "POST").is_empty() && profile_calls(&app, "DELETE").is_empty(), "Meta never asked");

    app.graph.fail_next("messenger_profile", 500);
    let (status, answer) = app.put(ORG, &path, json!({"iceBreakers": [questions("default", 1)]})).await;
    assert_eq!((status, error_code(&answer)), (502, "META_UNAVAILABLE"), "{answer}");
    let (status, set) = app.put(ORG, &path, json!({"iceBreakers": [questions("default", 1)]})).await;
    assert_eq!(
        (status, set["iceBreakers"][0]["questions"].as_array().map(Vec::len)),
        (200, Some(1)),
        "a retry sets it"
    );
}
