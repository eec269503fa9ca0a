//! Policy replay: what would a proposed or changed Conditional Access policy set have
//! done to the sign-ins that already happened? Every past sign-in carries the facts
//! it was evaluated on; replay evaluates them under the policies in force now and
//! under the proposal, and reports what changes — sign-ins and users newly blocked,
//! newly asked for MFA (or another interaction), no longer affected — with counts, the
//! first examples and a breakdown per application. Nothing is written.
//!
//! Entra has report-only (which looks forward from when it is switched on) and
//! What-If (one imagined sign-in); replay answers *whom would this policy have
//! blocked?* over the log.

use crate::access::{parse_stored, tables, Resolvable};
use crate::error::ApiError;
use crate::state::AppState;
use portvakt_core::signin::facts_with;
use portvakt_core::ErrorCode;
use portvakt_policy::{compile, evaluate, Decision, PolicySet};
use portvakt_store::{Directory, SignInQuery, StoredGraphObject};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Sign-ins read per page.
const PAGE: u32 = 5000;

/// What a sign-in's decision was, for comparing two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Allowed,
    Blocked,
    Interaction { mfa: bool },
}

fn verdict(d: &Decision, mfa: bool) -> Verdict {
    match d {
        Decision::Allowed => Verdict::Allowed,
        Decision::Blocked { .. } | Decision::FailedClosed { .. } => Verdict::Blocked,
        Decision::InteractionRequired { .. } => Verdict::Interaction { mfa },
    }
}

/// One changed sign-in, as an example.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Example {
    /// The record's correlation id (its id in the log's API).
    pub correlation_id: String,
    /// When.
    pub created_date_time: String,
    /// Who.
    pub user_principal_name: Option<String>,
    /// The client.
    pub app_id: String,
    /// The decision now.
    pub before: &'static str,
    /// The decision with the proposal.
    pub after: &'static str,
}

/// One kind of change.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Sign-ins.
    pub sign_ins: u64,
    /// Distinct users (user principal names; service principals by client id).
    pub users: Vec<String>,
    /// The first examples.
    pub examples: Vec<Example>,
    /// Sign-ins per application (client id).
    pub per_application: BTreeMap<String, u64>,
}

/// The result of a replay.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    /// Sign-ins looked at.
    pub replayed: u64,
    /// Sign-ins in the window that could not be replayed (no facts stored with them,
    /// or facts of a version this server does not read).
    pub not_replayable: u64,
    /// Newly blocked (blocked or failing closed with the proposal, not now).
    pub newly_blocked: Change,
    /// Newly asked for MFA.
    pub newly_mfa: Change,
    /// Newly asked for another interaction (sign-in frequency, a password change).
    pub newly_interaction: Change,
    /// Affected now, not with the proposal.
    pub no_longer_affected: Change,
    /// The window, as given.
    pub since: String,
}

fn name(v: Verdict) -> &'static str {
    match v {
        Verdict::Allowed => "allowed",
        Verdict::Blocked => "blocked",
        Verdict::Interaction { mfa: true } => "mfa",
        Verdict::Interaction { mfa: false } => "interaction",
    }
}

impl Change {
    fn add(&mut self, ex: Example, who: String, max_examples: usize, users: &mut BTreeSet<String>) {
        self.sign_ins += 1;
        *self.per_application.entry(ex.app_id.clone()).or_default() += 1;
        if users.insert(who.clone()) {
            self.users.push(who);
        }
        if self.examples.len() < max_examples {
            self.examples.push(ex);
        }
    }
}

/// The tenant's policy set now, and with `proposal` (Graph policy objects: new ones,
/// or changed ones by id or display name) and/or one policy switched to `state`.
pub async fn sets(
    st: &AppState,
    d: &Directory,
    proposal: &[serde_json::Value],
    policy_state: Option<(&str, &str)>,
) -> Result<(PolicySet, PolicySet), ApiError> {
    let names = st.store.directory_names(&d.tenant.id).await?;
    let dir = tables(Some(&names), &d.roles, &d.applications, &d.resources);
    let (now_p, locs) = parse_stored(&d.policies, &d.named_locations)
        .map_err(|e| ApiError::new(ErrorCode::PoliciesUnavailable, e.to_string()))?;
    let current = compile(&now_p, &locs, &dir)
        .map_err(|e| ApiError::new(ErrorCode::PoliciesUnavailable, e.to_string()))?;
    let mut values: Vec<serde_json::Value> = proposal.to_vec();
    if let Some((id, state)) = policy_state {
        let found = d
            .policies
            .iter()
            .find(|p| p.id == id || p.display_name == id)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::PolicyNotFound,
                    format!(
                        "no Conditional Access policy with id or name '{}'",
                        id.escape_default()
                    ),
                )
            })?;
        let mut v: serde_json::Value = serde_json::from_str(&found.json).unwrap_or_default();
        v["state"] = serde_json::Value::String(state.to_string());
        values.push(v);
    }
    let resolvable = Resolvable {
        names: &names,
        more_users: vec![],
        more_groups: vec![],
        roles: d.roles.clone(),
        apps: d.applications.clone(),
        resources: d.resources.clone(),
    };
    let change = crate::access::prepare_change(
        ErrorCode::PolicyInvalid,
        st.clock.now(),
        "$.policies",
        &values,
        "$.namedLocations",
        &[],
        &d.policies,
        &d.named_locations,
        &resolvable,
    )?;
    let mut proposed: Vec<StoredGraphObject> = d
        .policies
        .iter()
        .filter(|p| !change.policies.iter().any(|c| c.id == p.id))
        .cloned()
        .collect();
    proposed.extend(change.policies);
    let (pp, _) = parse_stored(&proposed, &[])
        .map_err(|e| ApiError::new(ErrorCode::PolicyInvalid, e.to_string()))?;
    let after = compile(&pp, &locs, &dir)
        .map_err(|e| ApiError::new(ErrorCode::PolicyInvalid, e.to_string()))?;
    Ok((current, after))
}

