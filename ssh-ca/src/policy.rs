//! The signing policy (the `[policy]` table): lifetimes, which principals a
//! requester may get, and the extensions a certificate carries. Pure decisions,
//! no I/O: the IAM group rule names the groups to check and the caller asks IAM.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::err::{ConfigError, PolicyError, ValidationError};

/// The extensions of a user certificate unless configured otherwise: the
/// usual `permit-*` set that `ssh-keygen -s` grants by default.
pub const DEFAULT_EXTENSIONS: [&str; 5] = [
    "permit-X11-forwarding",
    "permit-agent-forwarding",
    "permit-port-forwarding",
    "permit-pty",
    "permit-user-rc",
];

/// The whole signing policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// User certificates.
    #[serde(default)]
    pub user: UserPolicy,
    /// Host certificates.
    #[serde(default)]
    pub host: HostPolicy,
}

/// How user certificates are issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPolicy {
    /// Seconds before now the certificate starts (clock skew), default 120.
    #[serde(default = "default_before")]
    pub validity_before_seconds: u64,
    /// Seconds after now the certificate ends, default 120.
    #[serde(default = "default_after")]
    pub validity_after_seconds: u64,
    /// The longest lifetime a request may ask for (`validity_seconds`), default 3600.
    #[serde(default = "default_max")]
    pub max_validity_seconds: u64,
    /// Which principals a requester may get.
    #[serde(default)]
    pub principals: PrincipalRule,
    /// Extensions granted (`permit-pty`, ...); default [`DEFAULT_EXTENSIONS`].
    #[serde(default = "default_extensions")]
    pub extensions: Vec<String>,
}

/// How host certificates are issued (no extensions: OpenSSH defines none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostPolicy {
    /// Seconds before now the certificate starts, default 120.
    #[serde(default = "default_before")]
    pub validity_before_seconds: u64,
    /// Seconds after now the certificate ends, default 7 days.
    #[serde(default = "default_host_after")]
    pub validity_after_seconds: u64,
    /// DNS domains host certificates may name: `example.com` allows
    /// `example.com`, `web1.example.com` and `*.example.com`. Empty (the
    /// default) refuses every host request.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
}

/// Which principals a requester may have in its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum PrincipalRule {
    /// Only the requester's own name (the default).
    #[default]
    OwnName,
    /// Requester name to the principals it may have; the key `*` applies to
    /// every requester. A requester's own name is not implied.
    AllowList {
        /// The allow-list.
        allow: BTreeMap<String, Vec<String>>,
    },
    /// A principal is granted by membership of the IAM user named like the
    /// requester in the group named by `group_template`, where `{principal}`
    /// is replaced by the principal (e.g. `ssh-{principal}`).
    IamGroup {
        /// The group name template.
        group_template: String,
    },
}

/// What the rule decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Every principal is granted.
    Granted,
    /// Granted if the requester is a member of each group: (principal, group).
    NeedsGroups(Vec<(String, String)>),
}

