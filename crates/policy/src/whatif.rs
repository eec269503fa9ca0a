//! What-If: Graph's `POST /identity/conditionalAccess/evaluate`
//! (`conditionalAccessRoot: evaluate`).
//!
//! [`parse_what_if`] reads the request strictly; [`WhatIfRequest::to_facts`] turns it,
//! with what the server knows of the identity (groups, roles: the caller fills
//! [`Identity`]), into ordinary [`SignInFacts`]; [`what_if`] runs the one evaluator on
//! them and answers with Graph's `whatIfAnalysisResult` items. So What-If and real
//! sign-ins cannot disagree: they are the same code path.
//!
//! Request fields that cannot change any answer Portvakt gives are accepted and not
//! used: `country` (country locations are refused at import), the risk levels
//! (`signInRiskLevel`, `userRiskLevel`, `servicePrincipalRiskLevel`,
//! `insiderRiskLevel`, `agentIdRiskLevel`: risk conditions are refused at import) and
//! `deviceInfo` (device filters are refused at import). `devicePlatform` and
//! `clientAppType` absent or `all` mean unknown, as for a real sign-in whose
//! User-Agent says nothing. The application context names one application; user
//! action and authentication context requests are refused (Portvakt has neither).

use crate::compile::PolicySet;
use crate::directory::{AppRef, Directory};
use crate::error::{Error, Problem, ProblemKind};
use crate::evaluate::{evaluate, Evaluation};
use crate::facts::{Identity, SignInFacts, FACTS_VERSION};
use crate::graph::{ClientAppType, ConditionalAccessPolicy, DevicePlatform, TransferMethod};
use crate::json::{
    index_path, is_annotation, key_path, object, odata_type, opt_bool, opt_string, parse_bytes,
    string_list, unknown_key, Json,
};
use serde::Serialize;
use std::net::IpAddr;

/// A parsed What-If request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIfRequest {
    /// `signInIdentity`.
    pub identity: WhatIfIdentity,
    /// `signInContext.includeApplications` (one application).
    pub application: String,
    /// `signInConditions`.
    pub conditions: WhatIfConditions,
    /// `appliedPoliciesOnly`.
    pub applied_policies_only: bool,
}

/// Graph `signInIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhatIfIdentity {
    /// `#microsoft.graph.userSignIn` {`userId`}.
    User {
        /// `userId`.
        user_id: String,
    },
    /// `#microsoft.graph.servicePrincipalSignIn` {`servicePrincipalId`}.
    ServicePrincipal {
        /// `servicePrincipalId`.
        service_principal_id: String,
    },
}

/// Graph `signInConditions`, the part Portvakt evaluates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhatIfConditions {
    /// `devicePlatform` (`all` or absent: unknown).
    pub device_platform: Option<DevicePlatform>,
    /// `clientAppType` (`all` or absent: unknown).
    pub client_app_type: Option<ClientAppType>,
    /// `ipAddress`.
    pub ip_address: Option<IpAddr>,
    /// `authenticationFlow.transferMethod`.
    pub authentication_flow: Option<TransferMethod>,
}

/// Graph `whatIfAnalysisResult`: the policy's fields, `policyApplies` and
/// `analysisReasons`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatIfAnalysisResult {
    /// The policy as stored.
    #[serde(flatten)]
    pub policy: ConditionalAccessPolicy,
    /// Whether the policy applies to the sign-in described.
    pub policy_applies: bool,
    /// `notSet` when it applies; else why not (Graph `whatIfAnalysisReasons`).
    pub analysis_reasons: &'static str,
}

/// The response: Graph's collection of `whatIfAnalysisResult`, and the evaluation it
/// came from (not serialized; the portal can show its reasons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatIfResponse {
    /// The results.
    pub value: Vec<WhatIfAnalysisResult>,
    /// The evaluation behind them.
    #[serde(skip)]
    pub evaluation: Evaluation,
}

/// Parses a What-If request body.
pub fn parse_what_if(bytes: &[u8]) -> Result<WhatIfRequest, Error> {
    let doc = parse_bytes(bytes)?;
    let mut p = Vec::new();
    let req = request(&doc, &mut p);
    match req {
        Some(r) if p.is_empty() => Ok(r),
        _ => Err(Error { problems: p }),
    }
}

