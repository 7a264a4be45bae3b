//! The credential types certledger ships, with Chinese and English display text.
//!
//! A type is registered on the ledger (`ledger::EntryBody::RegisterType`); these built-in
//! definitions are what genesis and the demo register, what issuers validate claims against, and
//! what wallets and verifiers use for display. Normative description: `specs/profiles.md`.
//!
//! No type has a claim for a citizen identity number (身份证号): the identity attestation proves
//! "a real-name-verified person holds this key" without it.

use serde_json::Value;

use crate::ledger::{self, RegisterType};

/// How a claim's value is shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimKind {
    /// Free text (bounded).
    Text,
    /// A calendar date `YYYY-MM-DD`.
    Date,
    /// `true` or `false`.
    Bool,
    /// A non-negative integer.
    Integer,
}

/// One claim of a credential type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimDef {
    /// The claim name as it appears in the credential.
    pub name: &'static str,
    /// Chinese display label.
    pub label_zh: &'static str,
    /// English display label.
    pub label_en: &'static str,
    /// Value shape.
    pub kind: ClaimKind,
    /// Whether the holder may withhold it (SD-JWT disclosure) or it is always visible.
    pub selectively_disclosable: bool,
    /// Whether an issuer must provide it.
    pub required: bool,
}

/// A credential type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialType {
    /// The SD-JWT VC `vct` value and ledger type id.
    pub id: &'static str,
    /// Chinese display name.
    pub name_zh: &'static str,
    /// English display name.
    pub name_en: &'static str,
    /// The department that owns the type: only its admins authorise issuers for it on the ledger,
    /// and the verifier refuses an issuer of another department for this type.
    pub issuing_department: &'static str,
    /// Default validity in seconds from issuance.
    pub validity_s: u64,
    /// Holder-bound (a key-binding JWT is required to present) or bearer.
    pub holder_binding: bool,
    /// The claims.
    pub claims: &'static [ClaimDef],
}

const DAY_S: u64 = 86_400;
const YEAR_S: u64 = 365 * DAY_S;

const fn c(
    name: &'static str,
    label_zh: &'static str,
    label_en: &'static str,
    kind: ClaimKind,
    selectively_disclosable: bool,
    required: bool,
) -> ClaimDef {
    ClaimDef { name, label_zh, label_en, kind, selectively_disclosable, required }
}

use ClaimKind::{Bool, Date, Integer, Text};

/// 营业执照: business licence, issued by market regulation.
pub const BUSINESS_LICENCE: CredentialType = CredentialType {
    id: "urn:cn:certledger:vct:business-licence:1",
    name_zh: "营业执照",
    name_en: "Business licence",
    issuing_department: "market-regulation",
    validity_s: 10 * YEAR_S,
    holder_binding: true,
    claims: &[
        c("credit_code", "统一社会信用代码", "Unified social credit code", Text, true, true),
        c("entity_name", "名称", "Name of entity", Text, true, true),
        c("entity_type", "类型", "Type of entity", Text, true, true),
        c("legal_representative", "法定代表人", "Legal representative", Text, true, true),
        c("registered_capital", "注册资本", "Registered capital", Text, true, false),
        c("established_on", "成立日期", "Date of establishment", Date, true, true),
        c("address", "住所", "Registered address", Text, true, false),
        c("business_scope", "经营范围", "Business scope", Text, true, false),
    ],
};

/// 驾驶证: driving licence, issued by the traffic administration.
pub const DRIVING_LICENCE: CredentialType = CredentialType {
    id: "urn:cn:certledger:vct:driving-licence:1",
    name_zh: "机动车驾驶证",
    name_en: "Driving licence",
    issuing_department: "transport",
    validity_s: 6 * YEAR_S,
    holder_binding: true,
    claims: &[
        c("name", "姓名", "Name", Text, true, true),
        c("sex", "性别", "Sex", Text, true, false),
        c("date_of_birth", "出生日期", "Date of birth", Date, true, false),
        c("first_issued_on", "初次领证日期", "First issued on", Date, true, true),
        c("vehicle_classes", "准驾车型", "Permitted vehicle classes", Text, true, true),
        c("valid_from", "有效期起始日期", "Valid from", Date, true, true),
        c("valid_until", "有效期截止日期", "Valid until", Date, true, true),
    ],
};

/// 学历证书: diploma, issued by education.
pub const DIPLOMA: CredentialType = CredentialType {
    id: "urn:cn:certledger:vct:diploma:1",
    name_zh: "学历证书",
    name_en: "Diploma",
    issuing_department: "education",
    validity_s: 100 * YEAR_S,
    holder_binding: true,
    claims: &[
        c("name", "姓名", "Name", Text, true, true),
        c("institution", "学校名称", "Institution", Text, true, true),
        c("programme", "专业", "Programme", Text, true, true),
        c("level", "层次", "Level", Text, true, true),
        c("graduated_on", "毕业日期", "Date of graduation", Date, true, true),
        c("certificate_number", "证书编号", "Certificate number", Text, true, true),
    ],
};

