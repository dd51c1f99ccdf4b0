//! Invented places and organisations, and the calendar helpers the registers share.

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::contracts::{Category, FundingSource, ProcurementMethod};
use crate::providers::Uscc;

// ---------------------------------------------------------------------------------------
// Invented places and organisations
// ---------------------------------------------------------------------------------------

/// Eight invented sub-districts (街道) and their 63 communities (社区), the shape of the
/// real district (docs/DOMAIN.md) without its names.
#[rustfmt::skip]
pub(super) const STREETS: [(&str, &[&str]); 8] = [
    ("青云", &["青云", "翠湖苑", "丰源", "春华", "锦绣", "书香", "望江", "明珠"]),
    ("松华", &["松华", "瑞景", "兴隆", "和平", "云锦", "滨河", "怡园"]),
    ("金桥", &["金桥", "金色大道", "映月", "福德", "新村", "润城", "东华", "双桥"]),
    ("白沙", &["白沙", "沙河", "柳营", "石坝", "清泉", "南苑", "桃源"]),
    ("宝丰", &["宝丰", "丰收", "嘉和", "瑞和", "馨苑", "银杏", "梧桐", "海棠", "紫薇"]),
    ("翠屏", &["翠屏", "屏山", "秀岭", "金鼎", "竹园", "枫林", "绿洲", "晨光"]),
    ("云溪", &["云溪", "溪畔", "龙泉", "泉源", "花溪", "凤鸣", "凤栖", "雨花"]),
    ("东湖", &["东湖", "湖滨", "杏林", "樱花", "荷塘", "长虹", "彩云", "锦华"]),
];

pub(super) fn communities() -> Vec<(&'static str, &'static str)> {
    STREETS
        .iter()
        .flat_map(|(s, cs)| cs.iter().map(move |c| (*s, *c)))
        .collect()
}

/// The sample's 40 providers: name, whether a 社会团体 (USCC `51…`, else 民办非企业单位
/// `52…`), and the category they work in (`None`: general social-work centres).
#[rustfmt::skip]
pub(super) const SAMPLE_PROVIDERS: [(&str, bool, Option<Category>); 40] = [
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
pub(super) const STEMS: [&str; 40] = [
    "同心", "春晖", "暖阳", "乐龄", "启明", "彩虹", "晨曦", "知行", "恒爱", "明德", "携手", "益友",
    "安康", "慧心", "阳光", "馨园", "和美", "向阳", "善缘", "博爱", "睦邻", "长青", "福寿", "悦享",
    "青禾", "新苗", "翼展", "融乐", "康馨", "扶光", "守望", "润泽", "聚力", "众行", "微光", "友邻",
    "怡然", "心桥", "暖心", "立德",
];
pub(super) const KINDS: [(&str, bool); 10] = [
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
pub(super) fn org_code_check(first8: &str) -> char {
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
pub(super) fn ngo_uscc(social_group: bool, digits: u32) -> Uscc {
    let org8 = format!("MJ{:06}", digits % 1_000_000);
    let body = format!(
        "5{}530111{org8}{}",
        if social_group { '1' } else { '2' },
        org_code_check(&org8)
    );
    Uscc::complete(&body)
}

pub(super) fn project_templates(c: Category) -> &'static [&'static str] {
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
pub(super) fn purchaser(rng: &mut ChaCha8Rng, c: Category, street: &str) -> String {
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
pub(super) fn method(rng: &mut ChaCha8Rng, value_fen: i64) -> ProcurementMethod {
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
pub(super) fn funding(rng: &mut ChaCha8Rng, c: Category) -> FundingSource {
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

pub(super) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a fixed valid date")
}

pub(super) fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n))
        .expect("dates stay far from chrono's limits")
}

/// The last day of a term of `months` months from `start`.
pub(super) fn term_end(start: NaiveDate, months: u32) -> NaiveDate {
    add_months(start, months) - Duration::days(1)
}

/// Offices pay and sign on working days: a weekend date moves to Monday.
pub(super) fn workday(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d + Duration::days(2),
        Weekday::Sun => d + Duration::days(1),
        _ => d,
    }
}

pub(super) fn random_workday(rng: &mut ChaCha8Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days();
    loop {
        let d = from + Duration::days(rng.random_range(0..=span));
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            return d;
        }
    }
}

/// The calendar months a term touches, first to last.
pub(super) fn months_of(start: NaiveDate, end: NaiveDate) -> Vec<(i32, u32)> {
    let mut out = Vec::new();
    let (mut y, mut m) = (start.year(), start.month());
    while (y, m) <= (end.year(), end.month()) {
        out.push((y, m));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
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
}
