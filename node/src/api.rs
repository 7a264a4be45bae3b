//! Typed bodies of the node's HTTP API (`specs/openapi.yaml`), defined once and used by the
//! server handlers and by the tools' node client. This covers the submission path, entry
//! status, health and checkpoint notes; the remaining endpoints still build and read JSON by
//! hand (listed in the report of issue #14).

use serde::{Deserialize, Serialize};

/// Every error answer: `{"error": "<code>", "message": "<text>"}` with a 4xx/5xx status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code (`malformed`, `duplicate`, `conflict`, `invalid_entry`, ...).
    pub error: String,
    /// Human-readable reason.
    pub message: String,
}

/// `POST /v1/entries` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitRequest {
    /// The signed entry's canonical bytes, base64 (standard or URL-safe, padding optional).
    pub entry: String,
}

/// Where an entry is: waiting in the mempool, or committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum EntryState {
    /// Waiting for a block (also the answer to an accepted submission, HTTP 202).
    Pending,
    /// In a committed block.
    Committed {
        /// Block height.
        height: u64,
        /// Index in the block.
        index: u64,
        /// Index in the log.
        log_index: u64,
    },
}

/// `GET /v1/entries/{id}` answer and `POST /v1/entries` 202 answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryStatus {
    /// The entry id, 64 hex digits.
    pub id: String,
    /// Pending or committed.
    #[serde(flatten)]
    pub state: EntryState,
}

/// `GET /health` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` when the node answers.
    pub status: String,
    /// The chain id.
    pub chain_id: String,
    /// Height of the last committed block (0 before the first).
    pub height: u64,
    /// Log size.
    pub log_size: u64,
    /// Log root, hex.
    pub log_root: String,
    /// State root, hex.
    pub state_root: String,
    /// Whether this node votes.
    pub validator: bool,
    /// The node's department key, hex.
    pub public_key: String,
    /// Entries waiting in the mempool.
    pub mempool: usize,
}

/// `GET /v1/checkpoints/latest`, `/v1/checkpoints/{height}` and
/// `/v1/checkpoints/{height}/cosignature` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointNote {
    /// The checkpoint's height.
    pub height: u64,
    /// The C2SP note text (quorum-cosigned, or this node's own signature only).
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field names of a serialised body.
    fn keys(v: &impl Serialize) -> Vec<String> {
        match serde_json::to_value(v) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => vec![],
        }
    }

    /// The part of the OpenAPI document under `path`, up to the next path.
    fn section<'a>(spec: &'a str, path: &str) -> &'a str {
        let start = spec.find(&format!("\n  {path}:\n")).unwrap_or(spec.len());
        let rest = &spec[start..];
        let end = rest.get(1..).and_then(|r| r.find("\n  /")).map_or(rest.len(), |e| e + 1);
        &rest[..end]
    }

    #[test]
    fn the_types_use_the_field_names_of_the_openapi_document() {
        let spec = include_str!("../../specs/openapi.yaml");
        let committed = EntryStatus {
            id: "00".repeat(32),
            state: EntryState::Committed { height: 1, index: 0, log_index: 0 },
        };
        let cases: Vec<(&str, Vec<String>)> = vec![
            ("/health", keys(&Health::default())),
            ("/v1/entries/{id}", keys(&committed)),
            ("/v1/checkpoints/latest", keys(&CheckpointNote { height: 1, note: String::new() })),
            ("/v1/entries", keys(&SubmitRequest { entry: String::new() })),
        ];
        for (path, fields) in cases {
            let mut text = section(spec, path).to_owned();
            // Follow `$ref`s to the component schemas (`components: schemas: NAME:`).
            for name in text.clone().split("#/components/schemas/").skip(1) {
                let name: String = name.chars().take_while(char::is_ascii_alphanumeric).collect();
                if let Some(start) = spec.find(&format!("\n    {name}:\n")) {
                    let rest = &spec[start + 1..];
                    let end = rest
                        .match_indices("\n    ")
                        .find(|(i, _)| rest[i + 5..].starts_with(|c: char| c.is_ascii_alphabetic()))
                        .map_or(rest.len(), |(i, _)| i);
                    text.push_str(&rest[..end]);
                }
            }
            assert!(text.len() > 20, "no {path} in specs/openapi.yaml");
            for f in fields {
                assert!(text.contains(&f), "{path}: field `{f}` is not in specs/openapi.yaml");
            }
        }
        for f in keys(&ErrorBody::default()) {
            assert!(spec.contains(&format!("\"{f}\"")), "error field {f}");
        }
    }

    #[test]
    fn entry_states_read_back_as_the_server_writes_them() {
        let pending: EntryStatus =
            serde_json::from_str(r#"{"id":"ab","status":"pending"}"#).expect("pending");
        assert_eq!(pending.state, EntryState::Pending);
        let c: EntryStatus = serde_json::from_str(
            r#"{"id":"ab","status":"committed","height":3,"index":1,"log_index":9}"#,
        )
        .expect("committed");
        assert_eq!(c.state, EntryState::Committed { height: 3, index: 1, log_index: 9 });
        assert!(serde_json::from_str::<EntryStatus>(r#"{"id":"ab","status":"lost"}"#).is_err());
    }
}
