//! Fault injection for the fault tests (`specs/faults.md`, Storage and clock): failing storage
//! writes, aborting the process at chosen points of the block write, and an offset on the
//! node's wall clock.
//!
//! The plan is read from the environment variable [`FAULTS_ENV`] only in builds with the cargo
//! feature `fault-injection`, which is off by default: the node's own tests turn it on through a
//! dev-dependency on the crate itself, so a release or `cargo build` binary has no way to
//! arm a fault. In such a build [`failpoint`] and [`clock_offset_ms`] are empty and the variable
//! is only reported as ignored.
//!
//! 故障注入（仅在启用 `fault-injection` 特性的测试构建中生效）：存储写入失败、在区块写入的
//! 指定位置中止进程、节点时钟偏移。

use std::fmt;

/// The environment variable holding the fault plan (see [`FaultPlan::parse`]).
pub const FAULTS_ENV: &str = "CERTLEDGER_FAULTS";
/// Longest accepted plan text, bytes.
pub const MAX_PLAN_BYTES: usize = 1024;
/// Largest accepted clock offset either way: one day, in milliseconds.
pub const MAX_CLOCK_OFFSET_MS: i64 = 86_400_000;

/// A chosen point of the block write ([`crate::server::store::Store::put_decided`] in the
/// consensus loop's commit) where an armed plan aborts the process (`std::process::abort`,
/// the equivalent of kill -9: no destructor, no flush).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failpoint {
    /// Before the sled transaction of the block: nothing of the block is written.
    BeforeTransaction,
    /// After the sled transaction committed, before `flush`: the block may or may not be on
    /// disk (sled keeps the transaction atomic either way).
    AfterTransaction,
    /// After the flush, before the ledger adopts the new head in memory and the decision is
    /// acknowledged to consensus: the block is on disk, the process never used it.
    AfterFlush,
}

impl Failpoint {
    /// The name used in a plan (`abort_<name>=<height>`).
    pub fn name(self) -> &'static str {
        match self {
            Self::BeforeTransaction => "before_transaction",
            Self::AfterTransaction => "after_transaction",
            Self::AfterFlush => "after_flush",
        }
    }
}

/// A storage write fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteFault {
    /// An I/O error, as sled reports one (`sled::Error::Io`).
    Io,
    /// No space left on the device (`ErrorKind::StorageFull`, `ENOSPC`), as sled reports it.
    NoSpace,
}

impl WriteFault {
    /// The `std::io::Error` sled would return.
    pub fn io_error(self) -> std::io::Error {
        match self {
            Self::Io => std::io::Error::other("input/output error (injected fault)"),
            Self::NoSpace => std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device (injected fault)",
            ),
        }
    }
}

/// What to inject, parsed from [`FAULTS_ENV`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Added to the wall clock, milliseconds (either sign).
    pub clock_offset_ms: i64,
    /// From this height on, every storage write fails so.
    pub write_fault: Option<(WriteFault, u64)>,
    /// Abort at this point of the block write of this height.
    pub abort_at: Option<(Failpoint, u64)>,
}

/// Why a plan was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultPlanError {
    /// Over [`MAX_PLAN_BYTES`].
    #[error("故障计划过长 / fault plan over {MAX_PLAN_BYTES} bytes")]
    TooLong,
    /// An item is not `name=value` with a known name.
    #[error("未知的故障项 / unknown fault item `{0}`")]
    UnknownItem(String),
    /// A value is not a number in range.
    #[error("故障项取值无效 / bad value in fault item `{0}`")]
    BadValue(String),
    /// Two items set the same thing.
    #[error("故障项重复 / fault item `{0}` given twice")]
    Duplicate(String),
}

impl FaultPlan {
    /// Parses `item,item,...`, each one of `clock_offset_ms=<ms>` (|ms| at most one day),
    /// `write_error=<height>`, `no_space=<height>`, `abort_before_transaction=<height>`,
    /// `abort_after_transaction=<height>` or `abort_after_flush=<height>`; at most one write
    /// fault and one abort. An empty text is the empty plan.
    pub fn parse(text: &str) -> Result<Self, FaultPlanError> {
        if text.len() > MAX_PLAN_BYTES {
            return Err(FaultPlanError::TooLong);
        }
        let mut plan = FaultPlan::default();
        let mut clock_set = false;
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) =
                item.split_once('=').ok_or_else(|| FaultPlanError::UnknownItem(item.to_owned()))?;
            let bad = || FaultPlanError::BadValue(item.to_owned());
            let dup = || FaultPlanError::Duplicate(item.to_owned());
            let height = || value.parse::<u64>().ok().filter(|h| *h >= 1).ok_or_else(bad);
            match name {
                "clock_offset_ms" => {
                    let ms = value
                        .parse::<i64>()
                        .ok()
                        .filter(|ms| ms.abs() <= MAX_CLOCK_OFFSET_MS)
                        .ok_or_else(bad)?;
                    if std::mem::replace(&mut clock_set, true) {
                        return Err(dup());
                    }
                    plan.clock_offset_ms = ms;
                }
                "write_error" | "no_space" => {
                    let kind =
                        if name == "no_space" { WriteFault::NoSpace } else { WriteFault::Io };
                    if plan.write_fault.replace((kind, height()?)).is_some() {
                        return Err(dup());
                    }
                }
                _ => {
                    let point = [
                        Failpoint::BeforeTransaction,
                        Failpoint::AfterTransaction,
                        Failpoint::AfterFlush,
                    ]
                    .into_iter()
                    .find(|p| name.strip_prefix("abort_") == Some(p.name()))
                    .ok_or_else(|| FaultPlanError::UnknownItem(item.to_owned()))?;
                    if plan.abort_at.replace((point, height()?)).is_some() {
                        return Err(dup());
                    }
                }
            }
        }
        Ok(plan)
    }

    /// Whether the plan injects nothing.
    pub fn is_empty(&self) -> bool {
        *self == FaultPlan::default()
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "clock_offset_ms={}", self.clock_offset_ms)?;
        if let Some((kind, h)) = self.write_fault {
            let name = if kind == WriteFault::NoSpace { "no_space" } else { "write_error" };
            write!(f, ",{name}={h}")?;
        }
        if let Some((p, h)) = self.abort_at {
            write!(f, ",abort_{}={h}", p.name())?;
        }
        Ok(())
    }
}

