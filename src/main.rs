//! The `procure` command: parse the command line, then call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "procure",
    version,
    about = "Ledger of government-purchased social-organisation services"
)]
struct Cli {
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB (default: procure.db here)
    #[arg(long, global = true, env = "DATABASE_URL", default_value = procure::db::DEFAULT_URL, hide_default_value = true)]
    database: String,

    /// Language of messages and reports
    #[arg(long, global = true, value_enum, default_value = "zh")]
    lang: procure::Lang,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or update the database schema
    Migrate,
    /// Import registers (contracts, disbursements, service reports) from Excel or CSV files
    Import {
        /// xlsx, xlsm, xls, xlsb, ods, csv or tsv files, imported in order
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Check everything and report, but store nothing
        #[arg(long)]
        dry_run: bool,
        /// Print the result as one JSON document
        #[arg(long)]
        json: bool,
        /// Read every sheet as this kind instead of recognising it from its header
        #[arg(long, value_enum)]
        kind: Option<procure::imports::SheetKind>,
        /// Largest file accepted, in MB
        #[arg(long, default_value_t = 50)]
        max_file_mb: u64,
        /// Most rows read from one sheet
        #[arg(long, default_value_t = 1_048_576)]
        max_rows: u32,
    },
    /// Run the web server
    Serve {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
    },
    /// Write the sample register (--sample) or a seeded synthetic register for demos and benchmarks
    Generate {
        /// Write the 97-contract sample register, its csv copies and the blank template
        #[arg(long, conflicts_with_all = ["seed", "contracts", "payments", "services", "format"])]
        sample: bool,
        /// Output folder [default: imports with --sample, generated otherwise]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Same seed, same files
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of contracts (项目合同 rows)
        #[arg(long, default_value_t = 1_000)]
        contracts: usize,
        /// Number of payments (拨付记录 rows)
        #[arg(long, default_value_t = 100_000)]
        payments: usize,
        /// Number of monthly service reports (服务统计 rows), at most 36 per contract
        #[arg(long, default_value_t = 12_000)]
        services: usize,
        /// Files to write
        #[arg(long, value_enum, default_value = "both")]
        format: procure::generate::FileFormat,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,procure=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("procure: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("procure: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Migrate => {
            let db = procure::db::connect(&cli.database).await?;
            let version = procure::db::schema_version(&db).await?;
            println!(
                "schema up to date: {}",
                version.unwrap_or_else(|| "(none)".into())
            );
        }
        Command::Import {
            files,
            dry_run,
            json,
            kind,
            max_file_mb,
            max_rows,
        } => {
            let db = procure::db::connect(&cli.database).await?;
            let limits = procure::imports::Limits {
                max_file_bytes: max_file_mb.saturating_mul(1 << 20),
                max_rows,
                ..Default::default()
            };
            let opts = procure::imports::ImportOptions {
                dry_run,
                kind,
                lang: cli.lang,
                limits,
                actor: procure::cli_import::os_user(),
            };
            if !procure::cli_import::run(&db, &files, &opts, json).await? {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Serve { addr } => {
            let db = procure::db::connect(&cli.database).await?;
            procure::web::serve(db, &addr).await?;
        }
        Command::Generate {
            sample,
            out,
            seed,
            contracts,
            payments,
            services,
            format,
        } => {
            let written = if sample {
                procure::generate::write_sample(&out.unwrap_or_else(|| "imports".into()))?
            } else {
                procure::generate::generate(&procure::generate::GenerateOptions {
                    out: out.unwrap_or_else(|| "generated".into()),
                    seed,
                    contracts,
                    payments,
                    services,
                    format,
                })?
            };
            for path in written {
                println!("{}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
