//! The payments a report sums come from the monthly sums for whole months and from the
//! payments themselves for the days that do not fill a month. For random ledgers imported in
//! several batches recorded on different days, random as-of dates, windows and as-recorded
//! days, both groupings (per contract, per contract and month) equal a naive recomputation
//! from every payment row, on both backends.

mod common;

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use common::TestDb;
use procure::db::read::ledger::{self, Scope, Snapshot};
use procure::imports::{import_bytes, ImportOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::ConnectionTrait;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A payment as stored, with the day its batch was recorded (China time).
struct Row {
    contract_id: i64,
    paid_on: NaiveDate,
    fen: i64,
    recorded_on: NaiveDate,
}

async fn rows(t: &TestDb) -> Vec<Row> {
    let backend = t.db.get_database_backend();
    let recorded = match backend {
        sea_orm::DbBackend::Postgres => {
            "to_char(b.recorded_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"
        }
        _ => "date(b.recorded_at, '+8 hours')",
    };
    let sql = format!(
        "SELECT d.contract_id, d.paid_on, d.amount_fen, {recorded} AS recorded_on \
         FROM disbursements d JOIN import_batches b ON b.id = d.batch_id"
    );
    t.db.query_all_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|r| Row {
            contract_id: r.try_get("", "contract_id").unwrap(),
            paid_on: r.try_get("", "paid_on").unwrap(),
            fen: r.try_get("", "amount_fen").unwrap(),
            recorded_on: r
                .try_get::<String>("", "recorded_on")
                .unwrap()
                .parse()
                .unwrap(),
        })
        .collect()
}

/// Per contract (fen, count, last) and per (contract, month) fen, summed row by row.
type Naive = (
    BTreeMap<i64, (i64, i64, Option<NaiveDate>)>,
    BTreeMap<(i64, String), i64>,
);

fn naive(rows: &[Row], scope: &Scope) -> Naive {
    let mut per = BTreeMap::new();
    let mut by_month = BTreeMap::new();
    for r in rows.iter().filter(|r| {
        r.paid_on <= scope.as_of
            && scope.from.is_none_or(|f| r.paid_on >= f)
            && scope.as_recorded.is_none_or(|a| r.recorded_on <= a)
    }) {
        let e = per.entry(r.contract_id).or_insert((0, 0, None));
        e.0 += r.fen;
        e.1 += 1;
        e.2 = e.2.max(Some(r.paid_on));
        *by_month
            .entry((r.contract_id, r.paid_on.format("%Y-%m").to_string()))
            .or_insert(0) += r.fen;
    }
    (per, by_month)
}

async fn summed(t: &TestDb, scope: &Scope) -> Naive {
    let mut snap = Snapshot::default();
    ledger::paid(&t.db, scope, false, &mut snap).await.unwrap();
    ledger::paid(&t.db, scope, true, &mut snap).await.unwrap();
    let per = snap
        .paid
        .iter()
        .map(|(&id, p)| (id, (p.fen, p.count, p.last)))
        .collect();
    (per, snap.paid_by_month.into_iter().collect())
}

/// A register of `contracts` contracts (C000...) and `payments` payments among them,
/// dated across 2018–2019, with vouchers unique to this batch.
fn register(rng: &mut ChaCha8Rng, batch: usize, contracts: usize, payments: usize) -> String {
    let mut csv = String::from("项目编号,项目名称,服务类别,承接机构,合同金额,开始日期,结束日期\n");
    for c in 0..contracts {
        csv.push_str(&format!(
            "C{c:03},t,老年服务,p,10000000,2018-01-01,2019-12-31\n"
        ));
    }
    let mut pay = String::from("项目编号,拨付日期,拨付金额,凭证号,冲销凭证号\n");
    for i in 0..payments {
        let day = d(2018, 1, 1) + Duration::days(rng.random_range(0..730));
        let cents = rng.random_range(1..100_000);
        let contract = rng.random_range(0..contracts);
        pay.push_str(&format!(
            "C{contract:03},{day},{}.{:02},B{batch}-{i},\n",
            cents / 100,
            cents % 100
        ));
        // Every tenth payment is reversed, in a later month or the same.
        if i % 10 == 0 {
            let later = day + Duration::days(rng.random_range(0..60));
            pay.push_str(&format!(
                "C{contract:03},{later},-{}.{:02},R{batch}-{i},B{batch}-{i}\n",
                cents / 100,
                cents % 100
            ));
        }
    }
    format!("{csv}\u{0}{pay}")
}

both_backends! {
    async fn reports_sum_whole_months_and_partial_days_exactly_as_the_rows(t: &TestDb) {
        let mut rng = ChaCha8Rng::seed_from_u64(20190630);
        let opts = ImportOptions { actor: "test".into(), ..Default::default() };
        // Four batches, recorded on four different days.
        let recorded = [d(2019, 3, 1), d(2019, 6, 15), d(2019, 6, 30), d(2019, 12, 31)];
        for (batch, day) in recorded.iter().enumerate() {
            let reg = register(&mut rng, batch, 12, 400);
            let (contracts, payments) = reg.split_once('\u{0}').unwrap();
            let files = vec![
                (format!("c{batch}.csv"), contracts.as_bytes().to_vec()),
                (format!("p{batch}.csv"), payments.as_bytes().to_vec()),
            ];
            let r = import_bytes(&t.db, files, &opts, None).await.unwrap();
            assert!(r.ok, "{:?}", r.files.iter().flat_map(|f| f.errors.iter().map(|p| p.line(procure::Lang::En))).collect::<Vec<_>>());
            // Noon in China on that day.
            let at = format!("{day} 04:00:00+00:00");
            let sql = match t.backend() {
                "postgres" => format!("UPDATE import_batches SET recorded_at = TIMESTAMPTZ '{at}' WHERE recorded_at > TIMESTAMPTZ '2020-01-01 00:00:00+00'"),
                _ => format!("UPDATE import_batches SET recorded_at = '{at}' WHERE recorded_at > '2020'"),
            };
            t.db.execute_unprepared(&sql).await.unwrap();
        }
        let rows = rows(t).await;
        assert_eq!(rows.len(), 1_760, "1,600 payments and 160 reversals");
        let mut checked = 0;
        for case in 0..60 {
            let as_of = d(2017, 12, 25) + Duration::days(rng.random_range(0..780));
            // Month ends, month starts and the days around them are where a split can slip.
            let as_of = match case % 4 {
                0 => as_of.with_day0(0).unwrap() + chrono::Months::new(1) - Duration::days(1),
                1 => as_of.with_day0(0).unwrap(),
                _ => as_of,
            };
            let from = match rng.random_range(0..3) {
                0 => None,
                1 => Some(as_of - Duration::days(rng.random_range(0..400))),
                _ => Some(as_of.with_day0(0).unwrap() - chrono::Months::new(rng.random_range(0..12))),
            };
            let as_recorded = match rng.random_range(0..3) {
                0 => None,
                _ => Some(recorded[rng.random_range(0..4)] + Duration::days(rng.random_range(-1..=1))),
            };
            let scope = Scope { as_of, from, as_recorded, ..Default::default() };
            let (want, got) = (naive(&rows, &scope), summed(t, &scope).await);
            assert_eq!(got.0, want.0, "per contract, {scope:?}");
            assert_eq!(got.1, want.1, "per contract and month, {scope:?}");
            checked += want.0.len();
        }
        assert!(checked > 300, "the cases covered payments ({checked} contract sums)");
    }
}
