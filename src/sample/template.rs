//! The blank register template, with a 填写说明 sheet that states each column's rule.

use std::path::Path;

use rust_xlsxwriter::{DataValidation, Format, FormatAlign, Workbook};

use super::budgets::BUDGETS;
use super::writers::{properties, save, Styles, CONTRACTS, DISBURSEMENTS, EVALUATIONS, SERVICES};
use crate::contracts::{Category, FundingSource, ProcurementMethod};
use crate::evaluations::{EvaluationType, Grade};
use crate::register::columns::FREE_TEXT;

// ---------------------------------------------------------------------------------------
// The blank template
// ---------------------------------------------------------------------------------------

/// What each column takes, for the 填写说明 sheet, with the length limit of a free-text
/// column (the import refuses longer text).
pub(super) fn column_help(sheet: &str, header: &str) -> String {
    let rule = column_rule(sheet, header);
    match FREE_TEXT.iter().find(|(f, _)| f.names().1 == header) {
        Some((_, limit)) => format!("{rule}；不超过{limit}个字符"),
        None => rule,
    }
}

fn column_rule(sheet: &str, header: &str) -> String {
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
        (_, "预算项目编码") if sheet == "项目合同" => {
            "合同所用预算项目的编码，须与“预算项目”表一致；未填写的合同会被提示并列入审计异常（财预〔2017〕87号：先有预算、后购买服务）".into()
        }
        (_, "预算项目编码") => "预算项目的编码，同一年度内唯一，如YS-2019-01".into(),
        (_, "预算年度") => "预算所属年度，四位年份，如2019".into(),
        (_, "预算项目名称") => "批复文件上的预算项目名称".into(),
        (_, "批复金额（元）") => {
            "批复的预算金额，单位元，精确到分；调整行填调整金额，追加为正数、调减为负数".into()
        }
        (_, "批复文号") => "批复该预算（或该次调整）的文件文号，如官财预〔2019〕12号".into(),
        (_, "批复日期") => "批复文件的日期".into(),
        (_, "调整文号") => {
            "仅调整行填写：被调整预算项目的批复文号。已登记的预算项目不修改，调整另起一行".into()
        }
        (_, "评价类型") => format!("填写其一：{}", EvaluationType::expected()),
        (_, "评价机构") => "开展绩效评价的机构全称，如第三方评估机构".into(),
        (_, "评价机构统一社会信用代码") => {
            "评价机构的18位代码，系统按GB 32100-2015核对末位校验码".into()
        }
        (_, "评价日期") => "评价结论出具的日期".into(),
        (_, "得分") => "0至100分，最多两位小数".into(),
        (_, "等级") => format!(
            "填写其一：{}；可不填，按得分自动评定（默认90分及以上优秀、80分及以上良好、60分及以上合格），填写时须与得分一致",
            Grade::expected()
        ),
        (_, "主要问题") => "评价发现的主要问题".into(),
        (_, "整改要求") => "评价提出的整改要求".into(),
        (_, "整改完成日期") => {
            "整改完成的日期；评价不合格而未填写的，视为尚未整改完成，其间拨付将列为异常".into()
        }
        (_, "更正评价日期") => {
            "仅更正记录填写：被更正的同一项目、同一评价类型那条评价的评价日期".into()
        }
        _ => String::new(),
    }
}

pub(super) const GENERAL_HELP: [&str; 11] = [
    "一、本模板有“项目合同”“拨付记录”“服务统计”“预算项目”“绩效评价”五张表，请在对应表中逐行填写，一行一条记录。请勿修改表头文字；表头带“*”的列必须填写。表头上方可以保留标题行和说明行。",
    "二、金额：单位为元，精确到分（最多两位小数）。可以填数字，也可以填“1,234.50”“¥1,234.50”“1234.5元”“(1,234.50)”（负数）等写法；表头写作“（万元）”时，该列金额按万元计。",
    "三、日期：请使用Excel日期格式（如2019-06-25），也可以填写文本“2019-06-25”“2019/6/25”“2019年6月25日”“2019.6.25”“20190625”。",
    "四、合计行：第一列为“合计”“总计”或“小计”的行是汇总行，不作为记录导入；系统会核对合计金额（和人数）是否等于各行之和，不相等时整份文件不导入。",
    "五、整份文件一起导入：只要有一个单元格有误，整份文件都不导入，系统会列出每个错误所在的工作表、单元格和原值，改正后重新上传即可。",
    "六、同一文件重复上传不会改变任何数据（系统按文件内容识别已经导入过的文件），可以放心重传。",
    "七、已登记的拨付记录不修改、不删除。拨付有误时，另起一行登记一笔金额相同的负数记录（冲销），使用它自己的新凭证号，并在“冲销凭证号”填写被冲销那笔记录的凭证号；如需重新拨付，再登记一笔正确的记录。",
    "八、同一合同的累计拨付金额不得超过合同金额。",
    "九、服务统计只填人数和人次，不填任何个人信息；同一人接受两个项目的服务时，两个项目各计一次。",
    "十、预算项目：先有预算、后购买服务（财预〔2017〕87号）。每个合同在“预算项目编码”填写所用预算项目；同一预算项目下的合同金额合计不得超过预算（含调整）。已登记的预算项目不修改：追加或调减另起一行，填写调整自己的批复文号、日期和金额，并在“调整文号”填写原预算项目的批复文号。",
    "十一、已登记的绩效评价不修改。评价有误时，另起一行登记更正后的评价，并在“更正评价日期”填写被更正那条评价的评价日期。付清合同或合同期满后拨付，应在末期绩效评价之后（《政府购买服务管理办法》第二十五条）。",
];

pub(super) fn write_template(path: &Path) -> anyhow::Result<()> {
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
    for sheet in [
        &CONTRACTS,
        &DISBURSEMENTS,
        &SERVICES,
        &BUDGETS,
        &EVALUATIONS,
    ] {
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
    let lists: [(&str, Vec<&str>); 5] = [
        ("服务类别", Category::ALL.iter().map(|c| c.zh()).collect()),
        (
            "采购方式",
            ProcurementMethod::ALL.iter().map(|c| c.zh()).collect(),
        ),
        (
            "资金来源",
            FundingSource::ALL.iter().map(|c| c.zh()).collect(),
        ),
        (
            "评价类型",
            EvaluationType::ALL.iter().map(|c| c.zh()).collect(),
        ),
        ("等级", Grade::ALL.iter().map(|c| c.zh()).collect()),
    ];
    for sheet in [
        &CONTRACTS,
        &DISBURSEMENTS,
        &SERVICES,
        &BUDGETS,
        &EVALUATIONS,
    ] {
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
                "项目编号"
                    | "统一社会信用代码"
                    | "评价机构统一社会信用代码"
                    | "凭证号"
                    | "冲销凭证号"
                    | "统计期间"
                    | "预算项目编码"
                    | "批复文号"
                    | "调整文号"
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
