//! The `CLBQ1` vectors (`specs/vectors/qr-parts.json`): every join case gives its joined text or
//! error code, every split case its exact payloads. The browser verifier and the wallet run the
//! same file through their entry points, so all three refuse exactly the same parts.

use certledger_core::qrparts;

const VECTORS: &str = include_str!("../../specs/vectors/qr-parts.json");

#[test]
fn join_vectors_give_their_text_or_error() {
    let doc: serde_json::Value = serde_json::from_str(VECTORS).expect("vectors JSON");
    let cases = doc["join"].as_array().expect("join cases");
    assert!(cases.len() >= 20, "{} join cases", cases.len());
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let texts: Vec<&str> = case["texts"]
            .as_array()
            .expect("texts")
            .iter()
            .map(|t| t.as_str().expect("text"))
            .collect();
        let got = match qrparts::join(&texts) {
            Ok(text) => serde_json::json!({ "text": text }),
            Err(e) => serde_json::json!({ "error": e.code() }),
        };
        assert_eq!(got, case["expect"], "case {name}");
    }
}

#[test]
fn split_vectors_give_their_payloads_and_join_back() {
    let doc: serde_json::Value = serde_json::from_str(VECTORS).expect("vectors JSON");
    for case in doc["split"].as_array().expect("split cases") {
        let name = case["name"].as_str().expect("name");
        let text = case["text"].as_str().expect("text");
        let parts = qrparts::split(text).expect(name);
        assert_eq!(serde_json::json!(parts), case["parts"], "case {name}");
        assert_eq!(qrparts::join(&parts).expect(name), text, "case {name}");
    }
}
