//! CONTRACT.md's webhook rules, over HTTP against the real Router.

use crate::common::*;
use inbox_shared::config::AppEnv;
use inbox_shared::domain::{AccountStatus, ConnectedAccount, Provider};
use inbox_shared::fixtures;
use serde_json::{Value, json};

async fn handshake(app: &TestApp, query: &str) -> (u16, String) {
    let r = app.client.get(format!("{}/api/webhooks/instagram?{query}", app.url)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn handshake_echoes_the_challenge_only_for_the_right_token() {
    let app = TestApp::prod().await;
    let ok = format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444");
    assert_eq!(handshake(&app, &ok).await, (200, "1158201444".to_owned()));
    let r = app.client.get(format!("{}/api/webhooks/instagram?{ok}", app.url)).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/plain");
    assert_eq!(handshake(&app, "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1").await.0, 403);
    assert_eq!(
        handshake(&app, &format!("hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1")).await.0,
        403
    );
    assert_eq!(handshake(&app, "").await.0, 403);
}

#[tokio::test]
async fn signed_text_becomes_one_conversation_however_often_it_is_redelivered() {
    let app = TestApp::dev().await;
    let body = fixtures::webhook("text.json");
    for _ in 0..3 {
        let r = app.deliver(&body).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    }
    let conversations = app.conversations("org_a").await;
    assert_eq!(conversations.len(), 1);
    let c = &conversations[0];
    assert_eq!(c["provider"], "INSTAGRAM");
    assert_eq!(c["organizationId"], "org_a");
    assert_eq!(c["participantId"], CUSTOMER);
    assert_eq!(c["externalThreadId"], CUSTOMER);
    assert_eq!(c["unreadCount"], 1);
    assert_eq!(c["previewText"], "Hello! Do you ship to Lisbon?");
    assert_eq!(c["lastMessageDirection"], "INBOUND");
    assert_eq!(c["lastMessageAt"], "2024-11-24T14:53:20.123Z");
    assert_eq!(c["lastInboundAt"], "2024-11-24T14:53:20.123Z");
    assert_eq!(c["requiresTemplate"], false);
    let messages = app.messages("org_a", c["id"].as_str().unwrap()).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(
        (m["direction"].as_str(), m["status"].as_str(), m["provider"].as_str()),
        (Some("INBOUND"), Some("RECEIVED"), Some("INSTAGRAM"))
    );
    assert_eq!(m["from"], CUSTOMER);
    assert_eq!(m["externalMessageId"], "aWdfZAG1fdGV4dF8x");
    assert_eq!(m["metaJson"]["messageId"], "aWdfZAG1fdGV4dF8x");
    assert_eq!(m["metaJson"]["senderId"], CUSTOMER);
    assert_eq!(m["metaJson"]["recipientId"], IG_ACCOUNT);
    assert_eq!(m["metaJson"]["threadId"], CUSTOMER);
    assert!(app.conversations("org_b").await.is_empty(), "nothing leaks to another organization");
}

#[tokio::test]
async fn signatures_are_checked_over_the_raw_bytes() {
    let app = TestApp::dev().await;
    let body = fixtures::webhook("text.json");
    let post = |sig: Option<String>, body: String| {
        let mut req = app.client.post(format!("{}/api/webhooks/instagram", app.url)).body(body);
        if let Some(s) = sig {
            req = req.header("x-hub-signature-256", s);
        }
        req.send()
    };
    let missing = post(None, body.clone()).await.unwrap();
    assert_eq!(missing.status(), 403);
    assert_eq!(error_code(&missing.json().await.unwrap()), "INVALID_SIGNATURE");
    let wrong_key = inbox_shared::meta::signature::sign("other-secret", body.as_bytes());
    assert_eq!(post(Some(wrong_key), body.clone()).await.unwrap().status(), 403);
    // The same JSON re-serialised is different bytes: its signature must not verify.
    let reserialised = serde_json::to_string(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
    let sig_of_original = inbox_shared::meta::signature::sign(APP_SECRET, body.as_bytes());
    assert_eq!(post(Some(sig_of_original.clone()), reserialised).await.unwrap().status(), 403);
    assert_eq!(
        post(Some(sig_of_original.to_uppercase().replace("SHA256=", "sha256=")), body.clone()).await.unwrap().status(),
        200,
        "hex case does not matter"
    );
    assert!(app.conversations("org_a").await.len() == 1);
}

#[tokio::test]
async fn malformed_bodies_get_400_and_oversized_ones_413() {
    let app = TestApp::dev().await;
    for bad in ["not json", "[]", r#"{"object":"user","entry":[]}"#, r#"{"object":"instagram","entry":{}}"#] {
        let r = app.deliver(bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(error_code(&r.json().await.unwrap()), "VALIDATION_ERROR");
    }
    let huge = format!(r#"{{"object":"instagram","entry":[],"pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let r = app.deliver(&huge).await;
    assert_eq!(r.status(), 413);
    assert_eq!(error_code(&r.json().await.unwrap()), "PAYLOAD_TOO_LARGE");
    // Without Content-Length (chunked), the limit still holds while reading.
    assert_eq!(post_chunked(&app, &huge).await, 413);
}

/// POSTs a signed body with `Transfer-Encoding: chunked` over a raw socket; the status.
async fn post_chunked(app: &TestApp, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let sig = inbox_shared::meta::signature::sign(APP_SECRET, body.as_bytes());
    let head = format!(
        "POST /api/webhooks/instagram HTTP/1.1\r\nhost: {addr}\r\nx-hub-signature-256: {sig}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.as_bytes().chunks(64 * 1024) {
        // The server may answer and close before the whole body is sent.
        if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.is_err()
            || s.write_all(chunk).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status in {text:?}"))
}

#[tokio::test]
async fn every_fixture_is_acknowledged_and_nothing_is_lost() {
    let app = TestApp::dev().await;
    for (name, body) in fixtures::all_webhooks() {
        let r = app.deliver(&body).await;
        assert_eq!(r.status(), 200, "{name}: {}", r.text().await.unwrap());
    }
    let (_, every) = app.get("org_a", "/api/inbox/conversations?provider=ALL&limit=100").await;
    let conversations = every["data"].as_array().unwrap().clone();
    let of = |provider: &str, kind: &str| {
        conversations.iter().filter(|c| c["provider"] == provider && c["kind"] == kind).count()
    };
    assert_eq!(of("INSTAGRAM", "DM"), 2, "batch.json adds a second customer");
    assert_eq!(of("INSTAGRAM", "COMMENT"), 2, "a comment thread (with its reply) and a mention's");
    assert_eq!(of("MESSENGER", "DM"), 1, "the Page's customer");
    // Alphabetical order: the edit and the deletion of text.json's message come before it,
    // so they wait for it and apply when it arrives; the referral alone (the customer opened
    // the thread from a link, writing nothing) is acknowledged and kept nowhere.
    let raw = app.store.list_raw_events(IG_ACCOUNT).await.unwrap();
    let kinds: Vec<_> =
        raw.iter().map(|e| e.payload.as_object().unwrap().keys().cloned().collect::<Vec<_>>().join(",")).collect();
    assert!(raw.is_empty(), "{kinds:?}");
    let c = conversations
        .iter()
        .find(|c| c["participantId"] == CUSTOMER && c["kind"] == "DM" && c["provider"] == "INSTAGRAM")
        .unwrap();
    let messages = app.messages("org_a", c["id"].as_str().unwrap()).await;
    let unsent = messages.iter().find(|m| m["externalMessageId"] == "aWdfZAG1fdGV4dF8x").unwrap();
    assert_eq!((unsent["status"].as_str(), unsent["text"].as_str()), (Some("DELETED"), None), "{unsent}");
}

#[tokio::test]
async fn reactions_reads_edits_and_deletions_change_the_message_they_name() {
    let app = TestApp::dev().await;
    for f in ["text.json", "echo.json", "reaction_react.json", "read.json", "message_edit.json"] {
        assert_eq!(app.deliver(&fixtures::webhook(f)).await.status(), 200, "{f}");
    }
    let c = &app.conversations("org_a").await[0];
    let messages = app.messages("org_a", c["id"].as_str().unwrap()).await;
    let ours = messages.iter().find(|m| m["externalMessageId"] == "aWdfZAG1fZWNobw").unwrap();
    assert_eq!(ours["metaJson"]["reactions"][CUSTOMER]["emoji"], "❤️");
    assert_eq!(ours["metaJson"]["reactions"][CUSTOMER]["reaction"], "love");
    assert_eq!(ours["status"], "READ", "the customer read our reply");
    let theirs = messages.iter().find(|m| m["externalMessageId"] == "aWdfZAG1fdGV4dF8x").unwrap();
    assert_eq!(theirs["text"], "Hello! Do you ship to Porto?");
    assert_eq!(theirs["metaJson"]["previousText"], "Hello! Do you ship to Lisbon?");
    assert_eq!(theirs["metaJson"]["edits"], "1");
    assert_eq!(messages.len(), 2, "no event became a message of its own");

    app.deliver(&fixtures::webhook("reaction_unreact.json")).await;
    app.deliver(&fixtures::webhook("deleted.json")).await;
    let messages = app.messages("org_a", c["id"].as_str().unwrap()).await;
    let ours = messages.iter().find(|m| m["externalMessageId"] == "aWdfZAG1fZWNobw").unwrap();
    assert_eq!(ours["metaJson"]["reactions"], json!({}), "unreacted");
    let theirs = messages.iter().find(|m| m["externalMessageId"] == "aWdfZAG1fdGV4dF8x").unwrap();
    assert_eq!((theirs["status"].as_str(), theirs["text"].as_str()), (Some("DELETED"), None), "unsent: content gone");
    assert!(app.store.list_raw_events(IG_ACCOUNT).await.unwrap().is_empty());
}

#[tokio::test]
async fn batches_with_several_entries_and_customers_are_all_stored() {
    let app = TestApp::dev().await;
    assert_eq!(app.deliver(&fixtures::webhook("batch.json")).await.status(), 200);
    let conversations = app.conversations("org_a").await;
    assert_eq!(conversations.len(), 2);
    // Newest lastMessageAt first: the other customer wrote last.
    assert_eq!(conversations[0]["participantId"], "6185000000000002");
    assert_eq!(conversations[1]["unreadCount"], 2);
    assert_eq!(conversations[1]["previewText"], "second");
    let texts: Vec<_> = app
        .messages("org_a", conversations[1]["id"].as_str().unwrap())
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, [json!("second"), json!("first")], "newest first");
}

#[tokio::test]
async fn a_bad_item_does_not_lose_the_good_ones_beside_it() {
    let app = TestApp::dev().await;
    let body = json!({"object":"instagram","entry":[
        {"id":IG_ACCOUNT,"messaging":[
            {"sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":1732460000123i64,"message":{"mid":"good-1","text":"kept"}},
            {"sender":"not an object","recipient":{"id":IG_ACCOUNT},"message":{"mid":"bad"}},
            {"sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":1732460000124i64,"message":{"text":"no mid"}}]},
        "garbage",
        {"id":IG_ACCOUNT,"messaging":[{"sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":1732460000125i64,"message":{"mid":"good-2","text":"also kept"}}]}
    ]});
    assert_eq!(app.deliver(&body.to_string()).await.status(), 200);
    let c = &app.conversations("org_a").await[0];
    assert_eq!(app.messages("org_a", c["id"].as_str().unwrap()).await.len(), 2);
    let kept = app.store.list_raw_events(IG_ACCOUNT).await.unwrap().len()
        + app.store.list_raw_events("unknown").await.unwrap().len();
    assert_eq!(kept, 3, "every bad item is kept raw");
}

#[tokio::test]
async fn numeric_ids_and_second_timestamps_are_accepted() {
    let app = TestApp::dev().await;
    let body = r#"{"object":"instagram","entry":[{"id":17841400000000001,"time":1732460000,"messaging":[
        {"sender":{"id":6185000000000001},"recipient":{"id":17841400000000001},"timestamp":"1732460000",
         "message":{"mid":"num-1","text":"numbers"}}]}]}"#;
    assert_eq!(app.deliver(body).await.status(), 200);
    let c = &app.conversations("org_a").await[0];
    assert_eq!(c["participantId"], CUSTOMER, "no precision lost on a 16-digit id");
    assert_eq!(c["lastMessageAt"], "2024-11-24T14:53:20Z");
}

#[tokio::test]
async fn standby_and_changes_forms_are_stored_too() {
    let app = TestApp::dev().await;
    let item = |mid: &str| json!({"sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":1732460000123i64,"message":{"mid":mid,"text":mid}});
    let body = json!({"object":"instagram","entry":[
        {"id":IG_ACCOUNT,"time":1732460000123i64,"standby":[item("standby-1")]},
        {"id":"0","time":1732460000,"changes":[{"field":"messages","value":item("changes-1")}]}]});
    assert_eq!(app.deliver(&body.to_string()).await.status(), 200);
    let c = &app.conversations("org_a").await[0];
    assert_eq!(app.messages("org_a", c["id"].as_str().unwrap()).await.len(), 2);
}

#[tokio::test]
async fn development_routes_by_header_then_default_organization() {
    let app = TestApp::dev().await;
    let r = app
        .deliver_with(
            &text_webhook(IG_ACCOUNT, CUSTOMER, "m-b", "for b", 1732460000123),
            &[("x-organization-id", "org_b")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.conversations("org_b").await.len(), 1);
    assert!(app.conversations("org_a").await.is_empty());
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "m-a", "for a", 1732460000123)).await;
    assert_eq!(app.conversations("org_a").await.len(), 1);
}