fn bad(p: &mut Vec<Problem>, path: impl Into<String>, kind: ProblemKind, m: impl Into<String>) {
    p.push(Problem::new(path, kind, m));
}

fn request(v: &Json, p: &mut Vec<Problem>) -> Option<WhatIfRequest> {
    let fields = object(v, "$", "a What-If request", p)?;
    let (mut identity, mut app, mut conditions, mut only) =
        (None, None, WhatIfConditions::default(), false);
    for (k, x) in fields {
        let kp = key_path("$", k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "signInIdentity" => identity = sign_in_identity(x, &kp, p),
            "signInContext" => app = sign_in_context(x, &kp, p),
            "signInConditions" => conditions = sign_in_conditions(x, &kp, p).unwrap_or_default(),
            "appliedPoliciesOnly" => only = opt_bool(Some(x), &kp, p).unwrap_or(false),
            _ => p.push(unknown_key("$", k, "evaluate request")),
        }
    }
    if identity.is_none() && p.is_empty() {
        bad(
            p,
            "$.signInIdentity",
            ProblemKind::Invalid,
            "signInIdentity is required",
        );
    }
    if app.is_none() && p.is_empty() {
        bad(
            p,
            "$.signInContext",
            ProblemKind::Invalid,
            "signInContext is required",
        );
    }
    Some(WhatIfRequest {
        identity: identity?,
        application: app?,
        conditions,
        applied_policies_only: only,
    })
}

fn sign_in_identity(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<WhatIfIdentity> {
    let fields = object(v, path, "a signInIdentity", p)?;
    let kind = odata_type(fields);
    let (mut user, mut sp) = (None, None);
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "userId" => user = opt_string(Some(x), &kp, p),
            "servicePrincipalId" => sp = opt_string(Some(x), &kp, p),
            _ => p.push(unknown_key(path, k, "signInIdentity")),
        }
    }
    match (kind, user, sp) {
        (Some("#microsoft.graph.userSignIn") | None, Some(u), None) => {
            Some(WhatIfIdentity::User { user_id: u })
        }
        (Some("#microsoft.graph.servicePrincipalSignIn") | None, None, Some(s)) => {
            Some(WhatIfIdentity::ServicePrincipal {
                service_principal_id: s,
            })
        }
        (Some("#microsoft.graph.externalUserSignIn"), _, _) => {
            bad(
                p,
                key_path(path, "@odata.type"),
                ProblemKind::Unsupported,
                "Portvakt has no external users; evaluate a userSignIn instead",
            );
            None
        }
        _ => {
            bad(
                p,
                path.to_owned(),
                ProblemKind::Invalid,
                "give either {\"@odata.type\": \"#microsoft.graph.userSignIn\", \"userId\": …} or {\"@odata.type\": \"#microsoft.graph.servicePrincipalSignIn\", \"servicePrincipalId\": …}",
            );
            None
        }
    }
}

fn sign_in_context(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<String> {
    let fields = object(v, path, "a signInContext", p)?;
    match odata_type(fields) {
        Some("#microsoft.graph.applicationContext") | None => {}
        Some(t @ ("#microsoft.graph.userActionContext" | "#microsoft.graph.authContext")) => {
            bad(
                p,
                key_path(path, "@odata.type"),
                ProblemKind::Unsupported,
                format!("{t}: user actions and authentication contexts are not implemented by Portvakt; use #microsoft.graph.applicationContext"),
            );
            return None;
        }
        Some(t) => {
            bad(
                p,
                key_path(path, "@odata.type"),
                ProblemKind::Invalid,
                format!("`{t}` is not a sign-in context; use #microsoft.graph.applicationContext"),
            );
            return None;
        }
    }
    let mut apps = Vec::new();
    let mut apps_path = key_path(path, "includeApplications");
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "includeApplications" => {
                apps = string_list(Some(x), &kp, p);
                apps_path = kp;
            }
            _ => p.push(unknown_key(path, k, "applicationContext")),
        }
    }
    match apps.len() {
        1 => apps.pop().map(|(_, a)| a),
        0 => {
            bad(
                p,
                apps_path,
                ProblemKind::Invalid,
                "name the application (client id or resource identifier) to evaluate",
            );
            None
        }
        _ => {
            bad(
                p,
                index_path(&apps_path, 1),
                ProblemKind::Invalid,
                "evaluate one application per request",
            );
            None
        }
    }
}

