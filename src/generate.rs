//! Synthetic registers: the 97-contract sample in `imports/` and seeded data for demos and benchmarks.
//!
//! Everything here is invented (names, codes, amounts) and deterministic: the sample has a
//! fixed seed and fixed document properties, so two runs give the same bytes.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_xlsxwriter::{
    Color, DataValidation, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder,
    Workbook, Worksheet,
};

use crate::contracts::{Category, FundingSource, ProcurementMethod};
use crate::providers::Uscc;
use crate::Money;

/// Headers of the contracts sheet `项目合同`, in order.
pub const CONTRACT_HEADERS: [&str; 15] = [
    "项目编号",
    "项目名称",
    "服务类别",
    "承接机构",
    "统一社会信用代码",
    "购买主体",
    "街道",
    "社区",
    "采购方式",
    "资金来源",
    "合同金额（元）",
    "签订日期",
    "开始日期",
    "结束日期",
    "计划服务人数",
];

/// Headers of the disbursements sheet `拨付记录`, in order.
pub const DISBURSEMENT_HEADERS: [&str; 7] = [
    "项目编号",
    "拨付日期",
    "拨付金额（元）",
    "凭证号",
    "拨付批次",
    "冲销凭证号",
    "备注",
];

/// Headers of the service-report sheet `服务统计`, in order.
pub const SERVICE_HEADERS: [&str; 5] = [
    "项目编号",
    "统计期间",
    "新增服务人数",
    "累计服务人数",
    "服务人次",
];

/// What `generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FileFormat {
    Xlsx,
    Csv,
    #[default]
    Both,
}

impl FileFormat {
    fn xlsx(self) -> bool {
        matches!(self, FileFormat::Xlsx | FileFormat::Both)
    }

    fn csv(self) -> bool {
        matches!(self, FileFormat::Csv | FileFormat::Both)
    }
}

/// Options of the seeded generator for demos and benchmarks.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Folder the files go to (created if missing).
    pub out: PathBuf,
    /// Same seed, same bytes.
    pub seed: u64,
    /// Rows of `项目合同`.
    pub contracts: usize,
    /// Rows of `拨付记录`.
    pub payments: usize,
    /// Rows of `服务统计`; at most 36 per contract (one a month over a term of at most 3 years).
    pub services: usize,
    pub format: FileFormat,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            out: PathBuf::from("generated"),
            seed: 1,
            contracts: 1_000,
            payments: 100_000,
            services: 12_000,
            format: FileFormat::Both,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------

struct Provider {
    name: String,
    uscc: Uscc,
}

struct Contract {
    code: String,
    name: String,
    category: Category,
    provider: usize,
    purchaser: String,
    street: &'static str,
    community: &'static str,
    method: ProcurementMethod,
    funding: FundingSource,
    value: i64,
    signed: NaiveDate,
    start: NaiveDate,
    end: NaiveDate,
    planned: u64,
}

/// Which part of the sample's one correction a payment plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Normal,
    /// Booked against the wrong contract.
    Wrong,
    /// The negative entry that cancels [`Role::Wrong`].
    Reversal,
    /// The same payment booked again, against the right contract.
    Rebooked,
}

struct Payment {
    code: String,
    date: NaiveDate,
    fen: i64,
    voucher: String,
    batch: &'static str,
    reverses: String,
    note: String,
    role: Role,
}

struct Report {
    code: String,
    year: i32,
    month: u32,
    new_people: u64,
    cumulative: u64,
    sessions: u64,
}

/// One cell, typed: the xlsx writer gives it a number format, the csv writer a text form.
enum Cell {
    Text(String),
    Date(NaiveDate),
    /// An amount in fen.
    Yuan(i64),
    Count(u64),
    /// 统计期间: `2019年6月` in a workbook (as officers type it), `2019-06` in a csv.
    Month(i32, u32),
    Blank,
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Yuan(fen) => Money::from_fen(*fen).to_string(),
            Cell::Count(n) => n.to_string(),
            Cell::Month(y, m) => format!("{y:04}-{m:02}"),
            Cell::Blank => String::new(),
        }
    }
}

/// Records on their way to a writer, built lazily so a million rows are never all in memory.
type Rows<'a> = Box<dyn Iterator<Item = Vec<Cell>> + 'a>;

fn contract_cells(c: &Contract, providers: &[Provider]) -> Vec<Cell> {
    let p = &providers[c.provider];
    vec![
        Cell::Text(c.code.clone()),
        Cell::Text(c.name.clone()),
        Cell::Text(c.category.zh().into()),
        Cell::Text(p.name.clone()),
        Cell::Text(p.uscc.to_string()),
        Cell::Text(c.purchaser.clone()),
        Cell::Text(format!("{}街道", c.street)),
        Cell::Text(format!("{}社区", c.community)),
        Cell::Text(c.method.zh().into()),
        Cell::Text(c.funding.zh().into()),
        Cell::Yuan(c.value),
        Cell::Date(c.signed),
        Cell::Date(c.start),
        Cell::Date(c.end),
        Cell::Count(c.planned),
    ]
}

fn payment_cells(p: &Payment) -> Vec<Cell> {
    let opt = |s: &str| {
        if s.is_empty() {
            Cell::Blank
        } else {
            Cell::Text(s.into())
        }
    };
    vec![
        Cell::Text(p.code.clone()),
        Cell::Date(p.date),
        Cell::Yuan(p.fen),
        Cell::Text(p.voucher.clone()),
        opt(p.batch),
        opt(&p.reverses),
        opt(&p.note),
    ]
}

fn report_cells(r: &Report) -> Vec<Cell> {
    vec![
        Cell::Text(r.code.clone()),
        Cell::Month(r.year, r.month),
        Cell::Count(r.new_people),
        Cell::Count(r.cumulative),
        Cell::Count(r.sessions),
    ]
}

// ---------------------------------------------------------------------------------------
// Invented places and organisations
// ---------------------------------------------------------------------------------------

/// Eight invented sub-districts (街道) and their 63 communities (社区), the shape of the
/// real district (DOMAIN.md) without its names.
#[rustfmt::skip]
const STREETS: [(&str, &[&str]); 8] = [
    ("青云", &["青云", "翠湖苑", "丰源", "春华", "锦绣", "书香", "望江", "明珠"]),
    ("松华", &["松华", "瑞景", "兴隆", "和平", "云锦", "滨河", "怡园"]),
    ("金桥", &["金桥", "金色大道", "映月", "福德", "新村", "润城", "东华", "双桥"]),
    ("白沙", &["白沙", "沙河", "柳营", "石坝", "清泉", "南苑", "桃源"]),
    ("宝丰", &["宝丰", "丰收", "嘉和", "瑞和", "馨苑", "银杏", "梧桐", "海棠", "紫薇"]),
    ("翠屏", &["翠屏", "屏山", "秀岭", "金鼎", "竹园", "枫林", "绿洲", "晨光"]),
    ("云溪", &["云溪", "溪畔", "龙泉", "泉源", "花溪", "凤鸣", "凤栖", "雨花"]),
    ("东湖", &["东湖", "湖滨", "杏林", "樱花", "荷塘", "长虹", "彩云", "锦华"]),
];

fn communities() -> Vec<(&'static str, &'static str)> {
    STREETS
        .iter()
        .flat_map(|(s, cs)| cs.iter().map(move |c| (*s, *c)))
        .collect()
}

