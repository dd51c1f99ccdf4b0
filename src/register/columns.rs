//! Which register a sheet holds and where its columns are, found from the header row.
//!
//! Header matching ignores spaces, case, full/half width and （）vs (); a unit in the header
//! (元, 万元) scales that column exactly.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::register::cells::Cell;
use crate::text::header_key;

/// The registers a finance office keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SheetKind {
    Contracts,
    Disbursements,
    Services,
    /// 预算项目 (`crate::budgets`).
    Budgets,
    Evaluations,
}

impl SheetKind {
    pub fn zh(self) -> &'static str {
        match self {
            SheetKind::Contracts => "项目合同",
            SheetKind::Disbursements => "资金拨付",
            SheetKind::Services => "服务统计",
            SheetKind::Budgets => "预算项目",
            SheetKind::Evaluations => "绩效评价",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            SheetKind::Contracts => "contracts",
            SheetKind::Disbursements => "disbursements",
            SheetKind::Services => "services",
            SheetKind::Budgets => "budgets",
            SheetKind::Evaluations => "evaluations",
        }
    }

    /// Words in a sheet's name that hint at its kind; used only to break ties.
    fn name_hints(self) -> &'static [&'static str] {
        match self {
            SheetKind::Contracts => &["合同", "项目", "台账", "contract"],
            SheetKind::Disbursements => &["拨付", "支付", "付款", "资金", "payment", "disburse"],
            SheetKind::Services => &["服务", "人数", "统计", "service", "beneficiar"],
            SheetKind::Budgets => &["预算", "budget"],
            SheetKind::Evaluations => &["评价", "绩效", "evaluat"],
        }
    }
}

/// A column of some register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Code,
    Title,
    Category,
    Provider,
    Uscc,
    Purchaser,
    Street,
    Community,
    Method,
    Funding,
    Value,
    Signed,
    Start,
    End,
    Term,
    Target,
    Date,
    Amount,
    Voucher,
    Tranche,
    Reverses,
    Note,
    Period,
    NewPeople,
    Cumulative,
    Sessions,
    // 预算项目 (budgets); BudgetCode is also the contracts' column naming their line.
    BudgetYear,
    BudgetCode,
    BudgetName,
    Approved,
    ApprovalDoc,
    ApprovalDate,
    Adjusts,
    EvalType,
    Evaluator,
    EvaluatorUscc,
    EvalDate,
    Score,
    Grade,
    Findings,
    Fixes,
    FixedOn,
    Corrects,
}

