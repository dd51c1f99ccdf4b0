//! The OCDS export on both backends: every package is valid against the OCDS 1.1.5 schema
//! with the declared extensions patched in (read from the shared folder, never copied here),
//! its closed codelists hold, every party reference resolves, each contract's transactions
//! add up to the ledger's disbursed figure to the fen, the totals equal the summary report's,
//! and `as_recorded` reproduces an earlier package byte for byte.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use common::book::*;
use common::TestDb;
use procure::db::read::ocds::export;
use procure::imports::{import_paths, ImportOptions};
use procure::ocds::PackageKind;
use procure::reports::{build, ReportName, Request, Scope, Val};
use sea_orm::ConnectionTrait;
use serde_json::Value;

/// The OCDS schema, codelists and extensions, in the shared folder beside the repository, or
/// beside a folder above it when the repository is cloned deeper (CI's clean clone), or where
/// `PROCURE_OCDS_DIR` says.
fn shared() -> PathBuf {
    if let Some(d) = std::env::var_os("PROCURE_OCDS_DIR") {
        return PathBuf::from(d);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    repo.ancestors()
        .skip(1)
        .map(|d| d.join("shared").join("ocds"))
        .find(|d| d.join("schema/release-schema.json").exists())
        .unwrap_or_else(|| {
            panic!(
                "the shared OCDS folder (shared/ocds) is in no folder above {}: set PROCURE_OCDS_DIR",
                repo.display()
            )
        })
}

fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// JSON Merge Patch (RFC 7386), as OCDS extensions are applied.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

struct Ocds {
    release: jsonschema::Validator,
    release_package: jsonschema::Validator,
    record_package: jsonschema::Validator,
    schema: Value,
    codelists: HashMap<String, HashSet<String>>,
}

fn codes(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    let i = h.iter().position(|c| c == "Code").unwrap();
    r.records().map(|x| x.unwrap()[i].to_string()).collect()
}

/// The release schema with both extensions, the package schemas with their releases'
/// `$ref` left open (each release is validated on its own against the patched schema), and
/// the codelists with the extensions' additions.
fn ocds() -> Ocds {
    let dir = shared();
    let mut schema = read_json(&dir.join("schema/release-schema.json"));
    for ext in ["budget", "metrics"] {
        merge_patch(
            &mut schema,
            &read_json(&dir.join(format!("extensions/{ext}/release-schema.json"))),
        );
    }
    let open_refs = |mut v: Value| {
        fn walk(v: &mut Value) {
            match v {
                Value::Object(m) => {
                    if m.get("$ref")
                        .and_then(Value::as_str)
                        .is_some_and(|r| r.starts_with("http"))
                    {
                        m.clear();
                        m.insert("type".into(), "object".into());
                    } else {
                        m.values_mut().for_each(walk);
                    }
                }
                Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    };
    let release_package = open_refs(read_json(&dir.join("schema/release-package-schema.json")));
    let record_package = open_refs(read_json(&dir.join("schema/record-package-schema.json")));
    let mut codelists: HashMap<String, HashSet<String>> = HashMap::new();
    for e in std::fs::read_dir(dir.join("schema/codelists")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        codelists.insert(name, codes(&p).into_iter().collect());
    }
    for ext in ["budget", "metrics"] {
        let d = dir.join(format!("extensions/{ext}/codelists"));
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let base = name.trim_start_matches('+').to_string();
            codelists.entry(base).or_default().extend(codes(&p));
        }
    }
    Ocds {
        release: jsonschema::draft4::new(&schema).expect("the patched release schema compiles"),
        release_package: jsonschema::draft4::new(&release_package).unwrap(),
        record_package: jsonschema::draft4::new(&record_package).unwrap(),
        schema,
        codelists,
    }
}

impl Ocds {
    fn resolve<'a>(&'a self, s: &'a Value) -> &'a Value {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with("#/definitions/") => {
                &self.schema["definitions"][r.trim_start_matches("#/definitions/")]
            }
            _ => s,
        }
    }

    /// Every value of a closed codelist is one of its codes.
    fn codelists(&self, s: &Value, v: &Value, at: &str) {
        let s = self.resolve(s);
        if let (Some(list), false) = (
            s.get("codelist").and_then(Value::as_str),
            s.get("openCodelist")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        ) {
            let known = &self.codelists[list];
            let vals: Vec<&str> = match v {
                Value::String(x) => vec![x],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            for x in vals {
                assert!(known.contains(x), "{at}: '{x}' is not in {list}");
            }
        }
        match v {
            Value::Object(m) => {
                if let Some(props) = s.get("properties") {
                    for (k, x) in m {
                        if let Some(ps) = props.get(k) {
                            self.codelists(ps, x, &format!("{at}/{k}"));
                        }
                    }
                }
            }
            Value::Array(a) => {
                if let Some(items) = s.get("items") {
                    for (i, x) in a.iter().enumerate() {
                        self.codelists(items, x, &format!("{at}/{i}"));
                    }
                }
            }
            _ => {}
        }
    }

    fn release_is_valid(&self, r: &Value) {
        let errors: Vec<String> = self
            .release
            .iter_errors(r)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "release {}: {:#?}",
            r["id"],
            &errors[..errors.len().min(10)]
        );
        self.codelists(&self.schema, r, r["id"].as_str().unwrap_or("?"));
        references_resolve(r);
    }

    fn package_is_valid(&self, bytes: &[u8]) -> Value {
        let p: Value = serde_json::from_slice(bytes).expect("the package is JSON");
        if p.get("records").is_some() {
            let errors: Vec<String> = self
                .record_package
                .iter_errors(&p)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
            for rec in p["records"].as_array().unwrap() {
                for r in rec["releases"].as_array().unwrap() {
                    self.release_is_valid(r);
                }
                self.release_is_valid(&rec["compiledRelease"]);
            }
        } else {
            let errors: Vec<String> = self
                .release_package
                .iter_errors(&p)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
            for r in p["releases"].as_array().unwrap() {
                self.release_is_valid(r);
            }
        }
        for ext in p["extensions"].as_array().unwrap() {
            assert!(ext.as_str().unwrap().ends_with("extension.json"));
        }
        p
    }
}

/// Every organisation reference (an object with `id` and `name` under a key that names a
/// party) names a party of the release.
fn references_resolve(r: &Value) {
    let ids: HashSet<&str> = r["parties"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["id"].as_str()).collect())
        .unwrap_or_default();
    fn walk<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if ["buyer", "procuringEntity", "payer", "payee", "sourceParty"].contains(&key) {
                    out.push(m["id"].as_str().unwrap());
                }
                for (k, x) in m {
                    walk(x, k, out);
                }
            }
            Value::Array(a) => {
                for x in a {
                    if key == "suppliers" {
                        out.push(x["id"].as_str().unwrap());
                    }
                    walk(x, "", out);
                }
            }
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(r, "", &mut refs);
    for id in refs {
        assert!(
            ids.contains(id),
            "release {}: party {id} is not among its parties",
            r["id"]
        );
    }
}

