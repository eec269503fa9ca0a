//! [`Validator`]: the pure checks (no I/O, time as a parameter), and [`Guard`]: the
//! validator plus the JWKS cache, the validated-token cache and the clock.
//!
//! Order of checks, cheapest refusal first: size (before parsing), syntax, `alg`
//! (RFC 8725 §3.1: the key decides, `none`/HMAC never), key-source headers
//! (RFC 8725 §3.10), key by `kid`, `alg` = key's algorithm, signature (RFC 7515 §5.2),
//! `typ` = `at+jwt` (RFC 9068 §4), required claims (RFC 9068 §2.2), `iss`, `aud`,
//! `exp`, `nbf`, `iat` (RFC 9068 §4, RFC 7519 §4.1), then per request: scopes, roles,
//! revocation.

use crate::config::{GuardConfig, Requirements};
use crate::error::{ErrorKind, GuardError, Hint};
use crate::hints::{
    alg_hints, audience_hints, id_token_hints, issuer_hints, time_hints, ClockOffset,
};
use crate::jwks_cache::{JwksCache, KeySet, Refetch};
use crate::metrics::{inc, MetricsSnapshot};
use crate::timefmt::fmt_duration;
use crate::token::{Claims, UnverifiedToken, VerifiedToken};
use crate::token_cache::TokenCache;
use portvakt_jose::{Algorithm, Jwks, VerifyingKey};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The checks of an access token against one issuer and its audiences. Pure: keys and
/// time are parameters.
#[derive(Debug, Clone)]
pub struct Validator {
    issuer: String,
    audiences: Vec<String>,
    leeway: u64,
}