impl Field {
    /// (English name, template header in Chinese)
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Field::Code => ("code", "项目编号"),
            Field::Title => ("title", "项目名称"),
            Field::Category => ("category", "服务类别"),
            Field::Provider => ("provider", "承接机构"),
            Field::Uscc => ("provider USCC", "统一社会信用代码"),
            Field::Purchaser => ("purchaser", "购买主体"),
            Field::Street => ("sub-district", "街道"),
            Field::Community => ("community", "社区"),
            Field::Method => ("procurement method", "采购方式"),
            Field::Funding => ("funding source", "资金来源"),
            Field::Value => ("contract value", "合同金额"),
            Field::Signed => ("signed date", "签订日期"),
            Field::Start => ("start date", "开始日期"),
            Field::End => ("end date", "结束日期"),
            Field::Term => ("service term", "服务期限"),
            Field::Target => ("target people", "计划服务人数"),
            Field::Date => ("payment date", "拨付日期"),
            Field::Amount => ("amount", "拨付金额"),
            Field::Voucher => ("voucher", "凭证号"),
            Field::Tranche => ("tranche", "拨付批次"),
            Field::Reverses => ("reversed voucher", "冲销凭证号"),
            Field::Note => ("note", "备注"),
            Field::Period => ("period", "统计期间"),
            Field::NewPeople => ("new people", "新增服务人数"),
            Field::Cumulative => ("cumulative people", "累计服务人数"),
            Field::Sessions => ("sessions", "服务人次"),
            Field::BudgetYear => ("budget year", "预算年度"),
            Field::BudgetCode => ("budget line code", "预算项目编码"),
            Field::BudgetName => ("budget line name", "预算项目名称"),
            Field::Approved => ("approved amount", "批复金额"),
            Field::ApprovalDoc => ("approval document", "批复文号"),
            Field::ApprovalDate => ("approval date", "批复日期"),
            Field::Adjusts => ("adjusted document", "调整文号"),
            Field::EvalType => ("evaluation type", "评价类型"),
            Field::Evaluator => ("evaluator", "评价机构"),
            Field::EvaluatorUscc => ("evaluator USCC", "评价机构统一社会信用代码"),
            Field::EvalDate => ("evaluation date", "评价日期"),
            Field::Score => ("score", "得分"),
            Field::Grade => ("grade", "等级"),
            Field::Findings => ("main problems", "主要问题"),
            Field::Fixes => ("required fixes", "整改要求"),
            Field::FixedOn => ("fixes done on", "整改完成日期"),
            Field::Corrects => ("corrected evaluation date", "更正评价日期"),
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Code => &[
                "项目编号",
                "合同编号",
                "项目代码",
                "编号",
                "code",
                "contract code",
                "contract no",
            ],
            Field::Title => &["项目名称", "合同名称", "title", "project", "project name"],
            Field::Category => &["服务类别", "类别", "项目类别", "服务类型", "category"],
            Field::Provider => &[
                "承接机构",
                "承接主体",
                "承接单位",
                "服务机构",
                "承接组织",
                "provider",
            ],
            Field::Uscc => &["统一社会信用代码", "信用代码", "社会信用代码", "uscc"],
            Field::Purchaser => &["购买主体", "购买单位", "采购单位", "采购人", "purchaser"],
            Field::Street => &[
                "街道",
                "服务街道",
                "所属街道",
                "street",
                "sub-district",
                "subdistrict",
            ],
            Field::Community => &["社区", "服务社区", "所属社区", "community"],
            Field::Method => &["采购方式", "procurement method", "method"],
            Field::Funding => &["资金来源", "funding source", "funding"],
            Field::Value => &[
                "合同金额",
                "项目金额",
                "金额",
                "value",
                "amount",
                "contract value",
            ],
            Field::Signed => &[
                "签订日期",
                "签约日期",
                "合同签订日期",
                "signed",
                "signed date",
            ],
            Field::Start => &[
                "开始日期",
                "服务开始日期",
                "起始日期",
                "start",
                "start date",
            ],
            Field::End => &["结束日期", "服务结束日期", "截止日期", "end", "end date"],
            Field::Term => &["服务期限", "服务周期", "合同期限", "term", "service period"],
            Field::Target => &[
                "计划服务人数",
                "目标人数",
                "目标服务人数",
                "target",
                "target people",
            ],
            Field::Date => &["拨付日期", "支付日期", "付款日期", "date", "payment date"],
            Field::Amount => &["拨付金额", "支付金额", "付款金额", "金额", "amount"],
            Field::Voucher => &["凭证号", "凭证编号", "记账凭证号", "voucher", "voucher no"],
            Field::Tranche => &["拨付批次", "批次", "款项类型", "tranche"],
            Field::Reverses => &[
                "冲销凭证号",
                "原凭证号",
                "被冲销凭证号",
                "reverses",
                "reversed voucher",
            ],
            Field::Note => &["备注", "说明", "note", "notes", "remark"],
            Field::Period => &["统计期间", "月份", "期间", "统计月份", "period", "month"],
            Field::NewPeople => &["新增服务人数", "新增服务对象", "新增人数", "new people"],
            Field::Cumulative => &[
                "累计服务人数",
                "累计人数",
                "cumulative people",
                "cumulative",
            ],
            Field::Sessions => &["服务人次", "人次", "sessions"],
            Field::BudgetYear => &["预算年度", "年度", "budget year", "year"],
            Field::BudgetCode => &[
                "预算项目编码",
                "预算项目编号",
                "预算编码",
                "预算项目代码",
                "budget code",
                "budget line",
                "budget line code",
            ],
            Field::BudgetName => &[
                "预算项目名称",
                "预算项目",
                "预算名称",
                "budget name",
                "budget line name",
            ],
            Field::Approved => &[
                "批复金额",
                "预算金额",
                "批复数",
                "approved",
                "approved amount",
                "budget amount",
            ],
            Field::ApprovalDoc => &[
                "批复文号",
                "批复文件",
                "文号",
                "approval document",
                "approval no",
            ],
            Field::ApprovalDate => &["批复日期", "批复时间", "approval date", "approved on"],
            Field::Adjusts => &[
                "调整文号",
                "原批复文号",
                "被调整文号",
                "adjusts",
                "adjusted document",
            ],
            Field::EvalType => &["评价类型", "评价阶段", "evaluation type"],
            Field::Evaluator => &["评价机构", "评价单位", "第三方评价机构", "evaluator"],
            Field::EvaluatorUscc => &[
                "评价机构统一社会信用代码",
                "评价机构信用代码",
                "evaluator uscc",
            ],
            Field::EvalDate => &["评价日期", "评估日期", "evaluation date"],
            Field::Score => &["得分", "评价得分", "分数", "score"],
            Field::Grade => &["等级", "评价等级", "评价结果", "grade"],
            Field::Findings => &["主要问题", "存在问题", "main problems", "findings"],
            Field::Fixes => &["整改要求", "整改意见", "required fixes"],
            Field::FixedOn => &["整改完成日期", "整改日期", "fixes done on"],
            Field::Corrects => &["更正评价日期", "被更正评价日期", "corrects"],
        }
    }
}

