//! The crate's one error type: every problem found in an import or a compilation,
//! each with the JSON path it is at and a sentence saying what to do.

use serde::Serialize;
use std::fmt;

/// What kind of problem a [`Problem`] is. The lead maps these to Portvakt error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ProblemKind {
    /// The bytes are not JSON (or not in an encoding Portvakt reads).
    Syntax,
    /// A key that is not in Graph's schema (names are case-sensitive).
    UnknownKey,
    /// A value of the wrong type or outside Graph's enumeration, or a rule of Graph's
    /// broken (e.g. `block` combined with another control).
    Invalid,
    /// A Graph feature Portvakt does not implement, used with a non-empty value.
    Unsupported,
    /// A reference (user, group, role, application, service principal, named
    /// location) the tenant does not have.
    Unresolved,
}

/// One problem, at one JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The policy the problem is in, as `'displayName' (id …)`, when a compilation
    /// reports it (an import's paths already say where they are).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// JSON path, e.g. `$[3].conditions.userRiskLevels`.
    pub path: String,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What is wrong and what to do, in one or two sentences.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, kind: ProblemKind, message: impl Into<String>) -> Self {
        Self {
            policy: None,
            path: path.into(),
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.policy {
            write!(f, "policy {p}: ")?;
        }
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The error of this crate: one or more [`Problem`]s, in document order. Its display
/// is the first problem, plus how many more there are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Error {
    /// Every problem found (never empty).
    pub problems: Vec<Problem>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.split_first() {
            None => f.write_str("unknown problem"),
            Some((first, [])) => write!(f, "{first}"),
            Some((first, rest)) => write!(f, "{first} (and {} more problem(s))", rest.len()),
        }
    }
}

impl Error {
    /// An error of one problem.
    pub fn one(p: Problem) -> Self {
        Self { problems: vec![p] }
    }

    /// The first problem (the one a reader of the file meets first).
    pub fn first(&self) -> Option<&Problem> {
        self.problems.first()
    }

    /// `Ok(v)` when `problems` is empty, else the error.
    pub(crate) fn check<T>(v: T, problems: Vec<Problem>) -> Result<T, Self> {
        if problems.is_empty() {
            Ok(v)
        } else {
            Err(Self { problems })
        }
    }

    /// Every problem as one line each.
    pub fn lines(&self) -> String {
        self.problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_first_problem_and_count() {
        let e = Error {
            problems: vec![
                Problem::new("$.a", ProblemKind::Unsupported, "no a"),
                Problem::new("$.b", ProblemKind::UnknownKey, "no b"),
            ],
        };
        assert_eq!(e.to_string(), "$.a: no a (and 1 more problem(s))");
        assert_eq!(e.lines(), "$.a: no a\n$.b: no b");
        let mut p = Problem::new("$.c", ProblemKind::Unresolved, "no c");
        p.policy = Some("'P' (id 1)".into());
        assert_eq!(p.to_string(), "policy 'P' (id 1): $.c: no c");
    }
}
