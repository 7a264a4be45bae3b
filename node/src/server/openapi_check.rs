//! `specs/openapi.yaml` checked against the API types of `certledger_core::api` (tests only).
//!
//! For every route of the router ([`crate::server::http::route_table`]) a real value of its
//! answer type (and of its request type, for `POST`) is serialised and compared with the
//! schema the OpenAPI document gives for it, following `$ref`s: every field the type writes
//! must be a property of the schema, with a matching JSON type; every `required` property must
//! be written; and every property of a schema must be written by at least one of the values
//! checked against it. So a field added to a type without the document, or a property added to
//! the document without the type, fails the test (`specs/node.md`, API).
//!
//! 规范文件 `specs/openapi.yaml` 与 `certledger_core::api` 类型的对照测试：类型多一个字段或
//! 文件多一个属性，测试都会失败。

use std::collections::{BTreeMap, BTreeSet};

use certledger_core::api::{self, *};
use serde::Serialize;
use serde_json::{json, Value};
use yaml_rust2::{Yaml, YamlLoader};

use crate::server::http::{route_table, Verb};

/// The OpenAPI document as JSON values.
fn spec() -> Value {
    let docs = YamlLoader::load_from_str(include_str!("../../../specs/openapi.yaml"))
        .expect("specs/openapi.yaml is YAML");
    yaml_to_json(docs.first().expect("one document"))
}

fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(r) => r.parse::<f64>().map_or(Value::Null, |f| json!(f)),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => format!("{other:?}"),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn j(v: impl Serialize) -> Value {
    serde_json::to_value(v).expect("API types serialise")
}

fn s(text: &str) -> String {
    text.to_owned()
}

/// One sample exchange of a route: the success status, the request body (POST) and the answer.
struct Sample {
    verb: Verb,
    path: &'static str,
    status: &'static str,
    request: Option<Value>,
    answer: Value,
}

fn get(path: &'static str, answer: Value) -> Sample {
    Sample { verb: Verb::Get, path, status: "200", request: None, answer }
}

fn proven(i: u64) -> ProvenLeaf {
    ProvenLeaf { log_index: i, height: 2, leaf: s("AAEC"), proof: vec![s("ab"), s("cd")] }
}