impl Validator {
    /// A validator for tokens from `issuer` for any of `audiences`.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>, leeway: u64) -> Self {
        Self {
            issuer: issuer.into(),
            audiences,
            leeway,
        }
    }

    /// The validator described by a configuration.
    pub fn from_config(c: &GuardConfig) -> Self {
        Self::new(c.issuer.clone(), c.audiences.clone(), c.leeway)
    }

    /// Refuse an `alg` no key could have (`none`, HMAC, unknown) and headers that point
    /// at keys elsewhere, before looking at keys.
    pub fn check_header(&self, t: &UnverifiedToken<'_>, keys: &KeySet) -> Result<(), GuardError> {
        let h = t.header();
        if h.alg.parse::<Algorithm>().is_err() {
            return Err(
                GuardError::new(ErrorKind::ForbiddenAlgorithm { alg: h.alg.clone() })
                    .with_hints(alg_hints(&h.alg, &keys.algs())),
            );
        }
        if let Some(name) = h.forbidden_members().next() {
            return Err(GuardError::new(ErrorKind::ForbiddenHeader { name: name.into() }).with_hint(Hint::new(
                "HDR-KEY-SOURCE",
                format!("a token that brings its own key ('{name}') can be signed by anyone; Portvakt never issues such tokens, so this one was built elsewhere or forged"),
            )));
        }
        Ok(())
    }

    /// The key named by the token's `kid`, whose algorithm must be the token's `alg`.
    pub fn select_key<'k>(
        &self,
        t: &UnverifiedToken<'_>,
        keys: &'k KeySet,
    ) -> Result<&'k VerifyingKey, GuardError> {
        let h = t.header();
        let key = keys.find(h.kid.as_deref()).ok_or_else(|| {
            GuardError::new(ErrorKind::UnknownKey {
                kid: h.kid.clone(),
                known: keys.kids(),
            })
        })?;
        if key.alg().as_str() != h.alg {
            return Err(GuardError::new(ErrorKind::AlgorithmMismatch {
                header: h.alg.clone(),
                key: key.alg().as_str().into(),
                kid: key.kid().unwrap_or("(no kid)").into(),
            })
            .with_hint(Hint::new(
                "ALG-KEY-MISMATCH",
                format!("key '{}' is a {} key, so it only verifies {} signatures (RFC 8725 §3.1): the token was altered, or built by something other than the issuer", key.kid().unwrap_or("-"), key.alg(), key.alg()),
            )));
        }
        Ok(key)
    }

    /// Check the signature with `key`, then `typ` and the claims, at time `now`.
    /// `offset` (the issuer's clock relative to ours) sharpens time hints.
    pub fn finish(
        &self,
        t: UnverifiedToken<'_>,
        key: &VerifyingKey,
        now: i64,
        offset: Option<ClockOffset>,
    ) -> Result<VerifiedToken, GuardError> {
        if key.verify(t.signing_input(), t.signature()).is_err() {
            let mut e = GuardError::new(ErrorKind::BadSignature {
                kid: key.kid().unwrap_or("(no kid)").into(),
            });
            if let Some(iss) = t.untrusted_claims().get("iss").and_then(|v| v.as_str()) {
                if iss != self.issuer {
                    e = e.with_hint(Hint::new(
                        "SIG-OTHER-ISSUER",
                        format!("the token claims to come from '{iss}', not '{}': another issuer that happens to use the same kid", self.issuer),
                    ));
                }
            }
            return Err(e.with_hint(Hint::new(
                "SIG-GENUINE",
                "the token was altered after signing (an edited payload or header), re-signed with another key, or truncated",
            )));
        }
        let (header, map) = t.into_parts();
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(GuardError::new(ErrorKind::WrongType {
                found: header.typ.clone(),
            })
            .with_hints(id_token_hints(&map)));
        }
        let claims = Claims::from_map(map)?;
        if claims.iss != self.issuer {
            return Err(GuardError::new(ErrorKind::WrongIssuer {
                expected: self.issuer.clone(),
                found: claims.iss.clone(),
            })
            .with_hints(issuer_hints(&self.issuer, &claims.iss)));
        }
        if !claims.aud.iter().any(|a| self.audiences.contains(a)) {
            return Err(GuardError::new(ErrorKind::WrongAudience {
                expected: self.audiences.clone(),
                found: claims.aud.clone(),
            })
            .with_hints(audience_hints(&self.audiences, &claims.aud, &claims.all)));
        }
        let leeway = i64::try_from(self.leeway).unwrap_or(i64::MAX);
        // RFC 7519 §4.1.4: the current time MUST be before exp.
        if now >= claims.exp.saturating_add(leeway) {
            return Err(GuardError::new(ErrorKind::Expired {
                exp: claims.exp,
                now,
                leeway: self.leeway,
            })
            .with_hints(time_hints(
                "exp",
                claims.exp,
                now,
                self.leeway,
                &claims.all,
                offset,
            )));
        }
        if let Some(nbf) = claims.nbf {
            if now.saturating_add(leeway) < nbf {
                return Err(GuardError::new(ErrorKind::NotYetValid {
                    nbf,
                    now,
                    leeway: self.leeway,
                })
                .with_hints(time_hints(
                    "nbf",
                    nbf,
                    now,
                    self.leeway,
                    &claims.all,
                    offset,
                )));
            }
        }
        if claims.iat > now.saturating_add(leeway) {
            return Err(GuardError::new(ErrorKind::IssuedInFuture {
                iat: claims.iat,
                now,
                leeway: self.leeway,
            })
            .with_hints(time_hints(
                "iat",
                claims.iat,
                now,
                self.leeway,
                &claims.all,
                offset,
            )));
        }
        Ok(VerifiedToken::new(header, claims, key.alg()))
    }

    /// Every check against a fixed key set, at `now` (no fetching, no caching).
    pub fn validate(
        &self,
        token: &str,
        keys: &KeySet,
        now: i64,
    ) -> Result<VerifiedToken, GuardError> {
        let t = UnverifiedToken::parse(token)?;
        self.check_header(&t, keys)?;
        let key = self.select_key(&t, keys)?;
        self.finish(t, key, now, None)
    }
}

