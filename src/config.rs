//! The command line: defaults compiled in, overridden by flags or environment variables.

use crate::api::body::BodyLimit;
use crate::auth::AuthThrottle;
use crate::engine::Models;
use crate::server::ServerOptions;
use crate::state::Clock;
use crate::store::StoreOptions;
use crate::telemetry::LogFormat;
use crate::webhooks::address::Policy;
use clap::{Args, Parser, Subcommand};
use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "moodring", version, about = "Infers how a person feels from what they do.")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve`'s options, for when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The options the server runs with, if the command runs it.
    pub fn serve_args(&self) -> Option<&ServeArgs> {
        match &self.command {
            Some(Command::Serve(args)) => Some(args),
            None => Some(&self.serve),
            Some(_) => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Add a new key for signing session tokens; the older ones keep verifying until their
    /// tokens have expired. Every server signs with the new one within a minute.
    RotateSigningKey(DatabaseArgs),
    /// Print the OpenAPI spec as JSON to stdout (no database needed).
    Openapi,
}

#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://moodring.db?mode=rwc")]
    pub database_url: String,
    /// PostgreSQL pool size; number of SQLite read connections.
    #[arg(long, env = "MOODRING_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// SQLite only: fsync every commit (`full`) instead of at checkpoints (`normal`).
    #[arg(long, env = "MOODRING_SQLITE_SYNCHRONOUS", default_value = "normal", value_parser = ["normal", "full"])]
    pub sqlite_synchronous: String,
}

/// Database URLs carry passwords: never print one.
impl fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &redact(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .finish()
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

impl DatabaseArgs {
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            url: self.database_url.clone(),
            max_connections: self.db_max_connections,
            sqlite_synchronous_full: self.sqlite_synchronous == "full",
        }
    }
}

#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MOODRING_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Log as plain text or as JSON lines.
    #[arg(long, env = "MOODRING_LOG_FORMAT", value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MOODRING_MAX_BODY_BYTES", default_value_t = BodyLimit::default().0)]
    pub max_body_bytes: usize,
    /// Failed authentications per client address per minute before 429 (0: no limit).
    #[arg(long, env = "MOODRING_AUTH_FAILURE_LIMIT", default_value_t = AuthThrottle::MAX_FAILURES)]
    pub auth_failure_limit: u32,
    /// HTTP worker threads, each serving its share of the connections (default: one per core).
    #[arg(long, env = "MOODRING_WORKERS", default_value_t = default_workers())]
    pub workers: NonZeroUsize,
    /// The session model new sessions start under: session-4 (the default), or an earlier one:
    /// session-1 (set by reasoning), session-2 or session-3 (earlier fits to the behaviour
    /// simulator; benches/MODEL.md). Sessions keep the model they started under, so this never
    /// changes what a stored session answers.
    #[arg(long, env = "MOODRING_SESSION_MODEL", value_parser = session_model)]
    pub session_model: Option<String>,
    /// A token `GET /metrics` then asks for as `Authorization: Bearer <token>` (default: none,
    /// for a port only the scraper reaches).
    #[arg(long, env = "MOODRING_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Seconds between sweeps that remove data older than each tenant's retention, the first
    /// at start (0: never sweep).
    #[arg(long, env = "MOODRING_RETENTION_SWEEP_SECS", default_value_t = 3600)]
    pub retention_sweep_secs: u64,
    /// Let webhooks reach private, loopback and link-local addresses, over plain http too (for
    /// tests and on-premises receivers). Cloud metadata addresses stay refused.
    #[arg(long, env = "MOODRING_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub webhook_allow_private: bool,
    /// Webhook deliveries this replica sends at once (0: it sends none, leaving them to other
    /// replicas).
    #[arg(long, env = "MOODRING_WEBHOOK_CONCURRENCY", default_value_t = 32)]
    pub webhook_concurrency: usize,
}

fn session_model(version: &str) -> Result<String, String> {
    let models = Models::default();
    if models.knows_session(version) {
        return Ok(version.to_owned());
    }
    let known: Vec<&str> = models.sessions().map(|m| m.version.as_str()).collect();
    Err(format!("no session model {version} (known: {})", known.join(", ")))
}

fn default_workers() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

impl ServeArgs {
    pub fn server_options(&self) -> ServerOptions {
        ServerOptions {
            store: self.database.store_options(),
            body_limit: BodyLimit(self.max_body_bytes),
            clock: Clock::default(),
            auth_failure_limit: self.auth_failure_limit,
            workers: self.workers,
            models: match &self.session_model {
                Some(version) => Models::default().with_session(version).expect("checked when parsed"),
                None => Models::default(),
            },
            metrics_token: self.metrics_token.clone().filter(|t| !t.is_empty()),
            retention_sweep: (self.retention_sweep_secs > 0).then(|| Duration::from_secs(self.retention_sweep_secs)),
            compaction: Some(Duration::from_secs(1)),
            webhook_policy: Policy { allow_private: self.webhook_allow_private },
            webhook_concurrency: self.webhook_concurrency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/mood"), "postgres://app:***@db:5432/mood");
        assert_eq!(redact("postgres://app@db/mood"), "postgres://app@db/mood");
        assert_eq!(redact("sqlite://moodring.db?mode=rwc"), "sqlite://moodring.db?mode=rwc");
    }

    #[test]
    fn serve_is_the_default() {
        let cli = Cli::parse_from(["moodring", "--bind", "0.0.0.0:9000"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.bind, "0.0.0.0:9000");
        assert!(matches!(Cli::parse_from(["moodring", "openapi"]).command, Some(Command::Openapi)));
    }

    #[test]
    fn private_webhook_receivers_are_allowed_only_when_asked() {
        let allowed = |args: &[&str]| Cli::parse_from(args).serve.server_options().webhook_policy.allow_private;
        assert!(!allowed(&["moodring"]));
        assert!(allowed(&["moodring", "--webhook-allow-private"]));
        assert!(allowed(&["moodring", "--webhook-allow-private", "true"]));
        assert!(!allowed(&["moodring", "--webhook-allow-private", "false"]));
    }

    #[test]
    fn new_sessions_can_be_held_on_an_earlier_model() {
        let cli = Cli::parse_from(["moodring", "--session-model", "session-2"]);
        let models = cli.serve.server_options().models;
        assert_eq!(models.session.version, "session-2");
        assert!(models.other_sessions.iter().any(|m| m.version == Models::default().session.version));
        let err = Cli::try_parse_from(["moodring", "--session-model", "session-9"]).unwrap_err().to_string();
        assert!(err.contains("no session model session-9 (known: session-"), "{err}");
    }
}
