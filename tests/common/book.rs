//! Builders for test registers: workbooks written with rust_xlsxwriter, CSV text.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// A cell value in a test workbook.
#[derive(Clone, Debug)]
pub enum V {
    S(&'static str),
    T(String),
    N(f64),
    D(NaiveDate),
    Blank,
}

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Writes an xlsx with the given sheets; returns its path.
pub fn xlsx(dir: &Path, name: &str, sheets: &[(&str, Vec<Vec<V>>)]) -> PathBuf {
    let mut wb = Workbook::new();
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    for (sheet_name, rows) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(*sheet_name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match v {
                    V::S(s) => {
                        ws.write_string(r, c, *s).unwrap();
                    }
                    V::T(s) => {
                        ws.write_string(r, c, s).unwrap();
                    }
                    V::N(f) => {
                        ws.write_number(r, c, *f).unwrap();
                    }
                    V::D(dt) => {
                        let x = ExcelDateTime::from_ymd(
                            dt.year() as u16,
                            dt.month() as u8,
                            dt.day() as u8,
                        )
                        .unwrap();
                        ws.write_datetime_with_format(r, c, &x, &date_fmt).unwrap();
                    }
                    V::Blank => {}
                }
            }
        }
    }
    let path = dir.join(name);
    wb.save(&path).unwrap();
    path
}

pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

pub fn s(x: &'static str) -> V {
    V::S(x)
}

pub fn n(x: f64) -> V {
    V::N(x)
}

pub const CONTRACT_HEADER: [&str; 11] = [
    "项目编号",
    "项目名称",
    "服务类别",
    "承接机构",
    "统一社会信用代码",
    "街道",
    "社区",
    "合同金额（元）",
    "签订日期",
    "开始日期",
    "结束日期",
];

pub fn header(cols: &[&'static str]) -> Vec<V> {
    cols.iter().map(|c| V::S(c)).collect()
}

/// A contract row in CONTRACT_HEADER order.
pub fn contract(
    code: &'static str,
    title: &'static str,
    cat: &'static str,
    provider: &'static str,
    value: f64,
    start: NaiveDate,
    end: NaiveDate,
) -> Vec<V> {
    vec![
        s(code),
        s(title),
        s(cat),
        s(provider),
        V::Blank,
        s("东华街道"),
        s("金星社区"),
        n(value),
        V::D(start),
        V::D(start),
        V::D(end),
    ]
}

pub const PAYMENT_HEADER: [&str; 6] = [
    "项目编号",
    "拨付日期",
    "拨付金额（元）",
    "凭证号",
    "拨付批次",
    "冲销凭证号",
];

pub fn payment(code: &'static str, date: NaiveDate, amount: f64, voucher: &'static str) -> Vec<V> {
    vec![s(code), V::D(date), n(amount), s(voucher), s("首期")]
}

pub const SERVICE_HEADER: [&str; 5] = [
    "项目编号",
    "统计期间",
    "新增服务人数",
    "累计服务人数",
    "服务人次",
];
