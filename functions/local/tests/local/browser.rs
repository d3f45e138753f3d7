//! The development inbox page at `/`, in headless Chromium against the local server: signed in
//! with a development token by keyboard, a DM Meta delivers after the page loaded appears
//! without a reload, and a reply typed in the page reaches Meta (the fake Graph API) and
//! turns `SENT` in the thread; a file chosen from the computer is put into the server's
//! storage and sent through Meta's attachment upload API. A screenshot is left in the target directory.

use std::time::Duration;

use serde_json::Value;

use super::server::*;
use super::webdriver::Browser;
use inbox_shared::testing::fake_graph::FakeGraph;

/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";

#[tokio::test]
async fn the_inbox_page_shows_a_new_dm_live_and_sends_a_typed_reply() {
    let Some(browser) = Browser::start().await else { return };
    let dir = std::env::temp_dir().join(inbox_shared::domain::new_id("inbox-local-page"));
    std::fs::create_dir_all(&dir).unwrap();
    let (graph, port) = (FakeGraph::start().await, free_port());
    let server = Server::start(&dir, port, &graph).await;
    connect(&server).await;

    browser.open(&format!("{}/", server.url)).await;
    browser.type_into("#token", &format!("{}{ENTER}", token())).await;
    let accounts =
        browser.wait_for("the signed-in inbox", "return document.getElementById('accounts').textContent").await;
    assert!(accounts.as_str().unwrap().contains("ACTIVE"), "{accounts}");
    // Marks this page load: a reload would lose it.
    browser.eval("window.loadedOnce = true; return true").await;

    let now = chrono::Utc::now().timestamp_millis();
    server.webhook(&graph, &dm("m_page_1", "Do you ship to Lisbon?", now)).await;
    let entry = browser
        .wait_for(
            "the conversation to appear",
            "const b = document.querySelector('#conversations button'); return b && b.textContent",
        )
        .await;
    assert!(entry.as_str().unwrap().contains("Do you ship to Lisbon?"), "{entry}");
    assert_eq!(browser.eval("return window.loadedOnce === true").await, Value::Bool(true), "no reload");

    browser.click("#conversations button").await;
    browser.wait_for("the thread", "return document.querySelector('#messages li.INBOUND')?.textContent").await;
    let reply = "Yes, in two days";
    browser.type_into("#reply-text", reply).await;
    browser.type_into("#reply-choices", "Express, Standard").await;
    browser.click("#reply button[type=submit]").await;
    wait_for("the reply to reach Meta", async || (sends(&graph) == 1).then_some(())).await;
    let to_customer = || -> Vec<Value> {
        graph.calls().into_iter().filter(|c| c.path.ends_with("/messages")).map(|c| c.body).collect()
    };
    let actions = |name: &str| to_customer().iter().filter(|b| b["sender_action"] == name).count();
    let sent = to_customer().into_iter().find(|b| b.get("message").is_some()).unwrap();
    assert_eq!(sent["message"]["text"], reply, "{sent}");
    let titles: Vec<&str> =
        sent["message"]["quick_replies"].as_array().unwrap().iter().map(|q| q["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Express", "Standard"], "the choices typed went as quick replies");
    assert_eq!(actions("mark_seen"), 1, "opening the thread marked it read, and Meta was told it was seen");
    assert_eq!(actions("typing_on"), 1, "typing the reply showed the customer the agent typing, once");
    // A heart on the customer's message: sent to Meta, then shown on it.
    browser.click("#messages li.INBOUND button.react").await;
    wait_for("the heart to reach Meta", async || (actions("react") == 1).then_some(())).await;
    let heart = browser
        .wait_for("the heart to show", "return document.querySelector('#messages li.INBOUND .reactions')?.textContent")
        .await;
    assert!(heart.as_str().unwrap().contains('❤'), "{heart}");
    browser
        .wait_for(
            "the quick replies to show",
            "return document.querySelectorAll('#messages li.OUTBOUND .chip').length === 2 || null",
        )
        .await;
    let status = browser
        .wait_for(
            "the reply to turn SENT",
            "const s = document.querySelector('#messages li.OUTBOUND .status'); return s && s.textContent === 'SENT' && s.textContent",
        )
        .await;
    assert_eq!(status, "SENT");
    // A file from the computer: declared, put into the server's storage, uploaded to Meta
    // once and sent by its attachment_id.
    let photo = dir.join("parcel.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1A\n\0\0\0\rIHDR the parcel").unwrap();
    browser.type_into("#attach-file", photo.to_str().unwrap()).await;
    browser.click("#attach button[type=submit]").await;
    wait_for("the file to reach Meta", async || (sends(&graph) == 2).then_some(())).await;
    let uploads = graph.calls().into_iter().filter(|c| c.path.ends_with("/message_attachments")).count();
    assert_eq!(uploads, 1, "the file went to Meta's attachment upload API once");
    let file = to_customer().into_iter().filter(|b| b.get("message").is_some()).nth(1).unwrap();
    assert!(file["message"]["attachment"]["payload"]["attachment_id"].is_string(), "{file}");
    tokio::time::sleep(Duration::from_millis(200)).await; // the last paint
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("inbox-page.png");
    browser.screenshot(&shot).await;
    eprintln!("screenshot: {}", shot.display());
    assert_eq!(sends(&graph), 2, "the customer got the reply and the file once each");
    browser.close().await;
    server.kill_9();
    let _ = std::fs::remove_dir_all(&dir);
}
