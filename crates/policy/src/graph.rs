//! The Microsoft Graph model Portvakt imports, stores and exports: the subset of
//! `conditionalAccessPolicy` and `ipNamedLocation` it implements, normalised.
//!
//! Values come only from [`crate::parse`] (which refuses what is not implemented),
//! and go back out as Graph JSON through `Serialize` ([`crate::export`]); exporting
//! and importing again gives the same value. Empty conditions are `None`; defaults
//! Graph leaves implicit (`operator`, `frequencyInterval`, `authenticationType`) are
//! written out.

use crate::cidr::IpCidr;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// Graph `conditionalAccessPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalAccessPolicy {
    /// Graph `id`. Absent in templates and POST bodies; Portvakt assigns one at import
    /// ([`ConditionalAccessPolicy::with_id`]) and [`crate::compile()`] requires it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Graph `displayName` (required).
    pub display_name: String,
    /// Graph `description` ("not used" by Entra; kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Graph `state`.
    pub state: PolicyState,
    /// Graph `templateId`: the Microsoft template the policy came from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// Graph `createdDateTime`, as given (RFC 3339); this crate has no clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date_time: Option<String>,
    /// Graph `modifiedDateTime`, as given (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_date_time: Option<String>,
    /// Graph `conditions` (`conditionalAccessConditionSet`).
    pub conditions: ConditionSet,
    /// Graph `grantControls`; `None` for a session-only policy.
    pub grant_controls: Option<GrantControls>,
    /// Graph `sessionControls`.
    pub session_controls: Option<SessionControls>,
}

impl ConditionalAccessPolicy {
    /// The policy with its `id` set (what an import does to a template).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// `'displayName' (id …)`, as error messages name a policy.
    pub fn label(&self) -> String {
        match &self.id {
            Some(id) => format!("'{}' (id {id})", self.display_name),
            None => format!("'{}' (no id)", self.display_name),
        }
    }
}

/// Graph `conditionalAccessPolicyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyState {
    /// Enforced.
    Enabled,
    /// Skipped (result `notEnabled`).
    Disabled,
    /// Report-only: evaluated and recorded, never changes the decision.
    EnabledForReportingButNotEnforced,
}

/// Graph `conditionalAccessConditionSet`, the implemented part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionSet {
    /// `users`: who (a user-targeting policy).
    pub users: Option<Users>,
    /// `applications`: which client apps or resources.
    pub applications: Option<Applications>,
    /// `clientApplications`: which service principals (a workload-identity policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_applications: Option<ClientApplications>,
    /// `clientAppTypes`; empty or `all` matches every client app type.
    pub client_app_types: Vec<ClientAppType>,
    /// `platforms`.
    pub platforms: Option<Platforms>,
    /// `locations`.
    pub locations: Option<Locations>,
    /// `authenticationFlows`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_flows: Option<AuthenticationFlows>,
}

/// Graph `conditionalAccessUsers`. References are user ids or UPNs, group ids or
/// display names, role template ids or names; `All`, `None` and
/// `GuestsOrExternalUsers` are keywords.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Users {
    /// `includeUsers`.
    pub include_users: Vec<String>,
    /// `excludeUsers`.
    pub exclude_users: Vec<String>,
    /// `includeGroups`.
    pub include_groups: Vec<String>,
    /// `excludeGroups`.
    pub exclude_groups: Vec<String>,
    /// `includeRoles`.
    pub include_roles: Vec<String>,
    /// `excludeRoles`.
    pub exclude_roles: Vec<String>,
    /// `includeGuestsOrExternalUsers`: accepted, matches nobody (Portvakt has no
    /// guests or external users).
    pub include_guests_or_external_users: Option<GuestsOrExternalUsers>,
    /// `excludeGuestsOrExternalUsers`: accepted, excludes nobody.
    pub exclude_guests_or_external_users: Option<GuestsOrExternalUsers>,
}

/// Graph `conditionalAccessGuestsOrExternalUsers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestsOrExternalUsers {
    /// `guestOrExternalUserTypes`, the comma-joined flag enumeration as given.
    pub guest_or_external_user_types: String,
    /// `externalTenants`.
    pub external_tenants: Option<ExternalTenants>,
}

/// Graph `conditionalAccessExternalTenants` (`…AllExternalTenants` or
/// `…EnumeratedExternalTenants`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalTenants {
    /// `membershipKind`: `all` or `enumerated`.
    pub membership_kind: String,
    /// `members` (enumerated only).
    pub members: Vec<String>,
}