/// The development account named by INSTAGRAM_USER_ID takes its own events only: another
/// account's wait for the account that owns them, as in production.
#[tokio::test]
async fn a_named_development_account_takes_only_its_own_events() {
    let app = TestApp::dev().await; // INSTAGRAM_USER_ID = IG_ACCOUNT
    let other = "17841499999999999";
    assert_eq!(app.deliver(&text_webhook(other, CUSTOMER, "m-other", "not yours", 1732460000123)).await.status(), 200);
    assert!(app.conversations("org_a").await.is_empty());
    assert_eq!(app.store.list_raw_events(other).await.unwrap().len(), 1, "kept for its owner");
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "m-own", "yours", 1732460000123)).await;
    assert_eq!(app.conversations("org_a").await.len(), 1);
    // Without an id named, any account's events go to it (as before).
    let open = TestApp::with(AppEnv::Development, &[("DEFAULT_ORGANIZATION_ID", "org_a")]).await;
    open.deliver(&text_webhook(other, CUSTOMER, "m-any", "anyone's", 1732460000123)).await;
    assert_eq!(open.conversations("org_a").await.len(), 1);
}

#[tokio::test]
async fn production_routes_by_connected_account_and_ignores_the_org_header() {
    let app = TestApp::prod().await;
    let now = start_time();
    let account = ConnectedAccount {
        id: "acc_a".into(),
        organization_id: "org_a".into(),
        provider: Provider::Instagram,
        external_account_id: IG_ACCOUNT.into(),
        page_id: Some("1122334455".into()),
        display_name: None,
        username: None,
        status: AccountStatus::Active,
        meta_user_id: None,
        status_changed_by: None,
        history: None,
        created_at: now,
        updated_at: now,
    };
    app.store.put_account(&account).await.unwrap();
    let r = app.deliver_with(&fixtures::webhook("text.json"), &[("x-organization-id", "org_b")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.conversations("org_a").await.len(), 1);
    assert!(app.conversations("org_b").await.is_empty());
    // Page id routes too.
    app.deliver(&text_webhook("1122334455", "42", "m-page", "via page id", 1732460000123)).await;
    assert_eq!(app.conversations("org_a").await.len(), 2);
}

#[tokio::test]
async fn production_keeps_events_for_unknown_accounts_out_of_every_inbox() {
    let app = TestApp::prod().await;
    let r = app.deliver_with(&fixtures::webhook("text.json"), &[("x-organization-id", "org_a")]).await;
    assert_eq!(r.status(), 200, "acknowledged so Meta does not unsubscribe us");
    assert!(app.conversations("org_a").await.is_empty());
    let kept = app.store.list_raw_events(IG_ACCOUNT).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].payload["message"]["mid"], "aWdfZAG1fdGV4dF8x");
    app.deliver(&fixtures::webhook("text.json")).await;
    assert_eq!(app.store.list_raw_events(IG_ACCOUNT).await.unwrap().len(), 1, "redelivery kept once");
}

