//! The webhook fields this product needs, per place Meta takes them. A Page and an
//! Instagram account have different field sets (Meta's spec: `pagesubscribed_apps_...` and
//! `iggraphusersubscribed_apps_..._enum_param`): `messaging_seen` is an Instagram field that a
//! Page refuses, and a Page's `message_reads` is Messenger's.

/// `POST /{page-id}/subscribed_apps` (Facebook Login): the Page's Messenger events. The
/// Instagram account linked to the Page sends its events through the app's `instagram`
/// object ([`INSTAGRAM_FIELDS`], chosen in the app's settings); the Page subscription only
/// switches them on for that Page.
pub const PAGE_FIELDS: [&str; 8] = [
    "messages",
    "messaging_postbacks",
    "message_reactions",
    "message_echoes",
    "message_deliveries",
    "message_reads",
    "message_edits",
    "messaging_referrals",
];

/// The app's `instagram` webhook object (`/{app-id}/subscriptions`, or the dashboard), and
/// `POST graph.instagram.com/me/subscribed_apps` for an Instagram Login account.
pub const INSTAGRAM_FIELDS: [&str; 9] = [
    "messages",
    "messaging_postbacks",
    "messaging_seen",
    "message_reactions",
    "message_edit",
    "messaging_referral",
    "comments",
    "live_comments",
    "mentions",
];