impl Serialize for ExternalTenants {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let enumerated = self.membership_kind == "enumerated";
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "@odata.type",
            if enumerated {
                "#microsoft.graph.conditionalAccessEnumeratedExternalTenants"
            } else {
                "#microsoft.graph.conditionalAccessAllExternalTenants"
            },
        )?;
        m.serialize_entry("membershipKind", &self.membership_kind)?;
        if enumerated {
            m.serialize_entry("members", &self.members)?;
        }
        m.end()
    }
}

/// Graph `conditionalAccessApplications`, the implemented part. References are client
/// ids or resource identifiers; `All`, `None`, `Office365` and
/// `MicrosoftAdminPortals` are keywords.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applications {
    /// `includeApplications`.
    pub include_applications: Vec<String>,
    /// `excludeApplications`.
    pub exclude_applications: Vec<String>,
}

/// Graph `conditionalAccessClientApplications`: the service principals (confidential
/// clients using client credentials) a workload-identity policy targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientApplications {
    /// `includeServicePrincipals`: client ids, or `ServicePrincipalsInMyTenant`.
    pub include_service_principals: Vec<String>,
    /// `excludeServicePrincipals`: client ids.
    pub exclude_service_principals: Vec<String>,
}

/// Graph `conditionalAccessClientApp`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum ClientAppType {
    /// Every client app type.
    All,
    /// A browser (authorization-code flows of web apps and SPAs).
    Browser,
    /// Native and desktop apps, and the device-code flow.
    MobileAppsAndDesktopClients,
    /// Exchange ActiveSync: accepted, never seen by Portvakt.
    ExchangeActiveSync,
    /// Exchange ActiveSync on supported platforms: accepted, never seen by Portvakt.
    EasSupported,
    /// The deprecated name of `exchangeActiveSync`: accepted, never seen by Portvakt.
    EasUnsupported,
    /// Everything else (legacy protocols in Entra; unclassified clients in Portvakt).
    Other,
}

impl ClientAppType {
    /// Graph's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Browser => "browser",
            Self::MobileAppsAndDesktopClients => "mobileAppsAndDesktopClients",
            Self::ExchangeActiveSync => "exchangeActiveSync",
            Self::EasSupported => "easSupported",
            Self::EasUnsupported => "easUnsupported",
            Self::Other => "other",
        }
    }

    pub(crate) const ALL: [Self; 7] = [
        Self::All,
        Self::Browser,
        Self::MobileAppsAndDesktopClients,
        Self::ExchangeActiveSync,
        Self::EasSupported,
        Self::EasUnsupported,
        Self::Other,
    ];
}

/// Graph `conditionalAccessDevicePlatform` without `all`: a platform a sign-in can be
/// on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
pub enum DevicePlatform {
    /// `android`.
    #[serde(rename = "android")]
    Android,
    /// `iOS` (iPadOS that presents itself as macOS counts as macOS, as in Entra).
    #[serde(rename = "iOS")]
    IOS,
    /// `windows`.
    #[serde(rename = "windows")]
    Windows,
    /// `windowsPhone`.
    #[serde(rename = "windowsPhone")]
    WindowsPhone,
    /// `macOS`.
    #[serde(rename = "macOS")]
    MacOS,
    /// `linux`.
    #[serde(rename = "linux")]
    Linux,
}

impl DevicePlatform {
    /// Graph's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Android => "android",
            Self::IOS => "iOS",
            Self::Windows => "windows",
            Self::WindowsPhone => "windowsPhone",
            Self::MacOS => "macOS",
            Self::Linux => "linux",
        }
    }

    pub(crate) const ALL: [Self; 6] = [
        Self::Android,
        Self::IOS,
        Self::Windows,
        Self::WindowsPhone,
        Self::MacOS,
        Self::Linux,
    ];

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// One entry of `includePlatforms` / `excludePlatforms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformSelector {
    /// `all`: every platform, including unknown ones.
    All,
    /// One platform.
    Platform(DevicePlatform),
}

impl Serialize for PlatformSelector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::All => s.serialize_str("all"),
            Self::Platform(p) => s.serialize_str(p.as_str()),
        }
    }
}

/// Graph `conditionalAccessPlatforms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Platforms {
    /// `includePlatforms` (non-empty).
    pub include_platforms: Vec<PlatformSelector>,
    /// `excludePlatforms` (never `all`).
    pub exclude_platforms: Vec<PlatformSelector>,
}

