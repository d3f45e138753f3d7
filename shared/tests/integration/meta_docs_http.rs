//! Meta's own documented webhook examples (`../shared/fixtures/meta/docs/`) through the
//! webhook over HTTP, each with what a person expects the inbox to show: the text, the order,
//! the time from the payload, reactions, edits, unsends, receipts, comments. Events of no use
//! to an inbox are acknowledged and kept nowhere. Every example in the folder must have its
//! expectation here.

use crate::common::*;
use chrono::{DateTime, Utc};
use inbox_shared::fixtures::{self, Documented};
use serde_json::{Value, json};

const ORG: &str = "org_docs";
/// The customer of the Instagram examples, and of the Messenger ones.
const IGSID: &str = "1914093632120823";
const PSID: &str = "1254459154682919";

/// What the inbox holds after an example: every conversation with its messages (oldest
/// first), and how many events were kept raw.
struct Shown {
    name: String,
    conversations: Vec<(Value, Vec<Value>)>,
    kept_raw: usize,
}

impl Shown {
    /// The one conversation, and its messages oldest first.
    fn only(&self) -> (&Value, &[Value]) {
        assert_eq!(self.conversations.len(), 1, "{}: {:?}", self.name, self.conversations);
        let (c, m) = &self.conversations[0];
        (c, m)
    }

    /// The one conversation's one message.
    fn message(&self) -> (&Value, &Value) {
        let (c, messages) = self.only();
        assert_eq!(messages.len(), 1, "{}: {messages:?}", self.name);
        (c, &messages[0])
    }

    fn nothing(&self) {
        assert!(self.conversations.is_empty(), "{}: {:?}", self.name, self.conversations);
        assert_eq!(self.kept_raw, 0, "{}: acknowledged and kept nowhere", self.name);
    }
}

async fn shown(example: &Documented) -> Shown {
    let app = TestApp::prod().await;
    let (object, entry) = example.addressed_to();
    match object.as_str() {
        "page" => drop(app.connect_messenger(ORG, "acc_page", &entry, "EAAB-page-token").await),
        _ => drop(app.connect_account(ORG, "acc_ig", &entry, "EAAB-page-token").await),
    }
    for body in example.deliveries() {
        let r = app.deliver(body).await;
        assert_eq!(r.status(), 200, "{}: {}", example.name, r.text().await.unwrap());
    }
    app.run_jobs().await;
    let mut conversations = Vec::new();
    for c in app.list_conversations(ORG, "provider=ALL").await {
        let mut messages = app.messages(ORG, c["id"].as_str().unwrap()).await;
        messages.reverse();
        conversations.push((c, messages));
    }
    let mut kept_raw = 0;
    for key in [entry.clone(), format!("messenger:{entry}")] {
        kept_raw += app.store.list_raw_events(&key).await.unwrap().len();
    }
    Shown { name: example.name.clone(), conversations, kept_raw }
}

/// A time the API answered is exactly `ms` (epoch milliseconds) from the payload.
fn at(v: &Value, ms: i64) {
    let parsed: DateTime<Utc> = v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a time: {v}"));
    assert_eq!(parsed.timestamp_millis(), ms, "{v}");
}

/// A customer's message as the list and the thread show it.
fn inbound(c: &Value, m: &Value, customer: &str, ms: i64) {
    assert_eq!((m["direction"].as_str(), m["status"].as_str()), (Some("INBOUND"), Some("RECEIVED")), "{m}");
    assert_eq!(c["participantId"], customer);
    at(&m["createdAt"], ms);
    at(&c["lastInboundAt"], ms);
}

