//! `/errors/{code}`: the troubleshooting page of each error code, linked from every
//! error response as `error_uri`, and `/errors/`, the index of all codes.
//!
//! A page says what the code means, what to do, why it can persist when the obvious
//! fix does not help, and what to check. The text is in the Fluent files
//! (`locales/{lang}/errors.ftl`, message `pv1103` with the attributes in
//! [`SECTIONS`]); the OAuth error and HTTP status come from the catalogue in
//! `portvakt_core::error_code`. HTML for browsers, JSON for everything else; the
//! language is `?lang=` first, then `Accept-Language`, else English.

use crate::error::ApiError;
use crate::l10n::{self, Lang};
use crate::pages::{self, Strings};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portvakt_core::ErrorCode;

/// The attributes of each code's message, in the order the page shows them.
/// `check` is a list: one item per line starting with "- " (see [`items`]).
pub const SECTIONS: &[&str] = &["title", "means", "fix", "persists", "check"];

/// The Fluent message id of a code: `PV1103` → `pv1103`.
pub fn message_id(code: ErrorCode) -> String {
    code.code().to_ascii_lowercase()
}

/// The Fluent message id naming a code's group on the index (`PV1103` → `errors-group-pv11`).
pub fn group_id(code: ErrorCode) -> String {
    format!("errors-group-{}", &message_id(code)[..4])
}

/// One run of text; `code` runs were written between backticks in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Shown as `<code>`.
    pub code: bool,
    /// The text.
    pub text: String,
}

/// Split text at backticks into plain and code runs (an unpaired backtick stays text).
pub fn spans(s: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find('`') {
        let Some(len) = rest[start + 1..].find('`') else {
            break;
        };
        if start > 0 {
            out.push(Span {
                code: false,
                text: rest[..start].to_string(),
            });
        }
        out.push(Span {
            code: true,
            text: rest[start + 1..start + 1 + len].to_string(),
        });
        rest = &rest[start + len + 2..];
    }
    if !rest.is_empty() {
        out.push(Span {
            code: false,
            text: rest.to_string(),
        });
    }
    out
}

/// A code's troubleshooting text in one language.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The code.
    pub code: ErrorCode,
    /// One-line title.
    pub title: String,
    /// What it means.
    pub means: String,
    /// What to do (the catalogue's fix).
    pub fix: String,
    /// Why it can persist after the fix.
    pub persists: String,
    /// What to check, one item each.
    pub check: Vec<String>,
}

/// Attribute `attr` of message `id` as one paragraph: the line breaks of a multiline
/// Fluent pattern become spaces.
pub fn paragraph(lang: Lang, id: &str, attr: &str) -> String {
    l10n::attribute(lang, id, attr)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl Entry {
    /// The entry of `code` in `lang`.
    pub fn of(lang: Lang, code: ErrorCode) -> Entry {
        let id = message_id(code);
        Entry {
            code,
            title: paragraph(lang, &id, "title"),
            means: paragraph(lang, &id, "means"),
            fix: paragraph(lang, &id, "fix"),
            persists: paragraph(lang, &id, "persists"),
            check: items(&l10n::attribute(lang, &id, "check")),
        }
    }
}

/// The items of a `.check` list: each starts with "- " on a new line; further lines,
/// up to the next item, continue it.
pub fn items(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match (line.strip_prefix("- "), out.last_mut()) {
            (None, Some(last)) => {
                last.push(' ');
                last.push_str(line);
            }
            (Some(item), _) => out.push(item.to_string()),
            (None, None) => out.push(line.to_string()),
        }
    }
    out
}

/// The query of a troubleshooting page.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// `lang`: a language tag, preferred over `Accept-Language`.
    pub lang: Option<String>,
    /// `correlation_id`, when it is 1-64 characters of `A-Za-z0-9-_.` (else ignored).
    pub correlation_id: Option<String>,
}

/// Is `s` acceptable as a correlation id (the rule of `x-correlation-id`)?
pub fn valid_correlation_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl PageQuery {
    /// Read the query string (the first of each parameter counts).
    pub fn parse(query: Option<&str>) -> PageQuery {
        let mut q = PageQuery::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "lang" if q.lang.is_none() => q.lang = Some(v.into_owned()),
                "correlation_id" if q.correlation_id.is_none() => {
                    q.correlation_id = Some(v.into_owned())
                }
                _ => {}
            }
        }
        q.correlation_id = q.correlation_id.filter(|c| valid_correlation_id(c));
        q
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::En => Lang::Sv,
        Lang::Sv => Lang::En,
    }
}

/// The page of one code.
#[derive(Template)]
#[template(path = "errors_code.html")]
pub struct CodePage {
    /// The page strings.
    pub t: &'static Strings,
    /// The other language, for the switch link.
    pub other: &'static Strings,
    /// `?lang=…` link to this page in the other language.
    pub switch_href: String,
    /// The code.
    pub code: &'static str,
    /// The OAuth error.
    pub oauth_error: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// Title.
    pub title: String,
    /// What it means.
    pub means: Vec<Span>,
    /// What to do.
    pub fix: Vec<Span>,
    /// Why it can persist.
    pub persists: Vec<Span>,
    /// What to check.
    pub check: Vec<Vec<Span>>,
    /// The caller's correlation id, with its sign-in log link.
    pub correlation: Option<Correlation>,
}

/// A correlation id given in the query, and where its sign-in is found.
#[derive(Debug)]
pub struct Correlation {
    /// The id (validated).
    pub id: String,
    /// `{public_url}/portal/signins?correlationId={id}`.
    pub logs: String,
}

