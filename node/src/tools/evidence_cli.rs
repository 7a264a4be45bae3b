//! `certledger-node evidence verify FILE --trust-root T`: checks an equivocation evidence file
//! (`specs/evidence.md`) offline against a trust root and says which department equivocated.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use certledger_core::evidence::{self, Evidence, MAX_EVIDENCE_BYTES};
use certledger_core::merkle::Hash;
use certledger_core::verify::{TrustRoot, MAX_TRUST_ROOT_BYTES};
use clap::Subcommand;

use crate::tools::failure::{input, unverified};

/// An `evidence` command.
#[derive(Subcommand)]
pub enum EvidenceCmd {
    /// Check an equivocation evidence file offline against a trust root (exit 0: the department
    /// named equivocated; 6: the evidence does not prove it; 3: unreadable input).
    #[command(
        after_help = "Example:\n  certledger-node evidence verify dept-b.evidence --trust-root trust-root.json"
    )]
    Verify {
        /// The evidence file (the canonical bytes of specs/evidence.md).
        file: PathBuf,
        /// The trust root JSON (specs/bundle.md).
        #[arg(long)]
        trust_root: PathBuf,
    },
}

/// Runs an `evidence` command.
pub fn run(cmd: EvidenceCmd) -> anyhow::Result<()> {
    match cmd {
        EvidenceCmd::Verify { file, trust_root } => {
            println!("{}", verify_file(&file, &trust_root)?);
            Ok(())
        }
    }
}

fn read_bounded(path: &Path, max: usize) -> anyhow::Result<Vec<u8>> {
    let f = std::fs::File::open(path)
        .map_err(|e| input(format!("reading {}: {e} / 无法读取文件", path.display())))?;
    let mut out = Vec::new();
    f.take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| input(format!("reading {}: {e} / 无法读取文件", path.display())))?;
    if out.len() > max {
        return Err(input(format!("{} is over {max} bytes / 文件超过 {max} 字节", path.display())));
    }
    Ok(out)
}

fn b64(h: &Hash) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// Checks the evidence file against the trust root file and returns the bilingual verdict line.
pub fn verify_file(file: &Path, trust_root: &Path) -> anyhow::Result<String> {
    let trust_text = read_bounded(trust_root, MAX_TRUST_ROOT_BYTES)?;
    let trust_text = String::from_utf8(trust_text)
        .map_err(|_| input("trust root is not UTF-8 / 信任根不是 UTF-8 文本"))?;
    let trust = TrustRoot::from_json(&trust_text)
        .map_err(|e| input(format!("trust root: {e} / 信任根无效")))?;
    let bytes = read_bounded(file, MAX_EVIDENCE_BYTES)?;
    let ev = Evidence::from_bytes_checked(&bytes).map_err(|e| {
        let e = evidence::EvidenceError::from(e);
        unverified(format!("evidence refused: {e} / 证据被拒绝：{}", e.text_zh()))
    })?;
    let q = evidence::verify(&ev, &trust)
        .map_err(|e| unverified(format!("evidence refused: {e} / 证据被拒绝：{}", e.text_zh())))?;
    Ok(format!(
        "equivocation proven: department {dept} signed two different roots at log size {size} of {origin} ({a}, {b}) / 已证实双签：部门 {dept} 在账本 {origin} 日志大小 {size} 处签署了两个不同的根哈希 (key {key})",
        dept = q.department,
        size = q.size,
        origin = q.origin,
        a = b64(&q.roots[0]),
        b = b64(&q.roots[1]),
        key = trust.keys.get(q.key_index).map(|k| k.key.short_id()).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::failure::{exit_code, EXIT_INPUT, EXIT_UNVERIFIED};
    use certledger_core::codec::Encode as _;
    use certledger_core::evidence::SignedCheckpoint;
    use certledger_core::note::{LedgerCheckpoint, NoteSigner};
    use certledger_core::sig::{SecretKey, Signature};

    fn stmt(size: u64, root: u8, by: &NoteSigner) -> SignedCheckpoint {
        let cp = LedgerCheckpoint {
            origin: "chain-e".into(),
            size,
            root: [root; 32],
            height: 2,
            time: 1_800_000_000,
            state_root: [0; 32],
        };
        let sig = by.sign_text(&cp.to_body()).sig;
        SignedCheckpoint { body: cp.to_body(), signature: Signature(sig.try_into().unwrap()) }
    }

    #[test]
    fn verify_names_the_department_and_refuses_non_evidence() {
        let signers: Vec<NoteSigner> = (0..4u8)
            .map(|i| NoteSigner::new(&format!("d{i}"), SecretKey::from_seed(&[i + 7; 32])).unwrap())
            .collect();
        let trust = TrustRoot {
            chain_id: "chain-e".into(),
            keys: signers.iter().map(NoteSigner::note_key).collect(),
            threshold: 3,
        };
        let dir = tempfile::tempdir().unwrap();
        let tr = dir.path().join("trust.json");
        std::fs::write(&tr, trust.to_json()).unwrap();
        let good = dir.path().join("good.ev");
        std::fs::write(
            &good,
            Evidence::new("d2", stmt(5, 1, &signers[2]), stmt(5, 2, &signers[2])).to_bytes(),
        )
        .unwrap();
        let line = verify_file(&good, &tr).unwrap();
        assert!(line.contains("department d2") && line.contains("部门 d2"), "{line}");

        let same = dir.path().join("same.ev");
        std::fs::write(
            &same,
            Evidence::new("d2", stmt(5, 1, &signers[2]), stmt(5, 1, &signers[2])).to_bytes(),
        )
        .unwrap();
        let e = verify_file(&same, &tr).unwrap_err();
        assert_eq!(exit_code(&e), EXIT_UNVERIFIED, "{e}");
        assert!(e.to_string().contains("不冲突"), "{e}");

        let forged = dir.path().join("forged.ev");
        std::fs::write(
            &forged,
            Evidence::new("d2", stmt(5, 1, &signers[2]), stmt(5, 2, &signers[3])).to_bytes(),
        )
        .unwrap();
        assert_eq!(exit_code(&verify_file(&forged, &tr).unwrap_err()), EXIT_UNVERIFIED);

        let junk = dir.path().join("junk.ev");
        std::fs::write(&junk, b"not evidence").unwrap();
        assert_eq!(exit_code(&verify_file(&junk, &tr).unwrap_err()), EXIT_UNVERIFIED);
        let huge = dir.path().join("huge.ev");
        std::fs::write(&huge, vec![0u8; MAX_EVIDENCE_BYTES + 1]).unwrap();
        assert_eq!(exit_code(&verify_file(&huge, &tr).unwrap_err()), EXIT_INPUT);
        assert_eq!(
            exit_code(&verify_file(&dir.path().join("missing"), &tr).unwrap_err()),
            EXIT_INPUT
        );
    }
}
