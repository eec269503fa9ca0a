//! Turning `scope` and `resource` parameters into one audience and a set of scopes.
//!
//! Accepted forms (one resource per token, since a token has one `aud`):
//! - RFC 8707: `resource=api://analytics&scope=Onboarding.ReadWrite`
//! - Microsoft style: `scope=api://analytics/Onboarding.ReadWrite`
//! - `scope=api://analytics/.default`: every scope the application is allowed on it
//! - `resource=api://analytics` alone: same as `.default`.

use crate::model::{Application, Resource};
use crate::names::is_absolute_uri;
use crate::{Error, ErrorCode};

/// OpenID Connect scopes; they need a user.
pub const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "offline_access",
    "address",
    "phone",
];

/// The outcome: the audience and the scopes granted on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedScope {
    /// The resource identifier, which becomes `aud`.
    pub resource: String,
    /// Plain scope names granted, sorted, without the resource prefix.
    pub scopes: Vec<String>,
}

impl ResolvedScope {
    /// The space-separated `scope` claim: plain names (RFC 9068 §2.2.3).
    pub fn scope_string(&self) -> String {
        self.scopes.join(" ")
    }

    /// The token response's `scope` (RFC 6749 §5.1) in the words of the request
    /// `asked`: a scope asked as `{resource}/{name}` is answered so, `{resource}/.default`
    /// as asked, a plain name (or no scope at all, RFC 8707 `resource` alone) plainly.
    /// A client granted everything it asked for thus reads back its own request, which
    /// is what "identical to the scope requested" means, and what MSAL's token cache
    /// needs to find the token again (it files tokens under the response's scopes).
    pub fn in_words_of(&self, asked: Option<&str>) -> String {
        self.words(asked).join(" ")
    }

    fn words(&self, asked: Option<&str>) -> Vec<String> {
        let asked: Vec<&str> = asked.unwrap_or("").split_ascii_whitespace().collect();
        let default = format!("{}/.default", self.resource);
        if asked.iter().any(|a| *a == default) {
            return vec![default];
        }
        self.scopes
            .iter()
            .map(|n| {
                let qualified = format!("{}/{n}", self.resource);
                if asked.iter().any(|a| *a == qualified) {
                    qualified
                } else {
                    n.clone()
                }
            })
            .collect()
    }
}

/// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
fn valid_scope_token(t: &str) -> bool {
    t.bytes()
        .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Resolve the request of a client-credentials grant for application `app`.
///
/// `lookup` finds a resource of the tenant by exact identifier.
pub fn resolve<'r>(
    scope: Option<&str>,
    resource_params: &[&str],
    app: &Application,
    lookup: impl Fn(&str) -> Option<&'r Resource>,
) -> Result<ResolvedScope, Error> {
    // RFC 8707 §2: each resource is an absolute URI without a fragment.
    for r in resource_params {
        if !is_absolute_uri(r) {
            return Err(Error::new(
                ErrorCode::ResourceInvalid,
                format!("resource '{r}' is not an absolute URI without a fragment"),
            ));
        }
    }
    let mut distinct: Vec<&str> = resource_params.to_vec();
    distinct.dedup();
    if distinct.len() > 1 {
        return Err(Error::new(
            ErrorCode::MultipleResources,
            format!(
                "resource names {} resources ({}); request one token per resource",
                distinct.len(),
                distinct.join(", ")
            ),
        ));
    }
    let explicit = distinct.first().copied();

    let tokens: Vec<&str> = scope
        .unwrap_or("")
        .split(' ')
        .filter(|t| !t.is_empty())
        .collect();
    let mut target: Option<&str> = explicit;
    let mut names: Vec<&str> = Vec::new();
    for t in &tokens {
        if !valid_scope_token(t) {
            return Err(Error::new(
                ErrorCode::InvalidParameter,
                format!(
                    "scope contains an invalid character in '{}' (RFC 6749 §3.3)",
                    t.escape_default()
                ),
            ));
        }
        if OIDC_SCOPES.contains(t) {
            return Err(Error::new(
                ErrorCode::ScopeNotForGrant,
                format!(
                    "scope '{t}' needs a signed-in user and cannot be used with client_credentials"
                ),
            ));
        }
        // `{resource}/{name}`: the resource is everything before the last '/'. When a
        // resource= parameter is present, a scope prefixed with it is also accepted.
        let (res, name) = match t.rsplit_once('/') {
            Some((prefix, name)) if lookup(prefix).is_some() || Some(prefix) == explicit => (prefix, name),
            Some((prefix, _)) if explicit.is_none() && is_absolute_uri(prefix) => {
                return Err(Error::new(
                    ErrorCode::ResourceUnknown,
                    format!("scope '{t}' names the resource '{prefix}', which is not registered in this tenant"),
                ));
            }
            _ => match explicit {
                Some(r) => (r, *t),
                None => {
                    return Err(Error::new(
                        ErrorCode::ScopeRequired,
                        format!("scope '{t}' does not name a resource: write '{{resource}}/{t}' or send resource={{resource}}"),
                    ))
                }
            },
        };
        match target {
            Some(prev) if prev != res => {
                return Err(Error::new(
                    ErrorCode::MultipleResources,
                    format!("the request names more than one resource ('{prev}' and '{res}'); request one token per resource"),
                ))
            }
            _ => target = Some(res),
        }
        if name.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidParameter,
                format!("scope '{t}' has an empty scope name after '/'"),
            ));
        }
        names.push(name);
    }
    let Some(target) = target else {
        return Err(Error::new(
            ErrorCode::ScopeRequired,
            "no scope and no resource: ask for '{resource}/.default' or send resource={resource}"
                .to_string(),
        ));
    };
    let Some(resource) = lookup(target) else {
        return Err(Error::new(
            ErrorCode::ResourceUnknown,
            format!("resource '{target}' is not registered in this tenant"),
        ));
    };

    let default_prefix = format!("{}/.default", resource.identifier);
    let allowed_all = app.allowed_scopes.contains(&default_prefix);
    let allowed = |name: &str| {
        allowed_all
            || app.allowed_scopes.iter().any(|s| {
                s.len() == resource.identifier.len() + 1 + name.len()
                    && s.starts_with(&resource.identifier)
                    && s.as_bytes()[resource.identifier.len()] == b'/'
                    && s.ends_with(name)
            })
    };

    let mut granted: Vec<String>;
    if names.is_empty() || names.contains(&".default") {
        if names.len() > 1 {
            return Err(Error::new(
                ErrorCode::ScopeDefaultCombined,
                format!(
                    "'{default_prefix}' cannot be combined with other scopes ({})",
                    names
                        .iter()
                        .filter(|n| **n != ".default")
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let any_grant = allowed_all || resource.scopes.iter().any(|s| allowed(s));
        if !any_grant {
            return Err(Error::new(
                ErrorCode::ScopeNotAllowed,
                format!("application '{}' is not allowed any scope on '{}'; add '{default_prefix}' or specific scopes to its allowedScopes", app.client_id, resource.identifier),
            ));
        }
        granted = resource
            .scopes
            .iter()
            .filter(|s| allowed(s))
            .cloned()
            .collect();
    } else {
        granted = Vec::with_capacity(names.len());
        for n in names {
            if !resource.scopes.iter().any(|s| s == n) {
                return Err(Error::new(
                    ErrorCode::ScopeUnknown,
                    format!(
                        "resource '{}' does not define the scope '{n}' (it defines: {})",
                        resource.identifier,
                        if resource.scopes.is_empty() {
                            "none".to_string()
                        } else {
                            resource.scopes.join(", ")
                        }
                    ),
                ));
            }
            if !allowed(n) {
                return Err(Error::new(
                    ErrorCode::ScopeNotAllowed,
                    format!(
                        "application '{}' is not allowed the scope '{}/{n}'",
                        app.client_id, resource.identifier
                    ),
                ));
            }
            granted.push(n.to_string());
        }
    }
    granted.sort();
    granted.dedup();
    Ok(ResolvedScope {
        resource: resource.identifier.clone(),
        scopes: granted,
    })
}

/// The scopes of a user flow: OpenID Connect scopes, and at most one resource's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserScopes {
    /// `openid`, `profile`, `email`, `offline_access` as requested (canonical order).
    pub oidc: Vec<String>,
    /// The resource and its granted scopes, if the request named one.
    pub resource: Option<ResolvedScope>,
}

impl UserScopes {
    /// Is this OIDC scope present?
    pub fn has(&self, s: &str) -> bool {
        self.oidc.iter().any(|x| x == s)
    }
    /// The token response's `scope` in the words of the request (see
    /// [`ResolvedScope::in_words_of`]): OIDC scopes, then the resource's.
    pub fn in_words_of(&self, asked: Option<&str>) -> String {
        let mut v: Vec<String> = self.oidc.clone();
        if let Some(r) = &self.resource {
            v.extend(r.words(asked));
        }
        v.join(" ")
    }

    /// The `scope` claim: OIDC scopes, then the resource's plain names.
    pub fn scope_string(&self) -> String {
        let mut v: Vec<&str> = self.oidc.iter().map(String::as_str).collect();
        if let Some(r) = &self.resource {
            v.extend(r.scopes.iter().map(String::as_str));
        }
        v.join(" ")
    }
    /// What the user consents to: OIDC scopes and `{resource}/{scope}` items.
    pub fn consent_items(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .oidc
            .iter()
            .filter(|s| *s != "openid")
            .cloned()
            .collect();
        if let Some(r) = &self.resource {
            v.extend(r.scopes.iter().map(|s| format!("{}/{s}", r.resource)));
        }
        v
    }
}

/// Resolve the scopes of an authorization request (or a refresh) of `app`.
///
/// OpenID Connect scopes are always allowed to an application that may use the user
/// flows, except `offline_access`, which needs the `refresh_token` grant. Other
/// scopes go through [`resolve`], with the same forms and rules as client credentials.
pub fn resolve_user<'r>(
    scope: Option<&str>,
    resource_params: &[&str],
    app: &Application,
    lookup: impl Fn(&str) -> Option<&'r Resource>,
) -> Result<UserScopes, Error> {
    let tokens: Vec<&str> = scope
        .unwrap_or("")
        .split(' ')
        .filter(|t| !t.is_empty())
        .collect();
    let oidc: Vec<String> = OIDC_SCOPES
        .iter()
        .filter(|s| tokens.contains(s))
        .map(|s| s.to_string())
        .collect();
    if oidc.iter().any(|s| s == "offline_access")
        && !app.grant_types.iter().any(|g| g == "refresh_token")
    {
        return Err(Error::new(
            ErrorCode::ScopeNotAllowed,
            format!("application '{}' may not receive refresh tokens (offline_access): add refresh_token to its grantTypes", app.client_id),
        ));
    }
    let rest: Vec<&str> = tokens
        .iter()
        .copied()
        .filter(|t| !OIDC_SCOPES.contains(t))
        .collect();
    let resource = if rest.is_empty() && resource_params.is_empty() {
        None
    } else {
        let joined = rest.join(" ");
        Some(resolve(
            if joined.is_empty() {
                None
            } else {
                Some(joined.as_str())
            },
            resource_params,
            app,
            lookup,
        )?)
    };
    if oidc.is_empty() && resource.is_none() {
        return Err(Error::new(
            ErrorCode::ScopeRequired,
            "no scope: ask for 'openid' (sign-in), and/or '{resource}/{scope}' for an API"
                .to_string(),
        ));
    }
    Ok(UserScopes { oidc, resource })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res() -> Vec<Resource> {
        vec![
            Resource {
                identifier: "api://analytics".into(),
                display_name: "A".into(),
                scopes: vec!["Onboarding.ReadWrite".into(), "Reports.Read".into()],
                access_token_lifetime_seconds: None,
                group_claims: false,
                introspection_clients: vec![],
            },
            Resource {
                identifier: "https://api.example.com/v1".into(),
                display_name: "B".into(),
                scopes: vec!["read".into()],
                access_token_lifetime_seconds: None,
                group_claims: false,
                introspection_clients: vec![],
            },
        ]
    }
    fn app(allowed: &[&str]) -> Application {
        Application {
            client_id: "c".into(),
            display_name: "c".into(),
            secret_sha256: None,
            confidential: true,
            grant_types: vec![],
            redirect_uris: vec![],
            allowed_scopes: allowed.iter().map(|s| s.to_string()).collect(),
            access_token_lifetime_seconds: None,
            admin_consented: false,
            refresh_token_lifetime_seconds: None,
        }
    }
    fn run(
        scope: Option<&str>,
        resource: &[&str],
        allowed: &[&str],
    ) -> Result<ResolvedScope, ErrorCode> {
        let r = res();
        resolve(scope, resource, &app(allowed), |id| {
            r.iter().find(|x| x.identifier == id)
        })
        .map_err(|e| e.code)
    }

    #[test]
    fn all_accepted_forms() {
        let all = ["api://analytics/.default"];
        let full = ResolvedScope {
            resource: "api://analytics".into(),
            scopes: vec!["Onboarding.ReadWrite".into(), "Reports.Read".into()],
        };
        assert_eq!(
            run(Some("api://analytics/.default"), &[], &all),
            Ok(full.clone())
        );
        assert_eq!(run(None, &["api://analytics"], &all), Ok(full.clone()));
        assert_eq!(run(Some(".default"), &["api://analytics"], &all), Ok(full));
        let one = ResolvedScope {
            resource: "api://analytics".into(),
            scopes: vec!["Reports.Read".into()],
        };
        assert_eq!(
            run(Some("api://analytics/Reports.Read"), &[], &all),
            Ok(one.clone())
        );
        assert_eq!(
            run(Some("Reports.Read"), &["api://analytics"], &all),
            Ok(one.clone())
        );
        assert_eq!(
            run(
                Some("api://analytics/Reports.Read"),
                &["api://analytics"],
                &all
            ),
            Ok(one)
        );
        assert_eq!(
            run(
                Some("https://api.example.com/v1/read"),
                &[],
                &["https://api.example.com/v1/read"]
            )
            .map(|r| r.resource),
            Ok("https://api.example.com/v1".into())
        );
    }

    #[test]
    fn the_response_scope_uses_the_words_of_the_request() {
        let r = ResolvedScope {
            resource: "api://analytics".into(),
            scopes: vec!["Onboarding.ReadWrite".into(), "Reports.Read".into()],
        };
        assert_eq!(
            r.in_words_of(Some("api://analytics/.default")),
            "api://analytics/.default"
        );
        assert_eq!(
            r.in_words_of(Some("api://analytics/Reports.Read Onboarding.ReadWrite")),
            "Onboarding.ReadWrite api://analytics/Reports.Read"
        );
        assert_eq!(r.in_words_of(None), "Onboarding.ReadWrite Reports.Read");
        let u = UserScopes {
            oidc: vec!["openid".into(), "offline_access".into()],
            resource: Some(r),
        };
        assert_eq!(
            u.in_words_of(Some("openid offline_access api://analytics/Reports.Read api://analytics/Onboarding.ReadWrite")),
            "openid offline_access api://analytics/Onboarding.ReadWrite api://analytics/Reports.Read"
        );
        assert_eq!(
            u.scope_string(),
            "openid offline_access Onboarding.ReadWrite Reports.Read"
        );
    }

    #[test]
    fn default_grants_only_what_is_allowed() {
        let r = run(
            Some("api://analytics/.default"),
            &[],
            &["api://analytics/Reports.Read"],
        );
        assert_eq!(r.map(|r| r.scopes), Ok(vec!["Reports.Read".to_string()]));
        assert_eq!(
            run(
                Some("api://analytics/.default"),
                &[],
                &["https://api.example.com/v1/read"]
            ),
            Err(ErrorCode::ScopeNotAllowed)
        );
    }

    #[test]
    fn every_failure_has_its_code() {
        let all = ["api://analytics/.default"];
        assert_eq!(run(None, &[], &all), Err(ErrorCode::ScopeRequired));
        assert_eq!(
            run(Some("Reports.Read"), &[], &all),
            Err(ErrorCode::ScopeRequired)
        );
        assert_eq!(
            run(Some("api://nope/.default"), &[], &all),
            Err(ErrorCode::ResourceUnknown)
        );
        assert_eq!(
            run(None, &["api://nope"], &all),
            Err(ErrorCode::ResourceUnknown)
        );
        assert_eq!(
            run(Some("api://analytics/Nope"), &[], &all),
            Err(ErrorCode::ScopeUnknown)
        );
        assert_eq!(
            run(
                Some("api://analytics/Reports.Read"),
                &[],
                &["api://analytics/Onboarding.ReadWrite"]
            ),
            Err(ErrorCode::ScopeNotAllowed)
        );
        assert_eq!(
            run(
                None,
                &["api://analytics", "https://api.example.com/v1"],
                &all
            ),
            Err(ErrorCode::MultipleResources)
        );
        assert_eq!(
            run(
                Some("api://analytics/.default https://api.example.com/v1/read"),
                &[],
                &all
            ),
            Err(ErrorCode::MultipleResources)
        );
        assert_eq!(
            run(None, &["analytics"], &all),
            Err(ErrorCode::ResourceInvalid)
        );
        assert_eq!(
            run(None, &["api://analytics#x"], &all),
            Err(ErrorCode::ResourceInvalid)
        );
        assert_eq!(
            run(Some("openid"), &["api://analytics"], &all),
            Err(ErrorCode::ScopeNotForGrant)
        );
        assert_eq!(
            run(
                Some("api://analytics/.default api://analytics/Reports.Read"),
                &[],
                &all
            ),
            Err(ErrorCode::ScopeDefaultCombined)
        );
        assert_eq!(
            run(Some("api://analytics/Reports\"Read"), &[], &all),
            Err(ErrorCode::InvalidParameter)
        );
    }

    #[test]
    fn a_scope_name_that_is_a_suffix_of_another_is_not_confused() {
        // allowed "api://a/X.Read" must not allow "api://a/Read".
        let r = [Resource {
            identifier: "api://a".into(),
            display_name: "a".into(),
            scopes: vec!["Read".into(), "X.Read".into()],
            access_token_lifetime_seconds: None,
            group_claims: false,
            introspection_clients: vec![],
        }];
        let a = app(&["api://a/X.Read"]);
        let out = resolve(Some("api://a/Read"), &[], &a, |id| {
            r.iter().find(|x| x.identifier == id)
        });
        assert_eq!(out.map_err(|e| e.code), Err(ErrorCode::ScopeNotAllowed));
    }
}