/// The sample's 40 providers: name, whether a 社会团体 (USCC `51…`, else 民办非企业单位
/// `52…`), and the category they work in (`None`: general social-work centres).
#[rustfmt::skip]
const SAMPLE_PROVIDERS: [(&str, bool, Option<Category>); 40] = [
    ("官渡区乐龄居家养老服务中心", false, Some(Category::Elderly)),
    ("昆明市官渡区福寿社会工作服务中心", false, Some(Category::Elderly)),
    ("官渡区长青为老服务中心", false, Some(Category::Elderly)),
    ("官渡区悦享养老服务中心", false, Some(Category::Elderly)),
    ("官渡区安康社会工作服务中心", false, Some(Category::Elderly)),
    ("昆明市官渡区馨园居家养老服务中心", false, Some(Category::Elderly)),
    ("官渡区暖阳社会工作服务中心", false, Some(Category::Elderly)),
    ("官渡区颐和老年服务中心", false, Some(Category::Elderly)),
    ("官渡区银龄互助协会", true, Some(Category::Elderly)),
    ("官渡区守望社会工作服务中心", false, Some(Category::Elderly)),
    ("官渡区康馨养老服务中心", false, Some(Category::Elderly)),
    ("官渡区怡然为老服务中心", false, Some(Category::Elderly)),
    ("官渡区启明青少年事务服务中心", false, Some(Category::Youth)),
    ("官渡区新苗青少年成长服务中心", false, Some(Category::Youth)),
    ("昆明市官渡区向阳社会工作服务中心", false, Some(Category::Youth)),
    ("官渡区青禾青少年发展中心", false, Some(Category::Youth)),
    ("官渡区知行社会工作服务中心", false, Some(Category::Youth)),
    ("官渡区彩虹儿童服务中心", false, Some(Category::Youth)),
    ("官渡区翼展青少年服务中心", false, Some(Category::Youth)),
    ("官渡区明德青少年事务服务中心", false, Some(Category::Youth)),
    ("官渡区晨曦青少年志愿服务协会", true, Some(Category::Youth)),
    ("官渡区慧心助残服务中心", false, Some(Category::Disability)),
    ("官渡区融乐康复服务中心", false, Some(Category::Disability)),
    ("昆明市官渡区扶光助残服务中心", false, Some(Category::Disability)),
    ("官渡区心桥精神康复服务中心", false, Some(Category::Disability)),
    ("官渡区同行残疾人互助协会", true, Some(Category::Disability)),
    ("官渡区润泽社会工作服务中心", false, Some(Category::Disability)),
    ("官渡区康宁助残服务中心", false, Some(Category::Disability)),
    ("官渡区微光残障支持服务中心", false, Some(Category::Disability)),
    ("官渡区同心社会工作服务中心", false, Some(Category::Relief)),
    ("官渡区善行社会工作服务中心", false, Some(Category::Relief)),
    ("昆明市官渡区博爱社区服务中心", false, Some(Category::Relief)),
    ("官渡区携手慈善帮扶协会", true, Some(Category::Relief)),
    ("官渡区恒爱社会工作服务中心", false, Some(Category::Relief)),
    ("官渡区聚力社会救助服务中心", false, Some(Category::Relief)),
    ("官渡区益友志愿服务协会", true, Some(Category::Relief)),
    ("官渡区众行社会工作服务中心", false, Some(Category::Relief)),
    ("官渡区睦邻社会工作服务中心", false, None),
    ("官渡区友邻社区发展中心", false, None),
    ("官渡区和美社会工作促进会", true, None),
];

/// Name stems and kinds for the generator's providers, combined as far as needed.
const STEMS: [&str; 40] = [
    "同心", "春晖", "暖阳", "乐龄", "启明", "彩虹", "晨曦", "知行", "恒爱", "明德", "携手", "益友",
    "安康", "慧心", "阳光", "馨园", "和美", "向阳", "善缘", "博爱", "睦邻", "长青", "福寿", "悦享",
    "青禾", "新苗", "翼展", "融乐", "康馨", "扶光", "守望", "润泽", "聚力", "众行", "微光", "友邻",
    "怡然", "心桥", "暖心", "立德",
];
const KINDS: [(&str, bool); 10] = [
    ("社会工作服务中心", false),
    ("居家养老服务中心", false),
    ("青少年事务服务中心", false),
    ("助残服务中心", false),
    ("社区服务中心", false),
    ("康复服务中心", false),
    ("社区发展中心", false),
    ("志愿服务协会", true),
    ("互助协会", true),
    ("社会工作促进会", true),
];

/// Character 9 of GB 11714 (the organisation code inside characters 9-17 of a USCC).
fn org_code_check(first8: &str) -> char {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first8
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10).unwrap_or('0'),
    }
}

/// A USCC of an organisation registered with the district civil-affairs bureau
/// (`5` + kind + `530111` Guandu) whose organisation code is `MJ` + six digits.
fn ngo_uscc(social_group: bool, digits: u32) -> Uscc {
    let org8 = format!("MJ{:06}", digits % 1_000_000);
    let body = format!(
        "5{}530111{org8}{}",
        if social_group { '1' } else { '2' },
        org_code_check(&org8)
    );
    Uscc::complete(&body)
}

fn project_templates(c: Category) -> &'static [&'static str] {
    match c {
        Category::Elderly => &[
            "居家养老服务项目",
            "老年人日间照料服务项目",
            "老年助餐服务项目",
            "空巢老人关爱服务项目",
            "老年人精神慰藉服务项目",
            "失能老人探访服务项目",
        ],
        Category::Youth => &[
            "青少年成长护航项目",
            "四点半课堂服务项目",
            "留守儿童关爱服务项目",
            "青少年禁毒预防教育项目",
            "困境儿童社会工作服务项目",
        ],
        Category::Disability => &[
            "残疾人居家康复服务项目",
            "残疾人辅助就业支持项目",
            "精神障碍社区康复服务项目",
            "助残融合服务项目",
        ],
        Category::Relief => &[
            "困难群众社会救助服务项目",
            "低保家庭帮扶项目",
            "特困人员关爱服务项目",
            "临时救助个案帮扶项目",
        ],
        Category::Other => &[
            "邻里互助服务项目",
            "社区社会工作室运营项目",
            "居民议事能力提升项目",
        ],
    }
}

/// Who buys a service of this category: the civil-affairs bureau mostly, the youth league
/// and the disabled persons' federation for their fields, and sub-district offices.
fn purchaser(rng: &mut ChaCha8Rng, c: Category, street: &str) -> String {
    let roll = rng.random_range(0..100);
    let office = || format!("{street}街道办事处");
    match c {
        Category::Youth if roll < 45 => "共青团官渡区委员会".into(),
        Category::Disability if roll < 55 => "官渡区残疾人联合会".into(),
        Category::Other if roll < 70 => office(),
        _ if roll < 75 => "官渡区民政局".into(),
        _ => office(),
    }
}

/// Procurement method by value (Government Procurement Law art. 26): open tender for the
/// largest, consultation and negotiation in the middle, quotation and single source rarely.
fn method(rng: &mut ChaCha8Rng, value_fen: i64) -> ProcurementMethod {
    use ProcurementMethod::*;
    let roll = rng.random_range(0..100);
    let table: &[(u32, ProcurementMethod)] = if value_fen >= 30_000_000 {
        &[
            (55, OpenTender),
            (85, CompetitiveConsultation),
            (100, CompetitiveNegotiation),
        ]
    } else if value_fen >= 10_000_000 {
        &[
            (50, CompetitiveConsultation),
            (75, CompetitiveNegotiation),
            (83, InvitedTender),
            (90, SingleSource),
            (100, Inquiry),
        ]
    } else {
        &[
            (40, CompetitiveConsultation),
            (70, CompetitiveNegotiation),
            (90, Inquiry),
            (100, SingleSource),
        ]
    };
    table
        .iter()
        .find(|(p, _)| roll < *p)
        .map(|(_, m)| *m)
        .unwrap_or(CompetitiveConsultation)
}

/// The welfare-lottery fund pays for the old, the disabled, orphans and people in need
/// (扶老、助残、救孤、济困); the general budget pays for the rest.
fn funding(rng: &mut ChaCha8Rng, c: Category) -> FundingSource {
    let roll = rng.random_range(0..100);
    let lottery = match c {
        Category::Elderly | Category::Disability | Category::Relief => 45,
        _ => 10,
    };
    if roll < lottery {
        FundingSource::WelfareLottery
    } else if roll < 93 {
        FundingSource::Budget
    } else {
        FundingSource::Other
    }
}

// ---------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a fixed valid date")
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n))
        .expect("dates stay far from chrono's limits")
}

/// The last day of a term of `months` months from `start`.
fn term_end(start: NaiveDate, months: u32) -> NaiveDate {
    add_months(start, months) - Duration::days(1)
}

