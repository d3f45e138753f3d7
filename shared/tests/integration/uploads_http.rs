//! Files from the agent's computer, over HTTP, on memory and SQLite (a folder and the local
//! server's signed PUT) and on DynamoDB with S3 (moto, a presigned PUT): a declared file is
//! checked against the channel's formats and sizes before anything is kept; the file is put
//! straight into storage; `send-attachment {uploadId}` refuses a file not (whole) there or
//! not of its declared type; the send hands it to Meta's attachment upload API once (the
//! strict fake fetches the link, as Meta does) and every later send names its
//! `attachment_id`; Meta failing the upload, or its answer lost, sends the file once.

use crate::common::oauth::both_channels_on;
use crate::common::*;
use inbox_shared::config::AppEnv;
use serde_json::{Value, json};

const ORG: &str = "org_a";
const PNG: &[u8] = b"\x89PNG\r\n\x1A\n\0\0\0\rIHDR the parcel photo";
const PDF: &[u8] = b"%PDF-1.7\n% the invoice";

/// Declares a file in the conversation: status and answer.
async fn declare(app: &TestApp, org: &str, conv: &str, name: &str, content_type: &str, size: usize) -> (u16, Value) {
    let body = json!({"fileName": name, "contentType": content_type, "size": size});
    app.post(org, &format!("/api/inbox/conversations/{conv}/uploads"), body).await
}

/// PUTs `bytes` to the ticket's URL as a browser would, with the headers it names: status.
async fn put(ticket: &Value, content_type: &str, bytes: &[u8]) -> u16 {
    let url = ticket["uploadUrl"].as_str().unwrap();
    let r = reqwest::Client::new().put(url).header("content-type", content_type).body(bytes.to_vec()).send().await;
    r.unwrap().status().as_u16()
}

async fn send(app: &TestApp, org: &str, conv: &str, upload_id: &str) -> (u16, Value) {
    app.post(org, &format!("/api/inbox/conversations/{conv}/send-attachment"), json!({"uploadId": upload_id})).await
}

fn calls_to(app: &TestApp, edge: &str) -> Vec<inbox_shared::testing::fake_graph::GraphCall> {
    app.graph.calls().into_iter().filter(|c| c.method == "POST" && c.path.ends_with(edge)).collect()
}

/// The `attachment_id` each send so far named.
fn sent_ids(app: &TestApp) -> Vec<String> {
    let sends = calls_to(app, "/messages");
    sends
        .iter()
        .filter_map(|c| c.body["message"]["attachment"]["payload"]["attachment_id"].as_str())
        .map(str::to_owned)
        .collect()
}

/// Declares and puts `bytes`: the upload's id.
async fn uploaded(app: &TestApp, conv: &str, name: &str, content_type: &str, bytes: &[u8]) -> String {
    let (status, ticket) = declare(app, ORG, conv, name, content_type, bytes.len()).await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(
        (ticket["method"].as_str(), ticket["headers"]["Content-Type"].as_str()),
        (Some("PUT"), Some(content_type))
    );
    assert_eq!(put(&ticket, content_type, bytes).await, 200);
    ticket["uploadId"].as_str().unwrap().to_owned()
}

async fn keys(app: &TestApp, prefix: &str) -> Vec<String> {
    app.adapters.media.as_deref().unwrap().list(prefix).await.unwrap()
}

/// The customers' profiles without pictures (no CDN to copy them from here).
fn no_pictures(app: &TestApp) {
    for customer in [CUSTOMER, "24000000000000001"] {
        app.graph.world().set_profile(customer, json!({"profile_pic": null}));
    }
}