fn default_before() -> u64 {
    120
}
fn default_after() -> u64 {
    120
}
fn default_max() -> u64 {
    3600
}
fn default_host_after() -> u64 {
    7 * 24 * 3600
}
fn default_extensions() -> Vec<String> {
    DEFAULT_EXTENSIONS.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for UserPolicy {
    fn default() -> Self {
        Self {
            validity_before_seconds: default_before(),
            validity_after_seconds: default_after(),
            max_validity_seconds: default_max(),
            principals: PrincipalRule::default(),
            extensions: default_extensions(),
        }
    }
}

impl Default for HostPolicy {
    fn default() -> Self {
        Self {
            validity_before_seconds: default_before(),
            validity_after_seconds: default_host_after(),
            allowed_domains: Vec::new(),
        }
    }
}

/// Extensions OpenSSH knows for user certificates.
const KNOWN_EXTENSIONS: [&str; 7] = [
    "no-touch-required",
    "permit-X11-forwarding",
    "permit-agent-forwarding",
    "permit-port-forwarding",
    "permit-pty",
    "permit-user-rc",
    "verify-required",
];

impl Policy {
    /// Checks the policy once, at load; errors name the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: key.to_owned(),
            reason,
        };
        let user = &self.user;
        if user.validity_after_seconds == 0 {
            return Err(invalid(
                "policy.user.validity_after_seconds",
                "must be above 0".into(),
            ));
        }
        if user.validity_after_seconds > user.max_validity_seconds {
            return Err(invalid(
                "policy.user.validity_after_seconds",
                format!(
                    "{} exceeds `policy.user.max_validity_seconds` {}; lower it or raise the maximum",
                    user.validity_after_seconds, user.max_validity_seconds
                ),
            ));
        }
        if self.host.validity_after_seconds == 0 {
            return Err(invalid(
                "policy.host.validity_after_seconds",
                "must be above 0".into(),
            ));
        }
        for ext in &user.extensions {
            if !KNOWN_EXTENSIONS.contains(&ext.as_str()) && !ext.contains('@') {
                return Err(invalid(
                    "policy.user.extensions",
                    format!(
                        "`{ext}` is not an OpenSSH extension; use one of {KNOWN_EXTENSIONS:?} or a vendor name `name@domain`"
                    ),
                ));
            }
        }
        if let PrincipalRule::IamGroup { group_template } = &user.principals
            && !group_template.contains("{principal}")
        {
            return Err(invalid(
                "policy.user.principals.group_template",
                format!(
                    "`{group_template}` has no `{{principal}}` placeholder; write e.g. `ssh-{{principal}}`"
                ),
            ));
        }
        Ok(())
    }
}

impl UserPolicy {
    /// The validity window `(valid_after, valid_before)` in Unix seconds for a
    /// request at `now` asking for `asked` seconds (or the default).
    pub fn window(&self, now: u64, asked: Option<u64>) -> Result<(u64, u64), ValidationError> {
        let after = match asked {
            Some(asked) if asked == 0 || asked > self.max_validity_seconds => {
                return Err(ValidationError::Validity {
                    asked,
                    max: Some(self.max_validity_seconds),
                });
            }
            Some(asked) => asked,
            None => self.validity_after_seconds,
        };
        Ok((
            now.saturating_sub(self.validity_before_seconds),
            now.saturating_add(after),
        ))
    }

    /// Decides whether `requester` may have `principals`.
    pub fn authorize(
        &self,
        requester: &str,
        principals: &[String],
    ) -> Result<Authorization, PolicyError> {
        match &self.principals {
            PrincipalRule::OwnName => match principals.iter().find(|p| *p != requester) {
                Some(other) => Err(PolicyError::NotOwnName {
                    requester: requester.to_owned(),
                    principal: other.clone(),
                }),
                None => Ok(Authorization::Granted),
            },
            PrincipalRule::AllowList { allow } => {
                let own = allow.get(requester).map(Vec::as_slice).unwrap_or_default();
                let all = allow.get("*").map(Vec::as_slice).unwrap_or_default();
                for p in principals {
                    if !own.contains(p) && !all.contains(p) {
                        return Err(PolicyError::NotAllowed {
                            requester: requester.to_owned(),
                            principal: p.clone(),
                        });
                    }
                }
                Ok(Authorization::Granted)
            }
            PrincipalRule::IamGroup { group_template } => Ok(Authorization::NeedsGroups(
                principals
                    .iter()
                    .map(|p| (p.clone(), group_template.replace("{principal}", p)))
                    .collect(),
            )),
        }
    }
}

