//! Meta's usage headers, sent on every Graph answer: how close the app, the Page and the
//! business are to their rate limits, before Meta throttles.
//!
//! - `X-App-Usage` and `X-Page-Usage`: `{"call_count": %, "total_cputime": %, "total_time": %}`
//!   (the Page's may carry `estimated_time_to_regain_access` too);
//! - `X-Business-Use-Case-Usage`: `{"<business id>": [{"type", "call_count", "total_cputime",
//!   "total_time", "estimated_time_to_regain_access" (minutes)}, ...]}`.

use serde_json::Value;

pub use crate::ports::Usage;

/// The headers' names, as Meta sends them.
pub const HEADERS: [&str; 3] = ["x-app-usage", "x-page-usage", "x-business-use-case-usage"];

/// Reads the usage headers present among `(name, value)`; `None` when none is there or none
/// can be read.
pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Usage> {
    let mut found: Option<Usage> = None;
    for (name, value) in headers {
        if !HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            continue;
        }
        let Ok(json) = serde_json::from_str::<Value>(value) else { continue };
        let usage = usage_of(&json);
        let seen = found.get_or_insert_default();
        seen.percent = seen.percent.max(usage.percent);
        seen.regain_minutes = seen.regain_minutes.max(usage.regain_minutes);
    }
    found
}

/// Every usage object in `json` (one, a list, or a map of lists by business id).
fn usage_of(json: &Value) -> Usage {
    let mut usage = Usage::default();
    let mut objects: Vec<&Value> = vec![json];
    while let Some(v) = objects.pop() {
        match v {
            Value::Array(items) => objects.extend(items),
            Value::Object(map) if map.contains_key("call_count") || map.contains_key("total_time") => {
                for key in ["call_count", "total_cputime", "total_time", "acc_id_util_pct"] {
                    usage.percent = usage.percent.max(map.get(key).and_then(Value::as_f64).unwrap_or(0.0));
                }
                let regain = map.get("estimated_time_to_regain_access").and_then(Value::as_u64).unwrap_or(0);
                usage.regain_minutes = usage.regain_minutes.max(regain);
            }
            Value::Object(map) => objects.extend(map.values()),
            _ => {}
        }
    }
    usage
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_is_read_and_the_worst_wins() {
        let business = crate::fixtures::graph("usage_header_x_business_use_case_usage.json");
        let usage = from_headers([("X-Business-Use-Case-Usage", business.as_str())]).unwrap();
        assert_eq!(usage, Usage { percent: 96.0, regain_minutes: 3 });
        let app = r#"{"call_count":12,"total_cputime":85,"total_time":40}"#;
        let page = r#"{"call_count":3,"total_cputime":1,"total_time":2,"estimated_time_to_regain_access":0}"#;
        let usage = from_headers([("x-app-usage", app), ("x-page-usage", page), ("content-type", "x")]);
        assert_eq!(usage, Some(Usage { percent: 85.0, regain_minutes: 0 }));
        assert_eq!(from_headers([("x-app-usage", "not json")]), None);
        assert_eq!(from_headers([("content-type", "application/json")]), None);
    }
}
