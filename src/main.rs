use clap::Parser;
use moodring::config::{Cli, Command, ServeArgs};
use moodring::server::Bound;
use moodring::store::{Store, signing_keys};
use moodring::{api, telemetry};

fn main() -> anyhow::Result<()> {
    return_big_allocations_to_the_os();
    let cli = Cli::parse();
    let lanes = cli.serve_args().map_or(1, |args| args.database.store_options().ingest_lanes());
    shared_runtime(lanes)?.block_on(run(cli))
}

/// The runtime of ingest, the pools and the accept loop (HTTP runs on workers of its own): a
/// thread per ingest lane, at least one per core. With fewer threads than lanes (PostgreSQL
/// ran two per core until session 22), a lane whose database reply had arrived waited while other lanes ran
/// the engine, its connection idle in its transaction; on SQLite (one lane) more threads only
/// cost (both measured in benches/RESULTS.md).
fn shared_runtime(lanes: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    tokio::runtime::Builder::new_multi_thread().worker_threads(lanes.max(cores)).enable_all().build()
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
        Some(Command::RotateSigningKey(db)) => {
            telemetry::init(telemetry::LogFormat::Plain);
            let store = Store::connect(&db.store_options()).await?;
            store.migrate().await?;
            let key = signing_keys::rotate(&store, chrono::Utc::now()).await?;
            tracing::info!(generation = key.generation, kid = %key.kid, "signing key added");
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

/// Every argon2 verification allocates 19 MiB. glibc serves a first allocation that big with
/// mmap, but after freeing it raises its mmap threshold and serves the next ones from the heap,
/// which other allocations then pin: under a steady load RSS grew by about that much at every
/// key-cache expiry (the soak in benches/RESULTS.md). A fixed threshold keeps big
/// allocations in mmap, returned to the OS when freed.
fn return_big_allocations_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread is started.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
