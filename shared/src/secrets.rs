//! Secrets read at cold start from SSM Parameter Store instead of the plain environment.
//!
//! For each secret variable `X` below, `X_PARAM` names a parameter: a SecureString, or a
//! Secrets Manager secret through `/aws/reference/secretsmanager/<id>`. All of them come in one
//! `GetParameters` call (decrypted by SSM), before the configuration is parsed; a missing or
//! unreadable parameter stops the start. A plain `X` is still accepted (the local server, tests),
//! with a warning in production. Values are never logged.

use std::collections::HashMap;

use anyhow::Context;

use crate::config::{AppEnv, Config};

/// The variables that hold secrets, each of which may come from `<NAME>_PARAM`.
pub const SECRET_VARS: [&str; 6] = [
    "META_APP_SECRET",
    "INSTAGRAM_APP_SECRET",
    "INSTAGRAM_VERIFY_TOKEN",
    "AUTH_JWT_SECRET",
    "TOKEN_ENCRYPTION_KEY",
    "TOKEN_ENCRYPTION_KEYS",
];

/// `GetParameters` takes at most 10 names; there are fewer secrets than that.
const _: () = assert!(SECRET_VARS.len() <= 10);

/// The parameters to read: (secret variable, parameter name) for each `<NAME>_PARAM` set.
/// Setting both `X` and `X_PARAM` is refused: which one wins would be a guess.
pub fn wanted_parameters(lookup: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Vec<(&'static str, String)>> {
    let set = |k: &str| lookup(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut wanted = Vec::new();
    for var in SECRET_VARS {
        if let Some(name) = set(&format!("{var}_PARAM")) {
            anyhow::ensure!(set(var).is_none(), "set {var} or {var}_PARAM, not both");
            wanted.push((var, name));
        }
    }
    Ok(wanted)
}

/// Reads `wanted` in one decrypted `GetParameters` call: secret variable → value.
pub async fn fetch(
    client: &aws_sdk_ssm::Client,
    wanted: &[(&'static str, String)],
) -> anyhow::Result<HashMap<&'static str, String>> {
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let names: Vec<String> = wanted.iter().map(|(_, name)| name.clone()).collect();
    let answer = client
        .get_parameters()
        .set_names(Some(names))
        .with_decryption(true)
        .send()
        .await
        .context("reading secrets from SSM Parameter Store")?;
    let by_name: HashMap<&str, &str> =
        answer.parameters().iter().filter_map(|p| Some((p.name()?, p.value()?))).collect();
    let mut values = HashMap::new();
    for (var, name) in wanted {
        let value = answered_names(name)
            .find_map(|n| by_name.get(n))
            .ok_or_else(|| anyhow::anyhow!("{var}_PARAM names {name}, which does not exist or cannot be read"))?;
        values.insert(*var, (*value).to_owned());
    }
    Ok(values)
}

/// The names an answer may give the parameter asked for as `name`: itself; for a Secrets
/// Manager reference, also the secret's id; for an ARN, also the parameter's name.
fn answered_names(name: &str) -> impl Iterator<Item = &str> {
    let secret = name.strip_prefix("/aws/reference/secretsmanager/");
    let from_arn = name.starts_with("arn:").then(|| name.split_once(":parameter").map(|(_, n)| n)).flatten();
    std::iter::once(name).chain(secret).chain(from_arn)
}

/// The configuration of a process: the environment, with the secrets named by `*_PARAM` read
/// from Parameter Store first. `needs` are the secrets this process uses; production refuses to
/// start without them. Also the AWS SDK configuration, loaded by `load_sdk` when reading the
/// secrets needed it, so the cold start loads it once (`runtime::assemble`).
pub async fn load_config<Loading: std::future::Future<Output = aws_config::SdkConfig>>(
    default_env: AppEnv,
    needs: &[&'static str],
    load_sdk: impl FnOnce() -> Loading,
) -> anyhow::Result<(Config, Option<aws_config::SdkConfig>)> {
    let env = |k: &str| std::env::var(k).ok();
    let wanted = wanted_parameters(&env)?;
    let sdk = match wanted.is_empty() {
        true => None,
        false => Some(load_sdk().await),
    };
    let fetched = match &sdk {
        None => HashMap::new(),
        Some(sdk) => fetch(&aws_sdk_ssm::Client::new(sdk), &wanted).await?,
    };
    let lookup = |k: &str| fetched.get(k).cloned().or_else(|| env(k));
    let config = Config::from_lookup_needing(default_env, needs, lookup)?;
    if !config.is_development() {
        let plain: Vec<&str> =
            SECRET_VARS.into_iter().filter(|v| !fetched.contains_key(v) && env(v).is_some()).collect();
        if !plain.is_empty() {
            tracing::warn!(?plain, "secrets read from the plain environment; name SSM parameters with *_PARAM instead");
        }
    }
    Ok((config, sdk))
}
