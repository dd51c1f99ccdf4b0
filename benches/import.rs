//! Import benchmark: the program against its floors, in the same run.
//!
//! `cargo bench --bench import -- [SIZE ...]` (default 100000). For each size it generates
//! (seeded) a register of SIZE payments as xlsx and csv, then times, best of 3:
//! - calamine's parse alone of the xlsx (open + every cell through the cells reader),
//! - `sqlite3 .import` of the csv into a bare table,
//! - `procure import` of the xlsx and of the csv into a fresh SQLite database, and into a
//!   fresh PostgreSQL database when `PROCURE_BENCH_POSTGRES` (or `PROCURE_TEST_POSTGRES`)
//!   holds a server URL,
//!
//! It also reports the peak memory (max RSS) of each `procure import`, as a Markdown table,
//! and, in a second table, the database's own floor: the same rows (the payments and their
//! daily and monthly sums) loaded into the same empty tables by the database's bulk load,
//! `INSERT ... SELECT` on SQLite and `COPY FROM STDIN` on PostgreSQL (see `db_floor`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use calamine::{Reader, Xlsx};

fn best_of<F: FnMut() -> Duration>(n: usize, mut f: F) -> Duration {
    (0..n).map(|_| f()).min().unwrap()
}

fn data_dir(size: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-data/{size}"));
    if !dir.join("disbursements.csv").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let opts = procure::sample::GenerateOptions {
            out: dir.clone(),
            seed: 7,
            contracts: (size / 100).max(10),
            payments: size,
            services: (size / 100).max(10),
            format: procure::sample::SampleFormat::Both,
        };
        procure::sample::generate(&opts).unwrap();
    }
    dir
}

fn calamine_parse(path: &Path) -> Duration {
    let start = Instant::now();
    let mut wb: Xlsx<_> = calamine::open_workbook(path).unwrap();
    let mut cells = 0u64;
    for name in wb.sheet_names() {
        let mut r = wb.worksheet_cells_reader(&name).unwrap();
        while let Some(c) = r.next_cell().unwrap() {
            std::hint::black_box(c.get_value());
            cells += 1;
        }
    }
    assert!(cells > 0);
    start.elapsed()
}