/// Real values of every API type, as the server writes them: each optional field is present
/// in at least one value, each list has an element.
fn samples() -> Vec<Sample> {
    let cp = CheckpointNote { height: 7, note: s("chain\n7\nroot\n\n— dept sig\n") };
    let committed = EntryStatus {
        id: "00".repeat(32),
        state: EntryState::Committed { height: 3, index: 1, log_index: 9 },
    };
    let pending = EntryStatus { id: "00".repeat(32), state: EntryState::Pending };
    let item = |cid: Option<String>| api::AuditItem {
        proven: proven(4),
        time: 1_700_000_000,
        kind: s("anchor_issuance"),
        issuer_key: s("a2V5"),
        credential_id: cid,
    };
    let department_page = AuditPage {
        department: Some(s("market-regulation")),
        credential_id: None,
        from: Some(0),
        to: Some(u64::MAX),
        checkpoint: cp.clone(),
        items: vec![item(Some(s("Y2lk")))],
        issuers: Some(vec![AuditIssuer {
            proven: proven(1),
            issuer_key: s("a2V5"),
            department: s("market-regulation"),
        }]),
        next_cursor: Some(s("4")),
        held_back: true,
        index: Some(api::AuditIndex {
            count: 9,
            count_proof: s("cHJvb2Y"),
            first_seq: 3,
            item_proofs: vec![s("cHJvb2Y")],
            before: Some(api::AuditIndexRecord { seq: 2, record: s("cmVj"), proof: s("cHJvb2Y") }),
            after: Some(api::AuditIndexRecord { seq: 4, record: s("cmVj"), proof: s("cHJvb2Y") }),
        }),
    };
    let credential_page = AuditPage {
        department: None,
        credential_id: Some(s("Y2lk")),
        from: None,
        to: None,
        checkpoint: cp.clone(),
        items: vec![item(None)],
        issuers: None,
        next_cursor: None,
        held_back: false,
        index: Some(api::AuditIndex {
            count: 1,
            count_proof: s("cHJvb2Y"),
            first_seq: 0,
            item_proofs: vec![s("cHJvb2Y")],
            before: None,
            after: None,
        }),
    };
    let block = api::Block {
        hash: s("ab"),
        header: BlockHeader {
            chain_id: s("chain"),
            height: 3,
            prev_block_hash: s("ab"),
            time: 1_700_000_000,
            proposer: s("ab"),
            entries_root: s("ab"),
            log_size: 9,
            log_root: s("ab"),
            state_root: s("ab"),
            validators_hash: s("ab"),
            next_validators_hash: s("ab"),
        },
        header_bytes: s("00"),
        entries: vec![s("AAEC")],
        certificate: Certificate {
            height: 3,
            round: 0,
            value_id: s("ab"),
            signatures: vec![CommitSignature { address: s("ab"), signature: s("cd") }],
        },
    };
    let trust_root = TrustRootJson {
        version: 1,
        chain_id: s("chain"),
        keys: vec![s("dept+01020304+AAAA")],
        threshold: 1,
        departments: Some(vec![DepartmentJson {
            id: s("dept"),
            name_zh: s("部门"),
            name_en: s("Department"),
            node_key: s("AAAA"),
            admin_keys: vec![s("BBBB")],
        }]),
    };
    let dashboard = Dashboard {
        chain_id: s("chain"),
        node: NodeFacts {
            department: Some(s("dept")),
            validator: true,
            height: 3,
            log_size: 9,
            mempool: 0,
        },
        departments: vec![DepartmentFacts {
            id: s("dept"),
            name_zh: s("部门"),
            name_en: s("Department"),
            validator: true,
            last_cosigned_height: Some(3),
        }],
        types: vec![TypeName { id: s("t"), name_zh: s("类型"), name_en: s("Type") }],
        recent_blocks: vec![BlockActivity { height: 3, entries: 2, decided_at_ms: 1 }],
        counts: vec![CountRow {
            department: s("dept"),
            r#type: s("t"),
            issued: 1,
            revoked: 0,
            suspended: 0,
            reinstated: 0,
        }],
    };
    vec![
        Sample {
            verb: Verb::Post,
            path: "/v1/entries",
            status: "202",
            request: Some(j(SubmitRequest { entry: s("AAEC") })),
            answer: j(&pending),
        },
        Sample {
            verb: Verb::Post,
            path: "/v1/entries/forwarded",
            status: "200",
            request: Some(j(ForwardedBatch { entries: vec![s("AAEC")] })),
            answer: j(ForwardedResult { accepted: 1, refused: 0 }),
        },
        get("/v1/entries/{id}", j(&committed)),
        get("/v1/entries/{id}", j(&pending)),
        get("/v1/checkpoints/latest", j(&cp)),
        get("/v1/checkpoints/{height}", j(&cp)),
        get("/v1/checkpoints/{height}/cosignature", j(&cp)),
        get("/v1/proofs/inclusion", j(InclusionProof { index: 1, size: 4, path: vec![s("ab")] })),
        get("/v1/proofs/consistency", j(ConsistencyProof { old: 1, new: 4, path: vec![s("ab")] })),
        get(
            "/v1/proofs/state/{key}",
            j(StateProof {
                key: "00".repeat(32),
                height: 7,
                value: Some(s("AAEC")),
                proof: s("AAEC"),
                checkpoint: cp.note.clone(),
            }),
        ),
        get(
            "/v1/proofs/state/{key}",
            j(StateProof {
                key: "00".repeat(32),
                height: 7,
                value: None,
                proof: s("AAEC"),
                checkpoint: cp.note.clone(),
            }),
        ),
        get("/v1/proofs/credential/{id}", j(CredentialProofs { height: 7, proofs: s("AAEC") })),
        get("/v1/blocks/{height}", j(&block)),
        get("/v1/trust-root", j(&trust_root)),
        get("/v1/audit/department/{id}", j(&department_page)),
        get("/v1/audit/credential/{id}", j(&credential_page)),
        get(
            "/v1/validator-chain",
            j(ValidatorChainAnswer {
                chain: s("AAEC"),
                steps: 1,
                height: 7,
                departments: vec![DepartmentInfo {
                    id: s("dept"),
                    name_zh: s("部门"),
                    name_en: s("Department"),
                    node_key: s("AAAA"),
                }],
            }),
        ),
        get("/v1/dashboard", j(&dashboard)),
        get(
            "/v1/evidence",
            j(EvidencePage {
                items: vec![EvidenceItem {
                    id: "ab".repeat(32),
                    department: s("dept"),
                    size: 9,
                    roots: vec![s("ab"), s("cd")],
                    evidence: s("Q0xFAQ"),
                }],
                next_cursor: Some("ab".repeat(32)),
            }),
        ),
        get("/v1/evidence", j(EvidencePage { items: vec![], next_cursor: None })),
        get(
            "/health",
            j(Health {
                status: s("ok"),
                chain_id: s("chain"),
                height: 3,
                log_size: 9,
                log_root: s("ab"),
                state_root: s("ab"),
                validator: true,
                public_key: s("ab"),
                mempool: 0,
                evidence: 1,
            }),
        ),
    ]
}

