//! A real `procure serve` process on a free port, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `procure --database URL serve --addr 127.0.0.1:0 EXTRA...` and waits for the
/// address it prints.
pub fn serve(url: &str, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_procure"))
        .args(["--database", url, "serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    // Keep reading its log so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

/// Signs in through the login form of `base` (password "password-1"); returns the session cookie's value.
pub async fn sign_in(base: &str, name: &str) -> String {
    let http = reqwest::Client::new();
    let form = http.get(format!("{base}/login")).send().await.unwrap();
    let cookie = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.strip_prefix(&format!("{name}="))
                    .map(|v| v.split(';').next().unwrap().to_string())
            })
    };
    let login = cookie(&form, "procure_login").unwrap();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, format!("procure_login={login}"))
        .form(&[
            ("login_token", login.as_str()),
            ("name", name),
            ("password", "password-1"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    cookie(&r, "procure_session").unwrap()
}
