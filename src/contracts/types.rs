//! The register's domain types, each parsed once from raw text.

use crate::vocabulary;

vocabulary! {
    /// 服务类别: what the purchased service is for.
    Category {
        Elderly => "elderly", "老年服务", "Elderly care", ["elderly care", "养老服务", "为老服务", "养老", "老年人服务"];
        Youth => "youth", "青少年事务", "Youth work", ["youth work", "青少年服务", "青少年"];
        Disability => "disability", "残障支持", "Disability support", ["disability support", "助残服务", "残疾人服务", "助残"];
        Relief => "relief", "救困帮扶", "Relief", ["社会救助", "困难帮扶", "救助帮扶"];
        Other => "other", "其他", "Other", ["其它"];
    }
}

vocabulary! {
    /// 采购方式 (Government Procurement Law art. 26, and the framework agreement of Order 110).
    ProcurementMethod {
        OpenTender => "open_tender", "公开招标", "Open tender", ["open tendering"];
        InvitedTender => "invited_tender", "邀请招标", "Invited tender", ["selective tendering"];
        CompetitiveNegotiation => "competitive_negotiation", "竞争性谈判", "Competitive negotiation", [];
        CompetitiveConsultation => "competitive_consultation", "竞争性磋商", "Competitive consultation", [];
        SingleSource => "single_source", "单一来源", "Single source", ["单一来源采购"];
        Inquiry => "inquiry", "询价", "Request for quotation", ["询价采购", "rfq"];
        Framework => "framework", "框架协议", "Framework agreement", ["框架协议采购"];
    }
}

vocabulary! {
    /// 资金来源.
    FundingSource {
        Budget => "budget", "财政预算", "General budget", ["财政资金", "财政", "general budget"];
        WelfareLottery => "welfare_lottery", "福彩公益金", "Welfare-lottery fund", ["福利彩票公益金", "彩票公益金", "welfare lottery"];
        // Transfers from the city or province for a purpose (专项转移支付); budget lines name it.
        HigherGrant => "higher_grant", "上级补助", "Higher-level grant", ["上级补助资金", "上级专项资金", "上级资金", "higher-level grant"];
        Other => "other", "其他", "Other", ["其它", "自筹"];
    }
}

/// 项目编号: the register's key for a contract. Trimmed, width-folded, at most 64
/// characters, no control characters; case is kept (registers are consistent in it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ContractCode(std::sync::Arc<str>);

impl ContractCode {
    pub fn parse(raw: &str) -> Option<ContractCode> {
        let s = crate::text::clean(raw);
        if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
            return None;
        }
        Some(ContractCode(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ContractCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_accept_chinese_english_and_aliases() {
        assert_eq!(Category::parse("老年服务"), Some(Category::Elderly));
        assert_eq!(Category::parse(" Elderly "), Some(Category::Elderly));
        assert_eq!(Category::parse("养老服务"), Some(Category::Elderly));
        assert_eq!(Category::parse("YOUTH"), Some(Category::Youth));
        assert_eq!(Category::parse("宠物"), None);
        assert_eq!(
            ProcurementMethod::parse("竞争性磋商"),
            Some(ProcurementMethod::CompetitiveConsultation)
        );
        assert_eq!(
            FundingSource::parse("福彩公益金"),
            Some(FundingSource::WelfareLottery)
        );
        assert_eq!(Category::Relief.zh(), "救困帮扶");
    }

    #[test]
    fn contract_codes_are_cleaned() {
        assert_eq!(
            ContractCode::parse(" ＧＤ-2019-001 ").unwrap().as_str(),
            "GD-2019-001"
        );
        assert!(ContractCode::parse("  ").is_none());
    }
}
