//! Back to Graph JSON. What [`crate::parse`] reads, these write; importing the output
//! again gives the same values (tested on every policy of the corpus).

use crate::graph::{ConditionalAccessPolicy, NamedLocation};

/// One policy as Graph JSON.
pub fn policy_json(policy: &ConditionalAccessPolicy) -> serde_json::Value {
    serde_json::to_value(policy).unwrap_or(serde_json::Value::Null)
}

/// Policies as a Graph collection (`{"value": […]}`), as bytes.
pub fn policies_json(policies: &[ConditionalAccessPolicy]) -> Vec<u8> {
    serde_json::to_vec_pretty(&serde_json::json!({ "value": policies })).unwrap_or_default()
}

/// Named locations as a Graph collection (`{"value": […]}`), as bytes.
pub fn named_locations_json(locations: &[NamedLocation]) -> Vec<u8> {
    serde_json::to_vec_pretty(&serde_json::json!({ "value": locations })).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_named_locations, parse_policies};

    #[test]
    fn round_trip() {
        let src = r#"{"id":"p","displayName":"P","state":"enabledForReportingButNotEnforced","conditions":{"users":{"includeUsers":["All"],"excludeGroups":["g"],"excludeGuestsOrExternalUsers":{"guestOrExternalUserTypes":"b2bCollaborationGuest","externalTenants":{"membershipKind":"all"}}},"applications":{"includeApplications":["All"]},"clientAppTypes":["browser"],"platforms":{"includePlatforms":["all"],"excludePlatforms":["iOS"]},"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]},"authenticationFlows":{"transferMethods":"deviceCodeFlow,authenticationTransfer"}},"grantControls":{"operator":"AND","builtInControls":["mfa","passwordChange"],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000002","displayName":"Multifactor authentication","allowedCombinations":["password,sms"]}},"sessionControls":{"signInFrequency":{"frequencyInterval":"everyTime","isEnabled":true},"persistentBrowser":{"mode":"never","isEnabled":true}}}"#;
        let a = parse_policies(src.as_bytes()).expect("parses");
        let b = parse_policies(&policies_json(&a)).expect("re-imports");
        assert_eq!(a, b);
        let one = serde_json::to_vec(&policy_json(&a[0])).expect("bytes");
        assert_eq!(parse_policies(&one).expect("re-imports one"), a);
        let loc = r#"{"displayName":"HQ","isTrusted":true,"ipRanges":[{"cidrAddress":"10.0.0.0/8"},{"cidrAddress":"2001:db8::/32"}]}"#;
        let l = parse_named_locations(loc.as_bytes()).expect("parses");
        let out = named_locations_json(&l);
        assert_eq!(parse_named_locations(&out).expect("re-imports"), l);
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains("#microsoft.graph.iPv6CidrRange"), "{text}");
    }
}