/// Offices pay and sign on working days: a weekend date moves to Monday.
fn workday(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d + Duration::days(2),
        Weekday::Sun => d + Duration::days(1),
        _ => d,
    }
}

fn random_workday(rng: &mut ChaCha8Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days();
    loop {
        let d = from + Duration::days(rng.random_range(0..=span));
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            return d;
        }
    }
}

/// The calendar months a term touches, first to last.
fn months_of(start: NaiveDate, end: NaiveDate) -> Vec<(i32, u32)> {
    let mut out = Vec::new();
    let (mut y, mut m) = (start.year(), start.month());
    while (y, m) <= (end.year(), end.month()) {
        out.push((y, m));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

// ---------------------------------------------------------------------------------------
// The sample
// ---------------------------------------------------------------------------------------

const SAMPLE_SEED: u64 = 20_190_630;
/// 97 projects and 14,532,700.00 yuan: "1453.27万元" in the bureau's statement.
const SAMPLE_CONTRACTS: usize = 97;
const SAMPLE_TOTAL_FEN: i64 = 1_453_270_000;
/// New people served in periods ending on or before [`SAMPLE_AS_OF`]: "5.12万人".
const SAMPLE_PEOPLE: u64 = 51_236;
const SAMPLE_AS_OF: (i32, u32, u32) = (2019, 6, 30);
/// The register was extracted at the end of 2019: payments and reports run on after the
/// statement date, so a report as of 2019-06-30 must leave them out.
const SAMPLE_EXTRACTED: (i32, u32, u32) = (2019, 12, 31);
const MIN_VALUE_FEN: i64 = 5_000_000;
const MAX_VALUE_FEN: i64 = 50_000_000;

struct Register {
    providers: Vec<Provider>,
    contracts: Vec<Contract>,
    payments: Vec<Payment>,
    reports: Vec<Report>,
}

/// How finely a contract value was negotiated; the exact total is reached by moving whole
/// thousands on round values and the last few yuan and fen on one odd value.
#[derive(Clone, Copy, PartialEq)]
enum Grain {
    Thousand,
    Hundred,
    Fen,
}

impl Grain {
    fn round(self, fen: i64) -> i64 {
        let unit = match self {
            Grain::Thousand => 100_000,
            Grain::Hundred => 10_000,
            Grain::Fen => 1,
        };
        (fen + unit / 2) / unit * unit
    }
}

fn sample_register() -> Register {
    let mut rng = ChaCha8Rng::seed_from_u64(SAMPLE_SEED);
    let as_of = ymd(SAMPLE_AS_OF.0, SAMPLE_AS_OF.1, SAMPLE_AS_OF.2);
    let extracted = ymd(SAMPLE_EXTRACTED.0, SAMPLE_EXTRACTED.1, SAMPLE_EXTRACTED.2);

    // Providers, each with its own code.
    let mut used = std::collections::BTreeSet::new();
    let providers: Vec<Provider> = SAMPLE_PROVIDERS
        .iter()
        .map(|(name, group, _)| {
            let digits = loop {
                let d = rng.random_range(1_000..300_000u32);
                if used.insert(d) {
                    break d;
                }
            };
            Provider {
                name: (*name).into(),
                uscc: ngo_uscc(*group, digits),
            }
        })
        .collect();

    // Categories, signing dates (by year: 28 in 2017, 36 in 2018, 33 in the first half
    // of 2019) and terms.
    let mut categories: Vec<Category> = [
        (Category::Elderly, 31),
        (Category::Youth, 22),
        (Category::Disability, 19),
        (Category::Relief, 20),
        (Category::Other, 5),
    ]
    .iter()
    .flat_map(|(c, n)| std::iter::repeat_n(*c, *n))
    .collect();
    categories.shuffle(&mut rng);
    let mut signed: Vec<NaiveDate> = [
        (ymd(2017, 1, 3), ymd(2017, 12, 29), 28),
        (ymd(2018, 1, 2), ymd(2018, 12, 28), 36),
        (ymd(2019, 1, 2), ymd(2019, 6, 28), 33),
    ]
    .iter()
    .flat_map(|&(from, to, n)| {
        (0..n)
            .map(|_| random_workday(&mut rng, from, to))
            .collect::<Vec<_>>()
    })
    .collect();
    signed.sort();
    let mut terms = vec![12u32; SAMPLE_CONTRACTS];
    let mut order: Vec<usize> = (0..SAMPLE_CONTRACTS).collect();
    order.shuffle(&mut rng);
    // Two two-year and one three-year term (stable services, Order 102 art. 24), six
    // short ones; the rest a year.
    for (i, months) in order.iter().zip([24, 24, 36, 6, 6, 8, 9, 10, 10]) {
        terms[*i] = months;
    }

    // Every community gets at least one project.
    let mut places = communities();
    places.shuffle(&mut rng);
    while places.len() < SAMPLE_CONTRACTS {
        let all = communities();
        places.push(all[rng.random_range(0..all.len())]);
    }
    places.shuffle(&mut rng);

    // Values: category ranges, scaled by term, then brought to the exact total.
    let mut values = Vec::with_capacity(SAMPLE_CONTRACTS);
    let mut grains = Vec::with_capacity(SAMPLE_CONTRACTS);
    for (i, c) in categories.iter().enumerate() {
        let (lo, hi) = match c {
            Category::Elderly => (80, 260),
            Category::Youth => (60, 200),
            Category::Disability => (80, 240),
            Category::Relief => (50, 200),
            Category::Other => (50, 150),
        };
        let thousands: i64 = rng.random_range(lo..=hi);
        let mut fen = thousands * 100_000 * i64::from(terms[i].max(6)) / 12;
        let grain = match rng.random_range(0..10) {
            0 => Grain::Fen,
            1 | 2 => Grain::Hundred,
            _ => Grain::Thousand,
        };
        if grain == Grain::Fen {
            fen += rng.random_range(0..100_000);
        }
        values.push(grain.round(fen).clamp(MIN_VALUE_FEN, MAX_VALUE_FEN));
        grains.push(grain);
    }
    let sum: i64 = values.iter().sum();
    for (v, g) in values.iter_mut().zip(&grains) {
        let scaled = i128::from(*v) * i128::from(SAMPLE_TOTAL_FEN) / i128::from(sum);
        *v = g.round(scaled as i64).clamp(MIN_VALUE_FEN, MAX_VALUE_FEN);
    }
    let mut diff = SAMPLE_TOTAL_FEN - values.iter().sum::<i64>();
    let thousands: Vec<usize> = order
        .iter()
        .copied()
        .filter(|i| grains[*i] == Grain::Thousand)
        .collect();
    for &i in thousands.iter().cycle().take(thousands.len() * 20) {
        if diff.abs() < 100_000 {
            break;
        }
        let step = 100_000 * diff.signum();
        if (MIN_VALUE_FEN..=MAX_VALUE_FEN).contains(&(values[i] + step)) {
            values[i] += step;
            diff -= step;
        }
    }
    let odd = order
        .iter()
        .copied()
        .find(|i| {
            grains[*i] == Grain::Fen
                && (MIN_VALUE_FEN..=MAX_VALUE_FEN).contains(&(values[*i] + diff))
        })
        .expect("the sample has contracts with odd values");
    values[odd] += diff;
    debug_assert_eq!(values.iter().sum::<i64>(), SAMPLE_TOTAL_FEN);

    // Providers by category; every provider has at least one project.
    let mut provider_of = vec![usize::MAX; SAMPLE_CONTRACTS];
    for cat in Category::ALL {
        let pool: Vec<usize> = (0..providers.len())
            .filter(|p| {
                SAMPLE_PROVIDERS[*p].2 == Some(*cat)
                    || (*cat == Category::Other && SAMPLE_PROVIDERS[*p].2.is_none())
            })
            .collect();
        let mut mine: Vec<usize> = (0..SAMPLE_CONTRACTS)
            .filter(|i| categories[*i] == *cat)
            .collect();
        mine.shuffle(&mut rng);
        for (k, i) in mine.iter().enumerate() {
            provider_of[*i] = if k < pool.len() {
                pool[k]
            } else {
                // Some providers win again and again: weight the earlier ones.
                let a = rng.random_range(0..pool.len());
                let b = rng.random_range(0..pool.len());
                pool[a.min(b)]
            };
        }
    }
    // General centres also win a few projects of every kind (never a provider's only one).
    let general: Vec<usize> = (0..providers.len())
        .filter(|p| SAMPLE_PROVIDERS[*p].2.is_none())
        .collect();
    for i in 0..SAMPLE_CONTRACTS {
        let wins = provider_of.iter().filter(|p| **p == provider_of[i]).count();
        if categories[i] != Category::Other && wins > 1 && rng.random_range(0..100) < 6 {
            provider_of[i] = general[rng.random_range(0..general.len())];
        }
    }

    // Contracts, numbered by year in order of signing.
    let mut contracts = Vec::with_capacity(SAMPLE_CONTRACTS);
    let mut names = std::collections::BTreeSet::new();
    let mut seq_year = (0, 0);
    for i in 0..SAMPLE_CONTRACTS {
        let year = signed[i].year();
        seq_year = if seq_year.0 == year {
            (year, seq_year.1 + 1)
        } else {
            (year, 1)
        };
        let start = if signed[i].day() <= 24 && rng.random_range(0..10) < 6 {
            add_months(signed[i].with_day(1).expect("day 1"), 1)
        } else {
            signed[i] + Duration::days(rng.random_range(3..=15))
        };
        let (street, community) = places[i];
        let category = categories[i];
        let templates = project_templates(category);
        let mut name = format!(
            "{year}年{community}社区{}",
            templates[rng.random_range(0..templates.len())]
        );
        if !names.insert(name.clone()) {
            name = name.replacen("项目", "（二期）项目", 1);
            names.insert(name.clone());
        }
        contracts.push(Contract {
            code: format!("GDGM-{year}-{:03}", seq_year.1),
            name,
            category,
            provider: provider_of[i],
            purchaser: purchaser(&mut rng, category, street),
            street,
            community,
            method: method(&mut rng, values[i]),
            funding: funding(&mut rng, category),
            value: values[i],
            signed: signed[i],
            start,
            end: term_end(start, terms[i]),
            planned: 0,
        });
    }

    let reports = sample_reports(&mut rng, &mut contracts, as_of, extracted);
    let payments = sample_payments(&mut rng, &contracts, extracted);
    Register {
        providers,
        contracts,
        payments,
        reports,
    }
}

/// Monthly reports from each contract's first month while it runs, up to the extraction
/// date; the new people of periods ending by the statement date add up to exactly
/// [`SAMPLE_PEOPLE`]. Sets each contract's planned people from its whole term.
fn sample_reports(
    rng: &mut ChaCha8Rng,
    contracts: &mut [Contract],
    as_of: NaiveDate,
    extracted: NaiveDate,
) -> Vec<Report> {
    // Raw new people per contract and month: a total from the value and the cost of a
    // person in the category, front-loaded (most people join in the first months).
    let mut raw: Vec<Vec<((i32, u32), f64)>> = Vec::with_capacity(contracts.len());
    for c in contracts.iter() {
        let cost = match c.category {
            Category::Elderly => 260.0,
            Category::Youth => 180.0,
            Category::Disability => 520.0,
            Category::Relief => 320.0,
            Category::Other => 150.0,
        };
        let people = c.value as f64 / 100.0 / cost * rng.random_range(0.8..1.2);
        let months = months_of(c.start, c.end);
        let n = months.len() as f64;
        let weights: Vec<f64> = (0..months.len())
            .map(|k| {
                let mut w = (2.0 * n - k as f64) * rng.random_range(0.7..1.3);
                if k == 0 {
                    w *= f64::from(31 - c.start.day().min(30)) / 30.0;
                }
                if k + 1 == months.len() {
                    w *= f64::from(c.end.day()) / 31.0;
                }
                w
            })
            .collect();
        let total: f64 = weights.iter().sum();
        raw.push(
            months
                .into_iter()
                .zip(weights)
                .map(|(m, w)| (m, people * w / total))
                .collect(),
        );
    }
    let by_as_of = |(y, m): (i32, u32)| crate::dates::month_end(y, m) <= as_of;
    let before: f64 = raw
        .iter()
        .flatten()
        .filter(|(m, _)| by_as_of(*m))
        .map(|(_, p)| p)
        .sum();
    let factor = SAMPLE_PEOPLE as f64 / before;
    let mut new: Vec<Vec<((i32, u32), u64)>> = raw
        .iter()
        .map(|rows| {
            rows.iter()
                .map(|(m, p)| (*m, (p * factor).round().max(1.0) as u64))
                .collect()
        })
        .collect();
    // Bring the statement's figure to exactly SAMPLE_PEOPLE, one person at a time.
    let counted: u64 = new
        .iter()
        .flatten()
        .filter(|(m, _)| by_as_of(*m))
        .map(|(_, n)| n)
        .sum();
    let mut diff = SAMPLE_PEOPLE as i64 - counted as i64;
    while diff != 0 {
        let c = rng.random_range(0..new.len());
        let k = rng.random_range(0..new[c].len());
        let (m, n) = &mut new[c][k];
        if !by_as_of(*m) || (diff < 0 && *n <= 1) {
            continue;
        }
        if diff > 0 {
            *n += 1;
            diff -= 1;
        } else {
            *n -= 1;
            diff += 1;
        }
    }

    let mut reports = Vec::new();
    for (c, rows) in contracts.iter_mut().zip(new) {
        let whole_term: u64 = rows.iter().map(|(_, n)| n).sum();
        c.planned =
            ((whole_term as f64 * rng.random_range(0.92..1.12) / 10.0).round() as u64 * 10).max(10);
        let mut cumulative = 0;
        for ((y, m), n) in rows {
            if crate::dates::month_end(y, m) > extracted {
                break;
            }
            // Sessions: each new person several times, returning people now and then.
            let sessions = (n as f64 * rng.random_range(1.5..3.5)
                + cumulative as f64 * rng.random_range(0.15..0.35))
            .round() as u64;
            cumulative += n;
            reports.push(Report {
                code: c.code.clone(),
                year: y,
                month: m,
                new_people: n,
                cumulative,
                sessions,
            });
        }
    }
    reports
}

/// Tranches as the contracts state them (首期 soon after the start, 中期 mid-term, 尾款
/// after the end and the performance evaluation), then the one correction, then voucher
/// numbers in date order.
fn sample_payments(
    rng: &mut ChaCha8Rng,
    contracts: &[Contract],
    extracted: NaiveDate,
) -> Vec<Payment> {
    let mut per: Vec<Vec<Payment>> = Vec::with_capacity(contracts.len());
    for c in contracts {
        let v = c.value;
        let months = crate::dates::term_months(c.start, c.end) as u32;
        let pct = |p: i64| v * p / 100 / 100 * 100; // whole yuan
        let first =
            |rng: &mut ChaCha8Rng| workday(c.start + Duration::days(rng.random_range(7..=30)));
        let after = |rng: &mut ChaCha8Rng, m: u32| {
            workday(add_months(c.start, m) + Duration::days(rng.random_range(5..=25)))
        };
        let last =
            |rng: &mut ChaCha8Rng| workday(c.end + Duration::days(rng.random_range(20..=75)));
        let mut plan: Vec<(&'static str, i64, NaiveDate, String)> = Vec::new();
        if months > 12 {
            let first_pct = if months > 24 { 35 } else { 40 };
            plan.push(("首期", pct(first_pct), first(rng), String::new()));
            plan.push(("中期", pct(30), after(rng, 12), "第二年度".into()));
            if months > 24 {
                plan.push(("中期", pct(20), after(rng, 24), "第三年度".into()));
            }
        } else if v < 8_000_000 {
            // Small contracts: half at the start, half after the end.
            plan.push(("首期", pct(50), first(rng), String::new()));
        } else {
            plan.push((
                "首期",
                pct(rng.random_range(8..=10) * 5),
                first(rng),
                String::new(),
            ));
            plan.push(("中期", pct(30), after(rng, months / 2), String::new()));
        }
        let paid: i64 = plan.iter().map(|p| p.1).sum();
        let rest = v - paid;
        let (tail, note) = match rng.random_range(0..100) {
            0..=7 => {
                let cut = rng.random_range(1..=2) * 10;
                (
                    rest - rest * cut / 100 / 100 * 100,
                    format!("绩效评价：合格，按合同扣减尾款{cut}%"),
                )
            }
            8..=55 => (rest, "绩效评价：优秀".into()),
            _ => (rest, "绩效评价：良好".into()),
        };
        plan.push(("尾款", tail, last(rng), note));
        per.push(
            plan.into_iter()
                .filter(|p| p.2 <= extracted)
                .map(|(batch, fen, date, note)| Payment {
                    code: c.code.clone(),
                    date,
                    fen,
                    voucher: String::new(),
                    batch,
                    reverses: String::new(),
                    note,
                    role: Role::Normal,
                })
                .collect(),
        );
    }

    // The one correction: a mid-term payment for project B booked against project A of
    // the same provider, reversed a few days later and booked again against B.
    let mut candidates: Vec<usize> = (0..contracts.len()).collect();
    candidates.shuffle(rng);
    let window = (ymd(2018, 6, 1), ymd(2019, 5, 31));
    let (a, b, j, date, fixed) = candidates
        .iter()
        .find_map(|&b| {
            let j = per[b]
                .iter()
                .position(|p| p.batch == "中期" && p.date >= window.0 && p.date <= window.1)?;
            let (x, t) = (per[b][j].fen, per[b][j].date);
            let fixed = workday(t + Duration::days(9));
            let a = (0..contracts.len()).find(|&a| {
                let ca = &contracts[a];
                let paid: i64 = per[a]
                    .iter()
                    .filter(|p| p.date <= fixed)
                    .map(|p| p.fen)
                    .sum();
                a != b
                    && ca.provider == contracts[b].provider
                    && ca.start < t
                    && fixed < ca.end
                    && paid + x <= ca.value
                    && !per[a].iter().any(|p| p.date >= t && p.date <= fixed)
            })?;
            Some((a, b, j, t, fixed))
        })
        .expect("the sample has two running projects of one provider");
    let x = per[b][j].fen;
    per[b][j].date = fixed;
    per[b][j].role = Role::Rebooked;
    let code_a = contracts[a].code.clone();
    per[a].push(Payment {
        code: code_a.clone(),
        date,
        fen: x,
        voucher: String::new(),
        batch: "中期",
        reverses: String::new(),
        note: String::new(),
        role: Role::Wrong,
    });
    per[a].push(Payment {
        code: code_a,
        date: fixed,
        fen: -x,
        voucher: String::new(),
        batch: "冲销",
        reverses: String::new(),
        note: String::new(),
        role: Role::Reversal,
    });

    let mut all: Vec<Payment> = per.into_iter().flatten().collect();
    all.sort_by(|p, q| (p.date, p.role, &p.code).cmp(&(q.date, q.role, &q.code)));
    // Voucher numbers run through all of the office's bookkeeping, so the register only
    // sees some of each month's numbers.
    let mut month = (0, 0);
    let mut n = 0;
    for p in &mut all {
        if (p.date.year(), p.date.month()) != month {
            month = (p.date.year(), p.date.month());
            n = rng.random_range(20..=90);
        }
        n += rng.random_range(1..=15);
        p.voucher = format!("记-{:04}-{:02}-{n:04}", month.0, month.1);
    }
    let find = |role| {
        all.iter()
            .position(|p| p.role == role)
            .expect("placed above")
    };
    let (wrong, reversal, rebooked) = (
        find(Role::Wrong),
        find(Role::Reversal),
        find(Role::Rebooked),
    );
    let wrong_voucher = all[wrong].voucher.clone();
    let (code_a, code_b) = (all[wrong].code.clone(), all[rebooked].code.clone());
    all[reversal].reverses = wrong_voucher.clone();
    all[reversal].note = format!("冲销{wrong_voucher}：项目编号录错，应记入{code_b}");
    all[rebooked].note = format!("更正：原{wrong_voucher}误记入{code_a}");
    all
}

// ---------------------------------------------------------------------------------------
// Writers
// ---------------------------------------------------------------------------------------

/// Excel's last row (1,048,576), zero-based.
const EXCEL_LAST_ROW: u32 = 1_048_575;

#[derive(Clone, Copy)]
enum Total {
    Yuan,
    Count,
}

struct Sheet {
    name: &'static str,
    title: &'static str,
    headers: &'static [&'static str],
    required: &'static [&'static str],
    /// Columns the 合计 row sums.
    totals: &'static [(usize, Total)],
    widths: &'static [f64],
}

const CONTRACTS: Sheet = Sheet {
    name: "项目合同",
    title: "官渡区政府购买社会组织服务项目台账",
    headers: &CONTRACT_HEADERS,
    required: &[
        "项目编号",
        "项目名称",
        "服务类别",
        "承接机构",
        "合同金额（元）",
        "开始日期",
        "结束日期",
    ],
    totals: &[(10, Total::Yuan)],
    widths: &[
        15.0, 40.0, 11.0, 34.0, 21.0, 22.0, 10.0, 12.0, 12.0, 11.0, 15.0, 12.0, 12.0, 12.0, 12.0,
    ],
};

const DISBURSEMENTS: Sheet = Sheet {
    name: "拨付记录",
    title: "官渡区政府购买社会组织服务项目拨付记录",
    headers: &DISBURSEMENT_HEADERS,
    required: &["项目编号", "拨付日期", "拨付金额（元）", "凭证号"],
    totals: &[(2, Total::Yuan)],
    widths: &[15.0, 12.0, 15.0, 18.0, 10.0, 18.0, 44.0],
};

const SERVICES: Sheet = Sheet {
    name: "服务统计",
    title: "官渡区政府购买社会组织服务项目服务统计",
    headers: &SERVICE_HEADERS,
    required: &["项目编号", "统计期间"],
    totals: &[(2, Total::Count), (4, Total::Count)],
    widths: &[15.0, 12.0, 14.0, 14.0, 12.0],
};

struct Styles {
    title: Format,
    note: Format,
    header: Format,
    text: Format,
    date: Format,
    yuan: Format,
    count: Format,
    total_label: Format,
    total_yuan: Format,
    total_count: Format,
}

impl Styles {
    fn new() -> Styles {
        let cell = Format::new().set_border(FormatBorder::Thin);
        let total = cell.clone().set_bold();
        Styles {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            note: Format::new()
                .set_font_size(10)
                .set_font_color(Color::RGB(0x595959)),
            header: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(Color::RGB(0xDDEBF7)),
            text: cell.clone(),
            date: cell.clone().set_num_format("yyyy-mm-dd"),
            yuan: cell.clone().set_num_format("#,##0.00"),
            count: cell.clone().set_num_format("0"),
            total_label: total.clone().set_align(FormatAlign::Center),
            total_yuan: total.clone().set_num_format("#,##0.00"),
            total_count: total.set_num_format("0"),
        }
    }
}

/// Document properties that do not depend on the clock, so the bytes are reproducible.
fn properties(title: &str) -> anyhow::Result<DocProperties> {
    let created = ExcelDateTime::parse_from_str("2019-12-31T09:00:00Z")?;
    Ok(DocProperties::new()
        .set_title(title)
        .set_author("procure")
        .set_comment("虚构示例数据：名称、代码和金额均为编造")
        .set_creation_datetime(&created))
}

fn excel_date(d: NaiveDate) -> anyhow::Result<ExcelDateTime> {
    Ok(ExcelDateTime::from_ymd(
        u16::try_from(d.year())?,
        d.month() as u8,
        d.day() as u8,
    )?)
}

/// A register sheet: title, optional note line, header, records, 合计. Returns the number
/// of records. Works in constant-memory mode: every row is written once, in order.
fn write_sheet(
    ws: &mut Worksheet,
    sheet: &Sheet,
    note: Option<&str>,
    st: &Styles,
    rows: impl Iterator<Item = Vec<Cell>>,
) -> anyhow::Result<u64> {
    ws.set_name(sheet.name)?;
    let last_col = (sheet.headers.len() - 1) as u16;
    for (c, w) in sheet.widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_row_height(0, 30)?;
    ws.merge_range(0, 0, 0, last_col, sheet.title, &st.title)?;
    let mut r = 1;
    if let Some(note) = note {
        ws.merge_range(1, 0, 1, last_col, note, &st.note)?;
        r = 2;
    }
    for (c, h) in sheet.headers.iter().enumerate() {
        ws.write_string_with_format(r, c as u16, *h, &st.header)?;
    }
    ws.set_freeze_panes(r + 1, 0)?;
    ws.set_repeat_rows(r, r)?;
    ws.set_landscape().set_print_fit_to_pages(1, 0);
    let mut yuan = vec![0i64; sheet.headers.len()];
    let mut counts = vec![0u64; sheet.headers.len()];
    let mut records = 0u64;
    for cells in rows {
        r += 1;
        if r >= EXCEL_LAST_ROW {
            bail!(
                "sheet {} would have more rows than Excel allows (1,048,576); write csv instead",
                sheet.name
            );
        }
        for (c, cell) in cells.iter().enumerate() {
            let col = c as u16;
            match cell {
                Cell::Text(s) => {
                    ws.write_string_with_format(r, col, s, &st.text)?;
                }
                Cell::Date(d) => {
                    ws.write_datetime_with_format(r, col, excel_date(*d)?, &st.date)?;
                }
                Cell::Yuan(fen) => {
                    yuan[c] += fen;
                    ws.write_number_with_format(r, col, *fen as f64 / 100.0, &st.yuan)?;
                }
                Cell::Count(n) => {
                    counts[c] += n;
                    ws.write_number_with_format(r, col, *n as f64, &st.count)?;
                }
                Cell::Month(y, m) => {
                    ws.write_string_with_format(r, col, format!("{y}年{m}月"), &st.text)?;
                }
                Cell::Blank => {
                    ws.write_blank(r, col, &st.text)?;
                }
            }
        }
        records += 1;
    }
    r += 1;
    ws.write_string_with_format(r, 0, "合计", &st.total_label)?;
    for c in 1..sheet.headers.len() {
        let col = c as u16;
        match sheet.totals.iter().find(|(t, _)| *t == c) {
            Some((_, Total::Yuan)) => {
                // Exact in fen; the f64 is the one nearest to the decimal amount.
                ws.write_number_with_format(r, col, yuan[c] as f64 / 100.0, &st.total_yuan)?;
            }
            Some((_, Total::Count)) => {
                ws.write_number_with_format(r, col, counts[c] as f64, &st.total_count)?;
            }
            None => {
                ws.write_blank(r, col, &st.total_label)?;
            }
        }
    }
    Ok(records)
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Utf8,
    /// UTF-8 with a byte-order mark, which Excel needs to open a csv as UTF-8.
    Utf8Bom,
    /// GBK, as Chinese Excel's "CSV (逗号分隔)" saves.
    Gbk,
}

fn create(path: &Path) -> anyhow::Result<BufWriter<fs::File>> {
    let f = fs::File::create(path).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(BufWriter::new(f))
}

/// Header and records only: no title, no total. Amounts as `1234.50`, dates as `2019-06-25`.
fn write_csv(
    path: &Path,
    encoding: Encoding,
    headers: &[&str],
    rows: impl Iterator<Item = Vec<Cell>>,
) -> anyhow::Result<()> {
    let fail = |e: &dyn std::fmt::Display| anyhow!("cannot write {}: {e}", path.display());
    let mut out = create(path)?;
    let mut body: Vec<u8> = Vec::new();
    {
        let sink: &mut dyn Write = if encoding == Encoding::Gbk {
            &mut body
        } else {
            if encoding == Encoding::Utf8Bom {
                out.write_all("\u{feff}".as_bytes()).map_err(|e| fail(&e))?;
            }
            &mut out
        };
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(sink);
        w.write_record(headers).map_err(|e| fail(&e))?;
        for cells in rows {
            w.write_record(cells.iter().map(Cell::text))
                .map_err(|e| fail(&e))?;
        }
        w.flush().map_err(|e| fail(&e))?;
    }
    if encoding == Encoding::Gbk {
        let text = String::from_utf8(body).map_err(|e| fail(&e))?;
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
        if unmappable {
            bail!(
                "cannot write {}: a character has no GBK code",
                path.display()
            );
        }
        out.write_all(&bytes).map_err(|e| fail(&e))?;
    }
    out.flush().map_err(|e| fail(&e))
}

fn save(wb: &mut Workbook, path: &Path) -> anyhow::Result<()> {
    wb.save(path)
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
}

fn make_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create folder {}: {e}", dir.display()))
}