/// Routes whose answer is not JSON (checked to say so in the document).
const NOT_JSON: &[(&str, &str)] =
    &[("/metrics", "text/plain"), ("/v1/evidence/{id}", "application/octet-stream")];

/// Compares serialised values with the schemas they claim to follow.
struct Checker<'a> {
    spec: &'a Value,
    /// Per schema (a `$ref` name, or the place of an inline schema): its properties and the
    /// fields the checked values wrote.
    seen: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
    errors: Vec<String>,
}

impl<'a> Checker<'a> {
    fn new(spec: &'a Value) -> Self {
        Self { spec, seen: BTreeMap::new(), errors: Vec::new() }
    }

    /// Follows `$ref`s; returns the schema and its identity.
    fn resolve(&mut self, schema: &'a Value, at: &str) -> (&'a Value, String) {
        let mut schema = schema;
        let mut id = at.to_owned();
        while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let Some(name) = r.strip_prefix("#/components/schemas/") else {
                self.errors.push(format!("{at}: unsupported $ref {r}"));
                break;
            };
            id = name.to_owned();
            match self.spec["components"]["schemas"].get(name) {
                Some(s) => schema = s,
                None => {
                    self.errors.push(format!("{at}: no schema {name}"));
                    break;
                }
            }
        }
        (schema, id)
    }

    fn type_matches(t: &str, v: &Value) -> bool {
        match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_u64() || v.is_i64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        }
    }

    fn check(&mut self, schema: &'a Value, value: &Value, at: &str) {
        let (schema, id) = self.resolve(schema, at);
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() && !types.iter().any(|t| Self::type_matches(t, value)) {
            self.errors
                .push(format!("{id}: the type writes {value} where the document says {types:?}"));
        }
        if let Some(c) = schema.get("const") {
            if c != value {
                self.errors.push(format!("{id}: the type writes {value}, the document says {c}"));
            }
        }
        match value {
            Value::Object(fields) => {
                let props = schema["properties"].as_object();
                let entry = self.seen.entry(id.clone()).or_insert_with(|| {
                    (
                        props.map(|p| p.keys().cloned().collect()).unwrap_or_default(),
                        BTreeSet::new(),
                    )
                });
                entry.1.extend(fields.keys().cloned());
                for r in schema["required"].as_array().into_iter().flatten() {
                    let r = r.as_str().unwrap_or_default();
                    if !fields.contains_key(r) {
                        self.errors
                            .push(format!("{id}: required `{r}` is not written by the type"));
                    }
                }
                for (k, v) in fields {
                    match props.and_then(|p| p.get(k)) {
                        Some(sub) => self.check(sub, v, &format!("{id}.{k}")),
                        None => self.errors.push(format!(
                            "{id}: field `{k}` of the type is not in specs/openapi.yaml"
                        )),
                    }
                }
            }
            Value::Array(items) => {
                if let Some(sub) = schema.get("items") {
                    for v in items {
                        self.check(sub, v, &format!("{id}[]"));
                    }
                }
            }
            _ => {}
        }
    }

    /// Properties no checked value wrote.
    fn unused_properties(&mut self) {
        for (id, (props, written)) in &self.seen {
            for p in props.difference(written) {
                self.errors.push(format!(
                    "{id}: property `{p}` of specs/openapi.yaml is not a field of its type"
                ));
            }
        }
    }
}

