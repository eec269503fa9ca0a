//! The wizard's text in English and Swedish: Project Fluent files in `locales/`, the
//! language negotiated as Portvakt's own pages do (`?lang=`, else `Accept-Language`).

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use portvakt_server::l10n::{pick, Lang};
use std::sync::OnceLock;

type Bundle = FluentBundle<FluentResource>;

const EN: &str = include_str!("../locales/en/analytics.ftl");
const SV: &str = include_str!("../locales/sv/analytics.ftl");

fn build(lang: Lang) -> Bundle {
    let (tag, src) = match lang {
        Lang::Sv => ("sv", SV),
        _ => ("en", EN),
    };
    let id = tag.parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![id]);
    b.set_use_isolating(false);
    let res = FluentResource::try_new(src.to_owned()).unwrap_or_else(|(r, errors)| {
        tracing::error!(?errors, "analytics.ftl ({tag}) has syntax errors");
        r
    });
    if let Err(errors) = b.add_resource(res) {
        tracing::error!(?errors, "analytics.ftl ({tag}) redefines messages");
    }
    b
}

fn bundle(lang: Lang) -> &'static Bundle {
    static EN_B: OnceLock<Bundle> = OnceLock::new();
    static SV_B: OnceLock<Bundle> = OnceLock::new();
    match lang {
        Lang::Sv => SV_B.get_or_init(|| build(Lang::Sv)),
        _ => EN_B.get_or_init(|| build(Lang::En)),
    }
}

/// The text of one language.
#[derive(Debug, Clone, Copy)]
pub struct Text(pub Lang);

impl Text {
    /// The language of a request: `?lang=` first, then `Accept-Language`.
    pub fn of(lang_param: Option<&str>, headers: &axum::http::HeaderMap) -> Self {
        Self(pick(lang_param, headers))
    }

    /// BCP 47 tag (`en`, `sv`).
    pub fn tag(self) -> &'static str {
        self.0.tag()
    }

    /// Message `id`.
    pub fn get(self, id: &str) -> String {
        self.with(id, &[])
    }

    /// Message `id` with named arguments.
    pub fn with(self, id: &str, args: &[(&str, &str)]) -> String {
        let b = bundle(self.0);
        let Some(pattern) = b.get_message(id).and_then(|m| m.value()) else {
            tracing::error!(id, lang = self.tag(), "message missing");
            return id.to_owned();
        };
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            fa.set(*k, v.to_string());
        }
        let mut errors = Vec::new();
        let s = b.format_pattern(pattern, Some(&fa), &mut errors);
        if !errors.is_empty() {
            tracing::error!(id, ?errors, "message failed to format");
        }
        s.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(src: &str) -> Vec<String> {
        src.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' '))
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
            .collect()
    }

    #[test]
    fn every_message_exists_in_both_languages_and_formats() {
        let (en, sv) = (ids(EN), ids(SV));
        assert!(en.len() > 40, "{}", en.len());
        assert_eq!(
            en, sv,
            "locales/en and locales/sv must define the same messages"
        );
        for lang in [Lang::En, Lang::Sv] {
            for id in &en {
                let s = Text(lang).with(
                    id,
                    &[
                        ("policy", "P"),
                        ("user", "u"),
                        ("time", "t"),
                        ("expired", "e"),
                        ("cid", "c"),
                        ("detail", "d"),
                        ("code", "PV1"),
                    ],
                );
                assert!(!s.is_empty() && s != *id, "{id} in {}", lang.tag());
            }
        }
        assert!(Text(Lang::Sv).get("failure-title").contains("kunde inte"));
    }
}