/// Writes the 97-contract sample register into `dir` (the project's `imports/`):
/// `sample-register.xlsx` (three sheets with title, header and 合计 rows), the same data
/// as three csv files, and `templates/register-template.xlsx`. Returns the paths written.
pub fn write_sample(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let reg = sample_register();
    make_dir(&dir.join("templates"))?;
    let st = Styles::new();
    let mut written = Vec::new();

    let path = dir.join("sample-register.xlsx");
    let mut wb = Workbook::new();
    wb.set_properties(&properties(CONTRACTS.title)?);
    let note = "说明：本台账为演示用虚构数据，机构名称、代码和金额均为编造。数据截至2019年12月31日；金额单位：元。";
    write_sheet(
        wb.add_worksheet(),
        &CONTRACTS,
        Some(note),
        &st,
        reg.contracts
            .iter()
            .map(|c| contract_cells(c, &reg.providers)),
    )?;
    write_sheet(
        wb.add_worksheet(),
        &DISBURSEMENTS,
        None,
        &st,
        reg.payments.iter().map(payment_cells),
    )?;
    write_sheet(
        wb.add_worksheet(),
        &SERVICES,
        None,
        &st,
        reg.reports.iter().map(report_cells),
    )?;
    save(&mut wb, &path)?;
    written.push(path);

    let path = dir.join("sample-contracts.csv");
    write_csv(
        &path,
        Encoding::Utf8Bom,
        &CONTRACT_HEADERS,
        reg.contracts
            .iter()
            .map(|c| contract_cells(c, &reg.providers)),
    )?;
    written.push(path);
    // GBK, as Chinese Excel saves "CSV (逗号分隔)": importers must not assume UTF-8.
    let path = dir.join("sample-disbursements.csv");
    write_csv(
        &path,
        Encoding::Gbk,
        &DISBURSEMENT_HEADERS,
        reg.payments.iter().map(payment_cells),
    )?;
    written.push(path);
    let path = dir.join("sample-services.csv");
    write_csv(
        &path,
        Encoding::Utf8,
        &SERVICE_HEADERS,
        reg.reports.iter().map(report_cells),
    )?;
    written.push(path);

    let path = dir.join("templates").join("register-template.xlsx");
    write_template(&path)?;
    written.push(path);
    Ok(written)
}

