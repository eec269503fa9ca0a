//! Persistence of the user flows: pending sign-ins, sessions, consents, codes,
//! refresh-token families and the access-token denylist.
//!
//! Every secret (session cookie, code, refresh token) arrives here already hashed
//! (SHA-256): the store never sees a usable credential.

use crate::Result;
use async_trait::async_trait;
use portvakt_core::flow::{AuthRequest, CodeGrant, DeviceGrant, RefreshGrant, Session};
use portvakt_core::grant::{decide_refresh, RefreshDecision, RefreshState};
use portvakt_core::model::User;

/// A sign-in in progress, between `/authorize` and the redirect back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    /// Random id, in the page URL.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// SHA-256 of the browser-binding cookie.
    pub browser_hash: [u8; 32],
    /// The CSRF token every form of this interaction must carry.
    pub csrf: String,
    /// The authorization request.
    pub request: AuthRequest,
    /// The user, once the password was accepted.
    pub user_id: Option<String>,
    /// The session created at sign-in.
    pub sid: Option<String>,
    /// Expiry.
    pub expires_at: i64,
    /// The user whose password was accepted, while a second factor is still due (no
    /// session exists until it is done).
    pub mfa_user_id: Option<String>,
    /// A TOTP secret being enrolled (sealed), shown to the user until confirmed.
    pub enroll_sealed: Option<Vec<u8>>,
    /// When the second factor was done in this sign-in, if it was.
    pub second_factor_at: Option<i64>,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session.
    pub session: Session,
    /// When it was ended, if it was.
    pub revoked_at: Option<i64>,
}

/// The result of redeeming an authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeTake {
    /// First use: the grant.
    Fresh(CodeGrant),
    /// Already used: the grant and what was issued from it (to revoke).
    Reused {
        /// The grant.
        grant: CodeGrant,
        /// Family of the refresh token issued from it.
        family_id: Option<String>,
        /// Access token issued from it: jti and expiry.
        access: Option<(String, i64)>,
    },
    /// No such code.
    Missing,
}

/// The rotation [`Flows::refresh_claim`] makes in the same step as its read, when
/// the token as read may be rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshClaim<'a> {
    /// SHA-256 of the successor token.
    pub new_hash: [u8; 32],
    /// The tenant of the request.
    pub tenant_id: &'a str,
    /// The client of the request.
    pub client_id: &'a str,
    /// Now, in milliseconds.
    pub now_ms: i64,
    /// The successor's inactivity lifetime, seconds ([`RefreshGrant::successor`]).
    pub inactivity: i64,
}

impl RefreshClaim<'_> {
    /// May `rec` be rotated by this request: would [`decide_refresh`] rotate it
    /// (unused, of this tenant and client, unexpired, its family and user standing)?
    /// The rule `refresh_claim` applies, on either engine.
    pub fn may_rotate(&self, rec: &RefreshRecord) -> bool {
        let state = RefreshState {
            grant: &rec.grant,
            used_at_ms: rec.used_at_ms,
            superseded_at: rec.superseded_at,
            family_revoked: rec.family_revoked.as_ref().map(|(at, w)| (*at, w.as_str())),
            user: rec.user.as_ref(),
        };
        // A window of 0: a used token is never rotated here, only by a retry.
        decide_refresh(self.tenant_id, self.client_id, &state, self.now_ms, 0)
            == RefreshDecision::Rotate
    }
}

/// A refresh token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// What it stands for.
    pub grant: RefreshGrant,
    /// When it was first used (rotated), if it was: seconds.
    pub used_at: Option<i64>,
    /// The same instant in milliseconds (the reuse window is compared in these).
    pub used_at_ms: Option<i64>,
    /// When a retry of its parent replaced it, if one did: presenting it is reuse.
    pub superseded_at: Option<i64>,
    /// When and why its family was revoked, if it was.
    pub family_revoked: Option<(i64, String)>,
    /// The user it was issued to, as of the same read; `None` if the user is gone.
    pub user: Option<User>,
}

/// Everything that can withdraw an access token before it expires, read at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessTokenStatus {
    /// Its `jti` is on the denylist.
    pub jti_revoked: bool,
    /// For a user token: the user's (enabled, tokens_valid_from, user principal name),
    /// or `None` if the user no longer exists.
    pub user: Option<(bool, i64, String)>,
    /// For a user token: its session ended, or a refresh-token family of that session
    /// and client was revoked at or after the token was issued.
    pub grant_revoked: bool,
}