fn fields(kind: SheetKind) -> &'static [Field] {
    use Field::*;
    match kind {
        SheetKind::Contracts => &[
            Code, Title, Category, Provider, Uscc, Purchaser, Street, Community, Method, Funding,
            Value, Signed, Start, End, Term, Target, BudgetCode,
        ],
        SheetKind::Disbursements => &[Code, Date, Amount, Voucher, Tranche, Reverses, Note],
        SheetKind::Services => &[Code, Period, NewPeople, Cumulative, Sessions],
        SheetKind::Budgets => &[
            BudgetYear,
            Funding,
            BudgetCode,
            BudgetName,
            Category,
            Approved,
            ApprovalDoc,
            ApprovalDate,
            Adjusts,
        ],
        SheetKind::Evaluations => &[
            Code,
            EvalType,
            Evaluator,
            EvaluatorUscc,
            EvalDate,
            Score,
            Grade,
            Findings,
            Fixes,
            FixedOn,
            Corrects,
        ],
    }
}

/// The most characters a free-text cell may hold: titles, names, places and vouchers, and
/// notes. Anything longer is refused at import with the cell named, so that no stored value
/// can make every page that shows it heavy, or an export fail (an Excel cell holds at most
/// 32,767 characters).
pub const NAME_MAX_CHARS: usize = 500;
pub const NOTE_MAX_CHARS: usize = 2_000;

/// The free-text fields and their limits, counted after trimming and width folding. The
/// other fields have rules of their own that bound them (codes, vocabularies, dates).
pub const FREE_TEXT: [(Field, usize); 15] = [
    (Field::Title, NAME_MAX_CHARS),
    (Field::Provider, NAME_MAX_CHARS),
    (Field::Purchaser, NAME_MAX_CHARS),
    (Field::Street, NAME_MAX_CHARS),
    (Field::Community, NAME_MAX_CHARS),
    (Field::Voucher, NAME_MAX_CHARS),
    (Field::Tranche, NAME_MAX_CHARS),
    (Field::Reverses, NAME_MAX_CHARS),
    (Field::Note, NOTE_MAX_CHARS),
    (Field::BudgetName, NAME_MAX_CHARS),
    (Field::ApprovalDoc, NAME_MAX_CHARS),
    (Field::Adjusts, NAME_MAX_CHARS),
    (Field::Evaluator, NAME_MAX_CHARS),
    (Field::Findings, NOTE_MAX_CHARS),
    (Field::Fixes, NOTE_MAX_CHARS),
];