#[tokio::test]
async fn echoes_are_stored_as_outbound_and_answer_the_sla() {
    let app = TestApp::dev().await;
    app.deliver(&fixtures::webhook("text.json")).await;
    app.deliver(&fixtures::webhook("echo.json")).await;
    let c = &app.conversations("org_a").await[0];
    assert_eq!(c["lastMessageDirection"], "OUTBOUND");
    assert_eq!(c["previewText"], "Thanks for reaching out!");
    assert_eq!(c["slaStatus"], "NONE");
    assert_eq!(c["unreadCount"], 1);
    let messages = app.messages("org_a", c["id"].as_str().unwrap()).await;
    assert_eq!(messages[0]["direction"], "OUTBOUND");
    assert_eq!(messages[0]["from"], IG_ACCOUNT);
    assert_eq!(messages[0]["to"], CUSTOMER);
}

#[tokio::test]
async fn other_kinds_are_kept_and_media_and_postbacks_become_messages() {
    let app = TestApp::dev().await;
    for f in [
        "image.json",
        "attachments_mixed.json",
        "story_mention.json",
        "postback.json",
        "unsupported.json",
        "ephemeral.json",
    ] {
        assert_eq!(app.deliver(&fixtures::webhook(f)).await.status(), 200, "{f}");
    }
    let c = &app.conversations("org_a").await[0];
    let messages = app.messages("org_a", c["id"].as_str().unwrap()).await;
    assert_eq!(messages.len(), 6);
    let postback = messages.iter().find(|m| m["metaJson"]["postback"].is_object()).unwrap();
    assert_eq!(postback["text"], "Track my order");
    assert_eq!(postback["metaJson"]["postback"]["payload"], "ICEBREAKER_TRACK");
    let mixed = messages.iter().find(|m| m["attachments"].as_array().is_some_and(|a| a.len() == 3)).unwrap();
    assert_eq!(mixed["attachments"][0]["type"], "video");
    assert!(messages.iter().any(|m| m["metaJson"]["unsupported"] == true));
}