fn sign_in_conditions(v: &Json, path: &str, p: &mut Vec<Problem>) -> Option<WhatIfConditions> {
    if v.is_empty() {
        return None;
    }
    let fields = object(v, path, "signInConditions", p)?;
    let mut c = WhatIfConditions::default();
    for (k, x) in fields {
        let kp = key_path(path, k);
        match k.as_str() {
            k if is_annotation(k) => {}
            "devicePlatform" => {
                if let Some(s) = opt_string(Some(x), &kp, p) {
                    match DevicePlatform::ALL.iter().find(|d| d.as_str() == s) {
                        Some(d) => c.device_platform = Some(*d),
                        None if s == "all" => {}
                        None => bad(
                            p,
                            kp,
                            ProblemKind::Invalid,
                            format!("`{s}` is not a device platform"),
                        ),
                    }
                }
            }
            "clientAppType" => {
                if let Some(s) = opt_string(Some(x), &kp, p) {
                    match ClientAppType::ALL.iter().find(|t| t.as_str() == s) {
                        Some(ClientAppType::All) => {}
                        Some(t) => c.client_app_type = Some(*t),
                        None => bad(
                            p,
                            kp,
                            ProblemKind::Invalid,
                            format!("`{s}` is not a client app type"),
                        ),
                    }
                }
            }
            "ipAddress" => {
                if let Some(s) = opt_string(Some(x), &kp, p) {
                    match s.parse() {
                        Ok(ip) => c.ip_address = Some(ip),
                        Err(_) => bad(
                            p,
                            kp,
                            ProblemKind::Invalid,
                            format!("`{s}` is not an IPv4 or IPv6 address"),
                        ),
                    }
                }
            }
            "authenticationFlow" => {
                if x.is_empty() {
                    continue;
                }
                let Some(af) = object(x, &kp, "an authenticationFlow", p) else {
                    continue;
                };
                for (k2, y) in af {
                    let kp2 = key_path(&kp, k2);
                    match k2.as_str() {
                        k2 if is_annotation(k2) => {}
                        "transferMethod" => match opt_string(Some(y), &kp2, p).as_deref() {
                            None | Some("none") => {}
                            Some("deviceCodeFlow") => {
                                c.authentication_flow = Some(TransferMethod::DeviceCodeFlow)
                            }
                            Some("authenticationTransfer") => {
                                c.authentication_flow = Some(TransferMethod::AuthenticationTransfer)
                            }
                            Some(s) => bad(
                                p,
                                kp2,
                                ProblemKind::Invalid,
                                format!("`{s}` is not a transfer method"),
                            ),
                        },
                        _ => p.push(unknown_key(&kp, k2, "authenticationFlow")),
                    }
                }
            }
            // Cannot change any answer (see the module documentation).
            "country"
            | "signInRiskLevel"
            | "userRiskLevel"
            | "servicePrincipalRiskLevel"
            | "insiderRiskLevel"
            | "agentIdRiskLevel"
            | "deviceInfo" => {}
            _ => p.push(unknown_key(path, k, "signInConditions")),
        }
    }
    Some(c)
}

