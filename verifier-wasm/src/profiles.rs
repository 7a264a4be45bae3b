//! The shipped credential types as JSON for the page: one source for names and labels.

use serde::Serialize;

/// One credential type as the page sees it (`CredentialTypeInfo` in `types.d.ts`).
#[derive(Serialize)]
struct TypeInfo {
    id: &'static str,
    name_en: &'static str,
    name_zh: &'static str,
    holder_binding: bool,
    claims: Vec<ClaimInfo>,
}

/// One claim of a type (`ClaimInfo` in `types.d.ts`).
#[derive(Serialize)]
struct ClaimInfo {
    name: &'static str,
    label_en: &'static str,
    label_zh: &'static str,
    selectively_disclosable: bool,
}

/// Every type of `certledger_core::profiles::ALL`, in that order, as a JSON array.
pub fn profiles_json() -> String {
    let types: Vec<TypeInfo> = certledger_core::profiles::ALL
        .iter()
        .map(|t| TypeInfo {
            id: t.id,
            name_en: t.name_en,
            name_zh: t.name_zh,
            holder_binding: t.holder_binding,
            claims: t
                .claims
                .iter()
                .map(|c| ClaimInfo {
                    name: c.name,
                    label_en: c.label_en,
                    label_zh: c.label_zh,
                    selectively_disclosable: c.selectively_disclosable,
                })
                .collect(),
        })
        .collect();
    serde_json::to_string(&types).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_every_shipped_type_with_labels() {
        let v: serde_json::Value = serde_json::from_str(&super::profiles_json()).unwrap();
        let types = v.as_array().unwrap();
        assert_eq!(types.len(), certledger_core::profiles::ALL.len());
        for (t, shipped) in types.iter().zip(certledger_core::profiles::ALL) {
            assert_eq!(t["id"], shipped.id);
            assert_eq!(t["claims"].as_array().unwrap().len(), shipped.claims.len());
            assert!(!t["claims"][0]["label_zh"].as_str().unwrap().is_empty());
        }
    }
}
