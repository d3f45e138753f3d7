//! A customer's profile over HTTP: what Instagram gives of them, read by agents, fetched again
//! at most weekly when read after that, and kept as it was when Meta refuses a later lookup.

use crate::common::*;
use inbox_shared::fixtures;
use serde_json::json;

#[tokio::test]
async fn a_profile_read_a_week_later_is_fetched_again_once_and_kept_when_meta_refuses() {
    let app = TestApp::dev().await;
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "p-1", "hi", 1732460000100)).await;
    app.run_jobs().await;
    let lookups = || app.graph.calls().iter().filter(|c| c.path.ends_with(CUSTOMER)).count();
    let contact = || async { app.get("org_a", &format!("/api/inbox/contacts/{CUSTOMER}")).await };
    assert_eq!(lookups(), 1);
    let (status, ana) = contact().await;
    assert_eq!((status, &ana["username"], &ana["followerCount"]), (200, &json!("ana.silva"), &json!(312)), "{ana}");
    assert_eq!((&ana["followsBusiness"], &ana["followedByBusiness"]), (&json!(true), &json!(false)));
    app.run_jobs().await;
    assert_eq!(lookups(), 1, "a fresh profile is not asked for again");

    // A week on, she has a new handle and more followers: the read answers at once with what
    // is known, and queues one lookup.
    app.graph.world().set_profile(CUSTOMER, json!({"username": "ana.costa", "follower_count": 500}));
    app.clock.advance(chrono::Duration::days(8));
    let (_, stale) = contact().await;
    assert_eq!(stale["followerCount"], 312);
    contact().await;
    app.run_jobs().await;
    assert_eq!(lookups(), 2, "one lookup, however often it is read");
    let (_, fresh) = contact().await;
    assert_eq!((&fresh["username"], &fresh["followerCount"]), (&json!("ana.costa"), &json!(500)));
    assert_eq!(app.conversations("org_a").await[0]["handle"], "ana.costa", "the conversation follows");

    // Another week on, Meta refuses (she withdrew consent): what it gave before stays.
    app.clock.advance(chrono::Duration::days(8));
    app.graph.answer(400, &[], &fixtures::graph("error_user_unavailable.json"));
    contact().await;
    app.run_jobs().await;
    assert_eq!(lookups(), 3);
    let (status, kept) = contact().await;
    assert_eq!((status, &kept["username"], &kept["followerCount"]), (200, &json!("ana.costa"), &json!(500)));
    app.run_jobs().await;
    assert_eq!(lookups(), 3, "not asked again until another week has passed");
}

/// Without media storage the picture is Meta's link, and its expiry is the one the CDN link
/// carries (`oe`, hexadecimal seconds): a frontend shows a placeholder once it has passed.
#[tokio::test]
async fn without_storage_the_picture_is_meta_s_link_with_the_expiry_it_carries() {
    let app = TestApp::dev().await;
    let in_two_days = app.clock_now() + chrono::Duration::days(2);
    let link = format!("https://scontent.cdninstagram.com/v/t51/ana.jpg?oh=85e2&oe={:X}", in_two_days.timestamp());
    app.graph.world().set_profile(CUSTOMER, json!({ "profile_pic": link }));
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "p-2", "hi", app.clock_now().timestamp_millis())).await;
    app.run_jobs().await;
    let contact = || async { app.get("org_a", &format!("/api/inbox/contacts/{CUSTOMER}")).await.1["picture"].clone() };
    let picture = contact().await;
    assert_eq!(picture["url"], link.as_str(), "{picture}");
    let expires: chrono::DateTime<chrono::Utc> = picture["urlExpiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires.timestamp(), &picture["expired"]), (in_two_days.timestamp(), &json!(false)));
    app.clock.advance(chrono::Duration::days(3));
    assert_eq!(contact().await["expired"], true);
}

/// A burst of DMs from a customer not known yet queues one profile lookup, not one a DM; one
/// whose lookup Meta refused queues it again at most once a minute.
#[tokio::test]
async fn a_burst_from_a_new_customer_queues_one_lookup_and_a_refused_one_again_a_minute_on() {
    let app = TestApp::dev().await;
    let lookups = |who: &str| app.graph.calls().iter().filter(|c| c.path.ends_with(who)).count();
    let dm = |from: &str, n: i64| {
        let at = app.clock_now().timestamp_millis();
        text_webhook(IG_ACCOUNT, from, &format!("{from}-{n}"), "hi", at + n)
    };
    for n in 0..5 {
        app.deliver(&dm(CUSTOMER, n)).await;
    }
    assert_eq!(app.run_jobs().await.len(), 1, "one lookup queued for the five DMs");
    assert_eq!(lookups(CUSTOMER), 1);
    assert_eq!(app.conversations("org_a").await[0]["handle"], "ana.silva");
    app.deliver(&dm(CUSTOMER, 5)).await;
    assert_eq!(app.run_jobs().await.len(), 0, "a known customer's DMs queue nothing");

    // Meta refuses the next customer's profile: her conversation stays without one.
    let refused = "17841400000000777";
    app.graph.answer(400, &[], &fixtures::graph("error_user_unavailable.json"));
    for n in 0..3 {
        app.deliver(&dm(refused, n)).await;
    }
    assert_eq!(app.run_jobs().await.len(), 1);
    assert_eq!(lookups(refused), 1);
    app.clock.advance(chrono::Duration::seconds(30));
    app.deliver(&dm(refused, 3)).await;
    assert_eq!(app.run_jobs().await.len(), 0, "the refused lookup stands for a minute");
    app.clock.advance(chrono::Duration::seconds(31));
    app.deliver(&dm(refused, 4)).await;
    assert_eq!(app.run_jobs().await.len(), 1, "queued again a minute on");
}
