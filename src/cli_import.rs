//! `procure import`: the finance officer's command; prints what happened to each file.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::imports::{self, FileReport, FileStatus, ImportOptions, ImportReport};
use crate::Lang;

/// The OS user, recorded as the actor of command-line imports.
pub fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "operator".into())
}

/// Runs the import; returns whether every file was stored (or would be).
pub async fn run(
    db: &DatabaseConnection,
    files: &[PathBuf],
    opts: &ImportOptions,
    json: bool,
) -> anyhow::Result<bool> {
    let counter = Arc::new(AtomicU64::new(0));
    // A spinner with the row count, only for a person watching a terminal.
    let bar = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    });
    let ticker = bar.clone().map(|pb| {
        let counter = counter.clone();
        let lang = opts.lang;
        tokio::spawn(async move {
            loop {
                let n = counter.load(Ordering::Relaxed);
                pb.set_message(match lang {
                    Lang::Zh => format!("已读取 {n} 行"),
                    Lang::En => format!("{n} rows read"),
                });
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });
    let report = imports::import_paths(db, files, opts, Some(counter)).await;
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    let report = report?;
    let text = if json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        render(&report, opts.lang)
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A reader that stops early (`| head`) is not an error of the import.
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(report.ok)
}

/// Every error found in a file, listed or not.
fn errors_found(r: &FileReport) -> u64 {
    r.error_total.max(r.errors.len() as u64)
}

fn counts_line(r: &FileReport, lang: Lang) -> String {
    r.counts
        .iter()
        .map(|(k, c)| match lang {
            Lang::Zh => format!(
                "{} {} 行：新增 {}，更新 {}，未变 {}",
                k.zh(),
                c.read,
                c.inserted,
                c.updated,
                c.unchanged
            ),
            Lang::En => format!(
                "{} {} rows: {} new, {} updated, {} unchanged",
                k.code(),
                c.read,
                c.inserted,
                c.updated,
                c.unchanged
            ),
        })
        .collect::<Vec<_>>()
        .join(match lang {
            Lang::Zh => "；",
            Lang::En => "; ",
        })
}

const MAX_WARNINGS_SHOWN: usize = 30;

/// The human-readable report, in the chosen language.
pub fn render(report: &ImportReport, lang: Lang) -> String {
    let mut out = String::new();
    for r in &report.files {
        let head = match (r.status, lang) {
            (FileStatus::Stored, Lang::Zh) => format!(
                "✔ {}：已导入（批次 #{}）",
                r.file,
                r.batch_id.unwrap_or_default()
            ),
            (FileStatus::Stored, Lang::En) => format!(
                "✔ {}: imported (batch #{})",
                r.file,
                r.batch_id.unwrap_or_default()
            ),
            (FileStatus::Checked, Lang::Zh) => {
                format!("✔ {}：检查通过，可以导入（试运行，未写入）", r.file)
            }
            (FileStatus::Checked, Lang::En) => format!(
                "✔ {}: checked, would be imported (dry run, nothing written)",
                r.file
            ),
            (FileStatus::Unchanged, Lang::Zh) => match r.identical_to_batch {
                Some(b) => format!("= {}：与批次 #{b} 导入的文件完全相同，没有任何变化", r.file),
                None => format!("= {}：内容已全部在台账中，没有任何变化", r.file),
            },
            (FileStatus::Unchanged, Lang::En) => match r.identical_to_batch {
                Some(b) => format!(
                    "= {}: identical to the file of batch #{b}; nothing changed",
                    r.file
                ),
                None => format!(
                    "= {}: everything in it is already in the ledger; nothing changed",
                    r.file
                ),
            },
            (FileStatus::Rejected, Lang::Zh) => format!(
                "✘ {}：发现 {} 处错误，本文件未导入任何内容",
                r.file,
                errors_found(r)
            ),
            (FileStatus::Rejected, Lang::En) => format!(
                "✘ {}: {} error(s); nothing from this file was stored",
                r.file,
                errors_found(r)
            ),
        };
        out.push_str(&head);
        out.push('\n');
        // A rejected file stored nothing: its would-be counts would only mislead.
        if !r.counts.is_empty() && r.status != FileStatus::Rejected {
            out.push_str(&format!("  {}\n", counts_line(r, lang)));
        }
        for s in r.sheets.iter().filter(|s| s.skipped) {
            out.push_str(&match lang {
                Lang::Zh => format!("  跳过工作表“{}”：不是可识别的登记表\n", s.name),
                Lang::En => format!("  skipped sheet '{}': not a known register\n", s.name),
            });
        }
        // The errors kept (up to 1,000 of each kind) are listed, and how many more there were;
        // warnings, which store anyway, up to a screenful.
        for p in &r.errors {
            out.push_str(&format!(
                "  {} {}\n",
                lang.pick("错误", "error"),
                p.line(lang)
            ));
        }
        let unlisted = errors_found(r).saturating_sub(r.errors.len() as u64);
        if unlisted > 0 {
            out.push_str(&match lang {
                Lang::Zh => format!("  …另有 {unlisted} 处错误未列出（每类只列出前 1000 处）\n"),
                Lang::En => format!(
                    "  … {unlisted} more errors not listed (the first 1,000 of each kind are)\n"
                ),
            });
        }
        for p in r.warnings.iter().take(MAX_WARNINGS_SHOWN) {
            out.push_str(&format!(
                "  {} {}\n",
                lang.pick("警告", "warning"),
                p.line(lang)
            ));
        }
        let all_warnings = r.warning_counts.values().sum::<u64>() as usize;
        if all_warnings > MAX_WARNINGS_SHOWN {
            let more = all_warnings - MAX_WARNINGS_SHOWN;
            out.push_str(&match lang {
                Lang::Zh => format!("  …另有 {more} 条警告（--json 列出每类前 1000 条）\n"),
                Lang::En => format!(
                    "  … {more} more warnings (--json lists the first 1,000 of each kind)\n"
                ),
            });
        }
    }
    out
}
