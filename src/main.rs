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

    /// The bureau's time zone (IANA name): where its days begin and end, for as-of dates,
    /// "today" and times shown
    #[arg(long, global = true, env = "PROCURE_TIMEZONE", default_value = "Asia/Shanghai", value_parser = procure::dates::parse_zone)]
    timezone: chrono_tz::Tz,

    /// A budget line of an ended year is under-executed (an exception) when less than this
    /// percentage of it was disbursed by 31 December
    #[arg(long, global = true, env = "PROCURE_BUDGET_UNDEREXECUTED_PCT", default_value = "50", value_parser = procure::budgets::parse_pct)]
    budget_underexecuted_pct: rust_decimal::Decimal,
    #[command(flatten)]
    evaluations: EvaluationArgs,

    #[command(subcommand)]
    command: Command,
}

/// The grade thresholds of evaluation scores and the days an end-of-term evaluation may
/// wait after a term ends (`procure::evaluations::Settings`); they apply to `import`,
/// `report` and `serve`.
#[derive(clap::Args)]
struct EvaluationArgs {
    /// Lowest score graded 优秀 (excellent)
    #[arg(long, global = true, env = "PROCURE_GRADE_EXCELLENT", default_value = "90", value_parser = parse_score)]
    grade_excellent: procure::evaluations::Score,
    /// Lowest score graded 良好 (good)
    #[arg(long, global = true, env = "PROCURE_GRADE_GOOD", default_value = "80", value_parser = parse_score)]
    grade_good: procure::evaluations::Score,
    /// Lowest score graded 合格 (pass); below it is 不合格 (fail)
    #[arg(long, global = true, env = "PROCURE_GRADE_PASS", default_value = "60", value_parser = parse_score)]
    grade_pass: procure::evaluations::Score,
    /// Days after a term's end before a missing end-of-term evaluation is overdue
    #[arg(
        long,
        global = true,
        env = "PROCURE_EVALUATION_OVERDUE_DAYS",
        default_value_t = 90
    )]
    evaluation_overdue_days: u32,
}

fn parse_score(s: &str) -> Result<procure::evaluations::Score, String> {
    s.parse::<rust_decimal::Decimal>()
        .ok()
        .and_then(procure::evaluations::Score::new)
        .ok_or_else(|| format!("'{s}' is not a score from 0 to 100 with at most two decimals"))
}

#[derive(Subcommand)]
enum UserAction {
    /// Add an account; the password is asked for (or read from standard input)
    Add {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: procure::access::Role,
    },
    /// List the accounts
    List,
    /// Disable an account: it can no longer sign in, and its sessions end
    Disable { name: String },
    /// Enable a disabled account
    Enable { name: String },
    /// Set a new password (asked for, or read from standard input); the account's sessions end
    Passwd { name: String },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token acting as ACCOUNT; it is printed once and stored only as a hash
    Create {
        account: String,
        /// What the token is for
        #[arg(long, default_value = "script")]
        label: String,
    },
    /// List the tokens (never their values)
    List,
    /// Revoke a token by its id
    Revoke { id: i64 },
}

fn parse_role(s: &str) -> Result<procure::access::Role, String> {
    procure::access::Role::parse(s)
        .ok_or_else(|| format!("unknown role '{s}': use admin, finance, auditor or manager"))
}

/// A password from the terminal (twice, not echoed), or one line of standard input.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        let again = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