/// 可信身份认证凭证: CTID-style identity attestation, issued by public security.
///
/// "This holder key belongs to a real-name-verified natural person": level of assurance,
/// age-over claims and region, with the name selectively disclosable. Never an ID number.
pub const IDENTITY_ATTESTATION: CredentialType = CredentialType {
    id: "urn:cn:certledger:vct:identity-attestation:1",
    name_zh: "可信身份认证凭证",
    name_en: "Verified identity attestation",
    issuing_department: "public-security",
    validity_s: 2 * YEAR_S,
    holder_binding: true,
    claims: &[
        c("real_name_verified", "已实名核验", "Real-name verified", Bool, false, true),
        c("assurance_level", "认证等级", "Level of assurance", Integer, false, true),
        c("age_over_16", "已满16周岁", "Aged 16 or over", Bool, true, true),
        c("age_over_18", "已满18周岁", "Aged 18 or over", Bool, true, true),
        c("age_over_60", "已满60周岁", "Aged 60 or over", Bool, true, true),
        c("region", "所在地区", "Region", Text, true, true),
        c("name", "姓名", "Name", Text, true, false),
    ],
};

/// Every shipped type.
pub const ALL: &[CredentialType] =
    &[BUSINESS_LICENCE, DRIVING_LICENCE, DIPLOMA, IDENTITY_ATTESTATION];

/// Highest level of assurance an identity attestation may carry.
pub const MAX_ASSURANCE_LEVEL: u64 = 4;
/// Longest text claim value, in bytes.
pub const MAX_TEXT_CLAIM_BYTES: usize = 1024;

/// Looks up a shipped type by id.
pub fn by_id(id: &str) -> Option<&'static CredentialType> {
    ALL.iter().find(|t| t.id == id)
}

/// Why a set of claims does not fit a type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The claims are not a JSON object.
    #[error("claims must be a JSON object")]
    NotAnObject,
    /// A claim the type requires is missing.
    #[error("required claim `{0}` is missing")]
    Missing(&'static str),
    /// A claim the type does not define.
    #[error("claim `{0}` is not defined for this credential type")]
    Unknown(String),
    /// A claim value of the wrong shape.
    #[error("claim `{name}` must be {expected}")]
    WrongKind {
        /// The claim.
        name: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// A claim that looks like a citizen identity number, which certledger never carries.
    #[error("claim `{0}` looks like a citizen identity number; certledger never carries one")]
    LooksLikeIdNumber(&'static str),
}

impl CredentialType {
    /// The definition of claim `name`.
    pub fn claim(&self, name: &str) -> Option<&'static ClaimDef> {
        self.claims.iter().find(|d| d.name == name)
    }

    /// Checks issuer-supplied claims against the type: every required claim present, no unknown
    /// claim, each value of its kind, and no value shaped like an 18-character citizen ID number.
    pub fn check_claims(&self, claims: &Value) -> Result<(), ClaimsError> {
        let obj = claims.as_object().ok_or(ClaimsError::NotAnObject)?;
        for name in obj.keys() {
            if self.claim(name).is_none() {
                return Err(ClaimsError::Unknown(name.clone()));
            }
        }
        for def in self.claims {
            let Some(value) = obj.get(def.name) else {
                if def.required {
                    return Err(ClaimsError::Missing(def.name));
                }
                continue;
            };
            check_kind(def, value)?;
        }
        Ok(())
    }
}

fn check_kind(def: &'static ClaimDef, value: &Value) -> Result<(), ClaimsError> {
    let wrong = |expected| ClaimsError::WrongKind { name: def.name, expected };
    match def.kind {
        ClaimKind::Text => {
            let s = value.as_str().ok_or(wrong("text"))?;
            if s.is_empty() || s.len() > MAX_TEXT_CLAIM_BYTES {
                return Err(wrong("non-empty text of at most 1024 bytes"));
            }
            if looks_like_id_number(s) {
                return Err(ClaimsError::LooksLikeIdNumber(def.name));
            }
        }
        ClaimKind::Date => {
            let s = value.as_str().ok_or(wrong("a date YYYY-MM-DD"))?;
            if !is_date(s) {
                return Err(wrong("a date YYYY-MM-DD"));
            }
        }
        ClaimKind::Bool => {
            value.as_bool().ok_or(wrong("true or false"))?;
        }
        ClaimKind::Integer => {
            let n = value.as_u64().ok_or(wrong("a non-negative integer"))?;
            if def.name == "assurance_level" && !(1..=MAX_ASSURANCE_LEVEL).contains(&n) {
                return Err(wrong("an assurance level from 1 to 4"));
            }
        }
    }
    Ok(())
}

/// `YYYY-MM-DD` with a plausible month and day.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: core::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    matches!((digits(0..4), digits(5..7), digits(8..10)),
        (Some(_), Some(m), Some(d)) if (1..=12).contains(&m) && (1..=31).contains(&d))
}