impl HostPolicy {
    /// Checks that every host name lies in an allowed domain.
    pub fn authorize(&self, hostnames: &[String]) -> Result<(), PolicyError> {
        for name in hostnames {
            let bare = name.strip_prefix("*.").unwrap_or(name);
            let allowed = self.allowed_domains.iter().any(|domain| {
                let domain = domain.trim_end_matches('.').to_ascii_lowercase();
                bare == domain
                    || bare
                        .strip_suffix(domain.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            });
            if !allowed {
                return Err(PolicyError::HostNotAllowed {
                    hostname: name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The validity window for a host certificate issued at `now`.
    pub fn window(&self, now: u64) -> (u64, u64) {
        (
            now.saturating_sub(self.validity_before_seconds),
            now.saturating_add(self.validity_after_seconds),
        )
    }
}

/// Checks group membership for [`Authorization::NeedsGroups`]: `member_of` is
/// the requester's groups as IAM reports them.
pub fn check_groups(
    requester: &str,
    needed: &[(String, String)],
    member_of: &[String],
) -> Result<(), PolicyError> {
    for (principal, group) in needed {
        if !member_of.contains(group) {
            return Err(PolicyError::NotInGroup {
                requester: requester.to_owned(),
                principal: principal.clone(),
                group: group.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn defaults_are_blesss() {
        let p: Policy = toml::from_str("").unwrap();
        assert_eq!(p.user.validity_before_seconds, 120);
        assert_eq!(p.user.validity_after_seconds, 120);
        assert_eq!(p.user.window(1000, None).unwrap(), (880, 1120));
        assert_eq!(p.user.extensions.len(), 5);
        p.check().unwrap();
    }

    #[test]
    fn asked_validity_is_capped() {
        let p = UserPolicy::default();
        assert_eq!(p.window(1000, Some(60)).unwrap(), (880, 1060));
        assert_eq!(p.window(1000, Some(3600)).unwrap().1, 4600);
        let err = p.window(1000, Some(3601)).unwrap_err().to_string();
        assert!(err.contains("3601") && err.contains("3600"), "{err}");
        assert!(p.window(1000, Some(0)).is_err());
    }

    #[test]
    fn own_name_only_by_default() {
        let p = UserPolicy::default();
        assert_eq!(
            p.authorize("alice", &names(&["alice"])).unwrap(),
            Authorization::Granted
        );
        let err = p
            .authorize("alice", &names(&["alice", "root"]))
            .unwrap_err();
        assert!(err.to_string().contains("`root`"));
    }

    #[test]
    fn allow_list_and_wildcard() {
        let p: Policy = toml::from_str(
            r#"
            [user.principals]
            mode = "allow_list"
            allow = { alice = ["alice", "deploy"], "*" = ["guest"] }
            "#,
        )
        .unwrap();
        assert!(
            p.user
                .authorize("alice", &names(&["deploy", "guest"]))
                .is_ok()
        );
        assert!(p.user.authorize("bob", &names(&["guest"])).is_ok());
        assert!(p.user.authorize("bob", &names(&["bob"])).is_err());
    }

    #[test]
    fn iam_group_names_groups() {
        let p: Policy = toml::from_str(
            "[user.principals]\nmode = \"iam_group\"\ngroup_template = \"ssh-{principal}\"",
        )
        .unwrap();
        p.check().unwrap();
        let Authorization::NeedsGroups(needed) =
            p.user.authorize("alice", &names(&["web"])).unwrap()
        else {
            panic!("expected groups")
        };
        assert_eq!(needed, [("web".to_owned(), "ssh-web".to_owned())]);
        assert!(check_groups("alice", &needed, &names(&["ssh-web"])).is_ok());
        let err = check_groups("alice", &needed, &names(&["ssh-db"])).unwrap_err();
        assert!(err.to_string().contains("`ssh-web`"));
    }

    #[test]
    fn host_names_must_be_in_allowed_domains() {
        let mut host = HostPolicy::default();
        assert!(host.authorize(&names(&["web1.example.com"])).is_err());
        host.allowed_domains = names(&["Example.com."]);
        assert!(
            host.authorize(&names(&[
                "web1.example.com",
                "*.example.com",
                "example.com"
            ]))
            .is_ok()
        );
        for bad in ["badexample.com", "example.com.evil.org", "*.com"] {
            let err = host.authorize(&names(&[bad])).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn check_names_keys() {
        let mut p = Policy::default();
        p.user.validity_after_seconds = 7200;
        assert!(
            p.check()
                .unwrap_err()
                .to_string()
                .contains("policy.user.validity_after_seconds")
        );
        let mut p = Policy::default();
        p.user.extensions.push("permit-everything".into());
        assert!(
            p.check()
                .unwrap_err()
                .to_string()
                .contains("policy.user.extensions")
        );
        let p: Result<Policy, _> = toml::from_str("[user]\nvalidity = 3");
        assert!(p.is_err());
    }
}
