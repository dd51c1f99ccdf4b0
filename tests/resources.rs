//! Resources held within bounds, measured on a real `procure serve` process: a file of a
//! million bad payment rows (four bad cells each) is previewed through the API and viewed as
//! a page with the server's peak memory (VmHWM) under 200 MB, answers in seconds, and says
//! how many errors it found. Both backends.

mod common;

use std::time::{Duration, Instant};

use common::server::{serve, sign_in, Server};

use procure::access::Role;
use serde_json::Value as Json;

/// The process's peak resident memory so far, in bytes (`VmHWM`).
fn peak_rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))
        .expect("/proc is readable");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .expect("VmHWM in /proc/PID/status")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

/// 1,048,575 payment rows with four bad cells each (code, date, amount, voucher), about 9 MB.
fn bad_payments() -> Vec<u8> {
    let mut body = String::from("项目编号,拨付日期,拨付金额（元）,凭证号,冲销凭证号\n");
    body.reserve(1_048_575 * 9);
    for _ in 0..1_048_575 {
        body.push_str("\x01,x,y,,z\n");
    }
    body.into_bytes()
}

/// Memory the server may reach while previewing and showing the file.
const PEAK_LIMIT: u64 = 200 << 20;

both_backends! {
    async fn a_million_bad_rows_are_previewed_and_shown_within_bounds(t: &TestDb) {
        let token = t.api_token("fin", Role::Finance).await;
        let server = serve(&t.url, &[]);
        let http = common::bearer(&token);
        let idle = peak_rss(&server);

        let started = Instant::now();
        let form = reqwest::multipart::Form::new().part(
            "files",
            reqwest::multipart::Part::bytes(bad_payments()).file_name("bad.csv"),
        );
        let r = http.post(format!("{}/api/v1/uploads", server.base)).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let body = r.bytes().await.unwrap();
        let upload_took = started.elapsed();
        let doc: Json = serde_json::from_slice(&body).unwrap();
        let file = &doc["check"]["files"][0];
        assert_eq!(doc["check"]["ok"], false);
        assert_eq!(file["status"], "rejected");
        let total = file["error_total"].as_u64().unwrap();
        let listed = file["errors"].as_array().unwrap().len() as u64;
        assert!(total >= 4_000, "{total} errors counted");
        for (code, n) in file["error_counts"].as_object().unwrap() {
            let kept = file["errors"].as_array().unwrap().iter().filter(|e| e["code"] == code.as_str()).count() as u64;
            assert_eq!(kept, n.as_u64().unwrap().min(1_000), "{code}: listed up to 1,000");
        }
        assert!(
            file["errors"].as_array().unwrap().iter().any(|e| e["code"] == "check_stopped"),
            "the answer says where checking stopped"
        );
        let after_upload = peak_rss(&server);

        let session = sign_in(&server.base, "fin").await;
        let token_of_upload = doc["token"].as_str().unwrap();
        let started = Instant::now();
        let page = reqwest::Client::new()
            .get(format!("{}/upload/{token_of_upload}", server.base))
            .header(reqwest::header::COOKIE, format!("procure_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let page_took = started.elapsed();
        assert!(html.contains(&format!("共 {total} 个错误")), "the page says how many errors there were");
        let after_page = peak_rss(&server);
        eprintln!(
            "{}: answer {} KB with {listed} of {total} errors listed in {upload_took:?}; page {} KB in {page_took:?}; peak RSS idle {} MB, after the upload {} MB, after the page {} MB",
            t.backend(),
            body.len() / 1024,
            html.len() / 1024,
            idle >> 20,
            after_upload >> 20,
            after_page >> 20
        );
        assert!(after_page < PEAK_LIMIT, "peak {} MB", after_page >> 20);
        assert!(upload_took < Duration::from_secs(20), "upload took {upload_took:?}");
        assert!(page_took < Duration::from_secs(5), "page took {page_took:?}");
    }
}