#[tokio::test]
async fn out_of_order_delivery_keeps_the_newest_preview() {
    let app = TestApp::dev().await;
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "late-2", "newer", 1732460000200)).await;
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "late-1", "older", 1732460000100)).await;
    let c = &app.conversations("org_a").await[0];
    assert_eq!(c["previewText"], "newer");
    assert_eq!(c["unreadCount"], 2);
}

#[tokio::test]
async fn the_customer_profile_is_fetched_once_and_a_lead_is_linked_by_handle() {
    let app = TestApp::dev().await;
    let (status, lead) = app.post("org_a", "/api/leads", json!({"name": "Ana", "instagramHandle": "@Ana.Silva"})).await;
    assert_eq!(status, 201, "{lead}");
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "p-1", "one", 1732460000100)).await;
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "p-2", "two", 1732460000200)).await;
    assert!(app.graph.calls().is_empty(), "the lookup is queued, not made on the webhook's path");
    app.run_jobs().await;
    let calls = app.graph.calls();
    assert_eq!(calls.len(), 1, "profile cached after the first lookup: {calls:?}");
    assert_eq!(calls[0].path, format!("/v21.0/{CUSTOMER}"));
    assert_eq!(calls[0].authorization.as_deref(), Some("Bearer dev-page-token"));
    let c = &app.conversations("org_a").await[0];
    assert_eq!(c["handle"], "ana.silva");
    assert_eq!(c["displayName"], "Ana Silva");
    assert_eq!(c["leadId"], lead["id"]);
}

