//! Fetching proofs from a department node, behind [`ProofSource`].
//!
//! Nothing a node serves is trusted: credential proofs are decided with
//! `verify::verify_credential`, and state records (the verifier registry) with
//! `registry::check_verifier_record`, both in core, against the wallet's trust root. This module
//! only fetches. What the wallet asks for, answers parsed into core's API types
//! (`certledger_core::api`):
//!
//! - `GET {node}/v1/proofs/credential/{credential id, base64url}` → [`CredentialProofs`], built
//!   against the node's latest cosigned checkpoint;
//! - `GET {node}/v1/proofs/state/{key, 64 hex}` → [`StateProof`] (also the wallet's
//!   `--verifier-record` file format).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::api::{CredentialProofs, StateProof};
use certledger_core::bundle::{Proofs, MAX_BUNDLE_BYTES};
use certledger_core::merkle::Hash;

use crate::error::{network, CmdResult};

/// Largest node response read, in bytes.
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024;

/// Timeout of one request to a node.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Characters of a node's error answer quoted in the wallet's message.
const ERROR_SNIPPET_CHARS: usize = 200;

/// Largest CA file read, in bytes.
pub const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;

/// The CA file trusted for `https://` nodes (`--ca`, `CERTLEDGER_CA`), set once by [`set_ca`].
static CA: OnceLock<PathBuf> = OnceLock::new();

/// Sets the CA file (PEM) every node client of this process trusts; the first call wins.
pub fn set_ca(path: Option<PathBuf>) {
    if let Some(p) = path {
        let _ = CA.set(p);
    }
}

/// The root certificates in the PEM file `path` (at least one).
fn load_ca(path: &Path) -> CmdResult<Vec<ureq::tls::Certificate<'static>>> {
    let unreadable = |e: std::io::Error| {
        crate::error::usage(format!("cannot read the CA file {}: {e}", path.display()))
    };
    if std::fs::metadata(path).map_err(unreadable)?.len() > MAX_CA_FILE_BYTES {
        return Err(crate::error::usage(format!("the CA file {} is over 1 MiB", path.display())));
    }
    let pem = std::fs::read(path).map_err(unreadable)?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(crate::error::usage(format!(
                    "the CA file {} is not PEM: {e}",
                    path.display()
                )))
            }
        }
    }
    if certs.is_empty() {
        return Err(crate::error::usage(format!(
            "the CA file {} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// Where fresh proofs come from.
pub trait ProofSource {
    /// Proofs for a credential against the latest cosigned checkpoint.
    fn credential_proofs(&self, credential_id: &[u8; 32]) -> CmdResult<Proofs>;
    /// A state value with its proof and checkpoint.
    fn state(&self, key: &Hash) -> CmdResult<StateProof>;
}

/// A node's HTTP API.
pub struct HttpNode {
    base: String,
    agent: ureq::Agent,
}

impl HttpNode {
    /// A client for the node at `base` (e.g. `http://127.0.0.1:8080`), trusting for
    /// `https://` the [`set_ca`] certificates only.
    pub fn new(base: &str) -> CmdResult<Self> {
        Self::with_ca(base, CA.get().map(PathBuf::as_path))
    }

    /// A client for the node at `base` trusting for `https://` the CA certificates in the PEM
    /// file `ca` and nothing else (without one, `https://` fails: no built-in roots).
    pub fn with_ca(base: &str, ca: Option<&Path>) -> CmdResult<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(crate::error::usage("--node must be an http:// or https:// URL"));
        }
        let roots = match ca {
            Some(path) => load_ca(path)?,
            None => Vec::new(),
        };
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            // Below a node's default header time-out (10 s), after which it closes idle
            // connections.
            .max_idle_age(Duration::from_secs(5))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self { base, agent })
    }

    fn get(&self, path: &str) -> CmdResult<String> {
        let url = format!("{}{path}", self.base);
        let mut response =
            self.agent.get(&url).call().map_err(|e| network(format!("GET {url}: {e}")))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|e| network(format!("GET {url}: cannot read the response: {e}")))?;
        if status != 200 {
            let snippet: String = body.chars().take(ERROR_SNIPPET_CHARS).collect();
            return Err(network(format!("GET {url}: HTTP {status}: {snippet}")));
        }
        Ok(body)
    }
}

impl ProofSource for HttpNode {
    fn credential_proofs(&self, credential_id: &[u8; 32]) -> CmdResult<Proofs> {
        let body =
            self.get(&format!("/v1/proofs/credential/{}", URL_SAFE_NO_PAD.encode(credential_id)))?;
        let json: CredentialProofs = serde_json::from_str(&body)
            .map_err(|e| network(format!("the node's proofs response is malformed: {e}")))?;
        if json.proofs.len() > MAX_BUNDLE_BYTES.div_ceil(3) * 4 {
            return Err(network("the node's proofs are too large"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&json.proofs)
            .map_err(|_| network("the node's proofs are not base64url"))?;
        let proofs = Proofs::decode_bytes(&bytes)
            .map_err(|e| network(format!("the node's proofs are malformed: {e}")))?;
        if &proofs.credential_record.credential_id != credential_id {
            return Err(network("the node served proofs for another credential"));
        }
        Ok(proofs)
    }

    fn state(&self, key: &Hash) -> CmdResult<StateProof> {
        let body = self.get(&format!("/v1/proofs/state/{}", hex::encode(key)))?;
        serde_json::from_str(&body)
            .map_err(|e| network(format!("the node's state proof is malformed: {e}")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    /// A throw-away HTTPS server on 127.0.0.1 (certificate from a test CA written to
    /// `ca.pem` in the returned directory) answering every request `404 {}`.
    fn https_stand_in() -> (String, tempfile::TempDir) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let config = Arc::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut buf = Vec::new();
                let mut byte = [0u8; 1];
                while !buf.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => buf.push(byte[0]),
                        _ => break,
                    }
                }
                if buf.ends_with(b"\r\n\r\n") {
                    let _ = tls.write_all(
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                    );
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            }
        });
        (url, dir)
    }

    #[test]
    fn https_works_with_the_configured_ca_and_fails_without_it() {
        let (url, dir) = https_stand_in();
        let ca = dir.path().join("ca.pem");
        let with_ca = HttpNode::with_ca(&url, Some(&ca)).unwrap();
        // The TLS session worked: the node's own answer (404) comes back.
        let e = with_ca.state(&[0u8; 32]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("HTTP 404"), "{e}");
        // Without the CA the certificate is refused before any HTTP.
        let without = HttpNode::with_ca(&url, None).unwrap();
        let e = without.state(&[0u8; 32]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!e.contains("HTTP 404"), "{e}");
        assert!(e.to_lowercase().contains("certificate") || e.contains("Issuer"), "{e}");
        // A CA file that is missing or holds no certificate is a usage error.
        assert!(HttpNode::with_ca(&url, Some(&dir.path().join("none.pem"))).is_err());
        std::fs::write(dir.path().join("empty.pem"), "no pem here").unwrap();
        assert!(HttpNode::with_ca(&url, Some(&dir.path().join("empty.pem"))).is_err());
    }
}