/// One row of the index.
#[derive(Debug)]
pub struct IndexRow {
    /// The code.
    pub code: &'static str,
    /// Its title in the page's language.
    pub title: String,
    /// HTTP status.
    pub status: u16,
}

/// The index of all codes, in groups.
#[derive(Template)]
#[template(path = "errors_index.html")]
pub struct IndexPage {
    /// The page strings.
    pub t: &'static Strings,
    /// The other language, for the switch link.
    pub other: &'static Strings,
    /// Groups: a heading and its codes.
    pub groups: Vec<(String, Vec<IndexRow>)>,
}

/// JSON responses here are as cacheable as the pages.
fn json_static(v: serde_json::Value) -> Response {
    let mut res = axum::Json(v).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Language"),
    );
    res
}

/// GET `/errors/{code}`: HTML for browsers, JSON for everything else.
pub async fn error_page(
    State(st): State<AppState>,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = ErrorCode::from_code(&code.to_ascii_uppercase()).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "'{}' is not a Portvakt error code (they look like PV1103)",
                code.escape_default()
            ),
        )
    })?;
    let q = PageQuery::parse(query.as_deref());
    let lang = l10n::pick(q.lang.as_deref(), &headers);
    let e = Entry::of(lang, c);
    if !wants_html(&headers) {
        return Ok(json_static(serde_json::json!({
            "code": c.code(),
            "title": e.title,
            "error": c.oauth_error(),
            "status": c.status(),
            "fix": e.fix,
            "means": e.means,
            "persists": e.persists,
            "check": e.check,
            "lang": lang.tag(),
        })));
    }
    let mut switch_href = format!("?lang={}", other(lang).tag());
    let correlation = q.correlation_id.map(|id| {
        switch_href.push_str("&correlation_id=");
        switch_href.push_str(&id);
        let logs = format!("{}/portal/signins?correlationId={id}", st.config.public_url);
        Correlation { id, logs }
    });
    let page = CodePage {
        t: Strings::of(lang),
        other: Strings::of(other(lang)),
        switch_href,
        code: c.code(),
        oauth_error: c.oauth_error(),
        status: c.status(),
        title: e.title,
        means: spans(&e.means),
        fix: spans(&e.fix),
        persists: spans(&e.persists),
        check: e.check.iter().map(|i| spans(i)).collect(),
        correlation,
    };
    Ok(pages::render_static(StatusCode::OK, &page))
}

/// GET `/errors/`: every code with its title, grouped by range.
pub async fn index(RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let q = PageQuery::parse(query.as_deref());
    let lang = l10n::pick(q.lang.as_deref(), &headers);
    if !wants_html(&headers) {
        let codes: Vec<serde_json::Value> = ErrorCode::ALL
            .iter()
            .map(|c| {
                serde_json::json!({
                    "code": c.code(),
                    "title": l10n::attribute(lang, &message_id(*c), "title"),
                    "error": c.oauth_error(),
                    "status": c.status(),
                })
            })
            .collect();
        return json_static(serde_json::json!({ "lang": lang.tag(), "codes": codes }));
    }
    let mut groups: Vec<(String, Vec<IndexRow>)> = Vec::new();
    let mut last_group = String::new();
    for c in ErrorCode::ALL {
        let g = group_id(*c);
        if g != last_group {
            groups.push((l10n::message(lang, &g).into_owned(), Vec::new()));
            last_group = g;
        }
        if let Some((_, rows)) = groups.last_mut() {
            rows.push(IndexRow {
                code: c.code(),
                title: l10n::attribute(lang, &message_id(*c), "title").into_owned(),
                status: c.status(),
            });
        }
    }
    let page = IndexPage {
        t: Strings::of(lang),
        other: Strings::of(other(lang)),
        groups,
    };
    pages::render_static(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticks_make_code_spans() {
        let s = spans("Run `portvakt user list --tenant T` and `x`.");
        assert_eq!(
            s,
            vec![
                Span {
                    code: false,
                    text: "Run ".into()
                },
                Span {
                    code: true,
                    text: "portvakt user list --tenant T".into()
                },
                Span {
                    code: false,
                    text: " and ".into()
                },
                Span {
                    code: true,
                    text: "x".into()
                },
                Span {
                    code: false,
                    text: ".".into()
                },
            ]
        );
        assert_eq!(
            spans("an ` unpaired"),
            vec![Span {
                code: false,
                text: "an ` unpaired".into()
            }]
        );
        assert!(spans("").is_empty());
    }

    #[test]
    fn check_lists_split_at_dashes_and_join_continuations() {
        assert_eq!(
            items("- one\n  more of one\n- two\n\n- three"),
            vec!["one more of one", "two", "three"]
        );
        assert_eq!(items("plain"), vec!["plain"]);
        assert!(items("").is_empty());
    }

    #[test]
    fn the_query_keeps_only_acceptable_correlation_ids() {
        let q = PageQuery::parse(Some("lang=sv&correlation_id=abc-123_x.y"));
        assert_eq!(q.lang.as_deref(), Some("sv"));
        assert_eq!(q.correlation_id.as_deref(), Some("abc-123_x.y"));
        for bad in [
            "%3Cscript%3E",
            "",
            "a%20b",
            "a%22b",
            &"a".repeat(65),
            "%C3%A5",
        ] {
            let q = PageQuery::parse(Some(&format!("correlation_id={bad}")));
            assert_eq!(q.correlation_id, None, "{bad}");
        }
        assert_eq!(PageQuery::parse(None), PageQuery::default());
        assert_eq!(
            PageQuery::parse(Some("lang=sv&lang=en")).lang.as_deref(),
            Some("sv")
        );
    }
}
