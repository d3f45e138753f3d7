//! `inbox-local token <org>` prints a bearer token the local server accepts for that
//! organization. (This test also makes `cargo test` build the binary that the test command
//! then runs schemathesis against.)

use std::process::Command;

#[test]
fn the_token_command_prints_a_token_for_the_organization() {
    let out = Command::new(env!("CARGO_BIN_EXE_inbox-local"))
        .args(["token", "org_cli"])
        .env("APP_ENV", "development")
        .env_remove("AUTH_JWT_SECRET")
        .current_dir(std::env::temp_dir()) // no .env
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let config = inbox_shared::config::Config::from_lookup(inbox_shared::config::AppEnv::Development, |k| {
        (k == "APP_ENV").then(|| "development".to_owned())
    })
    .unwrap();
    let caller = inbox_shared::http::caller_from_jwt(&config, token.trim()).unwrap();
    assert_eq!(caller.organization_id, "org_cli");
}
