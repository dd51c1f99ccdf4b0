//! The charts' tests: valid SVG whatever the data, labels that fit, axes that read.

use super::*;

fn d(label: &str, value: i64) -> Datum {
    Datum {
        label: label.to_string(),
        value,
    }
}

fn services() -> Vec<Datum> {
    vec![
        d("养老服务", 523_450_000),
        d("青少年服务", 312_080_000),
        d("助残服务", 145_327_000),
    ]
}

fn months(n: usize) -> Vec<Datum> {
    (0..n)
        .map(|i| {
            d(
                &format!("{}-{:02}", 2019 + i / 12, i % 12 + 1),
                i as i64 * 10_000_000,
            )
        })
        .collect()
}

/// Parses as XML (panicking with the parser's message if it is not) and returns the text.
fn parse(svg: &str) -> roxmltree::Document<'_> {
    match roxmltree::Document::parse(svg) {
        Ok(doc) => doc,
        Err(e) => panic!("not well-formed XML: {e}\n{svg}"),
    }
}

fn texts(svg: &str) -> Vec<String> {
    parse(svg)
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

fn count_filled(svg: &str, tag: &str, colour: RGBColor) -> usize {
    let hex = format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2);
    parse(svg)
        .descendants()
        .filter(|n| n.has_tag_name(tag) && n.attribute("fill") == Some(hex.as_str()))
        .count()
}

fn assert_is_inline_svg(svg: &str) {
    let doc = parse(svg);
    let root = doc.root_element();
    assert!(root.has_tag_name("svg"));
    assert!(root.attribute("viewBox").is_some());
    assert_eq!(root.attribute("width"), Some("100%"));
    assert!(root.attribute("height").is_none());
    let first = root.children().find(|n| n.is_element());
    assert!(first.is_some_and(|n| n.has_tag_name("title")));
}

#[test]
fn a_bar_chart_is_an_inline_svg_with_a_title() {
    let svg = bar_chart("2024年支出", &services(), Unit::MoneyFen, true);
    assert_is_inline_svg(&svg);
    let doc = parse(&svg);
    let title = doc.descendants().find(|n| n.has_tag_name("title"));
    assert_eq!(title.and_then(|n| n.text()), Some("2024年支出"));
}

#[test]
fn a_bar_chart_has_one_bar_and_one_label_per_datum() {
    let svg = bar_chart("支出", &services(), Unit::MoneyFen, true);
    assert_eq!(count_filled(&svg, "rect", BAR), 3);
    let texts = texts(&svg);
    for label in ["养老服务", "青少年服务", "助残服务"] {
        assert!(texts.iter().any(|t| t == label), "missing {label}");
    }
}

#[test]
fn bar_values_are_shown_in_wan_yuan_in_chinese() {
    let texts = texts(&bar_chart("支出", &services(), Unit::MoneyFen, true));
    assert!(texts.iter().any(|t| t == "523.45万元"));
    assert!(texts.iter().any(|t| t == "145.33万元"));
    assert!(texts.iter().any(|t| t == "单位：万元"));
}

#[test]
fn bar_values_are_shown_in_million_yuan_in_english() {
    let texts = texts(&bar_chart("Spend", &services(), Unit::MoneyFen, false));
    assert!(texts.iter().any(|t| t == "5.23M yuan"));
    assert!(texts.iter().any(|t| t == "Unit: million yuan"));
}

#[test]
fn labels_with_markup_characters_are_escaped_and_survive_parsing() {
    let evil = "<b>&\"'";
    let svg = bar_chart(evil, &[d(evil, 5)], Unit::People, false);
    assert!(!svg.contains("<b>"));
    assert!(svg.contains("&lt;b&gt;&amp;"));
    let shown = texts(&svg);
    assert!(
        shown.iter().filter(|t| *t == evil).count() >= 2,
        "{shown:?}"
    );
    let line = line_chart(evil, &[d(evil, 5)], Unit::People, false);
    assert!(texts(&line).iter().any(|t| t == evil));
}