impl WhatIfRequest {
    /// The sign-in facts the request describes, at `now`. `identity` is what the
    /// server knows of the request's user (groups, roles) or service principal; it
    /// must be the one the request names. The application resolves through
    /// `directory` to a client (the sign-in's client) or a resource (the sign-in's
    /// resource, with no client).
    pub fn to_facts(
        &self,
        directory: &dyn Directory,
        identity: Identity,
        now: i64,
    ) -> Result<SignInFacts, Error> {
        let same = match (&self.identity, &identity) {
            (WhatIfIdentity::User { user_id }, Identity::User(u)) => *user_id == u.id,
            (
                WhatIfIdentity::ServicePrincipal {
                    service_principal_id,
                },
                Identity::ServicePrincipal(s),
            ) => *service_principal_id == s.service_principal_id,
            _ => false,
        };
        if !same {
            return Err(Error::one(Problem::new(
                "$.signInIdentity",
                ProblemKind::Invalid,
                "the identity supplied is not the one the request names",
            )));
        }
        let (client_id, resource) = match directory.application(&self.application) {
            Some(AppRef::Client(c)) => (c, None),
            Some(AppRef::Resource(r)) => (String::new(), Some(r)),
            None => {
                return Err(Error::one(Problem::new(
                    "$.signInContext.includeApplications[0]",
                    ProblemKind::Unresolved,
                    format!("application `{}` is not in this tenant; give a client id or a resource identifier", self.application),
                )))
            }
        };
        let mut facts = SignInFacts {
            version: FACTS_VERSION,
            now,
            identity,
            client_id,
            resource,
            ip_address: self.conditions.ip_address,
            device_platform: self.conditions.device_platform,
            client_app_type: self.conditions.client_app_type,
            authentication_flow: self.conditions.authentication_flow,
            interactive: true,
            authentication: Default::default(),
        };
        facts.authentication.auth_time = Some(now);
        facts.normalize();
        Ok(facts)
    }
}

