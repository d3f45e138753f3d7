//! Media copies over HTTP, on memory and SQLite (a folder served by the app's signed route)
//! and on DynamoDB with S3 (moto): a customer's photo is copied by a queued job and served
//! from the deployment's storage after Meta's CDN link has expired; a signed URL serves only
//! its own copy, only until it expires; what is too large or not what Meta called it is not
//! kept; a CDN outage is retried; a customer's profile picture is kept the same way; an
//! unsend and an erasure leave no copy behind.

use crate::common::*;
use inbox_shared::config::AppEnv;
use inbox_shared::ports::{JobQueue, MediaStore};
use inbox_shared::testing::fake_cdn::FakeCdn;
use serde_json::{Value, json};

const ORG_A: &str = "org_a";
const ORG_B: &str = "org_b";
const IG_B: &str = "17841400000000002";
const PAGE_B: &str = "998877665544332";
const TS: i64 = 1_732_460_040_000;
const PHOTO: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00the customer's photo of the parcel";
const PDF: &[u8] = b"%PDF-1.7\n% the invoice";

fn webhook(account: &str, customer: &str, mid: &str, attachments: Value, ts: i64) -> String {
    json!({"object":"instagram","entry":[{"id":account,"time":ts,"messaging":[
        {"sender":{"id":customer},"recipient":{"id":account},"timestamp":ts,
         "message":{"mid":mid,"attachments":attachments}}]}]})
    .to_string()
}

fn unsend(account: &str, customer: &str, mid: &str, ts: i64) -> String {
    json!({"object":"instagram","entry":[{"id":account,"time":ts,"messaging":[
        {"sender":{"id":customer},"recipient":{"id":account},"timestamp":ts,
         "message":{"mid":mid,"is_deleted":true}}]}]})
    .to_string()
}

fn attachment(kind: &str, url: &str) -> Value {
    json!({"type": kind, "payload": {"url": url}})
}

fn media(app: &TestApp) -> &dyn MediaStore {
    app.adapters.media.as_deref().expect("the app keeps media")
}

async fn keys(app: &TestApp, prefix: &str) -> Vec<String> {
    let mut keys = media(app).list(prefix).await.unwrap();
    keys.sort();
    keys
}

/// The message with Meta id `mid`, as the API shows it to `org`.
async fn message(app: &TestApp, org: &str, mid: &str) -> Value {
    for c in app.conversations(org).await {
        let found =
            app.messages(org, c["id"].as_str().unwrap()).await.into_iter().find(|m| m["externalMessageId"] == mid);
        if let Some(m) = found {
            return m;
        }
    }
    panic!("no message {mid} in {org}");
}

/// GET without any bearer, as an `<img>` does: status and bytes.
async fn fetch(url: &str) -> (u16, Vec<u8>) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// Runs the queued jobs, an error answered by the queue's redelivery (as SQS and the local
/// queue do): how many deliveries failed.
async fn run_jobs_redelivering(app: &TestApp) -> usize {
    let mut failed = 0;
    for _ in 0..20 {
        let due = app.queue.take_due();
        if due.is_empty() {
            return failed;
        }
        for m in due {
            if app.services.process(&m).await.is_err() {
                failed += 1;
                app.queue.enqueue(&m, chrono::Duration::zero()).await.unwrap();
            }
        }
    }
    panic!("the queue never drained");
}