/// Check scopes, roles and revocation for one request.
pub fn authorize(v: &VerifiedToken, req: &Requirements) -> Result<(), GuardError> {
    let c = v.claims();
    let missing: Vec<String> = req
        .scopes
        .iter()
        .filter(|s| !c.has_scope(s))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(GuardError::new(ErrorKind::InsufficientScope {
            required: req.scopes.clone(),
            missing,
            granted: c.scopes.clone(),
        }));
    }
    let missing: Vec<String> = req
        .roles
        .iter()
        .filter(|s| !c.has_role(s))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(GuardError::new(ErrorKind::InsufficientRole {
            required: req.roles.clone(),
            missing,
            granted: c.roles.clone(),
        }));
    }
    Ok(())
}

struct GuardInner {
    config: GuardConfig,
    validator: Validator,
    jwks: Arc<JwksCache>,
    tokens: Arc<TokenCache>,
}

/// The access-token validator of a resource server: [`Validator`] + JWKS cache +
/// validated-token cache + clock. Cheap to clone; share one per issuer.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<GuardInner>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard that fetches keys on first use (and then in the background, when inside
    /// a tokio runtime).
    pub fn new(config: GuardConfig) -> Result<Self, GuardError> {
        let tokens = Arc::new(TokenCache::new(config.token_cache_capacity));
        let jwks = Arc::new(JwksCache::new(&config, tokens.clone())?);
        Ok(Self::assemble(config, jwks, tokens))
    }

    /// A guard whose keys are fetched now: fails fast when the issuer is unreachable
    /// or misconfigured.
    pub async fn connect(config: GuardConfig) -> Result<Self, GuardError> {
        let g = Self::new(config)?;
        g.inner.jwks.get().await?;
        Ok(g)
    }

    /// A guard with a fixed key set that never fetches.
    pub fn with_keys(config: GuardConfig, jwks: &Jwks) -> Self {
        let tokens = Arc::new(TokenCache::new(config.token_cache_capacity));
        let jwks = Arc::new(JwksCache::with_static(&config, jwks, tokens.clone()));
        Self::assemble(config, jwks, tokens)
    }

    fn assemble(config: GuardConfig, jwks: Arc<JwksCache>, tokens: Arc<TokenCache>) -> Self {
        let validator = Validator::from_config(&config);
        Self {
            inner: Arc::new(GuardInner {
                config,
                validator,
                jwks,
                tokens,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GuardConfig {
        &self.inner.config
    }

    /// Counters (fetches, failures, cache hits, stale keys serving...).
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.jwks.metrics.snapshot()
    }

    /// The issuer's clock minus this host's, from the last JWKS response's `Date`.
    pub fn clock_offset(&self) -> Option<ClockOffset> {
        self.inner.jwks.clock_offset()
    }

    /// The key ids now serving.
    pub fn key_ids(&self) -> Vec<String> {
        self.inner
            .jwks
            .current()
            .map(|k| k.kids())
            .unwrap_or_default()
    }

    /// Number of tokens in the validated-token cache.
    pub fn cached_tokens(&self) -> usize {
        self.inner.tokens.len()
    }

    /// Fetch the keys now. On failure the previous keys keep serving.
    pub async fn refresh_keys(&self) -> Result<(), GuardError> {
        self.inner.jwks.refresh().await.map(|_| ())
    }

    /// Validate a token with the configured requirements.
    pub async fn validate(&self, token: &str) -> Result<Arc<VerifiedToken>, GuardError> {
        self.validate_for(token, &self.inner.config.requirements)
            .await
    }

    /// Validate a token with the given scope/role requirements (e.g. per route).
    pub async fn validate_for(
        &self,
        token: &str,
        req: &Requirements,
    ) -> Result<Arc<VerifiedToken>, GuardError> {
        let r = self.validate_inner(token, req).await;
        let m = &self.inner.jwks.metrics;
        match &r {
            Ok(_) => inc(&m.validations_ok),
            Err(_) => inc(&m.validations_failed),
        }
        r
    }

    async fn validate_inner(
        &self,
        token: &str,
        req: &Requirements,
    ) -> Result<Arc<VerifiedToken>, GuardError> {
        let inner = &*self.inner;
        let cfg = &inner.config;
        // Refuse before parsing: a 1 MB "token" must not cost a 1 MB base64 decode.
        if token.len() > cfg.max_token_bytes {
            return Err(GuardError::new(ErrorKind::TooLarge {
                size: token.len(),
                limit: cfg.max_token_bytes,
            }));
        }
        let now = cfg.clock.now();
        let m = &inner.jwks.metrics;
        let cache_key = (cfg.token_cache_capacity > 0).then(|| TokenCache::key(token));
        if let Some(k) = &cache_key {
            if let Some(v) = inner.tokens.get(k, now) {
                inc(&m.token_cache_hits);
                self.authorize(&v, req)?;
                return Ok(v);
            }
        }
        inc(&m.token_cache_misses);
        let t = UnverifiedToken::parse(token)?;
        let mut keys = inner.jwks.get().await?;
        inner.validator.check_header(&t, &keys)?;
        if let Err(e) = inner.validator.select_key(&t, &keys) {
            if !matches!(e.kind(), ErrorKind::UnknownKey { .. }) {
                return Err(e);
            }
            keys = self.recover_unknown_kid(&t, keys, e).await?;
        }
        let key = inner.validator.select_key(&t, &keys)?;
        let v = Arc::new(
            inner
                .validator
                .finish(t, key, now, inner.jwks.clock_offset())?,
        );
        if m.serving_stale_keys.load(Ordering::Relaxed) {
            inc(&m.stale_key_validations);
        }
        if let Some(k) = cache_key {
            inner.tokens.insert(k, v.clone());
        }
        self.authorize(&v, req)?;
        Ok(v)
    }

    fn authorize(&self, v: &VerifiedToken, req: &Requirements) -> Result<(), GuardError> {
        authorize(v, req)?;
        if let Some(r) = &self.inner.config.revocation {
            if let Some(reason) = r.revoked(v.claims()) {
                return Err(GuardError::new(ErrorKind::Revoked {
                    jti: v.claims().jti.clone(),
                    reason,
                }));
            }
        }
        Ok(())
    }

    /// The token names a `kid` the cached set lacks: refetch (rate-limited) and
    /// either recover (the cache was stale) or explain why the key is unknown.
    async fn recover_unknown_kid(
        &self,
        t: &UnverifiedToken<'_>,
        seen: Arc<KeySet>,
        e: GuardError,
    ) -> Result<Arc<KeySet>, GuardError> {
        let inner = &*self.inner;
        let kid = t.header().kid.clone();
        let token_iss = t
            .untrusted_claims()
            .get("iss")
            .and_then(|v| v.as_str())
            .map(String::from);
        let mut hints = Vec::new();
        if let Some(iss) = token_iss.as_deref().filter(|i| *i != inner.config.issuer) {
            hints.push(Hint::new(
                "KEY-WRONG-ISSUER",
                format!("the token says it was issued by '{iss}', but this API takes keys from '{}': the kid is unknown because the issuer is", inner.config.issuer),
            ));
            hints.extend(issuer_hints(&inner.config.issuer, iss));
        }
        let e = match inner
            .jwks
            .refetch_for_unknown_kid(&seen, kid.as_deref())
            .await
        {
            Refetch::Done(new) => match inner.validator.select_key(t, &new) {
                Err(e2) if matches!(e2.kind(), ErrorKind::UnknownKey { .. }) => {
                    if hints.is_empty() {
                        hints.push(Hint::new(
                            "KEY-NEVER-PUBLISHED",
                            format!("the issuer's JWKS ({}), fetched just now, does not contain kid '{}': the token was signed by another issuer or environment, or the issuer replaced its keys (a restart with ephemeral keys?)", new.url(), kid.as_deref().unwrap_or("(none)")),
                        ));
                    }
                    e2
                }
                found => {
                    if found.is_ok() {
                        inc(&inner.jwks.metrics.stale_key_recoveries);
                        tracing::warn!(
                            kid = kid.as_deref().unwrap_or("(none)"),
                            url = %new.url(),
                            "KEY-STALE-CACHE: the token's key was not in the cached JWKS but a refetch found it; the key cache was stale (recovered)"
                        );
                    }
                    return Ok(new);
                }
            },
            Refetch::RateLimited(since) => {
                hints.push(Hint::new(
                    "KEY-REFETCH-LIMITED",
                    format!("the keys were fetched {} ago; refetches for unknown kids are limited to one per {}, so a kid published since then will be found shortly", fmt_duration(since.as_secs() as i64), fmt_duration(inner.config.min_refetch_interval.as_secs() as i64)),
                ));
                e
            }
            Refetch::Failed(fe) => {
                hints.push(Hint::new(
                    "KEY-REFETCH-FAILED",
                    format!("refetching the issuer's keys failed: {fe}"),
                ));
                e
            }
        };
        if kid.is_none() {
            hints.push(Hint::new("KEY-NO-KID", "the token has no kid and the issuer publishes several keys; Portvakt always sets kid"));
        }
        Err(e.with_hints(hints))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portvakt_jose::{b64url_encode, sign_compact, SigningKey};

    fn setup() -> (SigningKey, KeySet, Validator) {
        let k = SigningKey::generate(Algorithm::ES256, "k1".into()).expect("key");
        let set = KeySet::from_jwks(
            &Jwks {
                keys: vec![k.public_jwk()],
            },
            "test",
            0,
        );
        (
            k,
            set,
            Validator::new("http://iss/t", vec!["api://a".into()], 60),
        )
    }

    fn claims(now: i64) -> serde_json::Value {
        serde_json::json!({"iss":"http://iss/t","sub":"u","aud":"api://a","exp":now+300,"iat":now,"nbf":now,"jti":"j","client_id":"c","scope":"read write","tid":"t"})
    }

    #[test]
    fn accepts_a_good_token_and_types_its_claims() {
        let (k, set, v) = setup();
        let t = sign_compact(&k, "at+jwt", claims(1000).to_string().as_bytes()).expect("sign");
        let ok = v.validate(&t, &set, 1000).expect("valid");
        assert_eq!(ok.claims().scopes, ["read", "write"]);
        assert_eq!(ok.kid(), Some("k1"));
        assert!(authorize(
            &ok,
            &Requirements {
                scopes: vec!["read".into()],
                roles: vec![]
            }
        )
        .is_ok());
        let e = authorize(
            &ok,
            &Requirements {
                scopes: vec!["admin".into()],
                roles: vec![],
            },
        )
        .err()
        .map(|e| e.code());
        assert_eq!(e, Some(portvakt_core::ErrorCode::ScopeInsufficient));
    }

    #[test]
    fn leeway_boundaries_are_exact() {
        let (k, set, v) = setup();
        let t = sign_compact(&k, "at+jwt", claims(1000).to_string().as_bytes()).expect("sign");
        // exp = 1300, leeway 60: valid until 1359, expired from 1360.
        assert!(v.validate(&t, &set, 1359).is_ok());
        assert!(matches!(
            v.validate(&t, &set, 1360).err().map(|e| e.kind().clone()),
            Some(ErrorKind::Expired { .. })
        ));
        // iat = nbf = 1000: valid from 940.
        assert!(v.validate(&t, &set, 940).is_ok());
        assert!(matches!(
            v.validate(&t, &set, 939).err().map(|e| e.kind().clone()),
            Some(ErrorKind::NotYetValid { .. })
        ));
    }

    #[test]
    fn unsigned_header_tricks_are_refused_before_keys() {
        let (_, set, v) = setup();
        let p = b64url_encode(claims(1000).to_string().as_bytes());
        let t = format!(
            "{}.{p}.",
            b64url_encode(br#"{"alg":"none","typ":"at+jwt"}"#)
        );
        let e = v.validate(&t, &set, 1000).expect_err("refused");
        assert_eq!(e.code(), portvakt_core::ErrorCode::AlgorithmForbidden);
        assert!(e.has_hint("ALG-NONE"));
    }
}