/// Whether `s` has the shape of a mainland citizen identity number (GB 11643: 17 digits and a
/// digit or `X`). Issuers refuse such values so that none reaches a credential by mistake.
pub fn looks_like_id_number(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x')
}

/// The ledger registration of a shipped credential type: the `RegisterType` entry body the
/// node's `type register` command signs and submits, and the definition `type list` compares
/// the ledger's record with.
pub fn register_type(ty: &CredentialType) -> RegisterType {
    RegisterType {
        type_id: ty.id.to_owned(),
        name_zh: ty.name_zh.to_owned(),
        name_en: ty.name_en.to_owned(),
        claims: ty
            .claims
            .iter()
            .map(|c| ledger::ClaimDef {
                name: c.name.to_owned(),
                selectively_disclosable: c.selectively_disclosable,
                display_zh: c.label_zh.to_owned(),
                display_en: c.label_en.to_owned(),
            })
            .collect(),
        validity_s: ty.validity_s,
        holder_binding: ty.holder_binding,
    }
}

/// Example claims for each shipped type (fictional people and companies): what the node's demo
/// issues and what the issuer commands' help shows. No real person's data.
pub fn example_claims(ty: &CredentialType) -> Value {
    use serde_json::json;
    match ty.id {
        id if id == BUSINESS_LICENCE.id => json!({
            "credit_code": "91310000MA1FL0XX2K",
            "entity_name": "上海示例科技有限公司",
            "entity_type": "有限责任公司",
            "legal_representative": "张三",
            "registered_capital": "1000万元人民币",
            "established_on": "2019-05-20",
            "address": "上海市浦东新区示例路1号",
            "business_scope": "软件开发；信息技术咨询服务"
        }),
        id if id == DRIVING_LICENCE.id => json!({
            "name": "李四", "sex": "女", "date_of_birth": "1990-03-15",
            "first_issued_on": "2012-07-01", "vehicle_classes": "C1",
            "valid_from": "2018-07-01", "valid_until": "2028-07-01"
        }),
        id if id == DIPLOMA.id => json!({
            "name": "王五", "institution": "示例大学", "programme": "计算机科学与技术",
            "level": "本科", "graduated_on": "2015-06-30", "certificate_number": "1000000201505000123"
        }),
        _ => json!({
            "real_name_verified": true, "assurance_level": 3, "age_over_16": true,
            "age_over_18": true, "age_over_60": false, "region": "310115", "name": "赵六"
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ledger_definitions_and_example_claims_follow_each_profile() {
        for t in ALL {
            let def = register_type(t);
            assert_eq!(def.type_id, t.id);
            let names: Vec<&str> = def.claims.iter().map(|c| c.name.as_str()).collect();
            let expected: Vec<&str> = t.claims.iter().map(|c| c.name).collect();
            assert_eq!(names, expected, "{}", t.id);
            assert_eq!((def.validity_s, def.holder_binding), (t.validity_s, t.holder_binding));
            // The example claims fill exactly the profile's claims.
            let example = example_claims(t);
            let mut keys: Vec<&str> = example
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut want = expected.clone();
            keys.sort_unstable();
            want.sort_unstable();
            assert_eq!(keys, want, "{}", t.id);
        }
    }

    #[test]
    fn ids_are_unique_and_claims_are_unique() {
        for (i, t) in ALL.iter().enumerate() {
            for u in &ALL[i + 1..] {
                assert_ne!(t.id, u.id);
            }
            for (j, a) in t.claims.iter().enumerate() {
                for b in &t.claims[j + 1..] {
                    assert_ne!(a.name, b.name, "{}", t.id);
                }
            }
        }
    }

    #[test]
    fn identity_attestation_refuses_id_numbers_and_bad_levels() {
        let ok = json!({"real_name_verified": true, "assurance_level": 3, "age_over_16": true,
            "age_over_18": true, "age_over_60": false, "region": "310000"});
        assert_eq!(IDENTITY_ATTESTATION.check_claims(&ok), Ok(()));
        let mut bad = ok.clone();
        bad["name"] = json!("11010519491231002X");
        assert_eq!(
            IDENTITY_ATTESTATION.check_claims(&bad),
            Err(ClaimsError::LooksLikeIdNumber("name"))
        );
        let mut bad = ok.clone();
        bad["assurance_level"] = json!(9);
        assert!(matches!(
            IDENTITY_ATTESTATION.check_claims(&bad),
            Err(ClaimsError::WrongKind { name: "assurance_level", .. })
        ));
        let mut bad = ok;
        bad["id_number"] = json!("x");
        assert_eq!(
            IDENTITY_ATTESTATION.check_claims(&bad),
            Err(ClaimsError::Unknown("id_number".into()))
        );
    }

    #[test]
    fn dates() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("2024-1-01"));
        assert!(!is_date("２０２４-01-01"));
    }
}