fn operation<'a>(spec: &'a Value, verb: Verb, path: &str) -> &'a Value {
    &spec["paths"][path][if verb == Verb::Get { "get" } else { "post" }]
}

/// Every problem the document has against the types (empty when they agree).
fn disagreements(spec: &Value) -> Vec<String> {
    let samples = samples();
    let mut c = Checker::new(spec);
    for (verb, path) in route_table() {
        let op = operation(spec, verb, path);
        if op.is_null() {
            c.errors.push(format!("{path}: not in specs/openapi.yaml"));
            continue;
        }
        if let Some((_, ct)) = NOT_JSON.iter().find(|(p, _)| *p == path) {
            if op["responses"]["200"]["content"].get(*ct).is_none() {
                c.errors.push(format!("{path}: the document does not say {ct}"));
            }
            continue;
        }
        let mine: Vec<&Sample> =
            samples.iter().filter(|s| s.verb == verb && s.path == path).collect();
        if mine.is_empty() {
            c.errors.push(format!("{path}: no sample answer in this test"));
        }
        for s in mine {
            let schema = &op["responses"][s.status]["content"]["application/json"]["schema"];
            if schema.is_null() {
                c.errors.push(format!("{path}: no {} JSON schema", s.status));
                continue;
            }
            c.check(schema, &s.answer, &format!("{path} {}", s.status));
            match &s.request {
                Some(req) => {
                    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                    if schema.is_null() {
                        c.errors.push(format!("{path}: no request schema"));
                    } else {
                        c.check(schema, req, &format!("{path} request"));
                    }
                }
                None if !op["requestBody"].is_null() => {
                    c.errors.push(format!("{path}: a request body with no request type"));
                }
                None => {}
            }
        }
        // Every error answer with a body is the one error form.
        for (status, resp) in op["responses"].as_object().into_iter().flatten() {
            let schema = &resp["content"]["application/json"]["schema"];
            if status.starts_with(['4', '5']) && !schema.is_null() {
                c.check(schema, &j(ErrorBody::new("malformed", "x")), &format!("{path} {status}"));
            }
        }
    }
    c.check(&spec["components"]["schemas"]["Error"], &j(ErrorBody::new("malformed", "x")), "Error");
    c.unused_properties();
    c.errors
}

#[test]
fn the_openapi_schemas_are_the_fields_of_the_api_types() {
    let spec = spec();
    assert!(spec["paths"].as_object().is_some_and(|p| p.len() > 10), "paths were not read");
    let errors = disagreements(&spec);
    assert!(errors.is_empty(), "specs/openapi.yaml and core::api disagree:\n{}", errors.join("\n"));
}

#[test]
fn the_check_fails_on_a_field_or_property_too_many() {
    // A property the types never write.
    let mut spec = spec();
    spec["components"]["schemas"]["EntryStatus"]["properties"]["block_hash"] =
        json!({ "type": "string" });
    let errors = disagreements(&spec);
    assert!(errors.iter().any(|e| e.contains("`block_hash`")), "{errors:?}");
    // A field the document does not list (as if the type had gained it).
    let mut spec = self::spec();
    let props = spec["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["properties"]
        .as_object_mut()
        .expect("health properties");
    props.remove("mempool");
    let errors = disagreements(&spec);
    assert!(
        errors.iter().any(|e| e.contains("field `mempool` of the type is not in")),
        "{errors:?}"
    );
    // A wrong JSON type and a missing required field.
    let mut spec = self::spec();
    spec["components"]["schemas"]["Checkpoint"]["properties"]["height"] =
        json!({ "type": "string" });
    spec["components"]["schemas"]["Checkpoint"]["required"] = json!(["height", "cosigners"]);
    let errors = disagreements(&spec);
    assert!(errors.iter().any(|e| e.contains("Checkpoint.height")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("required `cosigners`")), "{errors:?}");
}