#[derive(Subcommand)]
enum ExportWhat {
    /// The register (contracts, payments with their reversals, service reports, budget
    /// lines) in the import template's layout: edit it and import it again
    Register {
        /// Only what had happened by this date (default: everything recorded)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// One workbook (xlsx), or one csv per sheet in a folder (csv)
        #[arg(long, value_enum, default_value = "xlsx")]
        format: procure::reports::register::RegisterFormat,
        /// The file (xlsx; '-' for standard output) or folder (csv) to write [default:
        /// register.xlsx or register/, with the as-of date in the name when given]
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Open Contracting Data Standard 1.1.5: a release or record package, one ocid per contract
    Ocds {
        /// The date the export is for (default: today)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// Only what had been imported by the end of this day counts
        #[arg(long, value_parser = parse_date)]
        as_recorded: Option<chrono::NaiveDate>,
        /// A release package (every release) or a record package (releases and compiled release per ocid)
        #[arg(long, value_enum, default_value = "release")]
        package: procure::ocds::PackageKind,
        /// The ocid prefix; kept in the database once given (default: the kept one, else ocds-procure)
        #[arg(long)]
        ocid_prefix: Option<String>,
        /// Where to write it (- for standard output, the default)
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Create or update the database schema
    Migrate,
    /// Import registers (contracts, disbursements, service reports, budget lines, evaluations) from Excel or CSV files
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
        kind: Option<procure::register::columns::SheetKind>,
        /// Largest file accepted, in MB
        #[arg(long, default_value_t = 50)]
        max_file_mb: u64,
        /// Most rows read from one sheet
        #[arg(long, default_value_t = 1_048_576)]
        max_rows: u32,
        /// Keep a copy of each stored file in the database, downloadable from the imports
        /// page like an upload's (costs memory on very large files)
        #[arg(long)]
        keep_original: bool,
    },
    /// Make a report: summary, spend, beneficiaries, contracts, exceptions, history, budget or providers
    Report {
        #[arg(value_enum)]
        name: procure::reports::ReportName,
        /// The date the report is for (default: today)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// Count payments, service periods and changes from this date
        #[arg(long, value_parser = parse_date)]
        from: Option<chrono::NaiveDate>,
        /// Group by these, comma-separated: category, provider, street, community, purchaser, funding, method, month, quarter, year
        #[arg(long, value_enum, value_delimiter = ',')]
        by: Vec<procure::reports::Dim>,
        /// Only this category (Chinese or English name)
        #[arg(long)]
        category: Option<String>,
        /// Only this sub-district (街道)
        #[arg(long)]
        street: Option<String>,
        /// Only this provider (name or USCC)
        #[arg(long)]
        provider: Option<String>,
        /// Output format (default: a table on the terminal)
        #[arg(long, value_enum)]
        format: Option<procure::reports::writers::OutputFormat>,
        /// Where to write (default: reports/NAME-ASOF.EXT; '-' for standard output)
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// What the report would have said on this day: only what had been imported by then
        #[arg(long, value_parser = parse_date)]
        as_recorded: Option<chrono::NaiveDate>,
    },
    /// Export the ledger: `register` in the import template's layout, `ocds` as Open
    /// Contracting Data
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Run the web server
    Serve {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Largest upload accepted, in MB (all files of one upload together)
        #[arg(long, default_value_t = 50)]
        max_upload_mb: u64,
        /// Most rows read from one sheet of an upload
        #[arg(long, default_value_t = 1_048_576)]
        max_rows: u32,
        /// Unconfirmed previews one account may keep (uploads, each of one or more files)
        #[arg(long, default_value_t = 20)]
        max_previews: u64,
        /// Bytes of unconfirmed previews one account may keep, in MB
        #[arg(long, default_value_t = 200)]
        max_preview_mb: u64,
        /// How often expired previews are purged, in minutes
        #[arg(long, default_value_t = 60)]
        purge_minutes: u64,
        /// How often to look for imports made by other processes, in milliseconds
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
        /// SQLite: how long a sign-in, a preview or another write waits for an import this
        /// server is running before it is told to try again, in seconds
        #[arg(long, default_value_t = 120)]
        write_wait_secs: u64,
        /// Let anonymous visitors see the aggregate figures (/public, /api/v1/summary)
        #[arg(long)]
        public: bool,
        /// Mark cookies Secure (when TLS ends at a proxy that does not send X-Forwarded-Proto)
        #[arg(long)]
        secure_cookies: bool,
        /// A load balancer or proxy whose X-Forwarded-For is believed (repeat for several)
        #[arg(long = "trusted-proxy")]
        trusted_proxies: Vec<std::net::IpAddr>,
        /// Memory for cached figures (the dashboard and the summary of every as-of date asked
        /// for), in MB; the least recently used go first
        #[arg(long, default_value_t = 64)]
        cache_mb: usize,
        /// Figures not yet cached that one anonymous address may have computed per minute
        #[arg(long, default_value_t = 20)]
        public_per_minute: u32,
        /// Figures not yet cached computed at a time for one anonymous address
        #[arg(long, default_value_t = 1)]
        public_per_address: usize,
        /// Figures not yet cached computed at a time for all anonymous visitors together
        #[arg(long, default_value_t = 2)]
        public_concurrent: usize,
        /// Create (or reset) one account per role, demo-admin, demo-finance, demo-auditor and
        /// demo-manager, and print their new passwords once
        #[arg(long)]
        demo: bool,
    },
    /// Back up the database to a new file: a consistent copy of the SQLite file (VACUUM INTO)
    /// while the program runs, or pg_dump's custom format for PostgreSQL
    Backup {
        /// The file to write (it must not exist)
        out: PathBuf,
    },
    /// Accounts: add, list, disable, enable, passwd
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// API tokens for scripts: create, list, revoke
    Token {
        #[command(subcommand)]
        action: TokenAction,
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
        format: procure::sample::SampleFormat,
    },
}

/// glibc raises its mmap threshold to the size of each large block freed (up to 32 MB), after
/// which large buffers (a chunk of rows, a COPY part, a table's growth) come from the heap and
/// stay in the process when freed. Fixed at glibc's starting 128 KiB, they are mapped and
/// unmapped as they come and go: a million-payment import peaks 10-11 MB lower, no slower
/// (mallopt(3), M_MMAP_THRESHOLD).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_blocks_mapped() {
    // SAFETY: mallopt only changes a setting of the allocator; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_blocks_mapped() {}

fn main() -> ExitCode {
    keep_large_blocks_mapped();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,procure=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // The first and only setting of the zone in this process.
    let _ = procure::dates::set_zone(cli.timezone);
    // Likewise the budget exceptions' threshold, read by every report and page.
    let _ = procure::budgets::set_settings(procure::budgets::Settings {
        underexecuted_below_pct: cli.budget_underexecuted_pct,
    });
    let evaluations = procure::evaluations::Settings {
        excellent: cli.evaluations.grade_excellent,
        good: cli.evaluations.grade_good,
        pass: cli.evaluations.grade_pass,
        overdue_days: cli.evaluations.evaluation_overdue_days,
    };
    if let Err(e) = evaluations.validate() {
        eprintln!("procure: {e}");
        return ExitCode::FAILURE;
    }
    // Like the zone: set once, read by imports, reports and the server.
    let _ = evaluations.install();
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
            keep_original,
        } => {
            let db = procure::db::connect(&cli.database).await?;
            procure::imports::recover_interrupted(&db).await?;
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
                address: None,
                keep_original,
                evaluations: procure::evaluations::Settings::current(),
            };
            if !procure::cli_import::run(&db, &files, &opts, json).await? {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Report {
            name,
            as_of,
            from,
            by,
            category,
            street,
            provider,
            format,
            output,
            as_recorded,
        } => {
            let category = match category {
                None => None,
                Some(c) => Some(procure::contracts::Category::parse(&c).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown category '{c}': use {}",
                        procure::contracts::Category::expected()
                    )
                })?),
            };
            let scope = procure::reports::Scope {
                as_of: as_of.unwrap_or_else(procure::dates::today),
                from,
                as_recorded,
                category,
                street,
                provider,
            };
            let db = procure::db::connect(&cli.database).await?;
            let req = procure::reports::Request {
                name,
                scope,
                by,
                lang: cli.lang,
                evaluations: procure::evaluations::Settings::current(),
            };
            let report = procure::reports::build(&db, &req).await?;
            let format = format.unwrap_or(procure::reports::writers::OutputFormat::Table);
            let bytes = procure::reports::writers::write(&report, format)?;
            let to_stdout = match &output {
                Some(p) => p.as_os_str() == "-",
                None => format == procure::reports::writers::OutputFormat::Table,
            };
            if to_stdout {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                if let Err(e) = out.write_all(&bytes).and_then(|_| out.flush()) {
                    if e.kind() != std::io::ErrorKind::BrokenPipe {
                        return Err(e.into());
                    }
                }
            } else {
                let path = output.unwrap_or_else(|| {
                    std::path::PathBuf::from("reports").join(format!(
                        "{}-{}.{}",
                        name.code(),
                        report.as_of,
                        format.extension()
                    ))
                });
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
                }
                std::fs::write(&path, &bytes)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                eprintln!("{}", path.display());
            }
        }
        Command::Export {
            what:
                ExportWhat::Register {
                    as_of,
                    format,
                    output,
                },
        } => {
            let db = procure::db::connect(&cli.database).await?;
            export_register(&db, as_of, format, output).await?;
        }
        Command::Serve {
            addr,
            max_upload_mb,
            max_rows,
            max_previews,
            max_preview_mb,
            purge_minutes,
            poll_ms,
            write_wait_secs,
            public,
            secure_cookies,
            trusted_proxies,
            cache_mb,
            public_per_minute,
            public_per_address,
            public_concurrent,
            demo,
        } => {
            let db = procure::db::connect(&cli.database).await?;
            procure::imports::recover_interrupted(&db).await?;
            if demo {
                demo_accounts(&db).await?;
            }
            let max_upload_bytes = max_upload_mb.saturating_mul(1 << 20);
            let config = procure::web::state::WebConfig {
                max_upload_bytes,
                limits: procure::imports::Limits {
                    max_file_bytes: max_upload_bytes,
                    max_rows,
                    ..Default::default()
                },
                poll: std::time::Duration::from_millis(poll_ms.max(10)),
                public,
                secure_cookies,
                trusted_proxies,
                cache_bytes: cache_mb.saturating_mul(1 << 20),
                anonymous: procure::web::cache::AnonymousLimits {
                    per_address: public_per_address.max(1),
                    total: public_concurrent.max(1),
                    per_minute: public_per_minute.max(1),
                },
                preview_quota: procure::web::state::Quota {
                    previews: max_previews,
                    bytes: max_preview_mb.saturating_mul(1 << 20),
                },
                write_wait: std::time::Duration::from_secs(write_wait_secs),
            };
            tokio::spawn(procure::web::uploads::purge_every(
                db.clone(),
                std::time::Duration::from_secs(purge_minutes.max(1) * 60),
            ));
            procure::web::serve(db, &addr, config).await?;
        }
        Command::Backup { out } => {
            let url = procure::db::normalise_url(&cli.database)?;
            let db = procure::db::connect(&url).await?;
            procure::db::backup::backup(&db, &url, &out).await?;
            println!("{}", out.display());
        }
        Command::User { action } => {
            let db = procure::db::connect(&cli.database).await?;
            let me = procure::access::Actor::local(&procure::cli_import::os_user());
            match action {
                UserAction::Add { name, role } => {
                    let pw = read_password(&format!("password for {name}: "))?;
                    procure::access::add_account(&db, &name, role, &pw, &me).await?;
                    println!("added {name} ({})", role.code());
                }
                UserAction::List => {
                    for a in procure::access::list_accounts(&db).await? {
                        println!(
                            "{}\t{}\t{}\t{}",
                            a.name,
                            a.role.code(),
                            if a.disabled { "disabled" } else { "active" },
                            a.created_at.format("%Y-%m-%d %H:%M:%S UTC")
                        );
                    }
                }
                UserAction::Disable { name } => {
                    procure::access::set_disabled(&db, &name, true, &me).await?;
                    println!("disabled {name}");
                }
                UserAction::Enable { name } => {
                    procure::access::set_disabled(&db, &name, false, &me).await?;
                    println!("enabled {name}");
                }
                UserAction::Passwd { name } => {
                    let pw = read_password(&format!("new password for {name}: "))?;
                    procure::access::set_password(&db, &name, &pw, &me).await?;
                    println!("password changed for {name}");
                }
            }
        }
        Command::Token { action } => {
            let db = procure::db::connect(&cli.database).await?;
            let me = procure::access::Actor::local(&procure::cli_import::os_user());
            match action {
                TokenAction::Create { account, label } => {
                    let (id, token) =
                        procure::access::create_token(&db, &account, &label, &me).await?;
                    eprintln!("token {id} for {account}; it is shown this once:");
                    println!("{token}");
                }
                TokenAction::List => {
                    for t in procure::access::list_tokens(&db).await? {
                        println!(
                            "{}\t{}\t{}\t{}",
                            t.id,
                            t.account,
                            t.label,
                            if t.revoked_at.is_some() {
                                "revoked"
                            } else {
                                "active"
                            }
                        );
                    }
                }
                TokenAction::Revoke { id } => {
                    procure::access::revoke_token(&db, id, &me).await?;
                    println!("revoked token {id}");
                }
            }
        }
        Command::Export {
            what:
                ExportWhat::Ocds {
                    as_of,
                    as_recorded,
                    package,
                    ocid_prefix,
                    output,
                },
        } => {
            let db = procure::db::connect(&cli.database).await?;
            let scope = procure::reports::Scope {
                as_of: as_of.unwrap_or_else(procure::dates::today),
                as_recorded,
                ..Default::default()
            };
            use procure::db::read::ocds::{export_to, ExportError};
            let why = |e: ExportError| match e {
                ExportError::Db(sea_orm::DbErr::RecordNotFound(why)) => anyhow::anyhow!(why),
                e => e.into(),
            };
            // Written as it is made, a chunk of contracts at a time: the package is hundreds
            // of MB at a million payments and is never held whole.
            match output.filter(|p| p.as_os_str() != "-") {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    let out = std::io::BufWriter::with_capacity(1 << 20, file);
                    let written =
                        export_to(&db, &scope, ocid_prefix.as_deref(), package, out).await;
                    if let Err(e) = written {
                        // No half-written package is left behind under the name asked for.
                        let _ = std::fs::remove_file(&path);
                        return Err(match e {
                            ExportError::Io(e) => {
                                anyhow::anyhow!("cannot write {}: {e}", path.display())
                            }
                            e => why(e),
                        });
                    }
                    eprintln!("{}", path.display());
                }
                None => {
                    let out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
                    match export_to(&db, &scope, ocid_prefix.as_deref(), package, out).await {
                        Ok(_) => {}
                        // The reader went away (`| head`): not an error of the export.
                        Err(ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                        Err(e) => return Err(why(e)),
                    }
                }
            }
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
                procure::sample::write_sample(&out.unwrap_or_else(|| "imports".into()))?
            } else {
                procure::sample::generate(&procure::sample::GenerateOptions {
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

/// One account per role with a fresh password, printed once (`serve --demo`).
async fn demo_accounts(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use procure::access::{self, Role};
    let me = access::Actor::local(&procure::cli_import::os_user());
    eprintln!("demo accounts (passwords shown this once):");
    for role in Role::ALL {
        let name = format!("demo-{}", role.code());
        let password = procure::crypto::secret()[..16].to_string();
        match access::add_account(db, &name, *role, &password, &me).await {
            Ok(_) => {}
            Err(access::AccessError::Exists(_)) => {
                access::set_password(db, &name, &password, &me).await?;
                access::set_disabled(db, &name, false, &me).await?;
            }
            Err(e) => return Err(e.into()),
        }
        eprintln!("  {name:<16} {:<8} {password}", role.code());
    }
    Ok(())
}

/// `procure export register`: the workbook, or a folder of csv files.
async fn export_register(
    db: &sea_orm::DatabaseConnection,
    as_of: Option<chrono::NaiveDate>,
    format: procure::reports::register::RegisterFormat,
    output: Option<PathBuf>,
) -> anyhow::Result<()> {
    use procure::reports::register::{self, RegisterFormat};
    let reg = register::load(db, as_of).await?;
    let stem = match as_of {
        Some(d) => format!("register-{d}"),
        None => "register".to_string(),
    };
    let write = |path: &std::path::Path, bytes: &[u8]| {
        std::fs::write(path, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
    };
    match format {
        RegisterFormat::Xlsx => {
            let bytes = register::xlsx(&reg, as_of)?;
            let path = output.unwrap_or_else(|| PathBuf::from(format!("{stem}.xlsx")));
            if path.as_os_str() == "-" {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)?;
                out.flush()?;
            } else {
                write(&path, &bytes)?;
                eprintln!("{}", path.display());
            }
        }
        RegisterFormat::Csv => {
            let dir = output.unwrap_or_else(|| PathBuf::from(stem));
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            for (name, bytes) in register::csvs(&reg)? {
                let path = dir.join(name);
                write(&path, &bytes)?;
                eprintln!("{}", path.display());
            }
        }
    }
    Ok(())
}

/// A date on the command line, in any of the forms registers use.
fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    procure::dates::parse_date(s).ok_or_else(|| format!("'{s}' is not a date (e.g. 2019-06-30)"))
}