/// Runs a database's command-line tool, which must succeed (its errors are shown if not).
fn succeed(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("the database's command-line tool is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs one `sqlite3` command line on the database file `db`.
fn sqlite3(db: &str, script: &str) {
    succeed(Command::new("sqlite3").args([db, script]));
}

fn sqlite_import(csv: &Path, scratch: &Path) -> Duration {
    let db = scratch.join("floor.db");
    let _ = std::fs::remove_file(&db);
    let start = Instant::now();
    sqlite3(
        &db.display().to_string(),
        &format!(".import --csv {} t", csv.display()),
    );
    start.elapsed()
}

/// Runs `procure import` under /usr/bin/time; returns (wall time, max RSS in MB).
fn procure_import(db: &str, file: &Path) -> (Duration, f64) {
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_procure"))
        .args([
            "--database",
            db,
            "import",
            "--json",
            "--max-file-mb",
            "1024",
        ])
        .arg(file)
        .output()
        .expect("/usr/bin/time is installed");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
            .chars()
            .take(2000)
            .collect::<String>()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kb: f64 = stderr
        .lines()
        .last()
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or(0.0);
    (elapsed, kb / 1024.0)
}

fn psql(server: &str, sql: &str) {
    succeed(Command::new("psql").args([server, "-qAtc", sql]));
}

fn with_db(server: &str, name: &str) -> String {
    match server.rfind('/') {
        Some(i) => format!("{}/{name}", &server[..i]),
        None => server.to_string(),
    }
}

/// A fresh database with the register's contracts already imported (not timed).
fn fresh(backend: &str, scratch: &Path, dir: &Path, tag: &str) -> String {
    let url = match backend {
        "sqlite" => {
            let f = scratch.join(format!("{tag}.db"));
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", f.display()));
            }
            format!("sqlite://{}", f.display())
        }
        server => {
            let name = format!("procure_bench_{tag}");
            psql(server, &format!("DROP DATABASE IF EXISTS {name}"));
            psql(server, &format!("CREATE DATABASE {name}"));
            with_db(server, &name)
        }
    };
    // The contracts name their budget lines, which are imported first.
    procure_import(&url, &dir.join("budgets.csv"));
    procure_import(&url, &dir.join("contracts.csv"));
    url
}

/// The tables an import of payments fills, and what the floor loads back into them: the
/// payments and their daily and monthly sums, which the import writes in its transaction.
const LOADED: [&str; 3] = ["disbursements", "payment_days", "payment_months"];

/// The database's own cost of the same write: the rows the import just wrote into `url`
/// (payments and their sums) are copied aside, the tables are emptied (not timed), and then
/// the same rows are loaded back into the same empty tables, with the same indexes, keys,
/// checks and triggers, in one transaction, by the database's own bulk load: on SQLite one
/// `INSERT ... SELECT` a table (a 16 MB page cache, twice the program's), on PostgreSQL
/// `COPY ... FROM STDIN` (psql's `\copy` of a file written by `COPY ... TO`). No parsing, no
/// checking, no summing: what no importer of this schema can beat. Best of 3. Returns the time for the
/// payments alone and for all three tables.
fn db_floor(backend: &str, url: &str, scratch: &Path) -> (Duration, Duration) {
    if backend == "sqlite" {
        let file = url.trim_start_matches("sqlite://");
        let sqlite = |script: &str| sqlite3(file, script);
        let mut aside = String::new();
        for t in LOADED {
            // The append-only triggers refuse the DELETE; this database is thrown away after.
            aside.push_str(&format!(
                "CREATE TABLE floor_{t} AS SELECT * FROM {t}; DROP TRIGGER {t}_no_delete; "
            ));
        }
        sqlite(&aside);
        let empty = || {
            let mut script = "PRAGMA foreign_keys = OFF; ".to_string();
            for t in LOADED {
                script.push_str(&format!("DELETE FROM {t}; "));
            }
            script.push_str("VACUUM;");
            sqlite(&script);
        };
        let load = |tables: &[&str]| {
            let mut script = "PRAGMA foreign_keys = ON; PRAGMA cache_size = -16000; \
                 PRAGMA temp_store = memory; PRAGMA synchronous = NORMAL; BEGIN; "
                .to_string();
            for t in tables {
                script.push_str(&format!("INSERT INTO {t} SELECT * FROM floor_{t}; "));
            }
            script.push_str("COMMIT;");
            let start = Instant::now();
            sqlite(&script);
            start.elapsed()
        };
        // Best of 3, as the imports are.
        let payments = best_of(3, || {
            empty();
            load(&LOADED[..1])
        });
        let all = best_of(3, || {
            empty();
            load(&LOADED)
        });
        (payments, all)
    } else {
        let mut files = Vec::new();
        for t in LOADED {
            let f = scratch.join(format!("floor_{t}.copy"));
            psql(url, &format!("\\copy {t} TO '{}'", f.display()));
            files.push((t, f));
        }
        // The append-only guards refuse TRUNCATE; this database is thrown away after.
        let empty = |tables: &[&str]| {
            for t in tables {
                psql(
                    url,
                    &format!(
                        "ALTER TABLE {t} DISABLE TRIGGER USER; TRUNCATE {t} CASCADE; \
                         ALTER TABLE {t} ENABLE TRIGGER USER"
                    ),
                );
            }
        };
        let load = |n: usize| {
            let script = scratch.join("floor.sql");
            let mut text = "BEGIN;\n".to_string();
            for (t, f) in &files[..n] {
                text.push_str(&format!("\\copy {t} FROM '{}'\n", f.display()));
            }
            text.push_str("COMMIT;\n");
            std::fs::write(&script, text).unwrap();
            let start = Instant::now();
            succeed(
                Command::new("psql")
                    .args([url, "-qAt", "-v", "ON_ERROR_STOP=1", "-f"])
                    .arg(&script),
            );
            start.elapsed()
        };
        // Best of 3, as the imports are.
        let payments = best_of(3, || {
            empty(&LOADED);
            load(1)
        });
        let all = best_of(3, || {
            empty(&LOADED);
            load(LOADED.len())
        });
        (payments, all)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000]
    } else {
        sizes
    };
    let pg = std::env::var("PROCURE_BENCH_POSTGRES")
        .or_else(|_| std::env::var("PROCURE_TEST_POSTGRES"))
        .ok();
    let scratch = tempfile::tempdir().unwrap();
    let mut floors = Vec::new();
    println!("| payments | backend | calamine parse | procure xlsx | ratio | peak MB (xlsx) | sqlite3 .import | procure csv | ratio | peak MB (csv) |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for size in sizes {
        let dir = data_dir(size);
        let xlsx = dir.join("disbursements.xlsx");
        let csv = dir.join("disbursements.csv");
        let floor_xlsx = best_of(3, || calamine_parse(&xlsx));
        let floor_csv = best_of(3, || sqlite_import(&csv, scratch.path()));
        let mut backends = vec!["sqlite".to_string()];
        backends.extend(pg.clone());
        for backend in &backends {
            let mut peak_x = 0.0f64;
            let t_x = best_of(3, || {
                let url = fresh(backend, scratch.path(), &dir, "x");
                let (t, mb) = procure_import(&url, &xlsx);
                peak_x = peak_x.max(mb);
                t
            });
            let mut peak_c = 0.0f64;
            let mut last = String::new();
            let t_c = best_of(3, || {
                let url = fresh(backend, scratch.path(), &dir, "c");
                let (t, mb) = procure_import(&url, &csv);
                peak_c = peak_c.max(mb);
                last = url;
                t
            });
            let name = if backend == "sqlite" {
                "SQLite"
            } else {
                "PostgreSQL"
            };
            println!(
                "| {size} | {name} | {} | {} | {:.2} | {:.0} | {} | {} | {:.2} | {:.0} |",
                ms(floor_xlsx),
                ms(t_x),
                t_x.as_secs_f64() / floor_xlsx.as_secs_f64(),
                peak_x,
                ms(floor_csv),
                ms(t_c),
                t_c.as_secs_f64() / floor_csv.as_secs_f64(),
                peak_c,
            );
            let (payments, all) = db_floor(backend, &last, scratch.path());
            floors.push((size, name, payments, all, t_x, t_c, peak_x, peak_c));
            if backend != "sqlite" {
                psql(backend, "DROP DATABASE IF EXISTS procure_bench_x");
                psql(backend, "DROP DATABASE IF EXISTS procure_bench_c");
            }
        }
    }
    println!();
    println!("The database's own bulk load of the same rows into the same schema (SQLite: INSERT ... SELECT; PostgreSQL: COPY FROM STDIN):");
    println!();
    println!("| payments | backend | floor: payments alone | floor: payments + their sums | procure xlsx | / floor | peak MB | procure csv | / floor | peak MB |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (size, name, payments, all, t_x, t_c, peak_x, peak_c) in floors {
        println!(
            "| {size} | {name} | {} | {} | {} | {:.2} | {:.0} | {} | {:.2} | {:.0} |",
            ms(payments),
            ms(all),
            ms(t_x),
            t_x.as_secs_f64() / all.as_secs_f64(),
            peak_x,
            ms(t_c),
            t_c.as_secs_f64() / all.as_secs_f64(),
            peak_c,
        );
    }
}
