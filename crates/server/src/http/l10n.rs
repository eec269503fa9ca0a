//! Localisation: every person-facing text lives in Project Fluent message files, one
//! set per language (`crates/server/locales/{lang}/*.ftl`), embedded at compile time.
//!
//! [`bundle`] parses a language's files once, on first use. Pages do not format
//! messages per request: `pages::Strings` is filled once per language, and only
//! messages with variables (a wait time) are formatted when used.
//!
//! The language is negotiated from a preference list (`ui_locales`, `?lang=`) first,
//! then `Accept-Language` with its q-values (RFC 9110 §12.5.4), matched with
//! `fluent-langneg` (so `sv-SE` finds `sv`), else English.

use axum::http::{header, HeaderMap};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_langneg::{negotiate_languages, NegotiationStrategy};
use std::borrow::Cow;
use std::sync::OnceLock;
use unic_langid::LanguageIdentifier;

/// A language Portvakt speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English, the default.
    En,
    /// Swedish.
    Sv,
}

/// A language's message bundle.
pub type Bundle = FluentBundle<FluentResource>;

impl Lang {
    /// Every language, the default first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Sv];

    /// The BCP 47 tag, as in `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sv => "sv",
        }
    }

    /// The language with exactly this tag.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag() == tag)
    }

    /// The message files of the language: (file name, FTL source).
    pub fn sources(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::En => &[
                ("en/pages.ftl", include_str!("../../locales/en/pages.ftl")),
                ("en/errors.ftl", include_str!("../../locales/en/errors.ftl")),
                ("en/portal.ftl", include_str!("../../locales/en/portal.ftl")),
            ],
            Lang::Sv => &[
                ("sv/pages.ftl", include_str!("../../locales/sv/pages.ftl")),
                ("sv/errors.ftl", include_str!("../../locales/sv/errors.ftl")),
                ("sv/portal.ftl", include_str!("../../locales/sv/portal.ftl")),
            ],
        }
    }

    fn langid(self) -> LanguageIdentifier {
        LanguageIdentifier::from_bytes(self.tag().as_bytes()).unwrap_or_default()
    }
}

fn build(lang: Lang) -> Bundle {
    let mut bundle = Bundle::new_concurrent(vec![lang.langid()]);
    // The text goes into HTML and JSON in left-to-right languages only: no bidi
    // isolation marks around placeables.
    bundle.set_use_isolating(false);
    for (file, src) in lang.sources() {
        let res = match FluentResource::try_new((*src).to_string()) {
            Ok(r) => r,
            Err((r, errors)) => {
                // Unreachable in a tested build (l10n tests parse every file).
                tracing::error!(file, errors = ?errors, "Fluent file has syntax errors");
                r
            }
        };
        if let Err(errors) = bundle.add_resource(res) {
            tracing::error!(file, errors = ?errors, "Fluent file redefines messages");
        }
    }
    bundle
}

/// The bundle of `lang`, parsed on first use.
pub fn bundle(lang: Lang) -> &'static Bundle {
    static EN: OnceLock<Bundle> = OnceLock::new();
    static SV: OnceLock<Bundle> = OnceLock::new();
    match lang {
        Lang::En => EN.get_or_init(|| build(Lang::En)),
        Lang::Sv => SV.get_or_init(|| build(Lang::Sv)),
    }
}

fn format(
    lang: Lang,
    id: &str,
    attr: Option<&str>,
    args: Option<&FluentArgs>,
) -> Option<Cow<'static, str>> {
    let b = bundle(lang);
    let msg = b.get_message(id)?;
    let pattern = match attr {
        Some(a) => msg.get_attribute(a)?.value(),
        None => msg.value()?,
    };
    let mut errors = Vec::new();
    let text = b.format_pattern(pattern, args, &mut errors);
    if !errors.is_empty() {
        tracing::error!(id, attr, errors = ?errors, lang = lang.tag(), "Fluent message failed to format");
    }
    Some(text)
}