#[test]
fn control_characters_in_labels_do_not_break_the_xml() {
    let svg = bar_chart("a\u{1}b", &[d("x\u{0}y\u{8}", 1)], Unit::People, true);
    assert_is_inline_svg(&svg);
    let line = line_chart("t", &[d("\u{1b}[31m", 1)], Unit::People, true);
    assert_is_inline_svg(&line);
}

#[test]
fn empty_data_shows_a_no_data_message() {
    let zh = bar_chart("支出", &[], Unit::MoneyFen, true);
    assert_is_inline_svg(&zh);
    assert!(texts(&zh).iter().any(|t| t == "暂无数据"));
    let en = line_chart("Spend", &[], Unit::MoneyFen, false);
    assert_is_inline_svg(&en);
    assert!(texts(&en).iter().any(|t| t == "No data"));
}

#[test]
fn a_single_datum_draws_one_bar_and_one_point() {
    let one = [d("2019-01", 42)];
    let bar = bar_chart("t", &one, Unit::People, true);
    assert_eq!(count_filled(&bar, "rect", BAR), 1);
    let line = line_chart("t", &one, Unit::People, true);
    assert_eq!(count_filled(&line, "circle", LINE), 1);
    assert!(texts(&line).iter().any(|t| t == "2019-01"));
}

#[test]
fn all_zero_values_still_draw_an_axis_and_zero_labels() {
    let zeros = [d("甲", 0), d("乙", 0)];
    let bar = bar_chart("t", &zeros, Unit::MoneyFen, true);
    assert_is_inline_svg(&bar);
    assert_eq!(texts(&bar).iter().filter(|t| *t == "0元").count(), 2);
    assert_is_inline_svg(&line_chart("t", &zeros, Unit::People, false));
}

#[test]
fn negative_values_get_their_own_bar_colour_and_a_minus_sign() {
    let data = [d("退款", -2_500_000), d("支出", 7_000_000)];
    let bar = bar_chart("t", &data, Unit::MoneyFen, true);
    assert_eq!(count_filled(&bar, "rect", BAR_NEGATIVE), 1);
    assert_eq!(count_filled(&bar, "rect", BAR), 1);
    assert!(texts(&bar).iter().any(|t| t == "-2.5万元"));
    let line = line_chart("t", &data, Unit::MoneyFen, true);
    assert_eq!(count_filled(&line, "circle", LINE), 2);
}

#[test]
fn sixty_months_draw_every_point_but_thin_out_the_x_labels() {
    let data = months(72);
    let svg = line_chart("累计支出", &data, Unit::MoneyFen, true);
    assert_eq!(count_filled(&svg, "circle", LINE), 72);
    let month_labels = texts(&svg)
        .into_iter()
        .filter(|t| t.len() == 7 && t.starts_with("20"))
        .count();
    assert!((2..=12).contains(&month_labels), "{month_labels} x labels");
    assert!(texts(&svg).iter().any(|t| t == "2019-01"));
    assert!(!texts(&svg).iter().any(|t| t == "2019-02"));
}

#[test]
fn sixty_bars_all_get_drawn_and_labelled() {
    let data = months(60);
    let svg = bar_chart("t", &data, Unit::People, false);
    assert_eq!(count_filled(&svg, "rect", BAR), 60);
    assert!(texts(&svg).iter().any(|t| t == "2023-12"));
}

#[test]
fn absurdly_many_points_give_a_message_not_a_giant_image() {
    let svg = line_chart("t", &months(MAX_POINTS + 1), Unit::People, false);
    assert_is_inline_svg(&svg);
    assert!(texts(&svg)
        .iter()
        .any(|t| t == "Too many data points to chart"));
}

#[test]
fn unexpected_backend_output_is_rejected_rather_than_passed_on() {
    let p = Prepared {
        title: "t".into(),
        labels: vec![],
        values: vec![],
        unit: Unit::People,
        zh: false,
        axis: AxisUnit::choose(Unit::People, false, 0),
    };
    assert!(finish_svg("", 1, 1, &p).is_none());
    assert!(finish_svg("<svg width=\"1\"><rect/>", 1, 1, &p).is_none());
    assert!(finish_svg("<svg width=\"1\">\n</svg>\n", 1, 1, &p).is_some());
}