impl Field {
    /// The most characters a cell of this field may hold, when it is free text.
    pub fn max_chars(self) -> Option<usize> {
        FREE_TEXT
            .iter()
            .find(|(f, _)| *f == self)
            .map(|(_, limit)| *limit)
    }
}

/// Required columns; for contracts the term is start+end or one range column, checked apart.
pub fn required(kind: SheetKind) -> &'static [Field] {
    use Field::*;
    match kind {
        SheetKind::Contracts => &[Code, Title, Category, Provider, Value],
        SheetKind::Disbursements => &[Code, Date, Amount, Voucher],
        SheetKind::Services => &[Code, Period],
        SheetKind::Budgets => &[
            BudgetYear,
            Funding,
            BudgetCode,
            BudgetName,
            Approved,
            ApprovalDoc,
            ApprovalDate,
        ],
        SheetKind::Evaluations => &[Code, EvalType, EvalDate, Score],
    }
}

/// Splits a header key into its base and the unit its parentheses or suffix name.
fn split_unit(key: &str) -> (String, Decimal) {
    for (suffix, unit) in [
        ("(万元)", 10_000),
        ("万元", 10_000),
        ("(元)", 1),
        ("(yuan)", 1),
    ] {
        if let Some(base) = key.strip_suffix(suffix) {
            if !base.is_empty() {
                return (base.to_string(), Decimal::from(unit));
            }
        }
    }
    if let Some(base) = key.strip_suffix('元') {
        if base.ends_with("金额") {
            return (base.to_string(), Decimal::ONE);
        }
    }
    (key.to_string(), Decimal::ONE)
}

/// Where each field of a register is, in one sheet.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    pub kind: SheetKind,
    /// 0-based row of the header.
    pub header_row: u32,
    pub cols: HashMap<Field, u32>,
    /// The unit of amount columns (1 or 10,000 yuan).
    pub units: HashMap<Field, Decimal>,
}

impl ColumnMap {
    pub fn col(&self, f: Field) -> Option<u32> {
        self.cols.get(&f).copied()
    }

    pub fn unit(&self, f: Field) -> Decimal {
        self.units.get(&f).copied().unwrap_or(Decimal::ONE)
    }

    /// Required fields with no column; for contracts, a term needs start and end or a range.
    pub fn missing(&self) -> Vec<Field> {
        let mut m: Vec<Field> = required(self.kind)
            .iter()
            .copied()
            .filter(|f| !self.cols.contains_key(f))
            .collect();
        if self.kind == SheetKind::Contracts && !self.cols.contains_key(&Field::Term) {
            for f in [Field::Start, Field::End] {
                if !self.cols.contains_key(&f) {
                    m.push(f);
                }
            }
        }
        m
    }
}

/// Matches one row's cells as a header of `kind`.
pub fn match_header(kind: SheetKind, row: u32, cells: &[Cell]) -> ColumnMap {
    let mut map = ColumnMap {
        kind,
        header_row: row,
        cols: HashMap::new(),
        units: HashMap::new(),
    };
    for (i, cell) in cells.iter().enumerate() {
        let Cell::Text(t) = cell else { continue };
        let (base, unit) = split_unit(&header_key(t));
        if base.is_empty() {
            continue;
        }
        for &f in fields(kind) {
            if map.cols.contains_key(&f) {
                continue;
            }
            if f.aliases()
                .iter()
                .any(|a| split_unit(&header_key(a)).0 == base)
            {
                map.cols.insert(f, i as u32);
                map.units.insert(f, unit);
                break;
            }
        }
    }
    map
}

