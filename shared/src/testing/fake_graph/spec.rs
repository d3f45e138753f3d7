//! Meta's machine-readable Graph API spec (`../shared/fixtures/meta/specs/`, from the code
//! generator of Meta's business SDKs): which endpoints a node type has and what each takes.
//! The fake Graph API checks every request against it as Meta does.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::refusal::Refusal;

#[derive(Debug, Deserialize)]
pub struct Param {
    pub name: String,
    #[serde(default)]
    pub required: bool,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
pub struct Api {
    pub method: String,
    /// `None`: the node itself.
    pub endpoint: Option<String>,
    #[serde(rename = "return")]
    pub returns: Option<String>,
    #[serde(default)]
    pub params: Vec<Param>,
}

#[derive(Debug, Deserialize)]
struct Field {
    name: String,
}

#[derive(Debug, Deserialize)]
struct NodeFile {
    node: String,
    #[serde(default)]
    apis: Vec<Api>,
    #[serde(default)]
    fields: Vec<Field>,
    #[serde(default)]
    all_endpoints: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct EnumFile {
    name: String,
    values: Vec<String>,
}

pub struct NodeSpec {
    apis: Vec<Api>,
    fields: HashSet<String>,
    /// `METHOD edge` of every endpoint the node has in the full spec ("" = the node).
    all_endpoints: HashSet<String>,
}

pub struct Spec {
    nodes: HashMap<String, NodeSpec>,
    enums: HashMap<String, Vec<String>>,
}

/// Endpoints of the full spec outside the kept subset that the fake models all the same
/// (node, method, edge, node type returned); they take the global parameters only.
const MODELLED_EXTRA: [(&str, &str, &str, &str); 2] =
    [("IGUser", "GET", "live_media", "IGMedia"), ("IGUserForIGOnlyAPI", "GET", "live_media", "IGMedia")];

/// A request's parameters, from the query string, a form or a JSON body alike: strings from
/// the first two, JSON values from the last.
pub type Params = BTreeMap<String, Value>;

/// The spec, read once per process from the shared fixtures.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(Spec::load)
}

impl Spec {
    fn load() -> Spec {
        let dir = crate::fixtures::dir().join("specs");
        let read = |p: std::path::PathBuf| {
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("Meta's spec {}: {e}", p.display()))
        };
        let mut nodes = HashMap::new();
        for entry in std::fs::read_dir(dir.join("specs")).expect("Meta's spec folder") {
            let path = entry.expect("spec entry").path();
            let file: NodeFile = serde_json::from_str(&read(path.clone()))
                .unwrap_or_else(|e| panic!("Meta's spec {}: {e}", path.display()));
            let node = NodeSpec {
                apis: file.apis,
                fields: file.fields.into_iter().map(|f| f.name).collect(),
                all_endpoints: file.all_endpoints.into_iter().collect(),
            };
            nodes.insert(file.node, node);
        }
        let enums: Vec<EnumFile> = serde_json::from_str(&read(dir.join("enum_types.json"))).expect("enum types");
        Spec { nodes, enums: enums.into_iter().map(|e| (e.name, e.values)).collect() }
    }

    pub fn node(&self, name: &str) -> &NodeSpec {
        self.nodes.get(name).unwrap_or_else(|| panic!("node type {name} is not in the kept spec"))
    }

    /// Checks `method /{id}/{edge}` on a node of type `node` with `params`, as Meta does:
    /// the endpoint exists, required parameters are there, enums and lists of enums hold
    /// allowed values, objects are objects, `fields=` names fields of what it returns.
    pub fn check(&self, node: &str, id: &str, method: &str, edge: &str, params: &Params) -> Result<(), Refusal> {
        let spec = self.node(node);
        let key = format!("{method} {edge}");
        let extra = MODELLED_EXTRA.iter().find(|(n, m, e, _)| (*n, *m, *e) == (node, method, edge));
        if let Some((_, _, _, returns)) = extra.filter(|_| spec.all_endpoints.contains(&key)) {
            return match params.get("fields").and_then(Value::as_str) {
                Some(fields) => self.check_fields(returns, fields),
                None => Ok(()),
            };
        }
        let Some(api) = spec.apis.iter().find(|a| a.method == method && a.endpoint.as_deref().unwrap_or("") == edge)
        else {
            return Err(if spec.all_endpoints.contains(&key) {
                Refusal::not_modelled(format!("{method} /{node}/{edge} is in Meta's spec but not in the kept subset"))
            } else if edge.is_empty() {
                Refusal::unsupported(method, id)
            } else {
                Refusal::unknown_path(edge)
            });
        };
        for param in &api.params {
            match params.get(&param.name) {
                None if param.required => {
                    return Err(Refusal::param(format!("The parameter {} is required", param.name)));
                }
                None => {}
                Some(value) => self.check_type(&param.name, &param.kind, value)?,
            }
        }
        if method == "GET"
            && let Some(fields) = params.get("fields").and_then(Value::as_str)
        {
            let returned = if edge.is_empty() { Some(node) } else { api.returns.as_deref() };
            if let Some(returned) = returned.filter(|r| self.nodes.contains_key(*r)) {
                self.check_fields(returned, fields)?;
            }
        }
        Ok(())
    }

    /// Every top-level name of a `fields=` list (`a,b{c,d},e`) is a field of `node`, or one
    /// of its edges read in the same request (Graph's field expansion: `messages{id}`).
    pub fn check_fields(&self, node: &str, fields: &str) -> Result<(), Refusal> {
        let spec = self.node(node);
        for field in top_level_fields(fields) {
            if !spec.fields.contains(field) && !spec.all_endpoints.contains(&format!("GET {field}")) {
                return Err(Refusal::nonexisting_field(field, node));
            }
        }
        Ok(())
    }

