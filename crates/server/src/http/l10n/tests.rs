//! The message files are complete: every message in every language, nothing empty,
//! the same placeables on both sides, and a troubleshooting page for every code.

use super::*;
use crate::errors_page::{self, Entry, SECTIONS};
use crate::pages::{Strings, THROTTLED_ID};
use fluent_syntax::ast;
use fluent_syntax::parser;
use portvakt_core::ErrorCode;
use std::collections::{BTreeMap, BTreeSet};

/// What a message is made of: its attributes, and per part (value = "") the
/// variables and references its placeables use.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    has_value: bool,
    parts: BTreeMap<String, BTreeSet<String>>,
}

fn placeables(p: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for el in &p.elements {
        if let ast::PatternElement::Placeable { expression } = el {
            expression_refs(expression, out);
        }
    }
}

fn expression_refs(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match e {
        ast::Expression::Select { selector, variants } => {
            inline_refs(selector, out);
            for v in variants {
                placeables(&v.value, out);
            }
        }
        ast::Expression::Inline(i) => inline_refs(i, out),
    }
}

fn inline_refs(i: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match i {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(format!("${}", id.name));
        }
        ast::InlineExpression::MessageReference { id, .. } => {
            out.insert(id.name.to_string());
        }
        ast::InlineExpression::TermReference { id, .. } => {
            out.insert(format!("-{}", id.name));
        }
        ast::InlineExpression::FunctionReference { id, arguments } => {
            out.insert(format!("{}()", id.name));
            for a in &arguments.positional {
                inline_refs(a, out);
            }
            for a in &arguments.named {
                inline_refs(&a.value, out);
            }
        }
        ast::InlineExpression::Placeable { expression } => expression_refs(expression, out),
        ast::InlineExpression::StringLiteral { .. }
        | ast::InlineExpression::NumberLiteral { .. } => {}
    }
}

/// Every message of a language, parsed with the reference parser (errors fail).
fn shapes(lang: Lang) -> BTreeMap<String, Shape> {
    let mut all = BTreeMap::new();
    for (file, src) in lang.sources() {
        let res = parser::parse(*src)
            .unwrap_or_else(|(_, errors)| panic!("{file} does not parse: {errors:?}"));
        for entry in res.body {
            let ast::Entry::Message(m) = entry else {
                continue;
            };
            let mut shape = Shape {
                has_value: m.value.is_some(),
                ..Shape::default()
            };
            if let Some(v) = &m.value {
                placeables(v, shape.parts.entry(String::new()).or_default());
            }
            for a in &m.attributes {
                let refs = shape.parts.entry(format!(".{}", a.id.name)).or_default();
                placeables(&a.value, refs);
            }
            let id = m.id.name.to_string();
            assert!(
                all.insert(id.clone(), shape).is_none(),
                "{file}: message {id} is defined twice"
            );
        }
    }
    all
}

#[test]
fn every_file_parses_and_loads_without_errors() {
    for lang in Lang::ALL {
        for (file, src) in lang.sources() {
            if let Err((_, errors)) = FluentResource::try_new((*src).to_string()) {
                panic!("{file}: {errors:?}");
            }
        }
        let mut b = Bundle::new_concurrent(vec![lang.langid()]);
        for (file, src) in lang.sources() {
            let r = FluentResource::try_new((*src).to_string())
                .unwrap_or_else(|_| panic!("{file} parses"));
            b.add_resource(r)
                .unwrap_or_else(|e| panic!("{file} redefines a message: {e:?}"));
        }
    }
}

#[test]
fn every_message_exists_in_both_languages_with_the_same_attributes_and_placeables() {
    let en = shapes(Lang::En);
    let sv = shapes(Lang::Sv);
    let en_ids: BTreeSet<&String> = en.keys().collect();
    let sv_ids: BTreeSet<&String> = sv.keys().collect();
    assert_eq!(
        en_ids.difference(&sv_ids).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "messages in English but not in Swedish"
    );
    assert_eq!(
        sv_ids.difference(&en_ids).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "messages in Swedish but not in English"
    );
    for (id, e) in &en {
        let s = &sv[id];
        assert_eq!(e.has_value, s.has_value, "{id}: value in one language only");
        let ea: BTreeSet<&String> = e.parts.keys().collect();
        let sa: BTreeSet<&String> = s.parts.keys().collect();
        assert_eq!(ea, sa, "{id}: the attributes differ between en and sv");
        for (part, refs) in &e.parts {
            assert_eq!(
                refs, &s.parts[part],
                "{id}{part}: en and sv use different placeables"
            );
        }
    }
}