/// Graph `conditionalAccessLocations`. References are named-location ids or display
/// names; `All` and `AllTrusted` are keywords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Locations {
    /// `includeLocations` (non-empty).
    pub include_locations: Vec<String>,
    /// `excludeLocations`.
    pub exclude_locations: Vec<String>,
}

/// Graph `conditionalAccessTransferMethods` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferMethod {
    /// The OAuth 2.0 device authorization grant (RFC 8628).
    DeviceCodeFlow,
    /// Entra's authentication transfer between devices: accepted, never seen by
    /// Portvakt.
    AuthenticationTransfer,
}

impl TransferMethod {
    /// Graph's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeviceCodeFlow => "deviceCodeFlow",
            Self::AuthenticationTransfer => "authenticationTransfer",
        }
    }
}

/// Graph `conditionalAccessAuthenticationFlows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationFlows {
    /// `transferMethods` (Graph writes the flag enumeration comma-joined).
    pub transfer_methods: Vec<TransferMethod>,
}

impl Serialize for AuthenticationFlows {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let joined = self
            .transfer_methods
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("transferMethods", &joined)?;
        m.end()
    }
}

/// Graph `conditionalAccessGrantControls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantControls {
    /// `operator`: `AND` or `OR` (Graph's default `OR` is written out).
    pub operator: GrantOperator,
    /// `builtInControls`.
    pub built_in_controls: Vec<BuiltInControl>,
    /// `customAuthenticationFactors`: accepted, fail closed.
    pub custom_authentication_factors: Vec<String>,
    /// `termsOfUse`: accepted, fail closed.
    pub terms_of_use: Vec<String>,
    /// `authenticationStrength`.
    pub authentication_strength: Option<AuthenticationStrength>,
}

/// Graph `conditionalAccessGrantControls.operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum GrantOperator {
    /// Every control.
    #[serde(rename = "AND")]
    And,
    /// Any one control.
    #[serde(rename = "OR")]
    Or,
}

/// Graph `conditionalAccessGrantControl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BuiltInControl {
    /// Block access.
    Block,
    /// Require multifactor authentication.
    Mfa,
    /// Require a password change.
    PasswordChange,
    /// Require a compliant device: accepted, fails closed (needs Intune).
    CompliantDevice,
    /// Require a hybrid-joined device: accepted, fails closed (needs Entra join).
    DomainJoinedDevice,
    /// Require an approved client app: accepted, fails closed (needs Intune).
    ApprovedApplication,
    /// Require an app protection policy: accepted, fails closed (needs Intune).
    CompliantApplication,
    /// Require risk remediation: accepted, fails closed (needs Identity Protection).
    RiskRemediation,
}

impl BuiltInControl {
    /// Graph's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Mfa => "mfa",
            Self::PasswordChange => "passwordChange",
            Self::CompliantDevice => "compliantDevice",
            Self::DomainJoinedDevice => "domainJoinedDevice",
            Self::ApprovedApplication => "approvedApplication",
            Self::CompliantApplication => "compliantApplication",
            Self::RiskRemediation => "riskRemediation",
        }
    }
}

/// Graph `authenticationStrengthPolicy`, by reference. A strength is identified by its
/// `id`; the other properties an export carries are Graph's read-only copy of it and
/// are not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationStrength {
    /// `id`; `00000000-0000-0000-0000-000000000002` is the built-in "Multifactor
    /// authentication" strength, the only one Portvakt satisfies.
    pub id: String,
    /// `displayName`, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// The id of Entra's built-in "Multifactor authentication" authentication strength.
pub const MFA_STRENGTH_ID: &str = "00000000-0000-0000-0000-000000000002";

/// Graph `conditionalAccessSessionControls`, the implemented part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionControls {
    /// `signInFrequency` (only when enabled).
    pub sign_in_frequency: Option<SignInFrequency>,
    /// `persistentBrowser` (only when enabled).
    pub persistent_browser: Option<PersistentBrowser>,
    /// `disableResilienceDefaults`: Portvakt never extends sessions on an outage, so
    /// `true` already holds; kept for export.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable_resilience_defaults: bool,
}

/// Graph `signInFrequencySessionControl` (enabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInFrequency {
    /// `frequencyInterval` and, for `timeBased`, `value` + `type`.
    pub interval: FrequencyInterval,
}