fn attachment_types(m: &Value) -> Vec<&str> {
    m["attachments"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect()
}

/// What a person expects of each example.
fn expect(s: &Shown) {
    match s.name.as_str() {
        "ig_docs_text_message.json" => {
            let (c, m) = s.message();
            inbound(c, m, IGSID, 1569262485349);
            assert_eq!((c["provider"].as_str(), c["kind"].as_str()), (Some("INSTAGRAM"), Some("DM")));
            assert_eq!(m["text"], "Hi! Is the blue jacket still available?");
            assert_eq!((c["previewText"].as_str(), c["unreadCount"].as_i64()), (m["text"].as_str(), Some(1)));
        }
        "ig_docs_image_attachment.json"
        | "ig_docs_audio_attachment.json"
        | "ig_docs_share_attachment.json"
        | "ig_docs_story_mention.json"
        | "ig_docs_ig_reel_attachment.json"
        | "ig_docs_reel_attachment.json" => {
            let (c, m) = s.message();
            inbound(c, m, IGSID, 1569262485349);
            let kind = attachment_types(m)[0].to_owned();
            let url = m["attachments"][0]["payload"]["url"].as_str().unwrap();
            assert!(url.starts_with("https://"), "{m}");
            assert_eq!(c["previewText"], format!("[{kind}]"));
        }
        "ig_docs_multiple_attachments.json" => {
            let (c, m) = s.message();
            inbound(c, m, IGSID, 1569262485349);
            assert_eq!(attachment_types(m), ["image", "video"]);
        }
        "ig_new_post_share_two_attachments.json" => {
            let (c, m) = s.message();
            inbound(c, m, IGSID, 1761287294014);
            assert_eq!(attachment_types(m), ["share", "ig_post"]);
            assert_eq!(m["attachments"][1]["payload"]["ig_post_media_id"], "18139494541428835");
        }
        "ig_docs_story_reply.json" => {
            let (c, m) = s.message();
            inbound(c, m, IGSID, 1569262485349);
            assert_eq!(m["text"], "Love this look!");
            assert_eq!(m["metaJson"]["replyTo"]["story"]["id"], "17920238422030506");
        }
        "ig_docs_reply_to_message.json" => {
            let (c, messages) = s.only();
            assert_eq!(messages.len(), 2);
            inbound(c, &messages[1], IGSID, 1569262545349);
            assert_eq!(messages[1]["metaJson"]["replyTo"]["mid"], messages[0]["externalMessageId"]);
            assert_eq!((c["previewText"].as_str(), c["unreadCount"].as_i64()), (Some("Yes, size M please"), Some(2)));
        }
        "ig_docs_quick_reply.json" => {
            let (c, m) = s.message();
            inbound(c, m, IGSID, 1569262485349);
            assert_eq!(
                (m["text"].as_str(), &m["metaJson"]["quickReply"]),
                (Some("Red"), &json!({"payload": "COLOR_RED"}))
            );
        }
        "ig_docs_product_referral.json" => {
            let (_, m) = s.message();
            assert_eq!(m["text"], "Does this come in black?");
            assert_eq!(m["metaJson"]["referral"]["product"]["id"], "5212837285432398");
        }
        "ig_docs_ads_referral_message.json" => {
            let (_, m) = s.message();
            assert_eq!(m["text"], "I saw your ad");
            assert_eq!(m["metaJson"]["referral"]["source"], "ADS");
            assert_eq!(m["metaJson"]["referral"]["ads_context_data"]["ad_title"], "Summer sale");
        }
        "ig_docs_unsend.json" => {
            let (c, m) = s.message();
            assert_eq!((m["status"].as_str(), &m["text"]), (Some("DELETED"), &Value::Null), "{m}");
            assert_eq!(c["previewText"], "[message unsent]");
        }
        "ig_docs_unsupported.json" => {
            let (c, m) = s.message();
            inbound(c, m, IGSID, 1569262485349);
            assert_eq!(c["previewText"], "[unsupported message]");
        }
        "ig_docs_echo.json" => {
            let (c, m) = s.message();
            assert_eq!((m["direction"].as_str(), m["status"].as_str()), (Some("OUTBOUND"), Some("SENT")));
            assert_eq!((m["text"].as_str(), c["unreadCount"].as_i64()), (Some("Thanks! It ships tomorrow."), Some(0)));
            assert_eq!(c["participantId"], IGSID, "the echo's recipient is the customer");
            at(&c["lastOutboundAt"], 1569262485349);
        }
        "ig_docs_reaction_react.json" => {
            let (_, m) = s.message();
            assert_eq!(m["metaJson"]["reactions"][IGSID]["emoji"], "❤️", "{m}");
            assert_eq!(m["metaJson"]["reactions"][IGSID]["reaction"], "love");
        }
        "ig_docs_reaction_unreact.json" => {
            let (_, m) = s.message();
            assert_eq!(m["metaJson"]["reactions"], json!({}), "{m}");
        }
        "ig_docs_postback_icebreaker.json" => {
            let (c, m) = s.message();
            inbound(c, m, IGSID, 1569262485349);
            assert_eq!(m["text"], "What are your opening hours?");
            assert_eq!(m["metaJson"]["postback"]["payload"], "ICEBREAKER_HOURS");
        }
        "ig_docs_referral_existing_thread.json" => {
            let (c, m) = s.message();
            assert_eq!(m["text"], "Hi! Is the blue jacket still available?", "the link opened no message");
            at(&c["lastMessageAt"], 1569262485349);
            assert_eq!(s.kept_raw, 0);
        }
        "ig_docs_seen.json" => {
            let (_, m) = s.message();
            assert_eq!((m["direction"].as_str(), m["status"].as_str()), (Some("OUTBOUND"), Some("READ")), "{m}");
        }
        "ig_examples_message_edit.json" => {
            let (c, m) = s.message();
            assert_eq!(m["text"], "Hi! Is the red jacket still available?");
            assert_eq!(m["metaJson"]["previousText"], "Hi! Is the blue jacket still available?");
            assert_eq!(c["previewText"], m["text"], "the list shows the edit");
            at(&m["createdAt"], 1569262485349);
        }
        "ig_examples_comment.json" => {
            let (c, m) = s.message();
            assert_eq!((c["kind"].as_str(), c["handle"].as_str()), (Some("COMMENT"), Some("jane.doe")));
            assert_eq!(c["comment"]["commentId"], "17865799348089039");
            assert_eq!(
                (m["text"].as_str(), m["externalMessageId"].as_str()),
                (Some("How much is this?"), Some("17865799348089039"))
            );
        }
        "ig_examples_live_comment.json" => {
            let (c, m) = s.message();
            assert_eq!(
                c["comment"],
                json!({"commentId": "17895695668004551", "mediaId": "17895695668004551",
                "mediaProductType": "LIVE", "permalink": "https://www.instagram.com/p/C0coastshop1/", "live": true})
            );
            assert!(c["handle"].is_null(), "a broadcast's thread is nobody's: {c}");
            assert_eq!(
                (m["text"].as_str(), m["metaJson"]["username"].as_str()),
                (Some("Hello from the live!"), Some("live.viewer"))
            );
        }
        "ig_reference_comment_ad_instagram_login.json" => {
            let (c, m) = s.message();
            assert_eq!(c["participantId"], "2105722729836161", "the id the commenter's DMs carry");
            assert_eq!(m["metaJson"]["mediaProductType"], "AD");
        }
        "ig_reference_comment_reply_parent_id.json" => {
            let (c, messages) = s.only();
            assert_eq!(messages.len(), 2, "the reply joins its comment's thread");
            assert_eq!(messages[1]["metaJson"]["parentId"], "17865799348089039");
            assert_eq!((c["previewText"].as_str(), c["unreadCount"].as_i64()), (Some("Also in blue?"), Some(2)));
        }
        "ig_reference_messaging_handover.json"
        | "ms_docs_referral_shortlink.json"
        | "ms_docs_postback_user_ref_changes_form.json" => s.nothing(),
        "ms_docs_text_quick_reply.json" => {
            let (c, m) = s.message();
            inbound(c, m, PSID, 1458692752478);
            assert_eq!(c["provider"], "MESSENGER");
            assert_eq!(
                (m["text"].as_str(), m["metaJson"]["quickReply"]["payload"].as_str()),
                (Some("hello, world!"), Some("DEVELOPER_DEFINED_PAYLOAD"))
            );
            assert_eq!(c["handle"], PSID, "a Messenger person has no username");
        }
        "ms_docs_standby_message.json" => {
            let (c, m) = s.message();
            inbound(c, m, PSID, 1458692752478);
            assert_eq!(m["text"], "anyone there?", "written while another app owned the thread");
        }
        "ms_docs_reply_message.json" => {
            let (_, m) = s.message();
            assert_eq!(m["metaJson"]["replyTo"]["mid"], "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU");
        }
        "ms_docs_image_attachment.json"
        | "ms_docs_ig_reel_attachment_on_page.json"
        | "ms_docs_appointment_booking.json" => {
            let (c, m) = s.message();
            inbound(c, m, PSID, 1518479195308);
            assert_eq!(c["previewText"], format!("[{}]", attachment_types(m)[0]));
        }
        "ms_docs_echo.json" => {
            let (c, m) = s.message();
            assert_eq!((m["direction"].as_str(), m["status"].as_str()), (Some("OUTBOUND"), Some("SENT")));
            assert_eq!(c["participantId"], PSID);
            at(&m["createdAt"], 1457764197627);
        }
        "ms_docs_echo_template_in_standby.json" => {
            let (_, m) = s.message();
            assert_eq!((m["direction"].as_str(), attachment_types(m)), (Some("OUTBOUND"), vec!["template"]));
        }
        "ms_docs_reaction.json" => {
            let (_, m) = s.message();
            assert_eq!(m["metaJson"]["reactions"][PSID]["emoji"], "😄", "{m}");
        }
        "ms_docs_delivery.json" => {
            let (_, m) = s.message();
            assert_eq!(m["status"], "DELIVERED", "{m}");
        }
        "ms_docs_read_watermark.json" => {
            let (_, m) = s.message();
            assert_eq!(m["status"], "READ", "{m}");
        }
        "ms_docs_postback_with_mid.json" => {
            let (c, m) = s.message();
            inbound(c, m, PSID, 1458692752478);
            assert_eq!(
                (m["text"].as_str(), m["externalMessageId"].as_str()),
                (Some("TITLE-FOR-THE-CTA"), Some("m_1457764197618:41d102a3e1ae206a38"))
            );
        }
        "ms_docs_postback_seconds_string_timestamp.json" => {
            let (c, m) = s.message();
            inbound(c, m, PSID, 1527459824000);
            assert_eq!(m["metaJson"]["postback"]["payload"], "USER-DEFINED-PAYLOAD");
        }
        "ms_docs_message_edit.json" => {
            let (c, m) = s.message();
            assert_eq!(m["text"], "hello, world! (edited)");
            assert_eq!(c["previewText"], "hello, world! (edited)");
        }
        other => panic!("no expectation for Meta's example {other}: write what the inbox should show"),
    }
}

#[tokio::test]
async fn every_documented_example_shows_in_the_inbox_as_a_person_expects() {
    let examples = fixtures::all_documented();
    assert!(examples.len() >= 44, "{} examples", examples.len());
    for example in &examples {
        assert!(example.source.starts_with("https://developers.facebook.com/"), "{}", example.name);
        expect(&shown(example).await);
    }
}

/// Delivered twice, each example changes nothing more: Meta redelivers.
#[tokio::test]
async fn every_documented_example_redelivered_changes_nothing() {
    for example in fixtures::all_documented() {
        let once = shown(&example).await;
        let twice = Documented { setup: example.deliveries().cloned().collect(), ..example.clone() };
        let again = shown(&twice).await;
        let strip = |s: &Shown| -> Vec<Value> {
            s.conversations
                .iter()
                .flat_map(|(_, m)| m.iter().map(|m| json!([m["text"], m["status"], m["attachments"]])))
                .collect()
        };
        assert_eq!(strip(&once), strip(&again), "{}", example.name);
        assert_eq!(once.kept_raw, again.kept_raw, "{}", example.name);
    }
}