/// How well a row serves as a header of `kind`: (complete, matched count).
fn score(map: &ColumnMap) -> (bool, usize) {
    (map.missing().is_empty(), map.cols.len())
}

/// The outcome of looking for a header in a sheet's first rows.
#[derive(Debug)]
pub enum Detection {
    Found(ColumnMap),
    /// Looks like a register of this kind but lacks required columns.
    Incomplete(ColumnMap),
    /// No known kind.
    Unknown,
}

/// Finds the header row within `rows` (the first 20 of a sheet) and the sheet's kind.
/// `forced` is the user's `--kind`.
pub fn detect(sheet_name: &str, rows: &[(u32, Vec<Cell>)], forced: Option<SheetKind>) -> Detection {
    let kinds: Vec<SheetKind> = match forced {
        Some(k) => vec![k],
        None => vec![
            SheetKind::Contracts,
            SheetKind::Disbursements,
            SheetKind::Services,
            SheetKind::Budgets,
            SheetKind::Evaluations,
        ],
    };
    let name = header_key(sheet_name);
    let mut best: Option<(bool, usize, bool, ColumnMap)> = None;
    for (row, cells) in rows {
        for &kind in &kinds {
            let map = match_header(kind, *row, cells);
            let (complete, n) = score(&map);
            if n == 0 {
                continue;
            }
            let hinted = kind.name_hints().iter().any(|h| name.contains(h));
            let better = match &best {
                None => true,
                Some((c, bn, h, _)) => (complete, n, hinted) > (*c, *bn, *h),
            };
            if better {
                best = Some((complete, n, hinted, map));
            }
        }
    }
    match best {
        Some((true, _, _, map)) => Detection::Found(map),
        // Two recognised headers (e.g. 项目编号 and 拨付金额) make a register with a gap;
        // one alone is too weak (a title row may say 项目).
        Some((false, n, _, map)) if n >= 2 || forced.is_some() => Detection::Incomplete(map),
        _ => Detection::Unknown,
    }
}