/// Yuan as integer fen. serde_json reads the number as f64 here; amounts below 2^53 fen with
/// two decimals round back exactly. The export itself writes the decimal text.
fn fen(v: &Value) -> i64 {
    (v.as_f64().unwrap() * 100.0).round() as i64
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn load(t: &TestDb, files: &[PathBuf]) {
    let opts = ImportOptions {
        actor: "test".into(),
        ..Default::default()
    };
    let r = import_paths(&t.db, files, &opts, None).await.unwrap();
    assert!(
        r.ok,
        "{:?}",
        r.files.iter().map(|f| &f.errors).collect::<Vec<_>>()
    );
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx")
}

fn scope(as_of: NaiveDate, as_recorded: Option<NaiveDate>) -> Scope {
    Scope {
        as_of,
        as_recorded,
        ..Default::default()
    }
}

fn money(v: &Val) -> i64 {
    match v {
        Val::Money(m) => m.fen(),
        Val::Int(i) => *i,
        other => panic!("{other:?}"),
    }
}

both_backends! {
    async fn the_sample_exports_valid_packages_whose_sums_equal_the_ledger_and_the_summary(t: &TestDb) {
        load(t, &[sample()]).await;
        let o = ocds();
        let as_of = day(2019, 6, 30);
        let bytes = export(&t.db, &scope(as_of, None), None, PackageKind::Release).await.unwrap();
        let releases = o.package_is_valid(&bytes);
        let tags: HashSet<&str> = releases["releases"].as_array().unwrap().iter().map(|r| r["tag"][0].as_str().unwrap()).collect();
        for tag in ["planning", "tender", "award", "contract", "implementation"] {
            assert!(tags.contains(tag), "no {tag} release");
        }
        let records = o.package_is_valid(&export(&t.db, &scope(as_of, None), None, PackageKind::Record).await.unwrap());

        // Each contract's transactions equal its disbursed figure in the ledger, to the fen.
        let mut ledger: HashMap<String, i64> = HashMap::new();
        for r in t.db.query_all_raw(sea_orm::Statement::from_string(t.db.get_database_backend(),
            "SELECT c.code, CAST(SUM(d.amount_fen) AS BIGINT) AS fen FROM disbursements d JOIN contracts c ON c.id = d.contract_id \
             WHERE d.paid_on <= '2019-06-30' GROUP BY c.code")).await.unwrap() {
            ledger.insert(r.try_get("", "code").unwrap(), r.try_get("", "fen").unwrap());
        }
        let (mut value, mut paid, mut n) = (0i64, 0i64, 0i64);
        for rec in records["records"].as_array().unwrap() {
            let c = &rec["compiledRelease"]["contracts"][0];
            let code = c["id"].as_str().unwrap();
            assert_eq!(rec["ocid"], format!("ocds-procure-{code}"));
            let sum: i64 = c["implementation"]["transactions"].as_array().map(|ts| ts.iter().map(|x| fen(&x["value"]["amount"])).sum()).unwrap_or(0);
            assert_eq!(sum, ledger.get(code).copied().unwrap_or(0), "{code}");
            value += fen(&c["value"]["amount"]);
            paid += sum;
            n += 1;
            // the release package holds the same releases
            assert_eq!(rec["releases"].as_array().unwrap().len(),
                releases["releases"].as_array().unwrap().iter().filter(|r| r["ocid"] == rec["ocid"]).count());
        }
        // The sample's evaluations are assessment milestones, their evaluators parties.
        let assessed = records["records"].as_array().unwrap().iter().filter(|rec| {
            rec["compiledRelease"]["contracts"][0]["milestones"].as_array().is_some_and(|ms| ms.iter().all(|m| m["type"] == "assessment"))
        }).count();
        let evaluated = t.scalar("SELECT COUNT(DISTINCT contract_id) FROM evaluations WHERE evaluated_on <= '2019-06-30'").await;
        assert!(evaluated > 0);
        assert_eq!(assessed as i64, evaluated);
        let summary = build(&t.db, &Request { name: ReportName::Summary, scope: scope(as_of, None), by: vec![], lang: procure::Lang::Zh, evaluations: Default::default() }).await.unwrap();
        let total = summary.total.unwrap();
        let col = |k: &str| summary.columns.iter().position(|c| c.key == k).unwrap();
        assert_eq!(n, money(&total[col("contracts")]));
        assert_eq!(n, 97);
        assert_eq!(value, money(&total[col("value")]));
        assert_eq!(value, 1_453_270_000);
        assert_eq!(paid, money(&total[col("disbursed")]));
        // the same ledger, the same bytes
        assert_eq!(bytes, export(&t.db, &scope(as_of, None), None, PackageKind::Release).await.unwrap());
    }
}

fn tiny(dir: &Path) -> PathBuf {
    xlsx(
        dir,
        "tiny.xlsx",
        &[
            (
                "合同",
                vec![
                    header(&CONTRACT_HEADER),
                    contract(
                        "GD-001",
                        "居家养老",
                        "老年服务",
                        "甲中心",
                        1_000.0,
                        day(2019, 1, 1),
                        day(2019, 12, 31),
                    ),
                ],
            ),
            (
                "拨付",
                vec![
                    header(&PAYMENT_HEADER),
                    payment("GD-001", day(2019, 6, 30), 100.0, "V1"),
                    payment("GD-001", day(2019, 7, 1), 200.0, "V2"),
                ],
            ),
            (
                "服务",
                vec![
                    header(&SERVICE_HEADER),
                    vec![s("GD-001"), s("2019-06"), n(10.0), V::Blank, n(20.0)],
                ],
            ),
        ],
    )
}

both_backends! {
    async fn as_recorded_reproduces_an_earlier_package_byte_for_byte_and_amendments_follow(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        load(t, &[tiny(dir.path())]).await;
        let at = if t.backend() == "postgres" { "TIMESTAMPTZ '2019-07-05 02:00:00+00'" } else { "'2019-07-05 02:00:00+00:00'" };
        t.db.execute_unprepared(&format!("UPDATE import_batches SET recorded_at = {at}")).await.unwrap();
        let as_of = day(2019, 7, 31);
        let then = Some(day(2019, 7, 5));
        let mut before = Vec::new();
        for kind in [PackageKind::Release, PackageKind::Record] {
            before.push(export(&t.db, &scope(as_of, then), Some("ocds-test01"), kind).await.unwrap());
        }
        // Later: the value is corrected, a payment and a reversal come in.
        let fix = xlsx(dir.path(), "fix.xlsx", &[
            ("合同", vec![header(&CONTRACT_HEADER), contract("GD-001", "居家养老", "老年服务", "甲中心", 2_000.0, day(2019, 1, 1), day(2019, 12, 31))]),
            ("拨付", vec![
                header(&PAYMENT_HEADER),
                payment("GD-001", day(2019, 7, 2), 300.0, "V3"),
                vec![s("GD-001"), V::D(day(2019, 7, 3)), n(-200.0), s("V4"), V::Blank, s("V2")],
            ]),
        ]);
        load(t, &[fix]).await;
        for (i, kind) in [PackageKind::Release, PackageKind::Record].into_iter().enumerate() {
            // the prefix was kept: no need to give it again
            let again = export(&t.db, &scope(as_of, then), None, kind).await.unwrap();
            assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&before[i]), "{kind:?}");
        }
        let o = ocds();
        let now = o.package_is_valid(&export(&t.db, &scope(as_of, None), None, PackageKind::Record).await.unwrap());
        let rec = &now["records"][0];
        assert_eq!(rec["ocid"], "ocds-test01-GD-001");
        let c = &rec["compiledRelease"]["contracts"][0];
        assert_eq!(fen(&c["value"]["amount"]), 200_000);
        assert_eq!(c["amendments"].as_array().unwrap().len(), 1);
        let ts = c["implementation"]["transactions"].as_array().unwrap();
        assert_eq!(ts.len(), 4);
        assert!(ts.iter().any(|x| x["id"] == "V4-reverses-V2" && fen(&x["value"]["amount"]) == -20_000));
        assert_eq!(ts.iter().map(|x| fen(&x["value"]["amount"])).sum::<i64>(), 40_000);
        let m = &c["implementation"]["metrics"];
        assert_eq!(m[0]["observations"][0]["measure"], 10);
        let tags: Vec<&str> = rec["releases"].as_array().unwrap().iter().map(|r| r["tag"][0].as_str().unwrap()).collect();
        assert_eq!(tags, ["tender", "award", "contract", "implementation", "implementation", "contractAmendment"]);
    }
}