/// How the grant behind an access token ended ([`Flows::grant_revocation`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRevocation {
    /// The session ended (the user signed out) at this instant.
    SessionEnded {
        /// When (seconds).
        at: i64,
    },
    /// A refresh-token family of the session and client was revoked.
    FamilyRevoked {
        /// When (seconds).
        at: i64,
        /// Why, in words (e.g. reuse of a rotated refresh token).
        reason: String,
    },
}

/// The user behind a user access token, as [`Flows::access_token_status`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct TokenUser<'a> {
    /// Tenant id.
    pub tenant_id: &'a str,
    /// User id (`sub`).
    pub user_id: &'a str,
    /// Session id (`sid`).
    pub sid: &'a str,
    /// Client id.
    pub client_id: &'a str,
    /// Issued at.
    pub iat: i64,
}

/// Storage for the user flows. Part of [`crate::Store`].
#[async_trait]
pub trait Flows: Send + Sync {
    /// A counter that moves after every committed write which can withdraw an access
    /// token before it expires: a denylisted `jti`, a revoked family or session, a user
    /// disabled or revoked, an import. A caller may keep an
    /// [`access_token_status`](Self::access_token_status) read for as long as the epoch
    /// it read *before* that read is still current. Every write goes through this
    /// process (the CLI uses the admin API), so the counter is exact for one node; a
    /// shared engine must move it on other nodes' writes too.
    fn revocation_epoch(&self) -> u64;

    /// Save a pending sign-in.
    async fn put_interaction(&self, i: &Interaction) -> Result<()>;
    /// Load a pending sign-in.
    async fn interaction(&self, id: &str) -> Result<Option<Interaction>>;
    /// Record the signed-in user and session on a pending sign-in.
    async fn set_interaction_user(&self, id: &str, user_id: &str, sid: &str) -> Result<()>;
    /// Record that the password of `user_id` was accepted and more is due (a second
    /// factor, a password change); `enroll_sealed` is a TOTP secret being enrolled, if
    /// one is; `second_factor_at` when the second factor was done, if it was.
    async fn set_interaction_mfa(
        &self,
        id: &str,
        user_id: &str,
        enroll_sealed: Option<&[u8]>,
        second_factor_at: Option<i64>,
    ) -> Result<()>;
    /// Forget a pending sign-in (done or abandoned).
    async fn delete_interaction(&self, id: &str) -> Result<()>;

    /// Save a session under the hash of its cookie.
    async fn put_session(&self, cookie_hash: &[u8; 32], s: &Session) -> Result<()>;
    /// Load a session by the hash of its cookie.
    async fn session(&self, cookie_hash: &[u8; 32]) -> Result<Option<SessionRecord>>;
    /// End a session and revoke the refresh-token families born in it.
    async fn end_session(&self, sid: &str, now: i64) -> Result<()>;
    /// Revoke every session and refresh token of a user (tokens valid from `now`).
    async fn revoke_user(&self, tenant_id: &str, user_id: &str, now: i64) -> Result<()>;
    /// One user by id.
    async fn user_by_id(&self, tenant_id: &str, user_id: &str) -> Result<Option<User>>;