/// Replay the tenant's sign-ins since `since_ms` under `now` and `after`.
pub async fn replay(
    st: &AppState,
    tenant_id: &str,
    now: &PolicySet,
    after: &PolicySet,
    since_ms: i64,
    max_examples: usize,
) -> Result<Replay, ApiError> {
    let mut out = Replay::default();
    let mut users: [BTreeSet<String>; 4] = Default::default();
    let mut cursor = None;
    // Each group set is read and parsed once (a tenant has few distinct ones).
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    // The changed sign-ins' keys, to read their records for the examples at the end.
    let mut wanted: Vec<(usize, usize, i64)> = Vec::new();
    loop {
        let rows = st
            .store
            .signin_facts(tenant_id, since_ms, cursor, PAGE)
            .await?;
        let missing: Vec<String> = rows
            .iter()
            .filter_map(|r| r.group_set.clone())
            .filter(|h| !groups.contains_key(h))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            for (h, ids) in st.store.group_sets(&missing).await? {
                groups.insert(h, serde_json::from_str(&ids).unwrap_or_default());
            }
        }
        for row in &rows {
            let Some(facts) = row
                .facts
                .as_deref()
                .and_then(|f| facts_with(f, row.group_set.as_ref().and_then(|h| groups.get(h))))
                .filter(|f| f.version <= portvakt_policy::FACTS_VERSION)
            else {
                out.not_replayable += 1;
                continue;
            };
            out.replayed += 1;
            let b = evaluate(now, &facts);
            let a = evaluate(after, &facts);
            let vb = verdict(&b.decision, b.required().mfa);
            let va = verdict(&a.decision, a.required().mfa);
            if vb == va {
                continue;
            }
            let who = row
                .user_key
                .clone()
                .unwrap_or_else(|| row.app_id.clone().unwrap_or_default());
            let ex = Example {
                correlation_id: String::new(),
                created_date_time: portvakt_core::clock::rfc3339_ms(row.created_ms),
                user_principal_name: row.user_key.clone(),
                app_id: row.app_id.clone().unwrap_or_default(),
                before: name(vb),
                after: name(va),
            };
            let k = match (vb, va) {
                (_, Verdict::Blocked) => 0,
                (_, Verdict::Interaction { mfa: true }) => 1,
                (_, Verdict::Interaction { mfa: false }) => 2,
                (_, Verdict::Allowed) => 3,
            };
            let change = match k {
                0 => &mut out.newly_blocked,
                1 => &mut out.newly_mfa,
                2 => &mut out.newly_interaction,
                _ => &mut out.no_longer_affected,
            };
            if change.examples.len() < max_examples {
                wanted.push((k, change.examples.len(), row.seq));
            }
            change.add(ex, who, max_examples, &mut users[k]);
        }
        match rows.last() {
            Some(r) if rows.len() == PAGE as usize => cursor = Some(r.seq),
            _ => break,
        }
        tokio::task::yield_now().await;
    }
    // The examples' records: the correlation id and the name as typed.
    for (k, i, seq) in wanted {
        let q = SignInQuery {
            tenant_id: tenant_id.to_string(),
            seq: Some(seq),
            limit: 1,
            ..Default::default()
        };
        let Some(row) = st.store.signins(&q, false).await?.rows.into_iter().next() else {
            continue;
        };
        let record = row.expand();
        let change = match k {
            0 => &mut out.newly_blocked,
            1 => &mut out.newly_mfa,
            2 => &mut out.newly_interaction,
            _ => &mut out.no_longer_affected,
        };
        if let Some(ex) = change.examples.get_mut(i) {
            ex.correlation_id = record["correlationId"].as_str().unwrap_or("").to_string();
            if let Some(u) = record["userPrincipalName"].as_str() {
                ex.user_principal_name = Some(u.to_string());
            }
        }
    }
    Ok(out)
}
