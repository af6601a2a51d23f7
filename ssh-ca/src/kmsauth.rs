//! kmsauth: a requester proves who it is by asking KMS to encrypt a short
//! validity window under an encryption context naming itself and this
//! service. Only principals allowed by the key policy to encrypt with that
//! context can make a token, and only this service decrypts it.
//!
//! The token is base64 of the KMS ciphertext of
//! `{"not_before": "20240101T120000Z", "not_after": "20240101T121000Z"}` with
//! the context `{"from": requester, "to": service, "user_type": "user"}`.

use std::collections::HashMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::aws::{Decrypted, Kms};
use crate::err::KmsAuthError;
use crate::model::Token;

const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// kmsauth settings (the `[kmsauth]` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsAuthConfig {
    /// The KMS key tokens are encrypted with (id, ARN or alias).
    pub key_id: String,
    /// This service's name, the `to` of the context.
    pub service_name: String,
    /// The longest token window accepted, default 3600 s.
    #[serde(default = "default_max_lifetime")]
    pub max_lifetime_seconds: u64,
}

fn default_max_lifetime() -> u64 {
    3600
}

/// The encryption context binding a token to `requester` and `service`.
pub fn context(requester: &str, service: &str) -> HashMap<String, String> {
    HashMap::from([
        ("from".to_owned(), requester.to_owned()),
        ("to".to_owned(), service.to_owned()),
        ("user_type".to_owned(), "user".to_owned()),
    ])
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Window {
    not_before: String,
    not_after: String,
}

fn format(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_default()
}

fn parse(text: &str) -> Option<i64> {
    PrimitiveDateTime::parse(text, FORMAT)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// The plaintext of a token made at `now` (Unix seconds) valid for
/// `lifetime` seconds; it starts a minute early to absorb clock skew.
pub fn plaintext(now: i64, lifetime: i64) -> Vec<u8> {
    let window = Window {
        not_before: format(now.saturating_sub(60)),
        not_after: format(now.saturating_add(lifetime)),
    };
    serde_json::to_vec(&window).unwrap_or_default()
}

/// Checks a decrypted token's window at `now` against `max_lifetime`.
pub fn check_plaintext(plaintext: &[u8], now: i64, max_lifetime: u64) -> Result<(), KmsAuthError> {
    let window: Window = serde_json::from_slice(plaintext).map_err(|_| KmsAuthError::Malformed)?;
    let (Some(not_before), Some(not_after)) = (parse(&window.not_before), parse(&window.not_after))
    else {
        return Err(KmsAuthError::Malformed);
    };
    let seconds = not_after.saturating_sub(not_before);
    if seconds < 0 {
        return Err(KmsAuthError::Malformed);
    }
    if u64::try_from(seconds).unwrap_or(u64::MAX) > max_lifetime {
        return Err(KmsAuthError::TooLong {
            seconds,
            max: max_lifetime,
        });
    }
    if now < not_before || now > not_after {
        return Err(KmsAuthError::Stale {
            not_before: window.not_before,
            not_after: window.not_after,
            now: format(now),
        });
    }
    Ok(())
}

/// Verifies tokens for one service.
#[derive(Debug, Clone)]
pub struct Verifier {
    config: KmsAuthConfig,
    key_arn: String,
}

impl Verifier {
    /// A verifier for tokens encrypted with the key whose ARN is `key_arn`
    /// (resolve an alias with [`Kms::key_arn`] first).
    pub fn new(config: KmsAuthConfig, key_arn: String) -> Self {
        Self { config, key_arn }
    }

    /// The service name tokens must be addressed to.
    pub fn service_name(&self) -> &str {
        &self.config.service_name
    }

    /// Verifies `token` for `requester` at `now`.
    pub async fn verify(
        &self,
        kms: &Kms,
        token: Option<&Token>,
        requester: &str,
        now: i64,
    ) -> Result<(), KmsAuthError> {
        let token = token.ok_or(KmsAuthError::Missing)?;
        let foreign = || KmsAuthError::Foreign {
            requester: requester.to_owned(),
            service: self.config.service_name.clone(),
        };
        let blob = base64::engine::general_purpose::STANDARD
            .decode(token.expose().trim())
            .map_err(|_| foreign())?;
        let context = context(requester, &self.config.service_name);
        match kms.decrypt(&blob, &context).await? {
            Decrypted::Refused => Err(foreign()),
            Decrypted::Plaintext { plaintext, key_arn } => {
                let key = key_arn.unwrap_or_default();
                if key != self.key_arn {
                    return Err(KmsAuthError::WrongKey { key });
                }
                check_plaintext(&plaintext, now, self.config.max_lifetime_seconds)
            }
        }
    }
}

/// Makes a token for `requester` addressed to `service`, valid `lifetime`
/// seconds from `now`.
pub async fn generate(
    kms: &Kms,
    key_id: &str,
    requester: &str,
    service: &str,
    now: i64,
    lifetime: i64,
) -> Result<Token, KmsAuthError> {
    let ciphertext = kms
        .encrypt(
            key_id,
            &plaintext(now, lifetime),
            &context(requester, service),
        )
        .await?;
    Ok(Token::new(
        base64::engine::general_purpose::STANDARD.encode(ciphertext),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn window_format_is_kmsauths() {
        let text = String::from_utf8(plaintext(NOW, 600)).unwrap();
        assert_eq!(
            text,
            r#"{"not_before":"20231114T221220Z","not_after":"20231114T222320Z"}"#
        );
    }

    #[test]
    fn windows_are_checked() {
        let token = plaintext(NOW, 600);
        check_plaintext(&token, NOW, 3600).unwrap();
        check_plaintext(&token, NOW + 600, 3600).unwrap();
        assert!(matches!(
            check_plaintext(&token, NOW + 601, 3600),
            Err(KmsAuthError::Stale { .. })
        ));
        assert!(matches!(
            check_plaintext(&token, NOW - 61, 3600),
            Err(KmsAuthError::Stale { .. })
        ));
        assert!(matches!(
            check_plaintext(&token, NOW, 300),
            Err(KmsAuthError::TooLong { seconds: 660, .. })
        ));
        assert!(matches!(
            check_plaintext(b"{}", NOW, 300),
            Err(KmsAuthError::Malformed)
        ));
        let backwards = br#"{"not_before":"20231114T222320Z","not_after":"20231114T221220Z"}"#;
        assert!(matches!(
            check_plaintext(backwards, NOW, 3600),
            Err(KmsAuthError::Malformed)
        ));
    }
}