#[test]
fn no_message_is_empty() {
    for lang in Lang::ALL {
        for (id, shape) in shapes(lang) {
            assert!(
                !shape.parts.is_empty(),
                "{}: {id} has neither value nor attributes",
                lang.tag()
            );
            let b = bundle(lang);
            let msg = b
                .get_message(&id)
                .unwrap_or_else(|| panic!("{}: {id} not in the bundle", lang.tag()));
            let mut args = FluentArgs::new();
            args.set("seconds", 7);
            let mut patterns: Vec<(String, &ast::Pattern<&str>)> = Vec::new();
            if let Some(v) = msg.value() {
                patterns.push((id.clone(), v));
            }
            for a in msg.attributes() {
                patterns.push((format!("{id}.{}", a.id()), a.value()));
            }
            for (what, p) in patterns {
                let mut errors = Vec::new();
                let text = b.format_pattern(p, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{}: {what}: {errors:?}", lang.tag());
                assert!(!text.trim().is_empty(), "{}: {what} is empty", lang.tag());
            }
        }
    }
}

#[test]
fn every_portal_string_exists_in_every_language() {
    for lang in Lang::ALL {
        for id in crate::portal::render::PortalStrings::MESSAGE_IDS {
            assert!(has_message(lang, id), "{}: {id} is missing", lang.tag());
        }
        let t = crate::portal::render::PortalStrings::of(lang);
        assert!(!t.signins.is_empty() && !t.csrf_failed_text.is_empty());
    }
    // And no portal message exists in one language only.
    let ids = |lang: Lang| -> Vec<String> {
        lang.sources()
            .iter()
            .filter(|(f, _)| f.ends_with("portal.ftl"))
            .flat_map(|(_, src)| {
                src.lines()
                    .filter_map(|l| l.split_once(" =").map(|(k, _)| k.trim().to_string()))
            })
            .filter(|k| k.starts_with("portal-"))
            .collect()
    };
    assert_eq!(ids(Lang::En), ids(Lang::Sv));
    assert_eq!(
        ids(Lang::En).len(),
        crate::portal::render::PortalStrings::MESSAGE_IDS.len()
    );
}

#[test]
fn every_page_string_exists() {
    for lang in Lang::ALL {
        for id in Strings::MESSAGE_IDS.iter().chain([&THROTTLED_ID]) {
            assert!(has_message(lang, id), "{}: {id} is missing", lang.tag());
        }
        let t = Strings::of(lang);
        assert_eq!(t.lang, lang.tag());
        assert!(!t.sign_in.is_empty() && !t.errors_means.is_empty());
    }
}

#[test]
fn the_wait_time_is_a_placeable_with_plurals() {
    let en = Strings::of(Lang::En);
    let sv = Strings::of(Lang::Sv);
    assert_eq!(
        en.throttled(30),
        "Too many failed attempts. Try again in 30 seconds."
    );
    assert_eq!(
        en.throttled(1),
        "Too many failed attempts. Try again in 1 second."
    );
    assert_eq!(
        sv.throttled(30),
        "För många misslyckade försök. Försök igen om 30 sekunder."
    );
    assert_eq!(
        sv.throttled(1),
        "För många misslyckade försök. Försök igen om 1 sekund."
    );
}

/// The test that makes the next person who adds an error code write its page.
#[test]
fn every_error_code_has_a_troubleshooting_page_in_every_language() {
    let mut problems = Vec::new();
    for code in ErrorCode::ALL {
        let id = errors_page::message_id(*code);
        let mut counts = Vec::new();
        for lang in Lang::ALL {
            let file = format!("crates/server/locales/{}/errors.ftl", lang.tag());
            let Some(msg) = bundle(lang).get_message(&id) else {
                problems.push(format!("{file}: no message {id} for {code}"));
                continue;
            };
            for attr in SECTIONS {
                if msg.get_attribute(attr).is_none() {
                    problems.push(format!("{file}: {id} has no .{attr}"));
                }
            }
            let group = errors_page::group_id(*code);
            if !has_message(lang, &group) {
                problems.push(format!(
                    "crates/server/locales/{}/pages.ftl: no {group} (the index heading of {code}'s range)",
                    lang.tag()
                ));
            }
            let e = Entry::of(lang, *code);
            if e.check.len() < 2 {
                problems.push(format!("{file}: {id}.check needs at least two items"));
            }
            counts.push(e.check.len());
            for (name, text) in [
                ("title", &e.title),
                ("means", &e.means),
                ("fix", &e.fix),
                ("persists", &e.persists),
            ] {
                if text.len() < 10 {
                    problems.push(format!("{file}: {id}.{name} is too short: {text:?}"));
                }
            }
        }
        if counts.len() == 2 && counts[0] != counts[1] {
            problems.push(format!(
                "{id}.check has {} items in en but {} in sv",
                counts[0], counts[1]
            ));
        }
        // English restates the catalogue, so the two cannot drift apart.
        let en = Entry::of(Lang::En, *code);
        let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        if en.title != norm(code.title()) {
            problems.push(format!(
                "en/errors.ftl: {id}.title differs from the catalogue's title {:?}",
                code.title()
            ));
        }
        if en.fix != norm(code.fix()) {
            problems.push(format!(
                "en/errors.ftl: {id}.fix differs from the catalogue's fix {:?}",
                code.fix()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "troubleshooting pages are missing or out of step with crates/core/src/error_code.rs \
         (write the page in crates/server/locales/en/errors.ftl and sv/errors.ftl):\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_message_outlives_its_code() {
    for (id, _) in shapes(Lang::En) {
        let looks_like_code =
            id.len() == 6 && id.starts_with("pv") && id[2..].bytes().all(|b| b.is_ascii_digit());
        if looks_like_code {
            assert!(
                ErrorCode::from_code(&id.to_ascii_uppercase()).is_some(),
                "errors.ftl has {id}, which is no longer in the catalogue"
            );
        }
    }
}

#[test]
fn accept_language_is_ordered_by_q_and_drops_q_zero() {
    assert_eq!(
        accept_language("sv-SE,sv;q=0.9,en;q=0.5"),
        vec!["sv-SE", "sv", "en"]
    );
    assert_eq!(
        accept_language("en;q=0.5, sv;q=0.8, de"),
        vec!["de", "sv", "en"]
    );
    assert_eq!(accept_language("sv;q=0, en"), vec!["en"]);
    assert_eq!(
        accept_language("sv;q=2, en;q=0.1"),
        vec!["en"],
        "bad q dropped"
    );
    assert_eq!(accept_language("sv;q=0.1234, en"), vec!["en"]);
    assert_eq!(accept_language("  ,, "), Vec::<&str>::new());
    assert_eq!(accept_language("en;Q=1.000"), vec!["en"]);
}

#[test]
fn negotiation_finds_our_languages() {
    let h = |v: &str| {
        let mut m = HeaderMap::new();
        if let Ok(v) = v.parse() {
            m.insert(header::ACCEPT_LANGUAGE, v);
        }
        m
    };
    assert_eq!(pick(None, &h("sv-SE,sv;q=0.9,en;q=0.5")), Lang::Sv);
    assert_eq!(pick(None, &h("de-DE, sv-FI;q=0.5")), Lang::Sv);
    assert_eq!(pick(None, &h("en-GB,sv;q=0.9")), Lang::En);
    assert_eq!(
        pick(None, &h("en;q=0.1, sv;q=0.9")),
        Lang::Sv,
        "q-values count"
    );
    assert_eq!(pick(None, &h("sv;q=0, de")), Lang::En, "q=0 is a refusal");
    assert_eq!(pick(None, &h("fr, *")), Lang::En);
    assert_eq!(pick(None, &HeaderMap::new()), Lang::En);
    // ui_locales / ?lang= first, when it names one we have.
    assert_eq!(pick(Some("sv"), &h("en")), Lang::Sv);
    assert_eq!(pick(Some("fi sv-SE"), &h("en")), Lang::Sv);
    assert_eq!(
        pick(Some("fi"), &h("sv")),
        Lang::Sv,
        "falls back to the header"
    );
    assert_eq!(pick(Some("en"), &h("sv")), Lang::En);
    assert_eq!(pick(Some("<script>"), &h("")), Lang::En);
}
