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
//! and, in a second table, the database's own floor: the same rows inserted into the same
//! empty table by one `INSERT ... SELECT` (see `insert_floor`).

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

/// Runs one `sqlite3` command line on the database file `db`.
fn sqlite3(db: &str, script: &str) {
    let out = Command::new("sqlite3")
        .args([db, script])
        .output()
        .expect("sqlite3 is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let out = Command::new("psql")
        .args([server, "-qAtc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

/// The database's own cost of the same write: the payments just imported into `url` are
/// copied aside, the table is emptied (not timed), and then they are inserted back by one
/// `INSERT ... SELECT` and committed: the same rows into the same empty table, with the same
/// indexes, the same foreign keys or checks and the program's page cache settings. No
/// parsing, no checking, no driver: what no importer of this schema can beat.
fn insert_floor(backend: &str, url: &str) -> Duration {
    let copy_back = "INSERT INTO disbursements SELECT * FROM floor_src";
    if backend == "sqlite" {
        let file = url.trim_start_matches("sqlite://");
        let sqlite = |script: &str| sqlite3(file, script);
        // The append-only trigger refuses the DELETE; this database is thrown away after.
        sqlite(
            "CREATE TABLE floor_src AS SELECT * FROM disbursements; \
             DROP TRIGGER disbursements_no_delete; PRAGMA foreign_keys = OFF; \
             DELETE FROM disbursements; VACUUM;",
        );
        let start = Instant::now();
        sqlite(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA cache_size = -16000; PRAGMA temp_store = memory; \
             PRAGMA synchronous = NORMAL; BEGIN; {copy_back}; COMMIT;"
        ));
        start.elapsed()
    } else {
        // The append-only guard refuses TRUNCATE; this database is thrown away after.
        psql(
            url,
            "CREATE TABLE floor_src AS SELECT * FROM disbursements; \
             ALTER TABLE disbursements DISABLE TRIGGER disbursements_no_truncate; \
             TRUNCATE disbursements; \
             ALTER TABLE disbursements ENABLE TRIGGER disbursements_no_truncate",
        );
        let start = Instant::now();
        psql(url, &format!("BEGIN; {copy_back}; COMMIT"));
        start.elapsed()
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
            floors.push((size, name, insert_floor(backend, &last), t_x, t_c));
            if backend != "sqlite" {
                psql(backend, "DROP DATABASE IF EXISTS procure_bench_x");
                psql(backend, "DROP DATABASE IF EXISTS procure_bench_c");
            }
        }
    }
    println!();
    println!("| payments | backend | INSERT ... SELECT of the same rows into the same empty table | procure xlsx / that | procure csv / that |");
    println!("|---:|---|---:|---:|---:|");
    for (size, name, floor, t_x, t_c) in floors {
        println!(
            "| {size} | {name} | {} | {:.2} | {:.2} |",
            ms(floor),
            t_x.as_secs_f64() / floor.as_secs_f64(),
            t_c.as_secs_f64() / floor.as_secs_f64(),
        );
    }
}