#[tokio::test]
async fn a_failed_profile_lookup_is_tolerated_and_not_repeated_for_every_message() {
    let app = TestApp::dev().await;
    app.graph.answer(400, &[], &fixtures::graph("error_user_unavailable.json"));
    assert_eq!(app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "f-1", "one", 1732460000100)).await.status(), 200);
    assert_eq!(app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "f-2", "two", 1732460000200)).await.status(), 200);
    app.run_jobs().await;
    assert_eq!(app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "f-3", "three", 1732460000300)).await.status(), 200);
    app.run_jobs().await;
    assert_eq!(app.graph.calls().len(), 1);
    let c = &app.conversations("org_a").await[0];
    assert_eq!(c["handle"], CUSTOMER, "the sender's id until a username is known");
    assert_eq!(c["unreadCount"], 3);
}

#[tokio::test]
async fn a_lead_with_the_instagram_user_id_is_linked_without_a_profile() {
    let app = TestApp::with(AppEnv::Development, &[("DEFAULT_ORGANIZATION_ID", "org_a")]).await; // no token: no lookup
    let (_, lead) = app.post("org_a", "/api/leads", json!({"name": "Ana", "instagramUserId": CUSTOMER})).await;
    app.deliver(&fixtures::webhook("text.json")).await;
    app.run_jobs().await;
    assert!(app.graph.calls().is_empty());
    assert_eq!(app.conversations("org_a").await[0]["leadId"], lead["id"]);
}

