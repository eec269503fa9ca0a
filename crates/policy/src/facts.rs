//! The sign-in facts: everything Conditional Access looks at, as one serde value.
//!
//! The server gathers one [`SignInFacts`] per sign-in (interactive, refresh, device,
//! client credentials) and stores it with the sign-in record, so that policies can be
//! replayed over past sign-ins (`portvakt diagnose`, What-If over history). Named
//! locations are not stored: they are computed from `ipAddress` at evaluation (the
//! [`crate::Evaluation`] records which matched), so a replay with changed locations
//! answers for the locations of the replay.

use crate::graph::{ClientAppType, DevicePlatform, TransferMethod};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The version of [`SignInFacts`] this crate writes.
pub const FACTS_VERSION: u32 = 1;

/// Everything a Conditional Access evaluation reads. Unix seconds throughout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInFacts {
    /// [`FACTS_VERSION`] when written.
    pub version: u32,
    /// When the evaluation happens (the request's `now`; this crate has no clock).
    pub now: i64,
    /// Who signs in.
    pub identity: Identity,
    /// The client app (client id) making the request.
    pub client_id: String,
    /// The resource identifier the token is for, if any (`None`: a sign-in to the app
    /// itself, e.g. an ID token only).
    pub resource: Option<String>,
    /// The client's IP address (`None`: unknown; then only `All` locations match).
    pub ip_address: Option<IpAddr>,
    /// The device platform (`None`: unknown; matched only by `all`). See
    /// [`crate::agent`].
    pub device_platform: Option<DevicePlatform>,
    /// The client app type (`None`: unknown, matched only by an unset or `all`
    /// condition). See [`crate::agent::client_app_type`].
    pub client_app_type: Option<ClientAppType>,
    /// `deviceCodeFlow` when the sign-in is a device authorization grant.
    pub authentication_flow: Option<TransferMethod>,
    /// Whether the user authenticated interactively in this sign-in: true at the
    /// sign-in page and for the code exchange of a code that page issued; false for
    /// refresh-token grants and silent (SSO cookie, `prompt=none`) authorizations.
    pub interactive: bool,
    /// How and when the session authenticated.
    pub authentication: AuthenticationFacts,
}

/// Who signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Identity {
    /// A user (user policies apply; workload-identity policies never do).
    User(UserFacts),
    /// A service principal with client credentials (workload-identity policies apply;
    /// user policies never do, as in Entra).
    ServicePrincipal(ServicePrincipalFacts),
}

/// The user, as the directory knows them at sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFacts {
    /// The user id ([`crate::Directory::user`]'s answer).
    pub id: String,
    /// The UPN, for people reading the record.
    pub user_principal_name: Option<String>,
    /// Ids of every group the user is in, transitively. Sorted and deduplicated by
    /// [`SignInFacts::normalize`] (evaluation is correct either way, faster sorted).
    pub groups: Vec<String>,
    /// Ids of the user's roles.
    pub roles: Vec<String>,
    /// Whether the user has an MFA method registered. Conditional Access does not
    /// read it; the sign-in log does.
    pub mfa_registered: bool,
}

/// A service principal signing in with client credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipalFacts {
    /// [`crate::Directory::service_principal`]'s answer (in Portvakt: the client id).
    pub service_principal_id: String,
}

/// How the session authenticated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationFacts {
    /// RFC 8176 `amr` values of the session (`pwd`, `otp`, `mfa`, …). `mfa` satisfies
    /// the `mfa` control.
    pub amr: Vec<String>,
    /// When the user last authenticated interactively (the `auth_time` claim).
    pub auth_time: Option<i64>,
    /// When the second factor was last done.
    pub mfa_time: Option<i64>,
    /// When the user last changed their password; the `passwordChange` control is
    /// satisfied when that happened in this session (at or after `auth_time`).
    pub password_changed_at: Option<i64>,
}

