//! What counts as a change to a stored contract: a re-imported register row changes the
//! contract only where one of these fields differs, and each difference is written to the
//! change history as text.

use chrono::NaiveDate;

use super::{Category, FundingSource, ProcurementMethod};
use crate::money::Money;

/// The fields of a contract that a register row sets, in their stored form (vocabulary
/// codes, fen), so that a stored contract and an incoming row compare field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractFields {
    pub title: String,
    pub category: Category,
    pub provider_id: i64,
    pub provider_name: String,
    pub purchaser: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub method: Option<ProcurementMethod>,
    pub funding: Option<FundingSource>,
    pub value: Money,
    pub signed_on: Option<NaiveDate>,
    pub start_on: NaiveDate,
    pub end_on: NaiveDate,
    pub target_people: Option<i64>,
    /// 预算项目编码.
    pub budget_code: Option<String>,
}

/// One changed field as the history records it: (field, old value, new value).
pub type FieldChange = (&'static str, Option<String>, Option<String>);

impl ContractFields {
    /// Every difference from `self` (stored) to `new`, as text for the history; empty when
    /// the row leaves the contract unchanged.
    pub fn diff(&self, new: &ContractFields) -> Vec<FieldChange> {
        let mut d = Vec::new();
        let mut cmp = |name: &'static str, a: Option<String>, b: Option<String>| {
            if a != b {
                d.push((name, a, b));
            }
        };
        cmp("title", Some(self.title.clone()), Some(new.title.clone()));
        cmp(
            "category",
            Some(self.category.code().to_string()),
            Some(new.category.code().to_string()),
        );
        cmp(
            "provider_id",
            Some(self.provider_id.to_string()),
            Some(new.provider_id.to_string()),
        );
        cmp(
            "provider_name",
            Some(self.provider_name.clone()),
            Some(new.provider_name.clone()),
        );
        cmp("purchaser", self.purchaser.clone(), new.purchaser.clone());
        cmp("street", self.street.clone(), new.street.clone());
        cmp("community", self.community.clone(), new.community.clone());
        cmp("method", code(self.method), code(new.method));
        cmp("funding", code(self.funding), code(new.funding));
        cmp(
            "value",
            Some(self.value.to_string()),
            Some(new.value.to_string()),
        );
        cmp(
            "signed_on",
            opt_date(self.signed_on),
            opt_date(new.signed_on),
        );
        cmp(
            "start_on",
            Some(self.start_on.to_string()),
            Some(new.start_on.to_string()),
        );
        cmp(
            "end_on",
            Some(self.end_on.to_string()),
            Some(new.end_on.to_string()),
        );
        cmp(
            "target_people",
            self.target_people.map(|n| n.to_string()),
            new.target_people.map(|n| n.to_string()),
        );
        cmp(
            "budget_code",
            self.budget_code.clone(),
            new.budget_code.clone(),
        );
        d
    }
}

/// A contract's value may be lowered by a new register, but never below what has already
/// been paid against it.
pub fn value_below_paid(value: Money, paid: Money) -> bool {
    value < paid
}

/// A vocabulary value as the history writes it: its stored code.
fn code<T: std::fmt::Display>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

fn opt_date(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn stored() -> ContractFields {
        ContractFields {
            title: "社区居家养老".into(),
            category: Category::Elderly,
            provider_id: 7,
            provider_name: "阳光社工".into(),
            purchaser: Some("民政局".into()),
            street: None,
            community: None,
            method: Some(ProcurementMethod::OpenTender),
            funding: None,
            value: Money::from_fen(10_000_000),
            signed_on: None,
            start_on: date("2019-01-01"),
            end_on: date("2019-12-31"),
            target_people: Some(200),
            budget_code: None,
        }
    }

    #[test]
    fn the_same_row_again_changes_nothing() {
        assert!(stored().diff(&stored()).is_empty());
    }

    #[test]
    fn each_changed_field_is_recorded_as_text_old_then_new() {
        let new = ContractFields {
            value: Money::from_fen(12_000_050),
            end_on: date("2020-06-30"),
            street: Some("城关街道".into()),
            target_people: None,
            ..stored()
        };
        assert_eq!(
            stored().diff(&new),
            vec![
                ("street", None, Some("城关街道".to_string())),
                (
                    "value",
                    Some("100000.00".to_string()),
                    Some("120000.50".to_string())
                ),
                (
                    "end_on",
                    Some("2019-12-31".to_string()),
                    Some("2020-06-30".to_string())
                ),
                ("target_people", Some("200".to_string()), None),
            ]
        );
    }

    #[test]
    fn a_value_may_fall_to_what_was_paid_but_not_below() {
        assert!(!value_below_paid(
            Money::from_fen(5_000),
            Money::from_fen(5_000)
        ));
        assert!(value_below_paid(
            Money::from_fen(4_999),
            Money::from_fen(5_000)
        ));
    }
}