#[cfg(feature = "fault-injection")]
static PLAN: std::sync::OnceLock<FaultPlan> = std::sync::OnceLock::new();

/// Reads [`FAULTS_ENV`] once at start-up. With the feature: parses and installs the plan and
/// returns it (`None` when unset or empty); a malformed plan refuses to start. Without it: a
/// set variable is reported as ignored and nothing is armed.
pub fn install_from_env() -> anyhow::Result<Option<FaultPlan>> {
    let Some(text) = std::env::var_os(FAULTS_ENV) else { return Ok(None) };
    #[cfg(feature = "fault-injection")]
    {
        let text = text
            .into_string()
            .map_err(|_| anyhow::anyhow!("{FAULTS_ENV}: 非 UTF-8 / not UTF-8"))?;
        let plan = FaultPlan::parse(&text).map_err(|e| anyhow::anyhow!("{FAULTS_ENV}: {e}"))?;
        if plan.is_empty() {
            return Ok(None);
        }
        let installed = PLAN.get_or_init(|| plan.clone());
        tracing::warn!(plan = %installed, "fault injection armed (test build) / 已启用故障注入");
        Ok(Some(installed.clone()))
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = text;
        tracing::warn!(
            "{FAULTS_ENV} is set but this build has no fault injection; ignored / 本构建不含故障注入，已忽略"
        );
        Ok(None)
    }
}

/// The installed plan, if any.
pub fn plan() -> Option<&'static FaultPlan> {
    #[cfg(feature = "fault-injection")]
    {
        PLAN.get()
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        None
    }
}

/// The wall-clock offset of this node, milliseconds (0 unless a plan sets one).
pub fn clock_offset_ms() -> i64 {
    plan().map_or(0, |p| p.clock_offset_ms)
}

/// Aborts the process when the installed plan is armed at `point` for `height`.
pub fn failpoint(point: Failpoint, height: u64) {
    if plan().and_then(|p| p.abort_at) == Some((point, height)) {
        tracing::error!(
            height,
            point = point.name(),
            "failpoint: aborting the process (injected fault) / 故障点：中止进程"
        );
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_parses_and_prints_back() {
        let p = FaultPlan::parse("clock_offset_ms=-60000, no_space=7,abort_after_flush=3").unwrap();
        assert_eq!(p.clock_offset_ms, -60_000);
        assert_eq!(p.write_fault, Some((WriteFault::NoSpace, 7)));
        assert_eq!(p.abort_at, Some((Failpoint::AfterFlush, 3)));
        assert_eq!(FaultPlan::parse(&p.to_string()).unwrap(), p);
        let w = FaultPlan::parse("write_error=2,abort_before_transaction=9").unwrap();
        assert_eq!(w.write_fault, Some((WriteFault::Io, 2)));
        assert_eq!(w.abort_at, Some((Failpoint::BeforeTransaction, 9)));
        assert_eq!(
            FaultPlan::parse("abort_after_transaction=1").unwrap().abort_at,
            Some((Failpoint::AfterTransaction, 1))
        );
        assert!(FaultPlan::parse("").unwrap().is_empty());
    }

    #[test]
    fn a_bad_plan_is_refused_with_its_item() {
        let long = "clock_offset_ms=1,".repeat(100);
        assert_eq!(FaultPlan::parse(&long), Err(FaultPlanError::TooLong));
        for (text, want) in [
            ("disk_full=3", FaultPlanError::UnknownItem("disk_full=3".into())),
            ("write_error", FaultPlanError::UnknownItem("write_error".into())),
            ("write_error=0", FaultPlanError::BadValue("write_error=0".into())),
            ("no_space=x", FaultPlanError::BadValue("no_space=x".into())),
            (
                "clock_offset_ms=86400001",
                FaultPlanError::BadValue("clock_offset_ms=86400001".into()),
            ),
            ("write_error=2,no_space=3", FaultPlanError::Duplicate("no_space=3".into())),
            (
                "abort_after_flush=2,abort_after_flush=3",
                FaultPlanError::Duplicate("abort_after_flush=3".into()),
            ),
            ("abort_somewhere=2", FaultPlanError::UnknownItem("abort_somewhere=2".into())),
        ] {
            assert_eq!(FaultPlan::parse(text), Err(want), "{text}");
        }
    }

    #[test]
    fn injected_write_errors_read_as_sled_reports_them() {
        let e = sled::Error::Io(WriteFault::NoSpace.io_error());
        assert!(e.to_string().contains("no space left on device"), "{e}");
        assert_eq!(WriteFault::NoSpace.io_error().kind(), std::io::ErrorKind::StorageFull);
        assert_eq!(WriteFault::Io.io_error().kind(), std::io::ErrorKind::Other);
    }
}