// ---------------------------------------------------------------------------------------
// The blank template
// ---------------------------------------------------------------------------------------

/// What each column takes, for the 填写说明 sheet.
fn column_help(sheet: &str, header: &str) -> String {
    match (sheet, header) {
        (_, "项目编号") if sheet != "项目合同" => "须与“项目合同”表中的项目编号一致".into(),
        (_, "项目编号") => {
            "每个项目唯一，如GDGM-2019-001；拨付记录和服务统计凭项目编号对应到合同".into()
        }
        (_, "项目名称") => "合同上的项目全称".into(),
        (_, "服务类别") => format!("填写其一：{}", Category::expected()),
        (_, "承接机构") => {
            "承接服务的社会组织全称，与登记证书一致；同一机构各行写法一致".into()
        }
        (_, "统一社会信用代码") => {
            "承接机构的18位代码，系统按GB 32100-2015核对末位校验码".into()
        }
        (_, "购买主体") => "购买服务的部门，如官渡区民政局、××街道办事处".into(),
        (_, "街道") => "项目服务所在街道".into(),
        (_, "社区") => "项目服务所在社区".into(),
        (_, "采购方式") => format!("填写其一：{}", ProcurementMethod::expected()),
        (_, "资金来源") => format!("填写其一：{}", FundingSource::expected()),
        (_, "合同金额（元）") => "合同约定的总金额，单位元，精确到分".into(),
        (_, "签订日期") => "合同签订日期，一般不晚于开始日期".into(),
        (_, "开始日期") | (_, "结束日期") => {
            "服务期限的起止日期；期限一般不超过1年，服务需求稳定的最长3年（财政部令第102号）".into()
        }
        (_, "计划服务人数") => "合同约定的服务人数，整数".into(),
        (_, "拨付日期") => "款项实际拨付的日期".into(),
        (_, "拨付金额（元）") => "本笔拨付金额，单位元，精确到分；冲销记录填负数".into(),
        (_, "凭证号") => "记账凭证号，每笔拨付唯一，如记-2019-06-0123".into(),
        (_, "拨付批次") => "首期、中期、尾款等；冲销记录可填“冲销”".into(),
        (_, "冲销凭证号") => "仅冲销记录填写：被冲销那笔拨付的凭证号".into(),
        (_, "备注") => "选填".into(),
        (_, "统计期间") => {
            "统计的月份，填2019-06或2019年6月；也可填起止日期，如2019.01.01-2019.03.31".into()
        }
        (_, "新增服务人数") => "本期首次接受本项目服务的人数，各期可以相加".into(),
        (_, "累计服务人数") => {
            "本项目自开始至本期末的累计人数，应等于各期新增服务人数之和，用于核对".into()
        }
        (_, "服务人次") => "本期提供服务的人次".into(),
        _ => String::new(),
    }
}