impl SignInFacts {
    /// Facts for a user sign-in at `now`, with nothing else known yet.
    pub fn user(now: i64, user: UserFacts, client_id: impl Into<String>) -> Self {
        Self::new(now, Identity::User(user), client_id.into())
    }

    /// Facts for a client-credentials sign-in of `client_id` at `now`.
    pub fn service_principal(now: i64, client_id: impl Into<String>) -> Self {
        let client_id = client_id.into();
        Self::new(
            now,
            Identity::ServicePrincipal(ServicePrincipalFacts {
                service_principal_id: client_id.clone(),
            }),
            client_id,
        )
    }

    fn new(now: i64, identity: Identity, client_id: String) -> Self {
        Self {
            version: FACTS_VERSION,
            now,
            identity,
            client_id,
            resource: None,
            ip_address: None,
            device_platform: None,
            client_app_type: None,
            authentication_flow: None,
            interactive: false,
            authentication: AuthenticationFacts::default(),
        }
    }

    /// Sorts and deduplicates the user's groups and roles: do it once per sign-in,
    /// before evaluating (every evaluation of these facts is then faster).
    pub fn normalize(&mut self) {
        use crate::compile::prefix;
        let cmp = |a: &String, b: &String| prefix(a).cmp(&prefix(b)).then_with(|| a.cmp(b));
        if let Identity::User(u) = &mut self.identity {
            for v in [&mut u.groups, &mut u.roles] {
                // Already sorted without duplicates (ids kept sorted in the store): one
                // pass of integer compares.
                if v.windows(2).all(|w| cmp(&w[0], &w[1]).is_lt()) {
                    continue;
                }
                v.sort_unstable_by(cmp);
                v.dedup();
            }
        }
    }

    /// Whether the session did multifactor authentication.
    pub fn has_mfa(&self) -> bool {
        self.authentication.amr.iter().any(|a| a == "mfa")
    }

    /// The `amr` values for a sentence: "pwd only", "pwd+otp", "no recorded method".
    pub(crate) fn amr_text(&self) -> String {
        match self.authentication.amr.as_slice() {
            [] => "no recorded method".to_owned(),
            [one] => format!("{one} only"),
            many => many.join("+"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_as_camel_case_json_with_version() {
        let mut f = SignInFacts::user(
            1_750_000_000,
            UserFacts {
                id: "u1".into(),
                user_principal_name: Some("ada@example.com".into()),
                groups: vec!["g2".into(), "g1".into(), "g2".into()],
                roles: vec![],
                mfa_registered: true,
            },
            "c1",
        );
        f.ip_address = "2001:db8::1".parse().ok();
        f.device_platform = Some(DevicePlatform::IOS);
        f.client_app_type = Some(ClientAppType::Browser);
        f.authentication_flow = Some(TransferMethod::DeviceCodeFlow);
        f.authentication.amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
        f.normalize();
        let Identity::User(u) = &f.identity else {
            panic!("user")
        };
        assert_eq!(u.groups, ["g1", "g2"]);
        let v = serde_json::to_value(&f).expect("serializes");
        assert_eq!(v["version"], 1);
        assert_eq!(v["identity"]["type"], "user");
        assert_eq!(v["identity"]["userPrincipalName"], "ada@example.com");
        assert_eq!(v["devicePlatform"], "iOS");
        assert_eq!(v["clientAppType"], "browser");
        assert_eq!(v["authenticationFlow"], "deviceCodeFlow");
        assert_eq!(v["ipAddress"], "2001:db8::1");
        let back: SignInFacts = serde_json::from_value(v).expect("deserializes");
        assert_eq!(back, f);
        assert!(f.has_mfa());
        let sp = SignInFacts::service_principal(1, "svc");
        let v = serde_json::to_value(&sp).expect("serializes");
        assert_eq!(v["identity"]["type"], "servicePrincipal");
        assert_eq!(v["identity"]["servicePrincipalId"], "svc");
    }
}
