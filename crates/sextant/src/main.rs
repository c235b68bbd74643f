//! The `sextant` binary: one process that ingests OTLP, stores traces durably and serves them.

mod bench;
mod config;
mod costs;
mod demo;
mod serve;

use std::path::PathBuf;

/// Decoding OTLP allocates a string per attribute key and value; mimalloc makes that cheap and
/// keeps fragmentation (and so RSS) down.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "sextant",
    version,
    about = "Self-hosted observability for LLM and agent applications, in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: OTLP on 4317/4318, query APIs on 3200, data in ./sextant-data
    Serve(ServeArgs),
    /// Send realistic GenAI agent traffic to a running server
    Demo(demo::DemoArgs),
    /// Measure decode and query speed (see BENCHMARKS.md)
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Cost maintenance: `sextant costs recompute --since 24h` reprices stored spans
    #[command(subcommand)]
    Costs(costs::CostsCommand),
    /// Print the version
    Version,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// TOML configuration file (see sextant.example.toml); keys can also be set with SEXTANT_* variables
    #[arg(long, short, env = "SEXTANT_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides storage.data_dir)
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Demo(args) => {
            init_logging("warn");
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(demo::run(&args)).map(|_| ())
        }
        Command::Bench(cmd) => {
            init_logging("warn");
            bench::run(cmd)
        }
        Command::Costs(cmd) => {
            init_logging("warn");
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(costs::run(cmd))
        }
        Command::Version => {
            println!("sextant {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    let mut config = config::Config::load(args.config.as_deref(), std::env::vars())?;
    if let Some(dir) = args.data_dir {
        config.storage.data_dir = dir;
    }
    init_logging(&config.log.level);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve::run(config))
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