    fn check_type(&self, name: &str, kind: &str, value: &Value) -> Result<(), Refusal> {
        if let Some(inner) = kind.strip_prefix("list<").and_then(|k| k.strip_suffix('>')) {
            let Some(items) = list_items(value) else {
                return Err(Refusal::param(format!("Param {name} must be an array.")));
            };
            for (i, item) in items.iter().enumerate() {
                self.check_type(&format!("{name}[{i}]"), inner, item)?;
            }
            return Ok(());
        }
        if let Some(values) = self.enums.get(kind) {
            let given = scalar(value);
            if !values.iter().any(|v| v.eq_ignore_ascii_case(&given)) {
                return Err(Refusal::param(format!(
                    "Param {name} must be one of {{{}}} - got \"{given}\"",
                    values.join(", ")
                )));
            }
            return Ok(());
        }
        match kind {
            "bool" if !matches!(scalar(value).as_str(), "true" | "false" | "1" | "0") => {
                Err(Refusal::param(format!("Param {name} must be a boolean")))
            }
            "int" | "unsigned int" if scalar(value).parse::<i64>().is_err() => {
                Err(Refusal::param(format!("Param {name} must be an integer")))
            }
            // The codegen types some plain strings as `Object` (`tag: "HUMAN_AGENT"`, as
            // Meta's Send API pages write it): only a map must be an object. The Send API's
            // own objects (`recipient`, `message`) are checked by its rules.
            "map" if as_object(value).is_none() => Err(Refusal::param(format!("Param {name} must be a JSON object"))),
            _ => Ok(()),
        }
    }
}

/// `a,b{c,d{e}},f` → `a`, `b`, `f`.
pub fn top_level_fields(fields: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0usize, 0usize, Vec::new());
    for (i, c) in fields.char_indices() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push(&fields[start..i]);
                }
                depth += 1;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                start = i + 1;
            }
            ',' if depth == 0 => {
                out.push(&fields[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&fields[start..]);
    out.into_iter().map(|f| f.trim().split('.').next().unwrap_or("")).filter(|f| !f.is_empty()).collect()
}

/// A value as Meta reads a scalar parameter.
pub fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON object, given as one or as a string holding one (form and query parameters).
pub fn as_object(value: &Value) -> Option<serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map.clone()),
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?.as_object().cloned(),
        _ => None,
    }
}

/// A list: a JSON array, or a string holding one, or a comma-separated string.
fn list_items(value: &Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items.clone()),
        Value::String(s) if s.trim_start().starts_with('[') => serde_json::from_str::<Vec<Value>>(s).ok(),
        Value::String(s) => Some(s.split(',').map(|v| Value::String(v.trim().to_owned())).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(pairs: &[(&str, Value)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn a_page_subscription_to_an_instagram_field_is_refused_as_meta_refuses_it() {
        let p = params(&[("subscribed_fields", json!("messages,messaging_postbacks,messaging_seen"))]);
        let refusal = spec().check("Page", "1", "POST", "subscribed_apps", &p).unwrap_err();
        assert!(
            refusal.message.starts_with("(#100) Param subscribed_fields[2] must be one of {affiliation,"),
            "{}",
            refusal.message
        );
        assert!(refusal.message.ends_with("- got \"messaging_seen\""), "{}", refusal.message);
        let ok = params(&[("subscribed_fields", json!("messages,message_reads,messaging_referrals"))]);
        spec().check("Page", "1", "POST", "subscribed_apps", &ok).unwrap();
        // The Instagram Login account's own enum has it.
        let ig = params(&[("subscribed_fields", json!(["messages", "messaging_seen"]))]);
        spec().check("IGUserForIGOnlyAPI", "1", "POST", "subscribed_apps", &ig).unwrap();
    }

    #[test]
    fn required_params_enums_objects_and_fields_are_checked() {
        let missing = spec().check("Page", "1", "POST", "messages", &params(&[])).unwrap_err();
        assert_eq!(missing.message, "(#100) The parameter recipient is required");
        let bad_enum = params(&[("recipient", json!({"id": "1"})), ("messaging_type", json!("RESPONSES"))]);
        assert!(spec().check("Page", "1", "POST", "messages", &bad_enum).is_err());
        let form_object = params(&[("recipient", json!("{\"id\":\"1\"}")), ("messaging_type", json!("RESPONSE"))]);
        spec().check("Page", "1", "POST", "messages", &form_object).unwrap();
        // No such edge on an Instagram business account: its sends go through the Page.
        let edge = spec().check("IGUser", "1", "POST", "messages", &params(&[])).unwrap_err();
        assert_eq!(edge.code, 2500);
        let fields = params(&[("fields", json!("id,name,access_token,instagram_business_account{id,username}"))]);
        spec().check("User", "me", "GET", "accounts", &fields).unwrap();
        let wrong = params(&[("fields", json!("permalink,usernames"))]);
        let refusal = spec().check("IGMedia", "1", "GET", "", &wrong).unwrap_err();
        assert_eq!(refusal.message, "(#100) Tried accessing nonexisting field (usernames) on node type (IGMedia)");
    }

    #[test]
    fn field_lists_are_read_at_the_top_level() {
        assert_eq!(top_level_fields("a,b{c,d{e}},f"), ["a", "b", "f"]);
        assert_eq!(top_level_fields("permalink"), ["permalink"]);
    }
}
