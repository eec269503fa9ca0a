//! The process's log: `tracing` to stderr, with every field value escaped.
//!
//! Values from requests (a tenant name in the path, a typed user name, a client id)
//! reach log fields; written raw, a CR/LF or an ANSI escape in them forges log lines
//! or rewrites the terminal (CWE-117). The field formatter here escapes every control
//! character of every value (and of the message) as Rust's `escape_default` does
//! (`\n`, `\u{1b}`), whether the call site used `%` or `?`, so no call site can forget.

use std::fmt::Write as _;
use std::io::IsTerminal;
use tracing_subscriber::field::{MakeExt, RecordFields};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;

/// Escape the control characters of `s` (everything else passes unchanged).
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Formats fields as `name=value`, separated by spaces, values escaped.
#[derive(Debug, Default)]
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        let inner = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
            let text = format!("{value:?}");
            let text = escape_controls(&text);
            if field.name() == "message" {
                write!(w, "{text}")
            } else {
                write!(w, "{}={text}", field.name())
            }
        })
        .delimited(" ");
        let mut buf = String::new();
        inner.format_fields(Writer::new(&mut buf), fields)?;
        writer.write_str(&buf)
    }
}

/// Install the subscriber: `PORTVAKT_LOG` (a tracing filter, default `info`) to stderr,
/// colours only on a terminal.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTVAKT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .fmt_fields(EscapedFields)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape_controls("plain åäö ☃"), "plain åäö ☃");
        assert_eq!(
            escape_controls("x\n2026-12-01T09:00:00Z INFO forged\r\u{1b}[31m\u{7}"),
            "x\\n2026-12-01T09:00:00Z INFO forged\\r\\u{1b}[31m\\u{7}"
        );
    }
}