async fn scenario(app: TestApp) {
    let local = matches!(app.backing, Backing::Memory | Backing::Sqlite(_));
    no_pictures(&app);
    let (instagram, messenger) = both_channels_on(&app, ORG).await;

    // Refused before anything is kept: a format or a size the channel does not take.
    let refusals = [
        (("a.webp", "image/webp", 10), (400, "NOT_SUPPORTED_ON_CHANNEL")),
        (("a.zip", "application/zip", 10), (400, "NOT_SUPPORTED_ON_CHANNEL")),
        (("big.png", "image/png", 8 * 1024 * 1024 + 1), (400, "LIMIT_EXCEEDED")),
        (("big.mp4", "video/mp4", 25 * 1024 * 1024 + 1), (400, "LIMIT_EXCEEDED")),
        (("empty.png", "image/png", 0), (400, "VALIDATION_ERROR")),
        (("\n", "image/png", 10), (400, "VALIDATION_ERROR")),
    ];
    let doc = crate::openapi_http::document();
    let uploads_route = "/api/inbox/conversations/{id}/uploads";
    for ((name, content_type, size), expected) in refusals {
        let (status, body) = declare(&app, ORG, &instagram, name, content_type, size).await;
        assert_eq!((status, error_code(&body)), expected, "{name}: {body}");
        crate::openapi_http::check(&doc, "POST", uploads_route, status, &body);
    }
    let (_, over) = declare(&app, ORG, &instagram, "big.png", "image/png", 8 * 1024 * 1024 + 1).await;
    assert!(over["error"]["message"].as_str().unwrap().contains("8 MB"), "the limit is named: {over}");
    assert_eq!(declare(&app, "org_b", &instagram, "a.png", "image/png", 10).await.0, 404, "another organization's");
    assert_eq!(declare(&app, ORG, "conv_nope", "a.png", "image/png", 10).await.0, 404);
    assert!(keys(&app, "org_a/").await.is_empty(), "nothing kept for a refused file");

    // Declared, not yet put: the send waits for the file.
    let (status, ticket) = declare(&app, ORG, &instagram, "parcel.png", "image/png", PNG.len()).await;
    assert_eq!(status, 201, "{ticket}");
    crate::openapi_http::check(&doc, "POST", uploads_route, status, &ticket);
    let photo = ticket["uploadId"].as_str().unwrap().to_owned();
    let (status, body) = send(&app, ORG, &instagram, &photo).await;
    assert_eq!((status, error_code(&body)), (409, "UPLOAD_INCOMPLETE"), "{body}");
    if local {
        // The signed PUT takes this key, this type and this size only, until it expires.
        assert_eq!(put(&ticket, "image/jpeg", PNG).await, 403, "another type");
        let mut bigger = PNG.to_vec();
        bigger.push(0);
        assert_eq!(put(&ticket, "image/png", &bigger).await, 413, "more than declared");
        let forged = json!({"uploadUrl": ticket["uploadUrl"].as_str().unwrap().replace("maxBytes=", "maxBytes=9")});
        assert_eq!(put(&forged, "image/png", PNG).await, 403, "a larger size than signed");
        let elsewhere = json!({"uploadUrl": ticket["uploadUrl"].as_str().unwrap().replace("/file?", "/other?")});
        assert_eq!(put(&elsewhere, "image/png", PNG).await, 403, "another key");
    }
    assert_eq!(put(&ticket, "image/png", PNG).await, 200);

    // Another organization cannot send it, nor another conversation.
    assert_eq!(send(&app, "org_b", &instagram, &photo).await.0, 404);
    assert_eq!(send(&app, ORG, &messenger, &photo).await.0, 404, "another conversation's upload");
    assert_eq!(send(&app, ORG, &instagram, "../../x").await.0, 404);

    // Sent: uploaded to Meta once (Meta fetched our link), then sent by its attachment_id.
    let (status, accepted) = send(&app, ORG, &instagram, &photo).await;
    assert_eq!(status, 202, "{accepted}");
    app.run_jobs().await;
    let uploads = calls_to(&app, "/message_attachments");
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    let body = &uploads[0].body;
    assert_eq!(
        (body["platform"].as_str(), body["message"]["attachment"]["type"].as_str()),
        (Some("instagram"), Some("image"))
    );
    assert_eq!(body["message"]["attachment"]["payload"]["is_reusable"], true);
    let ids = sent_ids(&app);
    assert_eq!(ids.len(), 1);
    let job = app.get(ORG, &format!("/api/integrations/jobs/{}", accepted["jobId"].as_str().unwrap())).await.1;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    let shown = app.messages(ORG, &instagram).await;
    let message = shown.iter().find(|m| m["id"] == accepted["messageId"]).unwrap();
    assert_eq!(message["status"], "SENT");
    let payload = &message["attachments"][0]["payload"];
    assert_eq!(
        (payload["fileName"].as_str(), payload["contentType"].as_str()),
        (Some("parcel.png"), Some("image/png"))
    );
    assert!(payload.get("storedKey").is_none(), "{payload}");
    let shown_url = payload["url"].as_str().unwrap();
    let served = reqwest::get(shown_url).await.unwrap();
    assert_eq!(
        (served.status().as_u16(), served.bytes().await.unwrap().to_vec()),
        (200, PNG.to_vec()),
        "the agent sees what they sent"
    );

    // Sent again: no second upload, the same attachment_id.
    assert_eq!(send(&app, ORG, &instagram, &photo).await.0, 202);
    app.run_jobs().await;
    assert_eq!(calls_to(&app, "/message_attachments").len(), 1, "uploaded once");
    assert_eq!(sent_ids(&app), vec![ids[0].clone(), ids[0].clone()]);

    // Bytes that are not what was declared: refused at the send, nothing queued.
    let fake = uploaded(&app, &instagram, "not-a-photo.png", "image/png", PDF).await;
    let (status, body) = send(&app, ORG, &instagram, &fake).await;
    assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"), "{body}");

    // Meta fails the upload once: retried, the file uploaded and sent once.
    let invoice = uploaded(&app, &instagram, "invoice.pdf", "application/pdf", PDF).await;
    app.graph.fail_next("message_attachments", 503);
    assert_eq!(send(&app, ORG, &instagram, &invoice).await.0, 202);
    app.run_jobs().await;
    assert_eq!(calls_to(&app, "/message_attachments").len(), 3, "the failed upload and its retry");
    assert_eq!(sent_ids(&app).len(), 3, "the invoice sent once");

    // Meta keeps the upload but its answer is lost: uploaded again, sent once.
    let second = uploaded(&app, &instagram, "second.pdf", "application/pdf", PDF).await;
    app.graph.answer(200, &[], "<html>gateway</html>");
    assert_eq!(send(&app, ORG, &instagram, &second).await.0, 202);
    app.run_jobs().await;
    assert_eq!(calls_to(&app, "/message_attachments").len(), 5);
    assert_eq!(sent_ids(&app).len(), 4, "sent once");
    assert_eq!(app.graph.world().attachments.len(), 4, "the lost answer's copy stays unused at Meta");

    // Messenger takes any document as a file; its upload names no platform.
    let zip = uploaded(&app, &messenger, "catalogue.zip", "application/zip", b"PK\x03\x04 catalogue").await;
    assert_eq!(send(&app, ORG, &messenger, &zip).await.0, 202);
    app.run_jobs().await;
    let last = calls_to(&app, "/message_attachments").pop().unwrap();
    assert!(last.body.get("platform").is_none() && last.path.contains(PAGE_ID), "{last:?}");
    assert_eq!(sent_ids(&app).len(), 5);

    // Erasing the customer removes their conversation's uploads too.
    let uploads_of = format!("org_a/{instagram}/uploads/");
    assert!(!keys(&app, &uploads_of).await.is_empty());
    let customer = app.conversations(ORG).await.into_iter().find(|c| c["id"] == instagram.as_str()).unwrap();
    let customer = customer["participantId"].as_str().unwrap().to_owned();
    let (status, erased) = app.delete(ORG, &format!("/api/inbox/contacts/{customer}")).await;
    assert_eq!((status, &erased["done"]), (200, &json!(true)), "{erased}");
    assert_eq!(keys(&app, &uploads_of).await, Vec::<String>::new());
}

