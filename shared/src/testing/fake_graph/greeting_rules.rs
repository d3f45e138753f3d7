//! The messenger profile's documented rules (`/{page or ig-id}/messenger_profile`), which the
//! spec types as bare lists: ice breakers at most 4 questions a locale, a `default` locale
//! required, menus of at most 20 items; and what Meta keeps of it per account and platform.

use serde_json::{Map, Value, json};

use super::refusal::Refusal;
use super::spec::{Params, scalar};
use super::world::World;

const MAX_QUESTIONS: usize = 4;
const MAX_MENU_ITEMS: usize = 20;

/// Checks a POST's `ice_breakers` and `persistent_menu`.
pub fn check(params: &Params) -> Result<(), Refusal> {
    if let Some(sets) = params.get("ice_breakers") {
        check_locales("ice_breakers", sets, MAX_QUESTIONS, |q| {
            q.get("question").and_then(Value::as_str).is_some_and(|s| !s.is_empty())
                && q.get("payload").and_then(Value::as_str).is_some_and(|s| !s.is_empty())
        })?;
    }
    if let Some(menus) = params.get("persistent_menu") {
        check_locales("persistent_menu", menus, MAX_MENU_ITEMS, |item| {
            match item.get("type").and_then(Value::as_str) {
                Some("postback") => item.get("payload").is_some() && item.get("title").is_some(),
                Some("web_url") => item.get("url").is_some() && item.get("title").is_some(),
                _ => false,
            }
        })?;
    }
    Ok(())
}

fn check_locales(field: &str, sets: &Value, max: usize, valid: impl Fn(&Value) -> bool) -> Result<(), Refusal> {
    let Some(sets) = sets.as_array().filter(|s| !s.is_empty()) else {
        return Err(Refusal::param(format!("Param {field} must be a non-empty array")));
    };
    if !sets.iter().any(|s| s.get("locale").and_then(Value::as_str) == Some("default")) {
        return Err(Refusal::param(format!("Param {field} requires a default locale")));
    }
    for set in sets {
        let actions = set.get("call_to_actions").and_then(Value::as_array);
        match actions {
            Some(a) if !a.is_empty() && a.len() <= max && a.iter().all(&valid) => {}
            _ => {
                return Err(Refusal::param(format!("Param {field}[call_to_actions] must have 1 to {max} valid items")));
            }
        }
    }
    Ok(())
}

/// What Meta keeps and answers: POST sets fields, DELETE removes them, GET answers the asked
/// ones as `{"data": [{...}]}` (`{"data": []}` when none is set).
pub fn answer(id: &str, method: &str, params: &Params, world: &mut World) -> Value {
    let platform = params.get("platform").map(scalar).unwrap_or_else(|| "messenger".into()).to_lowercase();
    let profile = world.messenger_profiles.entry(format!("{id}|{platform}")).or_default();
    match method {
        "POST" => {
            for field in ["ice_breakers", "persistent_menu"] {
                if let Some(v) = params.get(field) {
                    profile.insert(field.to_owned(), v.clone());
                }
            }
            json!({"result": "success"})
        }
        "DELETE" => {
            let fields = params.get("fields").and_then(Value::as_array).cloned().unwrap_or_default();
            for f in fields.iter().filter_map(Value::as_str) {
                profile.remove(&f.to_lowercase());
            }
            json!({"result": "success"})
        }
        _ => {
            let asked = params.get("fields").map(scalar).unwrap_or_default();
            let shown: Map<String, Value> = profile
                .iter()
                .filter(|(k, _)| asked.split(',').any(|f| f == k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if shown.is_empty() { json!({"data": []}) } else { json!({"data": [shown]}) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: Value) -> Params {
        body.as_object().unwrap().clone().into_iter().collect()
    }

    #[test]
    fn ice_breakers_keep_to_four_questions_with_a_default_locale() {
        let q = json!({"question": "Hours?", "payload": "H"});
        let set = |locale: &str, n: usize| json!({"locale": locale, "call_to_actions": vec![q.clone(); n]});
        check(&params(json!({"ice_breakers": [set("default", 4), set("en_GB", 1)]}))).unwrap();
        assert!(check(&params(json!({"ice_breakers": [set("default", 5)]}))).is_err());
        assert!(check(&params(json!({"ice_breakers": [set("en_GB", 1)]}))).is_err());
        let bad_item = json!({"persistent_menu": [{"locale": "default", "call_to_actions": [{"type": "nested"}]}]});
        assert!(check(&params(bad_item)).is_err());
        let mut world = World::default();
        answer(
            "p1",
            "POST",
            &params(json!({"platform": "instagram", "ice_breakers": [set("default", 1)]})),
            &mut world,
        );
        let got = answer("p1", "GET", &params(json!({"platform": "instagram", "fields": "ice_breakers"})), &mut world);
        assert_eq!(got["data"][0]["ice_breakers"][0]["locale"], "default");
        let other = answer("p1", "GET", &params(json!({"fields": "ice_breakers"})), &mut world);
        assert_eq!(other, json!({"data": []}), "the Page's own profile is another");
    }
}
