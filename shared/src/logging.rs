//! Logging set-up for every binary. The filter is `tracing_subscriber`'s `Targets`
//! (`target=level` directives), not `EnvFilter`: the same `RUST_LOG` syntax as far as targets
//! and levels go, without the regex engine span and field filters need (about 0.2 MB of every
//! Lambda binary).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The runtime crates log whole events (message text, tokens in OAuth callbacks) at debug and
/// trace: never below info for those, whatever `RUST_LOG` says.
const CAPPED_AT_INFO: [&str; 3] = ["lambda_runtime", "lambda_runtime_api_client", "lambda_http"];

/// JSON logs without timestamps in Lambda (CloudWatch adds them); readable ones locally.
/// `RUST_LOG` filters; without it (or when it does not parse), Lambda's `AWS_LAMBDA_LOG_LEVEL`
/// (the function's `LoggingConfig.ApplicationLogLevel`); else `info`.
pub fn init_tracing(json: bool) {
    let var = |name| std::env::var(name).ok();
    let filter = log_filter(var("RUST_LOG").as_deref(), var("AWS_LAMBDA_LOG_LEVEL").as_deref());
    // Colour codes only for a person's terminal: a file, a pipe or CloudWatch gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none();
    let layer = tracing_subscriber::fmt::layer().with_target(false).with_ansi(ansi);
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        // Each line names every span it is in (Lambda's request id and trace, the request or
        // job and its correlation id), once: the current span is the list's last, and naming
        // it again as `span` was a third of every line's bytes in CloudWatch.
        registry.with(layer.json().without_time().with_current_span(false).with_span_list(true)).try_init()
    } else {
        registry.with(layer).try_init()
    };
    let _ = result; // already initialised (tests): keep the first
}

/// The filter `RUST_LOG` (else the Lambda log level, else `info`) names, with the runtime
/// crates capped at info.
pub fn log_filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    let parse = |s: &str| s.trim().to_lowercase().parse::<Targets>().ok();
    // Lambda's levels are tracing's and FATAL, which tracing has not: the nearest is error.
    let lambda_level = lambda_level.map(|l| if l.eq_ignore_ascii_case("fatal") { "error" } else { l });
    let named = rust_log.filter(|s| !s.trim().is_empty()).and_then(parse).or_else(|| lambda_level.and_then(parse));
    let named = named.unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let capped = |target: &str| CAPPED_AT_INFO.iter().any(|c| target == *c || target.starts_with(&format!("{c}::")));
    let mut filter = Targets::new();
    if let Some(level) = named.default_level() {
        filter = filter.with_default(level);
    }
    filter = filter.with_targets(named.iter().filter(|(target, _)| !capped(target)));
    let cap = |level: LevelFilter| level.min(LevelFilter::INFO);
    for target in CAPPED_AT_INFO {
        let level = named.iter().find(|(t, _)| *t == target).map(|(_, l)| l).or(named.default_level());
        filter = filter.with_target(target, cap(level.unwrap_or(LevelFilter::OFF)));
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_wins_then_the_lambda_level_then_info() {
        let f = log_filter(Some("warn,inbox_shared=debug"), Some("error"));
        assert!(f.would_enable("inbox_shared::services", &Level::DEBUG));
        assert!(!f.would_enable("hyper", &Level::INFO));
        assert!(f.would_enable("hyper", &Level::WARN));

        for lambda_level in ["ERROR", "FATAL"] {
            let f = log_filter(None, Some(lambda_level));
            assert!(!f.would_enable("inbox_shared", &Level::WARN), "{lambda_level}");
            assert!(f.would_enable("inbox_shared", &Level::ERROR), "{lambda_level}");
        }

        // Unparseable or empty RUST_LOG: the next source, not silence.
        for rust_log in [Some("=bogus=="), Some(" "), None] {
            let f = log_filter(rust_log, None);
            assert!(f.would_enable("inbox_shared", &Level::INFO), "{rust_log:?}");
            assert!(!f.would_enable("inbox_shared", &Level::DEBUG), "{rust_log:?}");
        }
    }

    #[test]
    fn the_runtime_crates_never_log_below_info() {
        let f = log_filter(Some("trace,lambda_http=trace,lambda_runtime::layers=debug"), None);
        assert!(f.would_enable("inbox_shared", &Level::TRACE));
        for target in ["lambda_runtime", "lambda_runtime::layers", "lambda_runtime_api_client", "lambda_http::request"]
        {
            assert!(f.would_enable(target, &Level::INFO), "{target}");
            assert!(!f.would_enable(target, &Level::DEBUG), "{target}");
        }
        // A quieter setting for them is kept.
        let f = log_filter(Some("info,lambda_runtime=error"), None);
        assert!(!f.would_enable("lambda_runtime", &Level::WARN));
        assert!(f.would_enable("lambda_runtime_api_client", &Level::INFO));
        // Off stays off.
        assert!(!log_filter(Some("off"), None).would_enable("lambda_http", &Level::ERROR));
    }
}
