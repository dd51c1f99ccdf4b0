//! Scale-out, with two real `procure serve` processes on one database:
//! a session made on one is valid on the other, an import through one shows in the other's
//! figures at once, the same upload confirmed on both at once is imported once, and two
//! uploads paying one contract never together exceed it. Both backends.

mod common;

use std::time::{Duration, Instant};

use common::server::{sign_in, Server};
use procure::access::Role;
use serde_json::Value as Json;

fn serve(url: &str, poll_ms: u64) -> Server {
    common::server::serve(url, &["--poll-ms", &poll_ms.to_string()])
}

use common::bearer as client;

fn sample() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx"),
    )
    .unwrap()
}

/// Uploads files for a preview; returns its token and the files' SHA-256.
async fn preview(
    http: &reqwest::Client,
    base: &str,
    files: Vec<(&str, Vec<u8>)>,
) -> (String, Vec<String>) {
    let mut form = reqwest::multipart::Form::new();
    for (name, bytes) in files {
        form = form.part(
            "files",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    let r = http
        .post(format!("{base}/api/v1/uploads"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let p: Json = r.json().await.unwrap();
    let sha = p["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["sha256"].as_str().unwrap().to_string())
        .collect();
    (p["token"].as_str().unwrap().to_string(), sha)
}

async fn commit(http: &reqwest::Client, base: &str, token: &str, sha: &[String]) -> Json {
    let r = http
        .post(format!("{base}/api/v1/uploads/{token}/commit"))
        .json(&serde_json::json!({ "sha256": sha }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn contracts_on(http: &reqwest::Client, base: &str) -> i64 {
    let doc: Json = http
        .get(format!("{base}/api/v1/summary?as_of=2019-06-30"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    doc["total"]["contracts"].as_i64().unwrap()
}

both_backends! {
    async fn two_servers_share_sessions_and_show_each_others_imports_at_once(t: &TestDb) {
        let token = t.api_token("fin", Role::Finance).await;
        // PostgreSQL servers hear of an import by notification, so their poll is left long;
        // SQLite has no notifications and relies on the poll.
        let poll = if t.backend() == "postgres" { 60_000 } else { 200 };
        let (a, b) = (serve(&t.url, poll), serve(&t.url, poll));
        let http = client(&token);

        let session = sign_in(&a.base, "fin").await;
        let on_b = reqwest::Client::new()
            .get(format!("{}/contracts", b.base))
            .header(reqwest::header::COOKIE, format!("procure_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(on_b.status(), 200, "a session made on one server is valid on the other");

        assert_eq!(contracts_on(&http, &b.base).await, 0);
        let (up, sha) = preview(&http, &a.base, vec![("sample-register.xlsx", sample())]).await;
        let done = commit(&http, &a.base, &up, &sha).await;
        assert_eq!(done["result"]["files"][0]["status"], "stored");
        let stored = Instant::now();
        let mut seen = 0;
        while stored.elapsed() < Duration::from_secs(5) {
            seen = contracts_on(&http, &b.base).await;
            if seen == 97 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(seen, 97, "the other server never showed the import");
        let lag = stored.elapsed();
        assert!(lag < Duration::from_secs(2), "the other server showed the import after {lag:?}");
        eprintln!("{}: the other server showed the import after {lag:?}", t.backend());
    }
}

both_backends! {
    async fn the_same_upload_confirmed_on_two_servers_at_once_is_imported_once(t: &TestDb) {
        let token = t.api_token("fin", Role::Finance).await;
        let (a, b) = (serve(&t.url, 500), serve(&t.url, 500));
        let http = client(&token);
        let (up, sha) = preview(&http, &a.base, vec![("sample-register.xlsx", sample())]).await;
        let (ra, rb) = tokio::join!(commit(&http, &a.base, &up, &sha), commit(&http, &b.base, &up, &sha));
        let mut statuses = [
            ra["result"]["files"][0]["status"].as_str().unwrap().to_string(),
            rb["result"]["files"][0]["status"].as_str().unwrap().to_string(),
        ];
        statuses.sort();
        assert_eq!(statuses, ["stored", "unchanged"]);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM import_batches").await, 1);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts").await, 97);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM disbursements").await, 233);
    }
}

both_backends! {
    async fn two_uploads_paying_one_contract_on_two_servers_never_overpay_it(t: &TestDb) {
        let token = t.api_token("fin", Role::Finance).await;
        let (a, b) = (serve(&t.url, 500), serve(&t.url, 500));
        let http = client(&token);
        let contract = "项目编号,项目名称,服务类别,承接机构,合同金额,开始日期,结束日期\nC1,t,老年服务,p,1000,2019-01-01,2019-12-31\n";
        let (up, sha) = preview(&http, &a.base, vec![("c.csv", contract.as_bytes().to_vec())]).await;
        assert_eq!(commit(&http, &a.base, &up, &sha).await["result"]["ok"], true);
        // Each alone fits the contract's 1,000.00; together they would pay 1,500.00.
        let payments = |tag: &str, amount: &str| {
            let mut body = String::from("项目编号,拨付日期,拨付金额,凭证号\n");
            for j in 0..3000 {
                body.push_str(&format!("C1,2019-02-01,{amount},{tag}-{j}\n"));
            }
            body.into_bytes()
        };
        let (u1, s1) = preview(&http, &a.base, vec![("p1.csv", payments("p1", "0.20"))]).await;
        let (u2, s2) = preview(&http, &b.base, vec![("p2.csv", payments("p2", "0.30"))]).await;
        let (r1, r2) = tokio::join!(commit(&http, &a.base, &u1, &s1), commit(&http, &b.base, &u2, &s2));
        let oks = [r1["result"]["ok"].as_bool().unwrap(), r2["result"]["ok"].as_bool().unwrap()];
        assert!(oks[0] != oks[1], "exactly one is refused: {oks:?}");
        let refused = if oks[0] { &r2 } else { &r1 };
        assert_eq!(refused["result"]["files"][0]["errors"][0]["code"], "over_payment");
        let paid = t.scalar("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements").await;
        assert!(paid == 60_000 || paid == 90_000, "{paid}");
    }
}

both_backends! {
    async fn a_token_revoked_beside_a_server_that_keeps_it_stops_working_at_once(t: &TestDb) {
        // A server keeps the tokens it has looked up; a revocation on the command line (or
        // by another server) reaches it by notification on PostgreSQL, whose poll is left
        // long here, and by its poll on SQLite.
        let token = t.api_token("ada", Role::Auditor).await;
        let poll = if t.backend() == "postgres" { 60_000 } else { 200 };
        let server = serve(&t.url, poll);
        let http = client(&token);
        let summary = format!("{}/api/v1/summary?as_of=2019-06-30", server.base);
        for _ in 0..3 {
            assert_eq!(http.get(&summary).send().await.unwrap().status(), 200);
        }
        let me = procure::access::Actor::local("test");
        let id = procure::access::list_tokens(&t.db).await.unwrap()[0].id;
        procure::access::revoke_token(&t.db, id, &me).await.unwrap();
        let revoked = Instant::now();
        let mut status = 200;
        while revoked.elapsed() < Duration::from_secs(5) {
            status = http.get(&summary).send().await.unwrap().status().as_u16();
            if status == 401 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(status, 401, "the revoked token was still accepted");
        let lag = revoked.elapsed();
        assert!(lag < Duration::from_secs(1), "the revocation took {lag:?}");
        eprintln!("{}: the revocation took effect after {lag:?}", t.backend());
    }
}