/// A lead added after the customer wrote, known by handle only: the profile fetched for the
/// conversation names the same person, so the lead links to it at once.
#[tokio::test]
async fn a_lead_created_later_with_only_a_handle_links_to_the_conversation() {
    let app = TestApp::dev().await;
    app.deliver(&fixtures::webhook("text.json")).await;
    app.run_jobs().await; // the profile: username ana.silva
    assert_eq!(app.conversations("org_a").await[0]["handle"], "ana.silva");
    let (status, lead) = app.post("org_a", "/api/leads", json!({"name": "Ana", "instagramHandle": "@Ana.Silva"})).await;
    assert_eq!(status, 201, "{lead}");
    assert_eq!(app.conversations("org_a").await[0]["leadId"], lead["id"]);
    // A handle nobody wrote from links nothing.
    let (_, other) = app.post("org_a", "/api/leads", json!({"instagramHandle": "someone.else"})).await;
    assert_ne!(app.conversations("org_a").await[0]["leadId"], other["id"]);
}

/// A queued webhook item is delivered at most 3 times: one that the time budget cuts off at
/// every delivery is kept raw after the third instead of going round the queue for ever.
#[tokio::test]
async fn a_webhook_item_cut_off_at_every_delivery_is_kept_raw_after_its_third() {
    let app = TestApp::dev().await;
    let item = json!({"sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":1732460000123i64,
                      "message":{"mid":"cut-off-1","text":"never in time"}});
    let mut message: inbox_shared::ports::QueueMessage = serde_json::from_value(json!({
        "jobType": "PROCESS_WEBHOOK", "payload": {"items": [{"entryId": IG_ACCOUNT, "item": item}], "attempt": 1}
    }))
    .unwrap();
    let mut deliveries = 0;
    loop {
        deliveries += 1;
        assert!(deliveries <= 3, "delivered a fourth time");
        // A deadline already passed: the budget cuts every item off.
        app.services.process_until(&message, std::time::Instant::now()).await.unwrap();
        match app.queue.take_due().as_slice() {
            [] => break,
            [next] => message = next.clone(),
            more => panic!("one message at a time: {more:?}"),
        }
    }
    assert_eq!(deliveries, 3);
    let kept = app.store.list_raw_events(IG_ACCOUNT).await.unwrap();
    assert_eq!(kept.len(), 1, "kept raw, not lost");
    assert_eq!((kept[0].reason.as_str(), &kept[0].payload), ("processing failed repeatedly", &item));
    assert!(app.conversations("org_a").await.is_empty());
}

#[tokio::test]
async fn a_deferred_webhook_item_is_processed_from_the_queue() {
    let app = TestApp::dev().await;
    let item = json!({"sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":1732460000123i64,
                      "message":{"mid":"deferred-1","text":"from the queue"}});
    // The older single-item form, as a message queued before packing may still hold it.
    let message: inbox_shared::ports::QueueMessage = serde_json::from_value(json!({
        "jobType": "PROCESS_WEBHOOK",
        "payload": {"entryId": IG_ACCOUNT, "entryTime": null, "devOrg": "org_a", "attempt": 1, "item": item}
    }))
    .unwrap();
    assert_eq!(app.services.process(&message).await.unwrap(), inbox_shared::services::JobOutcome::Succeeded);
    assert_eq!(
        app.services.process(&message).await.unwrap(),
        inbox_shared::services::JobOutcome::Succeeded,
        "idempotent"
    );
    let c = &app.conversations("org_a").await[0];
    assert_eq!(c["previewText"], "from the queue");
    assert_eq!(c["unreadCount"], 1);
}
