use clap::Parser;
use moodring::app::Bound;
use moodring::config::{Cli, Command, ServeArgs};
use moodring::{api, store::Store, telemetry};

/// mimalloc rather than glibc's malloc: GET mood served 23-25 % more requests per second on the
/// same CPU (benches/RESULTS.md), and it returns big blocks — argon2's 19 MiB per verification —
/// to the OS when freed, where glibc's adaptive mmap threshold moved them onto the heap for good
/// (SQLite soak: RSS 109 -> 305 MB in 5 minutes before a fixed threshold was set).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Openapi) => {
            println!("{}", api::spec_json());
            Ok(())
        }
        Some(Command::Migrate(db)) => {
            telemetry::init(telemetry::LogFormat::Plain);
            Store::connect(&db.store_options()).await?.migrate().await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(Command::Serve(args)) => serve(args).await,
        None => serve(cli.serve).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init(args.log_format);
    let server = Bound::new(&args.server_options(), &args.bind).await?;
    tracing::info!(addr = %server.local_addr(), database = ?args.database, "moodring listening");
    server.run_until(shutdown_signal()).await?;
    tracing::info!("moodring stopped");
    Ok(())
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler installs");
        tokio::select! { _ = interrupt => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