#[tokio::test]
async fn uploads_on_memory() {
    scenario(TestApp::keeping_media(Keep::Memory, AppEnv::Production, &[]).await.unwrap()).await;
}

#[tokio::test]
async fn uploads_on_sqlite() {
    scenario(TestApp::keeping_media(Keep::Sqlite, AppEnv::Production, &[]).await.unwrap()).await;
}

#[tokio::test]
async fn uploads_on_dynamodb_and_s3() {
    let Some(app) = TestApp::keeping_media(Keep::Aws, AppEnv::Production, &[]).await else { return };
    scenario(app).await;
}

#[tokio::test]
async fn without_media_storage_uploads_are_not_configured() {
    let (app, instagram, _) = crate::common::oauth::with_both_channels(ORG).await;
    let (status, body) = declare(&app, ORG, &instagram, "a.png", "image/png", 10).await;
    assert_eq!((status, error_code(&body)), (503, "NOT_CONFIGURED"), "{body}");
    assert_eq!(send(&app, ORG, &instagram, "upl_1").await.0, 503);
}

#[tokio::test]
async fn an_instagram_login_account_uploads_on_graph_instagram_com() {
    let app = TestApp::keeping_media(Keep::Memory, AppEnv::Production, &[]).await.unwrap();
    let ig = "17841400000000077";
    no_pictures(&app);
    let (status, body) = crate::common::oauth::connect_instagram_login(&app, ORG, ig).await;
    assert_eq!(status, 200, "{body}");
    let now = app.clock_now().timestamp_millis();
    assert_eq!(app.deliver(&text_webhook(ig, CUSTOMER, "mid-hi", "hi", now)).await.status(), 200);
    app.run_jobs().await;
    let conv = app.conversations(ORG).await[0]["id"].as_str().unwrap().to_owned();
    let photo = uploaded(&app, &conv, "p.png", "image/png", PNG).await;
    assert_eq!(send(&app, ORG, &conv, &photo).await.0, 202);
    app.run_jobs().await;
    let upload = calls_to(&app, "/messageattachments");
    assert_eq!(upload.len(), 1, "{:?}", app.graph.calls());
    assert!(upload[0].path.contains(ig) && upload[0].body.get("platform").is_none(), "{upload:?}");
    assert_eq!(sent_ids(&app).len(), 1);
}