const GENERAL_HELP: [&str; 9] = [
    "一、本模板有“项目合同”“拨付记录”“服务统计”三张表，请在对应表中逐行填写，一行一条记录。请勿修改表头文字；表头带“*”的列必须填写。表头上方可以保留标题行和说明行。",
    "二、金额：单位为元，精确到分（最多两位小数）。可以填数字，也可以填“1,234.50”“¥1,234.50”“1234.5元”“(1,234.50)”（负数）等写法；表头写作“（万元）”时，该列金额按万元计。",
    "三、日期：请使用Excel日期格式（如2019-06-25），也可以填写文本“2019-06-25”“2019/6/25”“2019年6月25日”“2019.6.25”“20190625”。",
    "四、合计行：第一列为“合计”“总计”或“小计”的行是汇总行，不作为记录导入；系统会核对合计金额（和人数）是否等于各行之和，不相等时整份文件不导入。",
    "五、整份文件一起导入：只要有一个单元格有误，整份文件都不导入，系统会列出每个错误所在的工作表、单元格和原值，改正后重新上传即可。",
    "六、同一文件重复上传不会改变任何数据（系统按文件内容识别已经导入过的文件），可以放心重传。",
    "七、已登记的拨付记录不修改、不删除。拨付有误时，另起一行登记一笔金额相同的负数记录（冲销），使用它自己的新凭证号，并在“冲销凭证号”填写被冲销那笔记录的凭证号；如需重新拨付，再登记一笔正确的记录。",
    "八、同一合同的累计拨付金额不得超过合同金额。",
    "九、服务统计只填人数和人次，不填任何个人信息；同一人接受两个项目的服务时，两个项目各计一次。",
];