/// When a sign-in must be interactive again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrequencyInterval {
    /// `timeBased`: `value` hours or days after the last interactive authentication.
    TimeBased {
        /// `value` (at least 1).
        value: u32,
        /// `type`.
        unit: FrequencyUnit,
    },
    /// `everyTime`: every evaluation needs a fresh interactive authentication
    /// (Entra allows five minutes of clock skew; so does Portvakt).
    EveryTime,
}

/// Graph `signinFrequencyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrequencyUnit {
    /// `hours`.
    Hours,
    /// `days`.
    Days,
}

impl FrequencyInterval {
    /// The longest allowed age of the authentication, in seconds (`everyTime`: the
    /// five-minute skew).
    pub fn max_age_secs(self) -> i64 {
        match self {
            Self::TimeBased { value, unit } => {
                i64::from(value)
                    * match unit {
                        FrequencyUnit::Hours => 3600,
                        FrequencyUnit::Days => 86_400,
                    }
            }
            Self::EveryTime => crate::evaluate::EVERY_TIME_SKEW_SECS,
        }
    }
}

impl Serialize for SignInFrequency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.interval {
            FrequencyInterval::TimeBased { value, unit } => {
                m.serialize_entry("value", &value)?;
                m.serialize_entry(
                    "type",
                    match unit {
                        FrequencyUnit::Hours => "hours",
                        FrequencyUnit::Days => "days",
                    },
                )?;
                m.serialize_entry("frequencyInterval", "timeBased")?;
            }
            FrequencyInterval::EveryTime => {
                m.serialize_entry("value", &None::<u32>)?;
                m.serialize_entry("type", &None::<&str>)?;
                m.serialize_entry("frequencyInterval", "everyTime")?;
            }
        }
        m.serialize_entry("authenticationType", "primaryAndSecondaryAuthentication")?;
        m.serialize_entry("isEnabled", &true)?;
        m.end()
    }
}

/// Graph `persistentBrowserSessionControl` (enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersistentBrowser {
    /// `mode`.
    pub mode: PersistentBrowserMode,
}

impl Serialize for PersistentBrowser {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("mode", &self.mode)?;
        m.serialize_entry("isEnabled", &true)?;
        m.end()
    }
}

/// Graph `persistentBrowserSessionMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PersistentBrowserMode {
    /// The browser session survives closing the browser.
    Always,
    /// The session cookie is a session cookie: closing the browser ends it.
    Never,
}

/// Graph `ipNamedLocation` (the only kind of `namedLocation` Portvakt can evaluate:
/// `countryNamedLocation` needs a GeoIP database, `compliantNetworkNamedLocation`
/// needs Global Secure Access).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedLocation {
    /// `id` (absent in POST bodies; then the location is referenced by display name).
    pub id: Option<String>,
    /// `displayName`.
    pub display_name: String,
    /// `isTrusted`: whether `AllTrusted` includes it.
    pub is_trusted: bool,
    /// `ipRanges[].cidrAddress`, IPv4 and IPv6.
    pub ip_ranges: Vec<IpCidr>,
    /// `createdDateTime`, as given.
    pub created_date_time: Option<String>,
    /// `modifiedDateTime`, as given.
    pub modified_date_time: Option<String>,
}

impl NamedLocation {
    /// The location with its `id` set.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

impl Serialize for NamedLocation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Range<'a>(&'a IpCidr);
        impl Serialize for Range<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry(
                    "@odata.type",
                    if self.0.is_ipv6() {
                        "#microsoft.graph.iPv6CidrRange"
                    } else {
                        "#microsoft.graph.iPv4CidrRange"
                    },
                )?;
                m.serialize_entry("cidrAddress", &self.0.to_string())?;
                m.end()
            }
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@odata.type", "#microsoft.graph.ipNamedLocation")?;
        if let Some(id) = &self.id {
            m.serialize_entry("id", id)?;
        }
        m.serialize_entry("displayName", &self.display_name)?;
        if let Some(t) = &self.created_date_time {
            m.serialize_entry("createdDateTime", t)?;
        }
        if let Some(t) = &self.modified_date_time {
            m.serialize_entry("modifiedDateTime", t)?;
        }
        m.serialize_entry("isTrusted", &self.is_trusted)?;
        let ranges: Vec<Range<'_>> = self.ip_ranges.iter().map(Range).collect();
        m.serialize_entry("ipRanges", &ranges)?;
        m.end()
    }
}