fn missing(lang: Lang, id: &str, attr: Option<&str>) -> Cow<'static, str> {
    // Unreachable in a tested build: the l10n tests check every id in every language.
    tracing::error!(id, attr, lang = lang.tag(), "Fluent message missing");
    Cow::Owned(match attr {
        Some(a) => format!("{id}.{a}"),
        None => id.to_string(),
    })
}

/// The value of message `id` (its id itself if missing, which a test prevents).
pub fn message(lang: Lang, id: &str) -> Cow<'static, str> {
    format(lang, id, None, None).unwrap_or_else(|| missing(lang, id, None))
}

/// Message `id` formatted with `args` (for messages with placeables).
pub fn message_with(lang: Lang, id: &str, args: &FluentArgs) -> String {
    format(lang, id, None, Some(args))
        .unwrap_or_else(|| missing(lang, id, None))
        .into_owned()
}

/// Attribute `attr` of message `id`.
pub fn attribute(lang: Lang, id: &str, attr: &str) -> Cow<'static, str> {
    format(lang, id, Some(attr), None).unwrap_or_else(|| missing(lang, id, Some(attr)))
}

/// Does message `id` exist in `lang`?
pub fn has_message(lang: Lang, id: &str) -> bool {
    bundle(lang).has_message(id)
}

/// A `'static` string for text formatted from a `'static` bundle: plain text borrows
/// from the bundle; composed text (several lines, placeables) is leaked, which is
/// bounded because callers do it once per message and language.
pub fn leak(text: Cow<'static, str>) -> &'static str {
    match text {
        Cow::Borrowed(s) => s,
        Cow::Owned(s) => Box::leak(s.into_boxed_str()),
    }
}

/// The language ranges of an `Accept-Language` value, best first: sorted by q-value
/// (stable, so equal weights keep their order); `q=0` ("not acceptable") and
/// malformed entries are dropped.
pub fn accept_language(value: &str) -> Vec<&str> {
    let mut ranges: Vec<(&str, u16)> = value
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim();
            if range.is_empty() {
                return None;
            }
            let mut q = 1000;
            for p in parts {
                let (k, v) = p.split_once('=')?;
                if k.trim().eq_ignore_ascii_case("q") {
                    q = parse_qvalue(v.trim())?;
                }
            }
            (q > 0).then_some((range, q))
        })
        .collect();
    ranges.sort_by_key(|r| std::cmp::Reverse(r.1));
    ranges.into_iter().map(|(r, _)| r).collect()
}

/// A qvalue (RFC 9110 §12.4.2: `0[.ddd]` or `1[.000]`) in thousandths.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_val: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac_val),
        "1" if frac_val == 0 => Some(1000),
        _ => None,
    }
}

/// The best language for `preferred` ranges (best first), if any matches. `*` and
/// tags that do not parse match nothing.
pub fn negotiate<'a>(preferred: impl IntoIterator<Item = &'a str>) -> Option<Lang> {
    let requested: Vec<LanguageIdentifier> = preferred
        .into_iter()
        .filter(|t| *t != "*")
        .filter_map(|t| LanguageIdentifier::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    let available: Vec<LanguageIdentifier> = Lang::ALL.iter().map(|l| l.langid()).collect();
    let found = negotiate_languages(&requested, &available, None, NegotiationStrategy::Lookup);
    let tag = found.first()?.to_string();
    Lang::from_tag(&tag)
}

/// The language of a request: the explicit `first` choice (a space-separated list
/// like OIDC's `ui_locales`, or a `?lang=` value) when it names a language we have,
/// else `Accept-Language`, else English.
pub fn pick(first: Option<&str>, headers: &HeaderMap) -> Lang {
    first
        .and_then(|f| negotiate(f.split(' ').filter(|s| !s.is_empty())))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|a| negotiate(accept_language(a)))
        })
        .unwrap_or(Lang::En)
}

#[cfg(test)]
mod tests;