/// Whether a row is a total (合计/总计/小计/Total) rather than a record, judged by its first
/// non-blank cells.
pub fn total_kind(cells: &[Cell]) -> Option<TotalKind> {
    for cell in cells.iter().filter(|c| !c.is_blank()).take(1) {
        if let Cell::Text(t) = cell {
            let k = header_key(t);
            if k.starts_with("小计") || k.starts_with("subtotal") {
                return Some(TotalKind::Subtotal);
            }
            if k.starts_with("合计")
                || k.starts_with("总计")
                || k.starts_with("total")
                || k.starts_with("累计合计")
            {
                return Some(TotalKind::Total);
            }
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalKind {
    Total,
    Subtotal,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<Cell> {
        cells.iter().map(|s| Cell::Text(s.to_string())).collect()
    }

    #[test]
    fn a_contract_header_with_a_wan_yuan_column() {
        let rows = vec![
            (0, row(&["官渡区政府购买服务项目台账"])),
            (
                2,
                row(&[
                    "项目编号*",
                    "项目名称",
                    "服务类别",
                    "承接主体",
                    "金额（万元）",
                    "服务期限",
                ]),
            ),
        ];
        let Detection::Found(map) = detect("Sheet1", &rows, None) else {
            panic!()
        };
        assert_eq!(map.kind, SheetKind::Contracts);
        assert_eq!(map.header_row, 2);
        assert_eq!(map.col(Field::Value), Some(4));
        assert_eq!(map.unit(Field::Value), Decimal::from(10_000));
        assert_eq!(map.col(Field::Term), Some(5));
    }

    #[test]
    fn aliases_in_english_and_full_width() {
        let rows = vec![(
            0,
            row(&["Contract Code", "DATE", "ａｍｏｕｎｔ", "Voucher"]),
        )];
        let Detection::Found(map) = detect("x", &rows, None) else {
            panic!()
        };
        assert_eq!(map.kind, SheetKind::Disbursements);
        let rows = vec![(0, row(&["项目编号", "月份", "新增服务对象", "服务人次"]))];
        let Detection::Found(map) = detect("x", &rows, None) else {
            panic!()
        };
        assert_eq!(map.kind, SheetKind::Services);
        let rows = vec![(
            1,
            row(&[
                "项目编号",
                "评价类型",
                "评价机构统一社会信用代码",
                "评价日期",
                "得分",
            ]),
        )];
        let Detection::Found(map) = detect("Sheet1", &rows, None) else {
            panic!()
        };
        assert_eq!(map.kind, SheetKind::Evaluations);
        assert_eq!(map.col(Field::EvaluatorUscc), Some(2));
    }

    #[test]
    fn missing_columns_are_reported_and_unknown_sheets_skipped() {
        let rows = vec![(0, row(&["项目编号", "拨付金额（元）", "凭证号"]))];
        let Detection::Incomplete(map) = detect("拨付", &rows, None) else {
            panic!()
        };
        assert_eq!(map.missing(), vec![Field::Date]);
        let rows = vec![(0, row(&["姓名", "电话"]))];
        assert!(matches!(detect("通讯录", &rows, None), Detection::Unknown));
    }

    #[test]
    fn every_alias_of_every_field_is_recognised_in_every_spelling() {
        for kind in [
            SheetKind::Contracts,
            SheetKind::Disbursements,
            SheetKind::Services,
            SheetKind::Budgets,
            SheetKind::Evaluations,
        ] {
            for &f in fields(kind) {
                for alias in f.aliases() {
                    // as listed, full-width upper case with a required mark, and with a unit
                    let wide: String = alias
                        .chars()
                        .flat_map(char::to_uppercase)
                        .map(|c| {
                            if c.is_ascii_graphic() {
                                char::from_u32(c as u32 + 0xfee0).unwrap()
                            } else {
                                c
                            }
                        })
                        .collect();
                    for spelling in [
                        alias.to_string(),
                        format!("{wide} *"),
                        format!("{alias}（元）"),
                    ] {
                        let map = match_header(kind, 0, &row(&[spelling.as_str()]));
                        assert!(
                            map.cols.contains_key(&f),
                            "{kind:?}: '{spelling}' is not {f:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_budget_header_is_found_and_a_contract_header_keeps_its_budget_column() {
        let rows = vec![(
            1,
            row(&[
                "预算年度",
                "资金来源",
                "预算项目编码",
                "预算项目名称",
                "服务类别",
                "批复金额（万元）",
                "批复文号",
                "批复日期",
                "调整文号",
            ]),
        )];
        let Detection::Found(map) = detect("Sheet1", &rows, None) else {
            panic!()
        };
        assert_eq!(map.kind, SheetKind::Budgets);
        assert_eq!(map.unit(Field::Approved), Decimal::from(10_000));
        assert_eq!(map.col(Field::Adjusts), Some(8));
        let rows = vec![(
            0,
            row(&[
                "项目编号",
                "项目名称",
                "服务类别",
                "承接机构",
                "合同金额（元）",
                "服务期限",
                "资金来源",
                "预算项目编码",
            ]),
        )];
        let Detection::Found(map) = detect("预算执行", &rows, None) else {
            panic!()
        };
        assert_eq!(map.kind, SheetKind::Contracts);
        assert_eq!(map.col(Field::BudgetCode), Some(7));
    }

    #[test]
    fn total_rows_are_recognised() {
        assert_eq!(
            total_kind(&row(&["合 计", "", "1"])),
            Some(TotalKind::Total)
        );
        assert_eq!(total_kind(&row(&["", "小计"])), Some(TotalKind::Subtotal));
        assert_eq!(total_kind(&row(&["GD-001", "合计项目"])), None);
    }
}