fn write_template(path: &Path) -> anyhow::Result<()> {
    let mut wb = Workbook::new();
    wb.set_properties(&properties("政府购买社会组织服务项目台账模板")?);
    let st = Styles::new();

    let help = wb.add_worksheet();
    help.set_name("填写说明")?;
    help.set_column_width(0, 12)?;
    help.set_column_width(1, 18)?;
    help.set_column_width(2, 8)?;
    help.set_column_width(3, 80)?;
    help.set_landscape().set_print_fit_to_pages(1, 0);
    let wrap = Format::new()
        .set_text_wrap()
        .set_align(FormatAlign::VerticalCenter);
    help.set_row_height(0, 30)?;
    help.merge_range(
        0,
        0,
        0,
        3,
        "政府购买社会组织服务项目台账填写说明",
        &st.title,
    )?;
    let mut r = 1;
    for line in GENERAL_HELP {
        help.set_row_height(r, 36)?;
        help.merge_range(r, 0, r, 3, line, &wrap)?;
        r += 1;
    }
    r += 1;
    for (c, h) in ["工作表", "列名", "是否必填", "填写要求"]
        .iter()
        .enumerate()
    {
        help.write_string_with_format(r, c as u16, *h, &st.header)?;
    }
    let bordered = st.text.clone().set_text_wrap();
    for sheet in [&CONTRACTS, &DISBURSEMENTS, &SERVICES] {
        for h in sheet.headers {
            r += 1;
            let required = sheet.required.contains(h);
            help.write_string_with_format(r, 0, sheet.name, &bordered)?;
            help.write_string_with_format(r, 1, *h, &bordered)?;
            help.write_string_with_format(r, 2, if required { "必填" } else { "选填" }, &bordered)?;
            help.write_string_with_format(r, 3, column_help(sheet.name, h), &bordered)?;
        }
    }

    let text_col = Format::new().set_num_format("@");
    let date_col = Format::new().set_num_format("yyyy-mm-dd");
    let yuan_col = Format::new().set_num_format("#,##0.00");
    let lists: [(&str, Vec<&str>); 3] = [
        ("服务类别", Category::ALL.iter().map(|c| c.zh()).collect()),
        (
            "采购方式",
            ProcurementMethod::ALL.iter().map(|c| c.zh()).collect(),
        ),
        (
            "资金来源",
            FundingSource::ALL.iter().map(|c| c.zh()).collect(),
        ),
    ];
    for sheet in [&CONTRACTS, &DISBURSEMENTS, &SERVICES] {
        let ws = wb.add_worksheet();
        ws.set_name(sheet.name)?;
        for (c, h) in sheet.headers.iter().enumerate() {
            let col = c as u16;
            ws.set_column_width(col, sheet.widths[c])?;
            let label = if sheet.required.contains(h) {
                format!("{h}*")
            } else {
                (*h).to_string()
            };
            ws.write_string_with_format(0, col, label, &st.header)?;
            if h.contains("日期") {
                ws.set_column_format(col, &date_col)?;
            } else if h.contains("金额") {
                ws.set_column_format(col, &yuan_col)?;
            } else if matches!(
                *h,
                "项目编号" | "统一社会信用代码" | "凭证号" | "冲销凭证号" | "统计期间"
            ) {
                // Text, so Excel neither drops leading zeros nor turns 2019-06 into a date.
                ws.set_column_format(col, &text_col)?;
            }
            if let Some((_, list)) = lists.iter().find(|(name, _)| name == h) {
                let v = DataValidation::new()
                    .allow_list_strings(list.as_slice())?
                    .set_input_message(format!("请选择：{}", list.join("/")))?;
                ws.add_data_validation(1, col, 5_000, col, &v)?;
            }
        }
        ws.set_freeze_panes(1, 0)?;
    }
    save(&mut wb, path)
}

// ---------------------------------------------------------------------------------------
// The seeded generator
// ---------------------------------------------------------------------------------------

/// One planned contract of the generator and how many payments and reports it gets.
struct Plan {
    contract: Contract,
    payments: usize,
    reports: usize,
}

/// Provider `i` of the generator: a unique name and code for any `i`.
fn generated_provider(i: usize) -> Provider {
    let (kind, group) = KINDS[(i / STEMS.len()) % KINDS.len()];
    let prefix = if (i / (STEMS.len() * KINDS.len())).is_multiple_of(2) {
        "官渡区"
    } else {
        "昆明市官渡区"
    };
    let round = i / (STEMS.len() * KINDS.len() * 2);
    let stem = STEMS[i % STEMS.len()];
    let name = if round == 0 {
        format!("{prefix}{stem}{kind}")
    } else {
        format!("{prefix}{stem}{}{kind}", STEMS[round % STEMS.len()])
    };
    let name = if round >= STEMS.len() {
        format!("{name}（{round}）")
    } else {
        name
    };
    Provider {
        name,
        uscc: ngo_uscc(group, i as u32),
    }
}