#[test]
fn the_checks_refuse_a_broken_release() {
    let o = ocds();
    let good: Value = serde_json::json!({
        "ocid": "ocds-procure-X", "id": "r1", "date": "2019-01-01T00:00:00+08:00", "tag": ["tender"],
        "initiationType": "tender", "parties": [{"id": "b", "name": "B", "roles": ["buyer"]}],
        "buyer": {"id": "b", "name": "B"}
    });
    o.release_is_valid(&good);
    let mut no_ocid = good.clone();
    no_ocid.as_object_mut().unwrap().remove("ocid");
    assert!(o.release.iter_errors(&no_ocid).count() > 0);
    let mut bad_amount = good.clone();
    bad_amount["planning"] =
        serde_json::json!({"budget": {"amount": {"amount": "12", "currency": "CNY"}}});
    assert!(o.release.iter_errors(&bad_amount).count() > 0);
    let mut bad_tag = good.clone();
    bad_tag["tag"] = serde_json::json!(["signed"]);
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || o.codelists(&o.schema, &bad_tag, "x")
    ))
    .is_err());
    let mut dangling = good.clone();
    dangling["buyer"]["id"] = "nobody".into();
    assert!(std::panic::catch_unwind(|| references_resolve(&dangling)).is_err());
}

async fn api_get(
    state: &procure::web::state::AppState,
    token: &str,
    uri: &str,
) -> (axum::http::StatusCode, Vec<u8>) {
    use tower::ServiceExt;
    let req = axum::http::Request::get(uri)
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = procure::web::router(state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    (
        status,
        axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
}

both_backends! {
    async fn the_api_pages_packages_with_links_next_and_serves_one_ocid(t: &TestDb) {
        load(t, &[sample()]).await;
        let token = t.api_token("ocds-reader", procure::access::Role::Auditor).await;
        let state = procure::web::state::AppState::new(t.db.clone(), procure::web::state::WebConfig::default());
        let o = ocds();
        // 97 processes: a page of 100 has no next page; the CLI's bytes are the API's
        let (status, body) = api_get(&state, &token, "/api/v1/ocds/releases?as_of=2019-06-30").await;
        assert_eq!(status, 200);
        let p = o.package_is_valid(&body);
        assert!(p.get("links").is_none());
        assert_eq!(body, export(&t.db, &scope(day(2019, 6, 30), None), None, PackageKind::Release).await.unwrap());
        let (_, body) = api_get(&state, &token, "/api/v1/ocds/records?as_of=2019-06-30").await;
        let recs = o.package_is_valid(&body);
        // a page past the last is not there (a package holds at least one record)
        let last = recs["records"][96]["compiledRelease"]["contracts"][0]["id"].as_str().unwrap().to_string();
        let (status, _) = api_get(&state, &token, &format!("/api/v1/ocds/records?as_of=2019-06-30&after={last}")).await;
        assert_eq!(status, 404);
        let first = recs["records"][0]["ocid"].as_str().unwrap().to_string();
        let (status, body) = api_get(&state, &token, &format!("/api/v1/ocds/{first}?as_of=2019-06-30")).await;
        assert_eq!(status, 200);
        let one = o.package_is_valid(&body);
        assert_eq!(one["records"].as_array().unwrap().len(), 1);
        assert_eq!(one["records"][0], recs["records"][0]);
        let (status, _) = api_get(&state, &token, "/api/v1/ocds/ocds-procure-NO-SUCH").await;
        assert_eq!(status, 404);
        let (status, _) = api_get(&state, &token, "/api/v1/ocds/releases?as_of=2019-13-01").await;
        assert_eq!(status, 400);
    }
}

/// The releases of a release package, or the records of a record package.
fn items(p: &Value) -> &Vec<Value> {
    p.get("releases")
        .unwrap_or(&p["records"])
        .as_array()
        .unwrap()
}

/// An item's id: a release's own, a record's ocid.
fn item_id(v: &Value) -> String {
    v.get("id")
        .unwrap_or(&v["ocid"])
        .as_str()
        .unwrap()
        .to_string()
}

both_backends! {
    async fn following_links_next_through_small_pages_gives_the_whole_export_once_each(t: &TestDb) {
        load(t, &[sample()]).await;
        let token = t.api_token("ocds-pager", procure::access::Role::Auditor).await;
        let state = procure::web::state::AppState::new(t.db.clone(), procure::web::state::WebConfig::default());
        let o = ocds();
        // Mid-2018 leaves out the contracts signed later, so a page read by keyset must read
        // past rows that are not in scope; mid-2019 has all 97.
        for as_of in [day(2018, 6, 30), day(2019, 6, 30)] {
            for (kind, path) in [(PackageKind::Release, "releases"), (PackageKind::Record, "records")] {
                let whole = o.package_is_valid(&export(&t.db, &scope(as_of, None), None, kind).await.unwrap());
                let ocids: Vec<&str> = {
                    let mut v: Vec<&str> = items(&whole).iter().map(|x| x["ocid"].as_str().unwrap()).collect();
                    v.dedup();
                    v
                };
                let processes = ocids.len();
                assert!(processes > 14, "{as_of}: {processes}");
                for per_page in [7, processes - 1, processes] {
                    let mut next = Some(format!("/api/v1/ocds/{path}?as_of={as_of}&per_page={per_page}"));
                    let (mut paged, mut pages) = (Vec::new(), 0);
                    while let Some(uri) = next {
                        let (status, body) = api_get(&state, &token, &uri).await;
                        assert_eq!(status, 200, "{uri}: {}", String::from_utf8_lossy(&body));
                        let p = o.package_is_valid(&body);
                        let mut on_page: Vec<&str> = items(&p).iter().map(|x| x["ocid"].as_str().unwrap()).collect();
                        on_page.dedup();
                        assert!(on_page.len() <= per_page, "{uri}: {} processes", on_page.len());
                        pages += 1;
                        // links.next is there exactly when a further page is
                        next = p.get("links").map(|l| l["next"].as_str().unwrap().to_string());
                        let left = processes - paged.iter().map(|x: &Value| x["ocid"].as_str().unwrap().to_string()).collect::<HashSet<_>>().len();
                        assert_eq!(next.is_some(), left > on_page.len(), "{uri}");
                        paged.extend(items(&p).iter().cloned());
                    }
                    assert_eq!(pages, processes.div_ceil(per_page), "{as_of} {path} per_page={per_page}");
                    // The same releases (or records) in the same order: none twice, none missing.
                    let ids: Vec<String> = paged.iter().map(item_id).collect();
                    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "an item came twice");
                    assert_eq!(ids, items(&whole).iter().map(item_id).collect::<Vec<_>>());
                    assert_eq!(&paged, items(&whole), "{as_of} {path} per_page={per_page}");
                }
            }
        }
    }
}

both_backends! {
    async fn procure_export_ocds_streams_the_same_bytes_to_a_file_or_stdout_and_an_empty_ledger_leaves_no_file(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_procure"))
                .current_dir(dir.path())
                .args(["--database", &t.url, "export", "ocds", "--as-of", "2019-06-30"])
                .args(args)
                .output()
                .unwrap()
        };
        let empty = run(&["--output", "empty.json"]);
        assert_eq!(empty.status.code(), Some(1), "{}", String::from_utf8_lossy(&empty.stderr));
        assert!(!dir.path().join("empty.json").exists(), "no half-written package is left");
        load(t, &[sample()]).await;
        for kind in [PackageKind::Release, PackageKind::Record] {
            let name = format!("{kind:?}").to_lowercase();
            let expected = export(&t.db, &scope(day(2019, 6, 30), None), None, kind).await.unwrap();
            let to_file = run(&["--package", &name, "--output", "p.json"]);
            assert!(to_file.status.success(), "{}", String::from_utf8_lossy(&to_file.stderr));
            assert_eq!(std::fs::read(dir.path().join("p.json")).unwrap(), expected, "{name} to a file");
            let to_stdout = run(&["--package", &name, "--output", "-"]);
            assert!(to_stdout.status.success());
            assert_eq!(to_stdout.stdout, expected, "{name} to stdout");
        }
    }
}
