//! The trust root: the department keys that must cosign checkpoints, and its JSON form.

use super::*;

/// Whom the verifier trusts: the department keys that must cosign checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustRoot {
    /// The ledger's chain id (also the checkpoint origin).
    pub chain_id: String,
    /// The department node keys (note verifier keys).
    pub keys: Vec<NoteKey>,
    /// How many distinct keys must sign a checkpoint.
    pub threshold: usize,
}

/// The JSON form of a [`TrustRoot`] (`specs/bundle.md`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRootJson {
    /// Format version, 1.
    pub version: u32,
    /// The chain id.
    pub chain_id: String,
    /// C2SP verifier keys `name+keyid+base64`.
    pub keys: Vec<String>,
    /// Distinct signatures needed.
    pub threshold: usize,
    /// Optional: the departments behind `keys`, with their admin keys, so that a light client can
    /// follow validator changes from this set (`lightclient::GovernanceTrust`). When present it
    /// lists exactly the departments of `keys`, in the same order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departments: Option<Vec<DepartmentJson>>,
}

/// A department in a trust root's JSON form (the genesis file's department form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentJson {
    /// The department id (also its checkpoint key name).
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Node (checkpoint) key, base64url (32 bytes).
    pub node_key: String,
    /// Admin keys (approve validator changes), base64url (32 bytes each), strictly ascending.
    pub admin_keys: Vec<String>,
}

/// Longest trust-root JSON accepted, in bytes.
pub const MAX_TRUST_ROOT_BYTES: usize = 64 * 1024;
/// Most department keys in a trust root.
pub const MAX_TRUST_ROOT_KEYS: usize = 256;

impl TrustRoot {
    /// The trust root for a genesis: every founding department's node key, threshold more than
    /// two thirds.
    pub fn from_genesis(genesis: &ledger::Genesis) -> Self {
        Self::from_departments(&genesis.chain_id, &genesis.departments)
    }

    /// The trust root of a department set under `chain_id`: every department's node key, named
    /// by its id, in the order given; threshold more than two thirds
    /// ([`ledger::quorum_threshold`]). The one place a department set becomes checkpoint trust
    /// ([`TrustRoot::quorum`] then gives the quorum).
    pub fn from_departments(chain_id: &str, departments: &[ledger::Department]) -> Self {
        let keys: Vec<NoteKey> =
            departments.iter().map(|d| NoteKey { name: d.id.clone(), key: d.node_key }).collect();
        let threshold = ledger::quorum_threshold(keys.len());
        Self { chain_id: chain_id.to_owned(), keys, threshold }
    }

    /// Parses the JSON form, strictly and with bounds.
    pub fn from_json(text: &str) -> Result<Self, VerifyError> {
        Self::from_json_with_departments(text).map(|(root, _)| root)
    }

    /// Parses the JSON form like [`TrustRoot::from_json`] and also returns its optional
    /// `departments` (checked to list exactly the departments of `keys`, in order).
    pub fn from_json_with_departments(
        text: &str,
    ) -> Result<(Self, Option<Vec<ledger::Department>>), VerifyError> {
        let json: TrustRootJson =
            from_strict_json(text, MAX_TRUST_ROOT_BYTES).map_err(VerifyError::TrustRoot)?;
        if json.version != 1 {
            return Err(VerifyError::TrustRoot("unsupported trust root version"));
        }
        if json.keys.is_empty() || json.keys.len() > MAX_TRUST_ROOT_KEYS {
            return Err(VerifyError::TrustRoot("trust root must list 1 to 256 keys"));
        }
        let keys = json
            .keys
            .iter()
            .map(|k| NoteKey::parse_verifier_key(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| VerifyError::TrustRoot("a trust root key is malformed"))?;
        let root = Self { chain_id: json.chain_id, keys, threshold: json.threshold };
        root.check()?;
        let departments = match json.departments {
            None => None,
            Some(list) => {
                let mut departments = Vec::with_capacity(list.len());
                for d in list {
                    departments.push(ledger::Department {
                        node_key: key_from_base64url(&d.node_key)?,
                        admin_keys: d
                            .admin_keys
                            .iter()
                            .map(|k| key_from_base64url(k))
                            .collect::<Result<_, _>>()?,
                        id: d.id,
                        name_zh: d.name_zh,
                        name_en: d.name_en,
                    });
                }
                let same = departments.len() == root.keys.len()
                    && departments
                        .iter()
                        .zip(&root.keys)
                        .all(|(d, k)| d.id == k.name && d.node_key == k.key);
                if !same {
                    return Err(VerifyError::TrustRoot(
                        "departments must list exactly the departments of the keys, in order",
                    ));
                }
                Some(departments)
            }
        };
        Ok((root, departments))
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        self.to_json_inner(None)
    }

    /// The JSON form with the `departments` behind the keys (for a verifier that will follow
    /// validator changes). `departments` should be the departments of `keys`, in order.
    pub fn to_json_with_departments(&self, departments: &[ledger::Department]) -> String {
        self.to_json_inner(Some(departments))
    }

    fn to_json_inner(&self, departments: Option<&[ledger::Department]>) -> String {
        let json = TrustRootJson {
            version: 1,
            chain_id: self.chain_id.clone(),
            keys: self.keys.iter().map(NoteKey::verifier_key).collect(),
            threshold: self.threshold,
            departments: departments.map(|list| {
                list.iter()
                    .map(|d| DepartmentJson {
                        id: d.id.clone(),
                        name_zh: d.name_zh.clone(),
                        name_en: d.name_en.clone(),
                        node_key: key_to_base64url(&d.node_key),
                        admin_keys: d.admin_keys.iter().map(key_to_base64url).collect(),
                    })
                    .collect()
            }),
        };
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    pub(crate) fn check(&self) -> Result<(), VerifyError> {
        // A trust root whose threshold is not a BFT quorum of its keys would let a minority
        // forge checkpoints: refuse it rather than verify against it.
        if self.threshold < ledger::quorum_threshold(self.keys.len())
            || self.threshold > self.keys.len()
        {
            return Err(VerifyError::TrustRoot("threshold must be more than 2/3 of the keys"));
        }
        Ok(())
    }

    /// The checkpoint quorum this trust root stands for: its chain id as the origin, its keys
    /// and threshold. The one conversion every component uses (node, wallet, browser, light
    /// client).
    pub fn quorum(&self) -> Quorum {
        Quorum { origin: self.chain_id.clone(), keys: self.keys.clone(), threshold: self.threshold }
    }
}

fn key_from_base64url(text: &str) -> Result<PublicKey, VerifyError> {
    use base64::Engine as _;
    let bad = VerifyError::TrustRoot("a department key is not 32 bytes of base64url");
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| bad.clone())?;
    Ok(PublicKey(bytes.try_into().map_err(|_| bad)?))
}

fn key_to_base64url(key: &PublicKey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.0)
}

/// Parses bounded, strict JSON (duplicate keys refused) into `T`.
pub(super) fn from_strict_json<T: serde::de::DeserializeOwned>(
    text: &str,
    max_bytes: usize,
) -> Result<T, &'static str> {
    if text.len() > max_bytes {
        return Err("JSON is too large");
    }
    let value = crate::jcs::parse_strict(text).map_err(|_| "not valid JSON")?;
    serde_json::from_value(value).map_err(|_| "JSON has the wrong shape")
}
