//! `inbox-local doctor [org]`: asks the real Graph API, with the configured app and each
//! connected account's token, what is really set up, and prints every check with its fix.
//! Exits 1 when a check failed.

use anyhow::Context;
use inbox_shared::config::Config;
use inbox_shared::services::{CheckStatus, HealthReport};

pub async fn run(config: Config, sdk: Option<aws_config::SdkConfig>, org: Option<&str>) -> anyhow::Result<bool> {
    let org = org
        .map(str::to_owned)
        .or_else(|| config.default_organization_id.clone())
        .context("name the organization: inbox-local doctor <org>")?;
    let app = config.meta_app_id.clone().unwrap_or_else(|| "(META_APP_ID unset)".into());
    let accounts = inbox_shared::local::build_reading_services(config, sdk).await?.services.accounts;
    let reports =
        accounts.setup_health(&org).await.map_err(|e| anyhow::anyhow!("{}: {}", e.code.as_str(), e.message))?;
    println!("Meta setup of organization {org}, app {app}");
    for report in &reports {
        print_report(report);
    }
    let failed: usize = reports.iter().flat_map(|r| &r.checks).filter(|c| c.status == CheckStatus::Fail).count();
    match failed {
        0 => println!("\nhealthy: every check passed"),
        n => println!("\nunhealthy: {n} check(s) failed"),
    }
    Ok(failed == 0)
}

fn print_report(report: &HealthReport) {
    match &report.account_id {
        Some(account) => println!("\naccount {account}"),
        None => println!("\napp"),
    }
    for check in &report.checks {
        let status = match check.status {
            CheckStatus::Pass => "PASS",
            CheckStatus::Warn => "WARN",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Skipped => "SKIP",
        };
        println!("  {status}  {:<24} {}", check.id, check.detail);
        if let Some(fix) = &check.fix {
            println!("        fix: {fix}");
        }
    }
}