async fn scenario(app: TestApp) {
    let cdn = FakeCdn::start().await;
    let local = matches!(app.backing, Backing::Memory | Backing::Sqlite(_));
    app.connect_account(ORG_A, "acc_a", IG_ACCOUNT, "EAAB-page-a").await;
    app.connect_account_on_page(ORG_B, "acc_b", IG_B, PAGE_B, "EAAB-page-b").await;
    let photo = cdn.put("photo.jpg", PHOTO, "image/jpeg");
    // The customer's profile picture, served by the same CDN (fetched once per organization).
    let picture = cdn.put("ana.jpg", PHOTO, "image/jpeg");
    app.graph.world().set_profile(CUSTOMER, json!({"profile_pic": picture}));
    let attachments = json!([
        attachment("image", &photo),
        attachment("file", &cdn.put("invoice.pdf", PDF, "application/pdf")),
        // A CDN that claims a JPEG and serves a page: not kept as an image.
        attachment("image", &cdn.put("fake.jpg", b"<html><script>alert(1)</script>", "image/jpeg")),
        // Above MEDIA_MAX_BYTES (4096 here): not kept, not even read past the cap.
        attachment("video", &cdn.put("huge.mp4", &[0u8; 10_000], "video/mp4")),
        // Meta's policy forbids keeping story media: never fetched.
        attachment("story_mention", &cdn.put("story.jpg", PHOTO, "image/jpeg")),
    ]);
    assert_eq!(app.deliver(&webhook(IG_ACCOUNT, CUSTOMER, "mid-photo", attachments, TS)).await.status(), 200);
    let theirs = json!([attachment("image", &cdn.put("theirs.jpg", PHOTO, "image/jpeg"))]);
    assert_eq!(app.deliver(&webhook(IG_B, CUSTOMER, "mid-theirs", theirs, TS)).await.status(), 200);
    // Meta's CDN is down for the first try: the job is delivered again and finishes.
    cdn.fail(503, 1);
    assert_eq!(run_jobs_redelivering(&app).await, 1, "one failed delivery, then done");
    let files = ["photo.jpg", "theirs.jpg", "invoice.pdf", "fake.jpg", "huge.mp4", "ana.jpg"];
    let hits: usize = files.iter().map(|f| cdn.hits(f)).sum();
    assert_eq!(hits, 7 + 1, "each file once (the picture once per organization), and the failed fetch again");
    assert_eq!(cdn.hits("story.jpg"), 0);

    // A week later Meta's link has expired; the copy is what the agent sees.
    cdn.expire("photo.jpg");
    assert_eq!(fetch(&photo).await.0, 403, "Meta's link is dead");
    let shown = message(&app, ORG_A, "mid-photo").await;
    let [image, file, fake, huge, story] = shown["attachments"].as_array().unwrap().as_slice() else {
        panic!("{shown}")
    };
    let url = image["payload"]["url"].as_str().unwrap();
    assert_eq!(image["payload"]["metaUrl"], photo.as_str());
    assert_eq!(
        (&image["payload"]["contentType"], &image["payload"]["size"]),
        (&json!("image/jpeg"), &json!(PHOTO.len()))
    );
    assert!(image["payload"].get("storedKey").is_none(), "the storage key stays inside: {image}");
    assert!(image["payload"]["urlExpiresAt"].is_string());
    assert_eq!(fetch(url).await, (200, PHOTO.to_vec()), "served from our storage: {url}");
    assert_eq!(file["payload"]["contentType"], "application/pdf");
    assert_eq!(fetch(file["payload"]["url"].as_str().unwrap()).await, (200, PDF.to_vec()));
    assert_eq!(
        (&fake["payload"]["copyError"], &huge["payload"]["copyError"]),
        (&json!("TYPE_MISMATCH"), &json!("TOO_LARGE"))
    );
    assert!(fake["payload"]["url"].as_str().unwrap().starts_with(&cdn.url), "Meta's link kept when not copied");
    assert!(story["payload"].get("storedKey").is_none() && story["payload"].get("metaUrl").is_none());
    let org_a_keys = keys(&app, "org_a/").await;
    assert_eq!(org_a_keys.len(), 3, "the photo, the invoice and the profile picture: {org_a_keys:?}");
    assert!(org_a_keys.iter().any(|k| k.ends_with("/0")) && org_a_keys.iter().any(|k| k.ends_with("/1")));

    // The profile picture outlives Meta's link too, for each organization from its own copy.
    cdn.expire("ana.jpg");
    for org in [ORG_A, ORG_B] {
        let (status, contact) = app.get(org, &format!("/api/inbox/contacts/{CUSTOMER}")).await;
        assert_eq!((status, &contact["username"]), (200, &json!("ana.silva")), "{contact}");
        assert_eq!(contact["picture"]["metaUrl"], picture.as_str());
        let facts = (&contact["followerCount"], &contact["followsBusiness"], &contact["followedByBusiness"]);
        assert_eq!(facts, (&json!(312), &json!(true), &json!(false)), "Instagram's facts about them: {contact}");
        let signed = contact["picture"]["url"].as_str().unwrap();
        assert!(signed.contains(&format!("/{org}/contacts/{CUSTOMER}/")), "{signed}");
        assert_eq!(fetch(signed).await, (200, PHOTO.to_vec()));
    }
    assert_eq!(app.get(ORG_A, "/api/inbox/contacts/999").await.0, 404);

    // Another organization gets no URL to this copy, and cannot make one.
    let conversation = app.conversations(ORG_A).await[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app.get(ORG_B, &format!("/api/inbox/conversations/{conversation}/messages")).await;
    assert_eq!(status, 404);
    let their_url =
        message(&app, ORG_B, "mid-theirs").await["attachments"][0]["payload"]["url"].as_str().unwrap().to_owned();
    if local {
        // Their signature on our key, our signature on their key, a later expiry: refused alike.
        let (ours, theirs) = (reqwest::Url::parse(url).unwrap(), reqwest::Url::parse(&their_url).unwrap());
        let mut swapped = theirs.clone();
        swapped.set_path(ours.path());
        assert_eq!(fetch(swapped.as_str()).await.0, 403, "another organization's signature");
        let later = url.replace("expires=", "expires=9");
        assert_eq!(fetch(&later).await.0, 403, "a longer life than signed");
        assert_eq!(fetch(&format!("{}/api/media/org_a/x/y/0", app.url)).await.0, 403, "no signature");
        // Past its 15 minutes the URL is refused; the API hands out a fresh one.
        app.clock.advance(chrono::Duration::seconds(901));
        assert_eq!(fetch(url).await.0, 403, "expired");
        let fresh =
            message(&app, ORG_A, "mid-photo").await["attachments"][0]["payload"]["url"].as_str().unwrap().to_owned();
        assert_eq!(fetch(&fresh).await, (200, PHOTO.to_vec()));
    } else {
        // S3 checks presigned URLs itself (moto does not): the URL names the key, expires in
        // 15 minutes and is signed.
        assert!(
            url.contains("/org_a/") && url.contains("X-Amz-Expires=900") && url.contains("X-Amz-Signature="),
            "{url}"
        );
    }

    // The customer unsends the photo: every copy of the message goes.
    assert_eq!(app.deliver(&unsend(IG_ACCOUNT, CUSTOMER, "mid-photo", TS + 1000)).await.status(), 200);
    app.run_jobs().await;
    let picture_a = format!("org_a/contacts/{CUSTOMER}/picture");
    assert_eq!(keys(&app, "org_a/").await, std::slice::from_ref(&picture_a), "only the profile picture is left");
    assert_eq!(fetch(url).await.0, if local { 403 } else { 404 }, "the URL handed out earlier serves nothing");
    let unsent = message(&app, ORG_A, "mid-photo").await;
    assert_eq!((&unsent["status"], &unsent["attachments"]), (&json!("DELETED"), &json!([])));

    // A file unsent while its copy is being made is not kept either.
    let late = json!([attachment("image", &cdn.put("late.jpg", PHOTO, "image/jpeg"))]);
    app.deliver(&webhook(IG_ACCOUNT, CUSTOMER, "mid-late", late, TS + 2000)).await;
    app.deliver(&unsend(IG_ACCOUNT, CUSTOMER, "mid-late", TS + 3000)).await;
    app.run_jobs().await;
    assert_eq!(keys(&app, "org_a/").await, std::slice::from_ref(&picture_a));

    // Erasing the customer in org_b takes their copies; org_a's next photo stays.
    let next = json!([attachment("image", &cdn.put("next.jpg", PHOTO, "image/jpeg"))]);
    app.deliver(&webhook(IG_ACCOUNT, CUSTOMER, "mid-next", next, TS + 4000)).await;
    app.run_jobs().await;
    assert_eq!(keys(&app, "org_b/").await.len(), 2, "their photo and their picture");
    let r = app.client.delete(format!("{}/api/inbox/contacts/{CUSTOMER}", app.url)).bearer_auth(TestApp::token(ORG_B));
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(keys(&app, "org_b/").await, Vec::<String>::new(), "nothing of the customer left in org_b's storage");
    assert_eq!(fetch(&their_url).await.0, if local { 403 } else { 404 });
    assert_eq!(keys(&app, "org_a/").await.len(), 2, "org_a keeps its own photo and picture");
    // A customer id that is no id erases nothing, and says so without an error.
    let (status, body) = app.delete(ORG_A, "/api/inbox/contacts/%C2%A9%0C3").await;
    assert_eq!((status, &body["removed"]), (200, &json!(0)), "{body}");
    // The organization leaves: its storage is empty.
    let r = app.client.delete(format!("{}/api/organizations/current/data", app.url)).bearer_auth(TestApp::token(ORG_A));
    let r = r.json(&json!({"confirm": ORG_A})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(keys(&app, "").await, Vec::<String>::new(), "the storage is empty");
}

fn limits() -> [(&'static str, &'static str); 1] {
    [("MEDIA_MAX_BYTES", "4096")]
}

#[tokio::test]
async fn media_copies_on_memory() {
    scenario(TestApp::keeping_media(Keep::Memory, AppEnv::Production, &limits()).await.unwrap()).await;
}

#[tokio::test]
async fn media_copies_on_sqlite() {
    scenario(TestApp::keeping_media(Keep::Sqlite, AppEnv::Production, &limits()).await.unwrap()).await;
}

#[tokio::test]
async fn media_copies_on_dynamodb_and_s3() {
    let Some(app) = TestApp::keeping_media(Keep::Aws, AppEnv::Production, &limits()).await else { return };
    scenario(app).await;
}

#[tokio::test]
async fn without_media_storage_meta_s_links_are_kept_and_nothing_is_queued() {
    let app = TestApp::prod().await;
    let cdn = FakeCdn::start().await;
    app.connect_account(ORG_A, "acc_a", IG_ACCOUNT, "EAAB-page-a").await;
    let photo = cdn.put("photo.jpg", PHOTO, "image/jpeg");
    app.deliver(&webhook(IG_ACCOUNT, CUSTOMER, "mid-photo", json!([attachment("image", &photo)]), TS)).await;
    app.run_jobs().await;
    assert_eq!(cdn.hits("photo.jpg"), 0);
    assert_eq!(message(&app, ORG_A, "mid-photo").await["attachments"][0]["payload"], json!({"url": photo}));
}
