use clap::Parser;
use moodring::app::Bound;
use moodring::config::{Cli, Command, ServeArgs};
use moodring::{api, store::Store, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
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