/// Evaluates `facts` (from [`WhatIfRequest::to_facts`]) and answers like Graph.
pub fn what_if(set: &PolicySet, request: &WhatIfRequest, facts: &SignInFacts) -> WhatIfResponse {
    let evaluation = evaluate(set, facts);
    let value = set
        .sources()
        .zip(&evaluation.policies)
        .filter(|(_, r)| !request.applied_policies_only || r.applies())
        .map(|(pol, r)| WhatIfAnalysisResult {
            policy: pol.clone(),
            policy_applies: r.applies(),
            analysis_reasons: r.analysis_reasons(),
        })
        .collect();
    WhatIfResponse { value, evaluation }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::directory::DirectoryTables;
    use crate::facts::{ServicePrincipalFacts, UserFacts};
    use crate::parse::parse_policies;

    const NOW: i64 = 1_750_000_000;

    fn dir() -> DirectoryTables {
        DirectoryTables {
            users: vec![("u1".into(), "ada@example.com".into())],
            groups: vec![("g1".into(), "Staff".into())],
            clients: vec!["c1".into(), "svc".into()],
            resources: vec!["api://analytics".into()],
            service_principals: vec!["svc".into()],
            ..Default::default()
        }
    }

    fn set() -> PolicySet {
        let p = parse_policies(
            br#"[
            {"id":"mfa","displayName":"MFA for staff","state":"enabled","conditions":{"users":{"includeGroups":["g1"]},"applications":{"includeApplications":["api://analytics"]},"clientAppTypes":["browser"]},"grantControls":{"operator":"OR","builtInControls":["mfa"]}},
            {"id":"ios","displayName":"Block iOS","state":"enabledForReportingButNotEnforced","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"platforms":{"includePlatforms":["iOS"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}},
            {"id":"off","displayName":"Off","state":"disabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}},
            {"id":"wl","displayName":"Workloads","state":"enabled","conditions":{"users":{"includeUsers":["None"]},"applications":{"includeApplications":["All"]},"clientApplications":{"includeServicePrincipals":["ServicePrincipalsInMyTenant"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}
        ]"#,
        )
        .expect("parses");
        compile(&p, &[], &dir()).expect("compiles")
    }

    fn user() -> Identity {
        Identity::User(UserFacts {
            id: "u1".into(),
            groups: vec!["g1".into()],
            ..Default::default()
        })
    }

    const REQ: &str = r##"{
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "u1"},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": ["api://analytics"]},
        "signInConditions": {"devicePlatform": "android", "clientAppType": "browser", "signInRiskLevel": "high",
            "country": "US", "ipAddress": "40.77.182.32", "authenticationFlow": {"transferMethod": "deviceCodeFlow"},
            "deviceInfo": {"isCompliant": true}},
        "appliedPoliciesOnly": false
    }"##;

    #[test]
    fn graph_shaped_answer_from_the_evaluator() {
        let req = parse_what_if(REQ.as_bytes()).expect("parses");
        assert_eq!(
            req.conditions.device_platform,
            Some(DevicePlatform::Android)
        );
        assert_eq!(
            req.conditions.authentication_flow,
            Some(TransferMethod::DeviceCodeFlow)
        );
        let facts = req.to_facts(&dir(), user(), NOW).expect("facts");
        assert_eq!(facts.resource.as_deref(), Some("api://analytics"));
        assert_eq!(facts.client_id, "");
        let set = set();
        let r = what_if(&set, &req, &facts);
        let got: Vec<(&str, bool, &str)> = r
            .value
            .iter()
            .map(|w| {
                (
                    w.policy.id.as_deref().unwrap_or(""),
                    w.policy_applies,
                    w.analysis_reasons,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("mfa", true, "notSet"),
                ("ios", false, "devicePlatform"),
                ("off", false, "policyNotEnabled"),
                ("wl", false, "users"),
            ]
        );
        assert_eq!(r.evaluation, evaluate(&set, &facts), "the same code path");
        let v = serde_json::to_value(&r).expect("serializes");
        assert_eq!(v["value"][0]["displayName"], "MFA for staff");
        assert_eq!(v["value"][0]["policyApplies"], true);
        assert_eq!(v["value"][0]["conditions"]["clientAppTypes"][0], "browser");
        assert_eq!(v["value"][1]["analysisReasons"], "devicePlatform");
        // appliedPoliciesOnly
        let only = parse_what_if(
            REQ.replace(
                "\"appliedPoliciesOnly\": false",
                "\"appliedPoliciesOnly\": true",
            )
            .as_bytes(),
        )
        .expect("parses");
        assert_eq!(what_if(&set, &only, &facts).value.len(), 1);
    }

    #[test]
    fn service_principal_what_if() {
        let body = r##"{"signInIdentity":{"@odata.type":"#microsoft.graph.servicePrincipalSignIn","servicePrincipalId":"svc"},
            "signInContext":{"@odata.type":"#microsoft.graph.applicationContext","includeApplications":["api://analytics"]},
            "signInConditions":{"servicePrincipalRiskLevel":"high","country":"CA","ipAddress":"40.77.182.32"},"appliedPoliciesOnly":true}"##;
        let req = parse_what_if(body.as_bytes()).expect("parses");
        let id = Identity::ServicePrincipal(ServicePrincipalFacts {
            service_principal_id: "svc".into(),
        });
        let facts = req.to_facts(&dir(), id, NOW).expect("facts");
        let r = what_if(&set(), &req, &facts);
        assert_eq!(r.value.len(), 1);
        assert_eq!(r.value[0].policy.id.as_deref(), Some("wl"));
        assert!(matches!(
            r.evaluation.decision,
            crate::Decision::Blocked { .. }
        ));
    }

    #[test]
    fn refusals_with_paths() {
        let path = |s: &str| match parse_what_if(s.as_bytes()) {
            Ok(_) => String::new(),
            Err(e) => e.problems[0].path.clone(),
        };
        assert_eq!(
            path(&REQ.replace(
                "#microsoft.graph.applicationContext",
                "#microsoft.graph.userActionContext"
            )),
            "$.signInContext[\"@odata.type\"]"
        );
        assert_eq!(
            path(&REQ.replace("[\"api://analytics\"]", "[\"a\",\"b\"]")),
            "$.signInContext.includeApplications[1]"
        );
        assert_eq!(
            path(&REQ.replace("\"devicePlatform\"", "\"DevicePlatform\"")),
            "$.signInConditions.DevicePlatform"
        );
        assert_eq!(
            path(&REQ.replace("40.77.182.32", "not-an-ip")),
            "$.signInConditions.ipAddress"
        );
        assert_eq!(
            path(r#"{"signInContext":{"includeApplications":["c1"]}}"#),
            "$.signInIdentity"
        );
        let req = parse_what_if(REQ.as_bytes()).expect("parses");
        let e = req
            .to_facts(
                &dir(),
                Identity::User(UserFacts {
                    id: "someone-else".into(),
                    ..Default::default()
                }),
                NOW,
            )
            .expect_err("wrong identity");
        assert_eq!(e.problems[0].path, "$.signInIdentity");
        let unknown =
            parse_what_if(REQ.replace("api://analytics", "api://nope").as_bytes()).expect("parses");
        let e = unknown
            .to_facts(&dir(), user(), NOW)
            .expect_err("unknown app");
        assert_eq!(e.problems[0].kind, ProblemKind::Unresolved);
    }
}
