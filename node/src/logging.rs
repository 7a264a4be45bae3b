//! The node's structured logs on stderr: human-readable text (default) or one JSON object per
//! line (`--log-format json`, for log collectors). `RUST_LOG` filters both.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is not set: our own events at `info`, the consensus engine
/// and the network stack only from `warn`.
pub const DEFAULT_FILTER: &str = "info,arc_malachitebft=warn,libp2p=warn,ractor=warn";

/// How log events are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`)
    /// and the enclosing `spans`.
    Json,
}

/// The subscriber for `format` writing to `writer` (`ansi`: colours, text only).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(builder.json().with_current_span(false).finish()),
    }
}

/// Installs the process-wide subscriber on stderr (`RUST_LOG` or [`DEFAULT_FILTER`]).
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Only fails when a subscriber is already set (then that one stays).
    let _ =
        tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stderr, ansi));
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(format: LogFormat) -> String {
        let buf = Buffer::default();
        let out = buf.clone();
        let sub = subscriber(format, EnvFilter::new("info"), move || out.clone(), false);
        tracing::subscriber::with_default(sub, || {
            tracing::info!(height = 7u64, "committed block");
            tracing::debug!("filtered out");
        });
        let bytes = buf.0.lock().expect("lock").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn json_logs_are_one_object_per_event_with_the_fields() {
        let text = logged(LogFormat::Json);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON line");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["fields"]["message"], "committed block");
        assert_eq!(v["fields"]["height"], 7);
        assert!(v["timestamp"].is_string());
    }

    #[test]
    fn text_logs_stay_text() {
        let text = logged(LogFormat::Text);
        assert!(text.contains("committed block") && text.contains("height=7"), "{text}");
        assert!(serde_json::from_str::<serde_json::Value>(text.trim()).is_err());
    }
}
