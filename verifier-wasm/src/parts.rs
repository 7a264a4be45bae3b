//! Bundles split over several QR codes: the page's JSON face of `certledger_core::qrparts`
//! (`specs/qr-parts.md`). The parsing and every acceptance rule are core's, shared with the
//! wallet, so the browser refuses exactly the parts the wallet refuses.

use certledger_core::qrparts::{Parts, PartsError, MAX_PARTS};

/// For the page: adds `texts` (JSON array of scanned QR texts) to the parts in `state_json` (a
/// previous answer's `parts`, or `[]`) and answers `{"complete", "text", "have", "total",
/// "parts"}` as JSON, or an error.
pub fn collect_json(state_json: &str, texts_json: &str) -> Result<String, PartsError> {
    let previous: Vec<String> =
        serde_json::from_str(state_json).map_err(|_| PartsError::Malformed)?;
    let new: Vec<String> = serde_json::from_str(texts_json).map_err(|_| PartsError::Malformed)?;
    if previous.len() + new.len() > 4 * MAX_PARTS {
        return Err(PartsError::TooLong);
    }
    let mut parts = Parts::default();
    let mut accepted = Vec::new();
    for text in previous.iter().chain(&new) {
        parts.add(text)?;
        if !accepted.contains(text) {
            accepted.push(text.clone());
        }
    }
    let (have, total) = parts.progress();
    let text = parts.joined().ok();
    Ok(serde_json::json!({
        "complete": text.is_some(), "text": text, "have": have, "total": total, "parts": accepted,
    })
    .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = include_str!("../../specs/vectors/qr-parts.json");

    #[test]
    fn collect_json_accumulates_state() {
        let first = collect_json("[]", r#"["CLBQ1/2/2/def"]"#).unwrap();
        let v: serde_json::Value = serde_json::from_str(&first).unwrap();
        assert_eq!(
            (v["complete"].as_bool(), v["have"].as_u64(), v["total"].as_u64()),
            (Some(false), Some(1), Some(2))
        );
        let done = collect_json(&v["parts"].to_string(), r#"["CLBQ1/1/2/CLB1.abc"]"#).unwrap();
        let v: serde_json::Value = serde_json::from_str(&done).unwrap();
        assert_eq!(v["text"], "CLB1.abcdef");
        assert!(collect_json("[]", "{").is_err());
    }

    /// The shared vectors, scanned one code at a time as the page does: every case that core
    /// refuses is refused here with the same error, every joined text is the same, and an
    /// incomplete set is "not complete yet" rather than an error.
    #[test]
    fn shared_vectors_scanned_one_at_a_time() {
        let doc: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
        for case in doc["join"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let texts: Vec<&str> =
                case["texts"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
            // A lone bundle text is not a part; the page verifies it directly.
            if texts.is_empty() || (texts.len() == 1 && !texts[0].starts_with("CLBQ1/")) {
                continue;
            }
            let mut state = "[]".to_owned();
            let mut outcome = None;
            for text in &texts {
                match collect_json(&state, &serde_json::json!([text]).to_string()) {
                    Ok(answer) => {
                        let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
                        state = v["parts"].to_string();
                        if v["complete"] == true {
                            outcome = Some(serde_json::json!({ "text": v["text"] }));
                        }
                    }
                    Err(e) => {
                        outcome = Some(serde_json::json!({ "error": e.code() }));
                        break;
                    }
                }
            }
            let outcome = outcome.unwrap_or(serde_json::json!({ "error": "incomplete" }));
            assert_eq!(outcome, case["expect"], "case {name}");
        }
    }
}