    /// Scopes a user consented to for a client.
    async fn consent(&self, tenant_id: &str, user_id: &str, client_id: &str)
        -> Result<Vec<String>>;
    /// Add scopes to a user's consent for a client.
    async fn add_consent(
        &self,
        tenant_id: &str,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<()>;
    /// Grant or withdraw tenant-wide consent for an application.
    async fn set_admin_consent(
        &self,
        tenant_id: &str,
        client_id: &str,
        consented: bool,
    ) -> Result<()>;

    /// Save an authorization code (by hash).
    async fn put_code(&self, code_hash: &[u8; 32], grant: &CodeGrant) -> Result<()>;
    /// Redeem a code: the first call gets it, every later one learns it was reused.
    async fn take_code(&self, code_hash: &[u8; 32], now: i64) -> Result<CodeTake>;
    /// Remember what was issued from a code, to revoke it if the code is replayed.
    async fn link_code(
        &self,
        code_hash: &[u8; 32],
        family_id: Option<&str>,
        access_jti: &str,
        access_exp: i64,
    ) -> Result<()>;

    /// Start a refresh-token family with its first token.
    async fn put_refresh(
        &self,
        token_hash: &[u8; 32],
        grant: &RefreshGrant,
        now: i64,
    ) -> Result<()>;
    /// Load a refresh token.
    async fn refresh(&self, token_hash: &[u8; 32]) -> Result<Option<RefreshRecord>>;
    /// Load a refresh token and, given `claim`, rotate it in the same step when
    /// [`RefreshClaim::may_rotate`] allows it as read: `old` marked used at
    /// `claim.now_ms` and its [`RefreshGrant::successor`] stored as
    /// `claim.new_hash`, atomically, as [`Flows::rotate_refresh`] does. Returns the
    /// token as read before any rotation, and whether this call rotated it. A request
    /// that then refuses the token after all (Conditional Access, say) must
    /// [`Flows::unclaim_refresh`] it. The default reads, then rotates: two steps, as
    /// a caller without this method would; an engine may do both in one round trip.
    async fn refresh_claim(
        &self,
        token_hash: &[u8; 32],
        claim: Option<&RefreshClaim<'_>>,
    ) -> Result<Option<(RefreshRecord, bool)>> {
        let Some(rec) = self.refresh(token_hash).await? else {
            return Ok(None);
        };
        let Some(c) = claim.filter(|c| c.may_rotate(&rec)) else {
            return Ok(Some((rec, false)));
        };
        let new = rec.grant.successor(c.now_ms.div_euclid(1000), c.inactivity);
        let rotated = self
            .rotate_refresh(token_hash, &c.new_hash, &new, c.now_ms)
            .await?;
        Ok(Some((rec, rotated)))
    }
    /// Undo a rotation that [`Flows::refresh_claim`] made at `used_at_ms` and whose
    /// successor `new_hash` was never handed out: if `old` was used at that instant,
    /// the successor is deleted and `old` is unused again, unless another successor
    /// of `old` exists (a retry of it was issued meanwhile, so `old` was used after
    /// all). True when `old` is unused again.
    async fn unclaim_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        used_at_ms: i64,
    ) -> Result<bool>;
    /// Rotate: mark `old` used and store `new` in the same family, atomically.
    /// Returns false, changing nothing, when `old` was already used (a lost race).
    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        new: &RefreshGrant,
        now_ms: i64,
    ) -> Result<bool>;
    /// Rotate a token that was already used, once more: the client retried because it
    /// never received the response of the first rotation. Stores `new` as the one live
    /// successor of `old` (every earlier successor becomes superseded), atomically, but
    /// only while `old` was first used less than `window_ms` before `now_ms`, is not
    /// itself superseded, and none of its successors has been used. Returns false,
    /// changing nothing, otherwise (then the presentation is a reuse).
    async fn retry_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        new: &RefreshGrant,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool>;
    /// Revoke a family.
    async fn revoke_family(&self, family_id: &str, reason: &str, now: i64) -> Result<()>;
    /// Why the grant behind a user access token ended, for `diagnose`: the session's
    /// end (sign-out) if it ended, else the earliest revocation of a refresh-token
    /// family of that session and client at or after `iat`. `None`: it stands.
    async fn grant_revocation(
        &self,
        sid: &str,
        client_id: &str,
        iat: i64,
    ) -> Result<Option<GrantRevocation>>;

    /// Save a new device authorization. Conflict if the user code is taken.
    async fn put_device(&self, device_hash: &[u8; 32], g: &DeviceGrant) -> Result<()>;
    /// A device authorization by the hash of its device code.
    async fn device(&self, device_hash: &[u8; 32]) -> Result<Option<DeviceGrant>>;
    /// A device authorization by its user code.
    async fn device_by_user_code(&self, user_code: &str) -> Result<Option<DeviceGrant>>;
    /// Replace a device authorization's state, but only if its status is still
    /// `expect_status` (so that approval, denial and redemption each happen once).
    /// Returns whether it was updated.
    async fn update_device(
        &self,
        user_code: &str,
        expect_status: &str,
        g: &DeviceGrant,
    ) -> Result<bool>;

    /// The denylist, the user and the grant of an access token, in one read (the
    /// introspection and userinfo path).
    async fn access_token_status(
        &self,
        jti: &str,
        user: Option<TokenUser<'_>>,
    ) -> Result<AccessTokenStatus>;

    /// Delete at most `batch` expired rows of each kind: pending sign-ins, device
    /// authorizations and denylist entries past their expiry, authorization codes an
    /// hour past theirs (a late replay is still recognised as one), and sessions and
    /// refresh-token families `keep_grants_secs` past theirs (their revocation must
    /// outlive every access token issued from them). Returns the rows deleted; call
    /// again while it returns a full batch.
    async fn purge_expired(&self, now: i64, keep_grants_secs: i64, batch: u32) -> Result<u64>;

    /// Put an access token's `jti` on the denylist until it expires.
    async fn revoke_jti(&self, tenant_id: &str, jti: &str, expires_at: i64) -> Result<()>;
}