fn plan(opts: &GenerateOptions, rng: &mut ChaCha8Rng) -> (Vec<Provider>, Vec<Plan>) {
    let n = opts.contracts;
    let providers: Vec<Provider> = (0..n.div_ceil(5) * 2).map(generated_provider).collect();
    let mut payments = vec![0usize; n];
    for _ in 0..opts.payments {
        payments[rng.random_range(0..n)] += 1;
    }
    // Reports spread evenly: each contract has as many months as it reports.
    let mut reports = vec![opts.services / n; n];
    let mut extra: Vec<usize> = (0..n).collect();
    extra.shuffle(rng);
    for i in extra.into_iter().take(opts.services % n) {
        reports[i] += 1;
    }
    let places = communities();
    let mut signed: Vec<NaiveDate> = (0..n)
        .map(|_| random_workday(rng, ymd(2015, 1, 1), ymd(2019, 6, 30)))
        .collect();
    signed.sort();
    let mut plans = Vec::with_capacity(n);
    for (i, signed) in signed.into_iter().enumerate() {
        let category = Category::ALL[rng.random_range(0..Category::ALL.len())];
        let (street, community) = places[rng.random_range(0..places.len())];
        let start = signed + Duration::days(rng.random_range(1..=20));
        let base = [6, 12, 12, 12, 12, 12, 24, 36][rng.random_range(0..8)];
        let months = (reports[i] as u32).max(base);
        // Large enough that its payments fit: at least 100 yuan of room per payment.
        let value = (rng.random_range(50..=500i64) * 100_000)
            .max((payments[i] as i64 * 20_000 + 99_999) / 100_000 * 100_000);
        let templates = project_templates(category);
        let contract = Contract {
            code: format!("GDGM-{}-{:06}", signed.year(), i + 1),
            name: format!(
                "{}年{community}社区{}",
                signed.year(),
                templates[rng.random_range(0..templates.len())]
            ),
            category,
            provider: rng.random_range(0..providers.len()),
            purchaser: purchaser(rng, category, street),
            street,
            community,
            method: method(rng, value),
            funding: funding(rng, category),
            value,
            signed,
            start,
            end: term_end(start, months),
            planned: rng.random_range(10..=200) * 10,
        };
        plans.push(Plan {
            contract,
            payments: payments[i],
            reports: reports[i],
        });
    }
    (providers, plans)
}

/// The payments of every plan, contract by contract, in date order within a contract;
/// each never more than its share of the value, so a contract is never overpaid.
fn generated_payments(plans: &[Plan], seed: u64) -> impl Iterator<Item = Payment> + '_ {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7061_796d_656e_7473);
    let mut voucher = 0u64;
    plans.iter().flat_map(move |p| {
        let c = &p.contract;
        let n = p.payments as i64;
        let share = if n > 0 { c.value / n } else { 0 };
        let span = (c.end - c.start).num_days() + 60;
        (0..n)
            .map(|k| {
                let date = workday(c.start + Duration::days(span * (k + 1) / (n + 1)));
                voucher += 1;
                let fen = (share * rng.random_range(50..=95) / 100).max(1);
                Payment {
                    code: c.code.clone(),
                    date,
                    fen,
                    voucher: format!("记-{:04}-{:02}-{voucher:07}", date.year(), date.month()),
                    batch: if k == 0 {
                        "首期"
                    } else if k + 1 == n {
                        "尾款"
                    } else {
                        "中期"
                    },
                    reverses: String::new(),
                    note: String::new(),
                    role: Role::Normal,
                }
            })
            .collect::<Vec<_>>()
    })
}

fn generated_reports(plans: &[Plan], seed: u64) -> impl Iterator<Item = Report> + '_ {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7365_7276_6963_6573);
    plans.iter().flat_map(move |p| {
        let c = &p.contract;
        let mut cumulative = 0;
        months_of(c.start, c.end)
            .into_iter()
            .take(p.reports)
            .enumerate()
            .map(|(k, (year, month))| {
                let fresh = ((p.reports - k) as u64 * 120 / p.reports as u64).max(1);
                let new_people = rng.random_range(0..=fresh);
                let sessions = new_people * rng.random_range(2..=4) + cumulative / 4;
                cumulative += new_people;
                Report {
                    code: c.code.clone(),
                    year,
                    month,
                    new_people,
                    cumulative,
                    sessions,
                }
            })
            .collect::<Vec<_>>()
    })
}

/// Writes a seeded synthetic register for demos and benchmarks into `opts.out`: one
/// workbook per kind (`contracts.xlsx`, `disbursements.xlsx`, `services.xlsx`, each a
/// single sheet with title, header and 合计 rows, written in constant-memory mode) and/or
/// `contracts.csv`, `disbursements.csv`, `services.csv` (UTF-8 with BOM, header and
/// records). One workbook per kind lets a benchmark time each import alone and keeps a
/// million-row sheet in a file of its own. Same seed, same bytes.
pub fn generate(opts: &GenerateOptions) -> anyhow::Result<Vec<PathBuf>> {
    if opts.contracts == 0 {
        bail!("--contracts must be at least 1");
    }
    if opts.services > opts.contracts * 36 {
        bail!(
            "{} service rows need at least {} contracts: one report a month, terms of at most 3 years",
            opts.services,
            opts.services.div_ceil(36)
        );
    }
    let limit = EXCEL_LAST_ROW as usize - 2;
    if opts.format.xlsx() && opts.contracts.max(opts.payments).max(opts.services) > limit {
        bail!("an xlsx sheet holds at most {limit} records after its title, header and total rows; use --format csv");
    }
    make_dir(&opts.out)?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let (providers, plans) = plan(opts, &mut rng);
    let contracts = || {
        plans
            .iter()
            .map(|p| contract_cells(&p.contract, &providers))
    };
    let payments = || generated_payments(&plans, opts.seed).map(|p| payment_cells(&p));
    let reports = || generated_reports(&plans, opts.seed).map(|r| report_cells(&r));
    let mut written = Vec::new();
    if opts.format.xlsx() {
        let st = Styles::new();
        let sheets: [(&Sheet, &str, Rows<'_>); 3] = [
            (&CONTRACTS, "contracts.xlsx", Box::new(contracts())),
            (&DISBURSEMENTS, "disbursements.xlsx", Box::new(payments())),
            (&SERVICES, "services.xlsx", Box::new(reports())),
        ];
        for (sheet, file, rows) in sheets {
            let path = opts.out.join(file);
            let mut wb = Workbook::new();
            wb.set_properties(&properties(sheet.title)?);
            let ws = wb.add_worksheet_with_constant_memory()?;
            write_sheet(ws, sheet, None, &st, rows)?;
            save(&mut wb, &path)?;
            written.push(path);
        }
    }
    if opts.format.csv() {
        let files: [(&[&str], &str, Rows<'_>); 3] = [
            (&CONTRACT_HEADERS, "contracts.csv", Box::new(contracts())),
            (
                &DISBURSEMENT_HEADERS,
                "disbursements.csv",
                Box::new(payments()),
            ),
            (&SERVICE_HEADERS, "services.csv", Box::new(reports())),
        ];
        for (headers, file, rows) in files {
            let path = opts.out.join(file);
            write_csv(&path, Encoding::Utf8Bom, headers, rows)?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_codes_carry_their_gb_11714_check() {
        // The worked example of GB 11714: D2143569-X.
        assert_eq!(org_code_check("D2143569"), 'X');
        let u = ngo_uscc(false, 123);
        assert_eq!(Uscc::parse(u.as_str()).unwrap(), u);
        assert!(u.as_str().starts_with("52530111MJ000123"));
    }

    #[test]
    fn generated_providers_have_unique_names_and_codes() {
        let ps: Vec<Provider> = (0..5_000).map(generated_provider).collect();
        let names: std::collections::BTreeSet<_> = ps.iter().map(|p| &p.name).collect();
        let codes: std::collections::BTreeSet<_> = ps.iter().map(|p| &p.uscc).collect();
        assert_eq!(names.len(), 5_000);
        assert_eq!(codes.len(), 5_000);
    }
}