#[test]
fn long_labels_are_shortened_with_an_ellipsis() {
    let long = "社区治理与居民自治能力提升综合试点项目专项资金（第二批）追加";
    let svg = bar_chart("t", &[d(long, 1)], Unit::People, true);
    assert!(texts(&svg).iter().any(|t| t.ends_with('…')));
    // ...while the accessible description keeps the full label.
    assert!(svg.contains(long));
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let a = line_chart("t", &months(30), Unit::MoneyFen, true);
    let b = line_chart("t", &months(30), Unit::MoneyFen, true);
    assert_eq!(a, b);
    let a = bar_chart("t", &services(), Unit::People, false);
    let b = bar_chart("t", &services(), Unit::People, false);
    assert_eq!(a, b);
}

#[test]
fn text_asks_the_browser_for_a_cjk_font() {
    let svg = bar_chart("t", &services(), Unit::MoneyFen, true);
    let doc = parse(&svg);
    let text = doc.descendants().find(|n| n.has_tag_name("text"));
    let family = text.and_then(|n| n.attribute("font-family")).unwrap_or("");
    assert!(family.starts_with("'Noto Sans CJK SC'"), "{family}");
    assert!(family.ends_with("sans-serif"));
}

#[test]
fn extreme_values_do_not_panic() {
    let data = [d("max", i64::MAX), d("min", i64::MIN), d("0", 0)];
    assert_is_inline_svg(&bar_chart("t", &data, Unit::MoneyFen, true));
    assert_is_inline_svg(&line_chart("t", &data, Unit::People, false));
}

#[test]
fn money_is_formatted_exactly_from_fen() {
    assert_eq!(format_value(14_532_700, Unit::MoneyFen, true), "14.53万元");
    assert_eq!(
        format_value(1_453_270_000, Unit::MoneyFen, true),
        "1453.27万元"
    );
    assert_eq!(format_value(1_000_000, Unit::MoneyFen, true), "1万元");
    assert_eq!(format_value(999_999, Unit::MoneyFen, true), "9,999.99元");
    assert_eq!(format_value(-5_005_000, Unit::MoneyFen, true), "-5.01万元");
    assert_eq!(
        format_value(1_453_270_000, Unit::MoneyFen, false),
        "14.53M yuan"
    );
    assert_eq!(
        format_value(5_234_567, Unit::MoneyFen, false),
        "52,345.67 yuan"
    );
    assert_eq!(format_value(0, Unit::MoneyFen, false), "0 yuan");
}

#[test]
fn bar_labels_share_the_charts_unit_unless_that_would_show_zero() {
    let data = [
        d("big", 523_450_000),
        d("mid", 87_604_300),
        d("tiny", 1_234),
    ];
    let texts = texts(&bar_chart("t", &data, Unit::MoneyFen, false));
    assert!(texts.iter().any(|t| t == "0.88M yuan"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "12.34 yuan"), "{texts:?}");
}

#[test]
fn people_are_counted_with_thousands_separators() {
    assert_eq!(format_value(51_236, Unit::People, false), "51,236");
    assert_eq!(format_value(51_236, Unit::People, true), "51,236人");
    assert_eq!(format_value(-1_000, Unit::People, false), "-1,000");
    assert_eq!(format_value(999, Unit::People, false), "999");
}

#[test]
fn axis_ticks_use_the_caption_unit() {
    let axis = AxisUnit::choose(Unit::MoneyFen, true, 600_000_000);
    assert_eq!(axis.tick(100_000_000.0), "100");
    assert_eq!(axis.tick(150_000.0), "0.15");
    let axis = AxisUnit::choose(Unit::MoneyFen, false, 600_000_000);
    assert_eq!(axis.tick(250_000_000.0), "2.5");
    let axis = AxisUnit::choose(Unit::People, false, 60_000);
    assert_eq!(axis.tick(50_000.0), "50,000");
}

#[test]
fn month_labels_step_by_calendar_friendly_intervals() {
    assert_eq!(label_step(10, 700.0, 50.0), 1);
    assert_eq!(label_step(30, 700.0, 50.0), 3);
    assert_eq!(label_step(72, 700.0, 50.0), 12);
    assert_eq!(label_step(5000, 700.0, 50.0), 500);
}
