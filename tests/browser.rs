//! The web app as a person meets it: a real headless Chromium, driven over WebDriver by
//! chromedriver, uploads the sample register, confirms it, reads the dashboard in Chinese and
//! English and downloads the summary CSV. The unit and API tests check the figures; this one
//! checks that the pages, forms, cookie and download carry them to a browser.
//!
//! Needs `chromedriver` (and the Chromium it drives) on PATH. Without it the test says so and
//! passes, unless `PROCURE_REQUIRE_BROWSER=1` (CI sets it), where a missing browser fails.
//! Screenshots of every step land in `target/browser-screenshots/` for a person to look at.

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The longest any single wait may take: a page, an element, a text, a download.
const WAIT: Duration = Duration::from_secs(10);
/// All the steps together, a generous multiple of what they take (under 10 s).
const STEPS: Duration = Duration::from_secs(120);
const AS_OF: &str = "2019-06-30";

fn shots_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_TARGET_TMPDIR"),
        "/../browser-screenshots/"
    ))
}

/// `name` found in a directory of PATH, as the shell would find it.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// chromedriver, started by this test in a process group of its own so that dropping the
/// guard ends it and the Chromium it launched, also when an assertion fails half-way.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// Starts chromedriver on a free loopback port and waits until it reports ready. A port
    /// found free can be taken by someone else before chromedriver binds it: then try another.
    async fn start(exe: &Path, log: &Path) -> anyhow::Result<Chromedriver> {
        use std::os::unix::process::CommandExt;
        let mut last = anyhow!("chromedriver was not started");
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let child = Command::new(exe)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .with_context(|| format!("cannot run {}", exe.display()))?;
            let mut driver = Chromedriver { child, port };
            match driver.ready().await {
                Ok(()) => return Ok(driver),
                // It exited: most likely the port was taken after all.
                Err(e) if driver.child.try_wait()?.is_some() => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `GET /status` until it says `"ready":true`, for at most [`WAIT`].
    async fn ready(&mut self) -> anyhow::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let port = self.port;
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("chromedriver on port {port} exited at start: {status}");
            }
            // chromedriver keeps the connection open whatever the request asks, so read until
            // the answer says ready, within a bound of its own.
            let answer = tokio::time::timeout(Duration::from_secs(1), async {
                let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
                s.write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    .await?;
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = s.read(&mut chunk).await?;
                    seen.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&seen).replace(' ', "");
                    if n == 0 || text.contains("\"ready\":true") {
                        return std::io::Result::Ok(text);
                    }
                }
            })
            .await;
            if matches!(&answer, Ok(Ok(b)) if b.contains("\"ready\":true")) {
                return Ok(());
            }
            if start.elapsed() > WAIT {
                bail!(
                    "chromedriver on port {port} did not report ready within {WAIT:?}: {answer:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let group = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group that `process_group(0)`
        // gave chromedriver, which holds only it and the browser it started; no memory is shared.
        unsafe {
            libc::kill(-group, libc::SIGTERM);
        }
        // A short grace so Chromium can remove its profile directory, then no more grace.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Polls `probe` every 100 ms until it gives `Ok`, for at most [`WAIT`]. `Err` carries what
/// was last seen, so a timeout says what was awaited and what the page showed instead.
async fn poll<T, F, Fut>(what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return Ok(v),
            Err(seen) if start.elapsed() > WAIT => {
                bail!("waited {WAIT:?} for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The text of the element at `css` once it satisfies `ok`. Re-finding the element on every
/// try rides over a navigation that is still under way (stale or absent elements).
async fn text_when(
    c: &Client,
    css: &str,
    what: &str,
    ok: impl Fn(&str) -> bool,
) -> anyhow::Result<String> {
    poll(&format!("{css} to show {what}"), || async {
        let url = c.current_url().await.map_err(|e| e.to_string())?;
        let el = c
            .find(Locator::Css(css))
            .await
            .map_err(|_| format!("no {css} on {url}"))?;
        let text = el.text().await.map_err(|e| e.to_string())?;
        if ok(&text) {
            Ok(text)
        } else {
            Err(format!("{css} on {url} reads {text:?}"))
        }
    })
    .await
}

/// The element at `css`, once the page has it.
async fn element(c: &Client, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
    poll(&format!("element {css}"), || async {
        let url = c.current_url().await.map_err(|e| e.to_string())?;
        c.find(Locator::Css(css))
            .await
            .map_err(|_| format!("no {css} on {url}"))
    })
    .await
}

/// The element at `css`, scrolled to the middle of the window for the next screenshot.
async fn scroll_to(c: &Client, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
    let el = element(c, css).await?;
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![serde_json::to_value(&el)?],
    )
    .await
    .with_context(|| format!("scroll to {css}"))?;
    Ok(el)
}

async fn has_class(c: &Client, css: &str, class: &str) -> anyhow::Result<()> {
    let classes = element(c, css)
        .await?
        .attr("class")
        .await?
        .unwrap_or_default();
    ensure!(
        classes.split_whitespace().any(|k| k == class),
        "{css} has class {classes:?}, not {class:?}"
    );
    Ok(())
}

async fn screenshot(c: &Client, name: &str) -> anyhow::Result<()> {
    let png = c.screenshot().await.context("screenshot")?;
    let path = shots_dir().join(name);
    std::fs::write(&path, png).with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

/// Money as written in the CSV ("14532700.00") in fen, without going through floats.
fn fen(s: &str) -> anyhow::Result<i64> {
    let (yuan, cents) = s
        .split_once('.')
        .filter(|(_, c)| c.len() == 2)
        .ok_or_else(|| anyhow!("{s:?} is not yuan with two decimals"))?;
    let sign = if yuan.starts_with('-') { -1 } else { 1 };
    let yuan: i64 = yuan.trim_start_matches('-').parse()?;
    let cents: i64 = cents.parse()?;
    Ok(sign * (yuan * 100 + cents))
}

/// The finished download `name` in `dir`. Chromium writes `*.crdownload` first and gives
/// the file its name only when it is complete, so the name's appearance is the signal.
async fn downloaded(dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(name);
    poll(&format!("the download {}", path.display()), || async {
        match std::fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(_) => Err(format!(
                "{:?} in the download directory",
                std::fs::read_dir(dir)
                    .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
                    .unwrap_or_default()
            )),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finance_officer_uploads_the_sample_and_the_manager_sees_the_totals_in_both_languages(
) -> anyhow::Result<()> {
    let required = std::env::var("PROCURE_REQUIRE_BROWSER").as_deref() == Ok("1");
    let Some(chromedriver) = on_path("chromedriver") else {
        ensure!(
            !required,
            "PROCURE_REQUIRE_BROWSER=1 but chromedriver is not on PATH \
             (Debian: apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "skipped: chromedriver is not on PATH; set PROCURE_REQUIRE_BROWSER=1 to fail instead"
        );
        return Ok(());
    };

    std::fs::create_dir_all(shots_dir())?;
    let downloads = tempfile::tempdir()?;

    // The app, in this process, on a real port.
    let t = common::sqlite().await;
    // The finance officer's account: every page but the login form needs one.
    procure::access::add_account(
        &t.db,
        "fang.min",
        procure::access::Role::Finance,
        PASSWORD,
        &procure::access::Actor::local("test"),
    )
    .await?;
    let state =
        procure::web::state::AppState::new(t.db.clone(), procure::web::state::WebConfig::default());
    let _watch = state.watch();
    let app = procure::web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let driver = Chromedriver::start(&chromedriver, &shots_dir().join("chromedriver.log")).await?;
    let caps = json!({
        "browserName": "chrome",
        // WebDriver's own default waits up to 300 s for a page: bound it like every other wait.
        "timeouts": { "pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64 },
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1600"],
            "prefs": {
                "download.default_directory": downloads.path(),
                "download.prompt_for_download": false,
            },
        },
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .context("start a Chromium session through chromedriver")?;

    // Each wait inside is bounded; this bounds the whole, should chromedriver stop answering.
    let outcome = tokio::time::timeout(STEPS, steps(&c, &t, &base, downloads.path()))
        .await
        .unwrap_or_else(|_| Err(anyhow!("the steps did not finish within {STEPS:?}")));
    // End the session whatever the steps gave, so that chromedriver quits Chromium cleanly;
    // the guard's signals are for when even that fails.
    let closed = tokio::time::timeout(WAIT, c.close()).await;
    drop(driver);
    outcome?;
    closed
        .context("ending the WebDriver session took too long")?
        .context("end the WebDriver session")?;
    Ok(())
}

const PASSWORD: &str = "finance-pass-1";

async fn steps(c: &Client, t: &common::TestDb, base: &str, downloads: &Path) -> anyhow::Result<()> {
    let contracts = || t.scalar("SELECT COUNT(*) FROM contracts");

    // Not signed in: the dashboard answers with the login form, then comes back.
    c.goto(&format!("{base}/?as_of={AS_OF}")).await?;
    element(c, "#name").await?.send_keys("fang.min").await?;
    element(c, "#password").await?.send_keys(PASSWORD).await?;
    screenshot(c, "00-login.png").await?;
    element(c, "#sign-in").await?.click().await?;
    text_when(c, "#who", "the signed-in name", |s| s.contains("fang.min")).await?;

    // An empty ledger: the dashboard counts nothing.
    text_when(c, "#card-contracts .big", "0", |s| s == "0").await?;
    screenshot(c, "01-dashboard-empty.png").await?;

    // The finance officer uploads the workbook: a preview, nothing stored yet.
    c.goto(&format!("{base}/upload")).await?;
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx");
    element(c, "#files")
        .await?
        .send_keys(sample.to_str().context("sample path is UTF-8")?)
        .await?;
    element(c, "#upload-button").await?.click().await?;
    element(c, "#preview-title").await?;
    has_class(c, "#outcome", "ok").await?;
    let sheets = poll("the sheets table of the preview", || async {
        let rows = c
            .find_all(Locator::Css("table.sheets tbody tr"))
            .await
            .map_err(|e| e.to_string())?;
        let mut table = Vec::new();
        for r in rows {
            let mut cells = Vec::new();
            for td in r
                .find_all(Locator::Css("td"))
                .await
                .map_err(|e| e.to_string())?
            {
                cells.push(td.text().await.map_err(|e| e.to_string())?);
            }
            table.push(cells);
        }
        if table.is_empty() {
            Err("no rows".into())
        } else {
            Ok(table)
        }
    })
    .await?;
    for kind in ["项目合同", "资金拨付", "服务统计"] {
        ensure!(
            sheets
                .iter()
                .any(|r| r.get(1).map(String::as_str) == Some(kind)),
            "the preview lists no {kind} sheet: {sheets:?}"
        );
    }
    ensure!(
        sheets
            .iter()
            .any(|r| r.get(1).map(String::as_str) == Some("项目合同")
                && r.get(2).map(String::as_str) == Some("97")),
        "the preview does not count 97 contract rows: {sheets:?}"
    );
    let body = element(c, "body").await?.text().await?;
    for word in ["项目合同", "资金拨付", "服务统计", "97"] {
        ensure!(
            body.contains(word),
            "the preview page does not mention {word}"
        );
    }
    screenshot(c, "02-preview.png").await?;
    ensure!(
        contracts().await == 0,
        "the preview already stored contracts"
    );
    // The button sits below the list of warnings: show what a person scrolls down to.
    let confirm = scroll_to(c, "#confirm").await?;
    screenshot(c, "02b-preview-confirm.png").await?;

    // Confirming stores it.
    confirm.click().await?;
    element(c, "#result-title").await?;
    has_class(c, "#outcome", "ok").await?;
    screenshot(c, "03-result.png").await?;
    let stored = contracts().await;
    ensure!(
        stored == 97,
        "after confirming the database holds {stored} contracts, not 97"
    );

    // The manager's dashboard, in Chinese. The cached figures follow the import at once in
    // this process; the wait only covers the page load.
    c.goto(&format!("{base}/?as_of={AS_OF}")).await?;
    text_when(c, "#card-contracts .big", "97", |s| s == "97").await?;
    text_when(c, "#card-value .big", "1,453.27…", |s| {
        s.starts_with("1,453.27")
    })
    .await?;
    text_when(c, "#card-people .sub", "51,236", |s| s.contains("51,236")).await?;
    text_when(c, "#statement", "截至2019年6月30日 … 97个", |s| {
        s.contains("截至2019年6月30日") && s.contains("97个")
    })
    .await?;
    screenshot(c, "04-dashboard.png").await?;

    // The language switch: English, and it stays English on the next page (cookie).
    element(c, "#lang-switch").await?.click().await?;
    text_when(c, "#statement", "As of 30 June 2019…", |s| {
        s.starts_with("As of 30 June 2019")
    })
    .await?;
    screenshot(c, "05-english.png").await?;
    c.goto(&format!("{base}/contracts")).await?;
    poll("the contracts page in English", || async {
        let lang = c
            .find(Locator::Css("html"))
            .await
            .map_err(|e| e.to_string())?
            .attr("lang")
            .await
            .map_err(|e| e.to_string())?;
        let nav = c
            .find(Locator::Css("nav a[href='/contracts']"))
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        if lang.as_deref() == Some("en") && nav == "Contracts" {
            Ok(())
        } else {
            Err(format!("html lang {lang:?}, nav link {nav:?}"))
        }
    })
    .await?;
    element(c, "#contracts").await?;
    screenshot(c, "06-contracts-english.png").await?;

    // The import is on record, with its batch.
    c.goto(&format!("{base}/imports")).await?;
    element(c, "#batch-1").await?;
    screenshot(c, "07-imports-english.png").await?;

    // Budget execution: the budget report, its statement and its chart.
    c.goto(&format!("{base}/budget?as_of={AS_OF}")).await?;
    text_when(
        c,
        "#budget-statement",
        "… an execution rate of 61.94%",
        |s| s.contains("61.94%"),
    )
    .await?;
    element(c, "#budget-table").await?;
    element(c, "svg").await?;
    screenshot(c, "07c-budget-english.png").await?;
    // The provider scorecards, and the first provider's page: its scorecard, its scores over
    // time as a chart, its contracts and evaluations.
    c.goto(&format!("{base}/providers?as_of={AS_OF}")).await?;
    element(c, "#providers").await?;
    screenshot(c, "07a-providers-english.png").await?;
    element(c, "#providers tbody tr td a")
        .await?
        .click()
        .await?;
    element(c, "#scorecard").await?;
    element(c, "#scores-chart svg").await?;
    element(c, "#evaluations").await?;
    screenshot(c, "07b-provider-english.png").await?;

    // The summary CSV, downloaded by the browser from the English dashboard.
    c.goto(&format!("{base}/?as_of={AS_OF}")).await?;
    text_when(c, "#statement", "the English statement", |s| {
        s.starts_with("As of")
    })
    .await?;
    let link = scroll_to(c, "#summary-csv").await?;
    screenshot(c, "08-english-dashboard-bottom.png").await?;
    link.click().await?;
    let bytes = downloaded(downloads, &format!("summary-{AS_OF}.csv")).await?;
    check_summary_csv(&bytes)
}

/// The English summary: BOM, a total row with the dashboard's figures, categories that add
/// up to the total to the fen.
fn check_summary_csv(bytes: &[u8]) -> anyhow::Result<()> {
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .ok_or_else(|| anyhow!("the CSV does not start with the UTF-8 BOM"))?;
    // The dates and the statement follow the table in rows of other widths.
    let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let header: Vec<String> = rd.headers()?.iter().map(String::from).collect();
    let col = |label: &str| {
        header
            .iter()
            .position(|h| h == label)
            .ok_or_else(|| anyhow!("no {label:?} column in {header:?}"))
    };
    let (n, value, people) = (
        col("Contracts")?,
        col("Contract value")?,
        col("People served")?,
    );
    let rows: Vec<csv::StringRecord> = rd.records().collect::<Result<_, _>>()?;
    let total_at = rows
        .iter()
        .position(|r| r.get(0) == Some("Total"))
        .ok_or_else(|| anyhow!("no Total row in the CSV"))?;
    let total = &rows[total_at];
    ensure!(total.get(n) == Some("97"), "Total contracts: {total:?}");
    ensure!(
        total.get(value) == Some("14532700.00"),
        "Total value: {total:?}"
    );
    ensure!(
        total.get(people) == Some("51236"),
        "Total people: {total:?}"
    );

    let categories = &rows[..total_at];
    ensure!(!categories.is_empty(), "no category rows above the Total");
    let mut sum = 0i64;
    for r in categories {
        sum += fen(r.get(value).unwrap_or_default()).with_context(|| format!("row {r:?}"))?;
    }
    let want = fen("14532700.00")?;
    ensure!(
        sum == want,
        "the categories add up to {sum} fen, the Total says {want}"
    );
    Ok(())
}
