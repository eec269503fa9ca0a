//! # portvakt-policy
//!
//! Conditional Access for Portvakt, compatible with Microsoft Entra ID's Graph JSON:
//!
//! 1. [`parse_policies`] / [`parse_named_locations`] import Graph
//!    `conditionalAccessPolicy` and `ipNamedLocation` JSON strictly (UTF-8 ± BOM or
//!    UTF-16 with BOM; one object, an array, or a `{"value": […]}` collection).
//! 2. [`compile()`] resolves every reference through a [`Directory`] into a
//!    [`PolicySet`]; a reference the tenant does not have is refused with its path.
//! 3. [`evaluate()`] takes a [`PolicySet`] and one sign-in's [`SignInFacts`] and returns
//!    an [`Evaluation`]: the decision, the session controls, and Graph's
//!    `appliedConditionalAccessPolicy` for every policy.
//! 4. [`what_if()`] answers Graph's `POST /identity/conditionalAccess/evaluate` with the
//!    same evaluator.
//! 5. [`export`] writes the policies back as Graph JSON.
//!
//! Architecture invariant: nothing here performs I/O or reads the clock (enforced by
//! `clippy.toml`'s `disallowed-methods`). Time (`now`) is a field of the facts.
//!
//! ## What Portvakt implements of Graph
//!
//! Every Graph feature is in one of four categories. *Refused* means the import fails
//! at the feature's JSON path when it is used (a value that is `null`, `false`, `""`
//! or `[]` is not a use: real exports carry every field).
//!
//! | Graph feature | category |
//! |---|---|
//! | `users`: `includeUsers`/`excludeUsers` (ids, UPNs, `All`, `None`), groups (ids, names), roles (template ids, names) | implemented |
//! | `users`: `GuestsOrExternalUsers`, `include`/`excludeGuestsOrExternalUsers` | accepted, matches nobody |
//! | `applications`: `include`/`excludeApplications` (client ids, resource identifiers, `All`, `None`) | implemented |
//! | `applications`: `MicrosoftAdminPortals` | implemented: the directory's admin clients/resource |
//! | `applications`: `Office365` | accepted, matches nobody |
//! | `applications`: `includeUserActions`, `includeAuthenticationContextClassReferences`, `applicationFilter`, `networkAccess`, `globalSecureAccess` | refused |
//! | `clientApplications`: `include`/`excludeServicePrincipals`, `ServicePrincipalsInMyTenant` | implemented (block only, as in Entra) |
//! | `clientApplications`: `servicePrincipalFilter`, agent service principals | refused |
//! | `clientAppTypes`: `all`, `browser`, `mobileAppsAndDesktopClients`, `other` | implemented |
//! | `clientAppTypes`: `exchangeActiveSync`, `easSupported`, `easUnsupported` | accepted, matches nobody |
//! | `platforms`: `all`, `android`, `iOS`, `windows`, `windowsPhone`, `macOS`, `linux` | implemented |
//! | `locations`: named-location ids or names, `All`, `AllTrusted` | implemented (IPv4 and IPv6) |
//! | `authenticationFlows.transferMethods`: `deviceCodeFlow` | implemented |
//! | `authenticationFlows.transferMethods`: `authenticationTransfer` | accepted, matches nobody |
//! | `userRiskLevels`, `signInRiskLevels`, `servicePrincipalRiskLevels`, `insiderRiskLevels`, `agentIdRiskLevels` | refused |
//! | `devices` (filter, devices, device states), `deviceStates`, `times`, `agents`, `clients` | refused |
//! | grant `block`, `mfa`, `passwordChange`; `operator` `AND`/`OR` | implemented |
//! | grant `authenticationStrength` = built-in Multifactor authentication (`…0002`) | implemented (as `mfa`) |
//! | grant `compliantDevice`, `domainJoinedDevice`, `approvedApplication`, `compliantApplication`, `riskRemediation`, other authentication strengths, `termsOfUse`, `customAuthenticationFactors` | accepted, fails closed |
//! | session `signInFrequency` (`timeBased` hours/days, `everyTime`; primary and secondary) | implemented |
//! | session `signInFrequency.authenticationType: secondaryAuthentication` | refused |
//! | session `persistentBrowser` (`always`, `never`) | implemented |
//! | session `disableResilienceDefaults` | implemented (Portvakt never extends sessions on an outage) |
//! | session `applicationEnforcedRestrictions`, `cloudAppSecurity`, `continuousAccessEvaluation`, `secureSignInSession`, `blockSensitiveActions`, `networkAccessSecurity`, `globalSecureAccessFilteringProfile` | refused |
//! | policy `deletedDateTime`, `partialEnablementStrategy` | refused |
//! | `ipNamedLocation` (`iPv4CidrRange`, `iPv6CidrRange`, `isTrusted`) | implemented |
//! | `countryNamedLocation` (needs GeoIP), `compliantNetworkNamedLocation` | refused |
//! | keys not in Graph's schema (case-sensitive), e.g. `GrantControls`, nis2's `locationType`/`note`/`ipRanges[].description` | refused |
//! | OData annotations (`@odata.*`, `…@odata.*`), action keys (`#microsoft.graph.*`) | ignored |

pub mod agent;
pub mod cidr;
pub mod compile;
pub mod directory;
pub mod error;
pub mod evaluate;
pub mod export;
pub mod facts;
pub mod graph;
mod json;
pub mod parse;
pub mod whatif;

pub use compile::{compile, PolicyMeta, PolicySet};
pub use directory::{AppRef, Directory, DirectoryTables, PermissiveDirectory};
pub use error::{Error, Problem, ProblemKind};
pub use evaluate::{
    evaluate, AppliedResult, ConditionalAccessStatus, Decision, Evaluation, Interaction, Outcome,
    PolicyResult, Required,
};
pub use facts::{
    AuthenticationFacts, Identity, ServicePrincipalFacts, SignInFacts, UserFacts, FACTS_VERSION,
};
pub use graph::{ConditionalAccessPolicy, NamedLocation};
pub use parse::{parse_named_locations, parse_policies};
pub use whatif::{parse_what_if, what_if, WhatIfAnalysisResult, WhatIfRequest, WhatIfResponse};
