//! Request validation: the pure first step, no I/O.
//!
//! A [`Validator`] turns a [`UserRequest`] or [`HostRequest`] into a
//! [`ValidUserRequest`] or [`ValidHostRequest`] whose fields are parsed
//! (addresses, networks, the public key) and checked; every failure names the
//! field it comes from.

use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;
use serde::{Deserialize, Serialize};
use ssh_key::{EcdsaCurve, PublicKey, public::KeyData};

use crate::err::{ConfigError, ValidationError};
use crate::model::{HostRequest, UserRequest};

/// How user names (the requester and the principals) are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsernameMode {
    /// `useradd`'s default rule: `[a-z_][a-z0-9_-]*[$]?`, at most 32 characters.
    Useradd,
    /// Debian's relaxed rule: no leading `-`, `+` or `~`, no `:`, `,` or white
    /// space, at most 32 characters.
    Debian,
    /// An e-mail address `local@domain.name`.
    Email,
    /// Letters, digits, `.`, `_`, `@` and `-`, not starting with `-`, at most 256.
    Principal,
    /// Any non-empty text without control characters or commas, at most 256.
    Disabled,
}

impl UsernameMode {
    fn name(self) -> &'static str {
        match self {
            Self::Useradd => "useradd",
            Self::Debian => "debian",
            Self::Email => "email",
            Self::Principal => "principal",
            Self::Disabled => "disabled",
        }
    }

    /// Why `name` breaks this mode's rule, or `None` when it is acceptable.
    pub fn check(self, name: &str) -> Option<&'static str> {
        if name.is_empty() {
            return Some("it is empty");
        }
        match self {
            Self::Useradd => check_useradd(name),
            Self::Debian => check_debian(name),
            Self::Email => check_email(name),
            Self::Principal => {
                if name.len() > 256 {
                    Some("it is longer than 256 characters")
                } else if name.starts_with('-') {
                    Some("it starts with `-`")
                } else if !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
                {
                    Some("only letters, digits, `.`, `_`, `@` and `-` are allowed")
                } else {
                    None
                }
            }
            Self::Disabled => {
                if name.len() > 256 {
                    Some("it is longer than 256 characters")
                } else if name.chars().any(|c| c.is_control() || c == ',') {
                    Some("it contains a control character or a comma")
                } else {
                    None
                }
            }
        }
    }
}

fn check_useradd(name: &str) -> Option<&'static str> {
    if name.len() > 32 {
        return Some("it is longer than 32 characters");
    }
    let body = name.strip_suffix('$').unwrap_or(name);
    let mut bytes = body.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_lowercase() || b == b'_' => {}
        _ => return Some("it must start with a lower-case letter or `_`"),
    }
    if bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') {
        None
    } else {
        Some("only lower-case letters, digits, `_` and `-` are allowed (and a final `$`)")
    }
}

fn check_debian(name: &str) -> Option<&'static str> {
    if name.len() > 32 {
        return Some("it is longer than 32 characters");
    }
    if name.starts_with(['-', '+', '~']) {
        return Some("it starts with `-`, `+` or `~`");
    }
    if name
        .chars()
        .any(|c| c == ':' || c == ',' || c.is_whitespace() || c.is_control())
    {
        return Some("it contains `:`, `,`, white space or a control character");
    }
    None
}

fn check_email(name: &str) -> Option<&'static str> {
    if name.len() > 254 {
        return Some("it is longer than 254 characters");
    }
    let Some((local, domain)) = name.rsplit_once('@') else {
        return Some("it has no `@`");
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    if !local_ok {
        return Some("the part before `@` is not a plain mailbox name");
    }
    if dns_name_problem(domain, false).is_some() || !domain.contains('.') {
        return Some("the part after `@` is not a domain name");
    }
    None
}

/// Why `name` is not a DNS host name, or `None`. `allow_wildcard` accepts a
/// leading `*.` label (host certificates may name `*.example.com`).
fn dns_name_problem(name: &str, allow_wildcard: bool) -> Option<&'static str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let body = match name.strip_prefix("*.") {
        Some(rest) if allow_wildcard => rest,
        _ => name,
    };
    if body.is_empty() {
        return Some("it is empty");
    }
    if name.len() > 253 {
        return Some("it is longer than 253 characters");
    }
    for label in body.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some("each label must have 1 to 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("a label starts or ends with `-`");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Some("only letters, digits and `-` are allowed in a label");
        }
    }
    None
}

/// Validation settings (the `[validation]` table of the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// The rule for `bastion_user`.
    #[serde(default = "default_requester_mode")]
    pub requester_mode: UsernameMode,
    /// The rule for each of `remote_usernames`.
    #[serde(default = "default_principal_mode")]
    pub principal_mode: UsernameMode,
    /// A regular expression; principals matching it are refused (e.g. `^root$`).
    #[serde(default)]
    pub principal_blocklist: Option<String>,
}

fn default_requester_mode() -> UsernameMode {
    UsernameMode::Useradd
}

fn default_principal_mode() -> UsernameMode {
    UsernameMode::Useradd
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            requester_mode: default_requester_mode(),
            principal_mode: default_principal_mode(),
            principal_blocklist: None,
        }
    }
}

/// A user request whose fields have been checked and parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidUserRequest {
    /// The requester's user name.
    pub requester: String,
    /// The requester's address.
    pub requester_ip: IpAddr,
    /// The principals asked for, in request order, without duplicates.
    pub principals: Vec<String>,
    /// The key to certify.
    pub public_key: KeyData,
    /// Networks for `source-address`; empty means no restriction.
    pub source_addresses: Vec<IpNet>,
    /// The `force-command`, if any.
    pub command: Option<String>,
    /// The lifetime asked for, if shorter than the policy default.
    pub validity_seconds: Option<u64>,
}

/// A host request whose fields have been checked and parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidHostRequest {
    /// The host names, lower-cased, without duplicates.
    pub hostnames: Vec<String>,
    /// The host key to certify.
    pub public_key: KeyData,
}

/// Checks requests against a [`ValidationConfig`].
#[derive(Debug, Clone)]
pub struct Validator {
    config: ValidationConfig,
    blocklist: Option<Regex>,
}

/// The most principals or host names one certificate may carry.
pub const MAX_PRINCIPALS: usize = 64;
/// The longest `force-command` accepted.
pub const MAX_COMMAND_LEN: usize = 4096;

impl Validator {
    /// Compiles the blocklist; an invalid expression is a configuration error.
    pub fn new(config: ValidationConfig) -> Result<Self, ConfigError> {
        let blocklist = config
            .principal_blocklist
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|e| ConfigError::Invalid {
                key: "validation.principal_blocklist".into(),
                reason: e.to_string(),
            })?;
        Ok(Self { config, blocklist })
    }

    /// Validates a user request.
    pub fn user(&self, request: &UserRequest) -> Result<ValidUserRequest, ValidationError> {
        let requester = &request.bastion_user;
        if let Some(reason) = self.config.requester_mode.check(requester) {
            return Err(ValidationError::Username {
                field: "bastion_user".into(),
                value: requester.clone(),
                mode: self.config.requester_mode.name(),
                reason,
            });
        }
        let requester_ip = request
            .bastion_user_ip
            .trim()
            .parse::<IpAddr>()
            .map_err(|_| ValidationError::Address {
                field: "bastion_user_ip".into(),
                value: request.bastion_user_ip.clone(),
            })?;
        let principals = self.principals(&request.remote_usernames)?;
        let public_key = parse_public_key(&request.public_key_to_sign)?;
        let source_addresses = match &request.bastion_ips {
            None => Vec::new(),
            Some(list) => parse_networks(list)?,
        };
        let command = request.command.as_deref().map(check_command).transpose()?;
        if request.validity_seconds == Some(0) {
            return Err(ValidationError::Validity {
                asked: 0,
                max: None,
            });
        }
        Ok(ValidUserRequest {
            requester: requester.clone(),
            requester_ip,
            principals,
            public_key,
            source_addresses,
            command,
            validity_seconds: request.validity_seconds,
        })
    }

    fn principals(&self, names: &[String]) -> Result<Vec<String>, ValidationError> {
        if names.is_empty() {
            return Err(ValidationError::Empty {
                field: "remote_usernames",
            });
        }
        if names.len() > MAX_PRINCIPALS {
            return Err(ValidationError::TooMany {
                field: "remote_usernames",
                max: MAX_PRINCIPALS,
            });
        }
        let mut out: Vec<String> = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let field = format!("remote_usernames[{i}]");
            if let Some(reason) = self.config.principal_mode.check(name) {
                return Err(ValidationError::Username {
                    field,
                    value: name.clone(),
                    mode: self.config.principal_mode.name(),
                    reason,
                });
            }
            if self.blocklist.as_ref().is_some_and(|re| re.is_match(name)) {
                return Err(ValidationError::Blocked {
                    field,
                    value: name.clone(),
                });
            }
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        Ok(out)
    }

    /// Validates a host request.
    pub fn host(&self, request: &HostRequest) -> Result<ValidHostRequest, ValidationError> {
        if request.hostnames.is_empty() {
            return Err(ValidationError::Empty { field: "hostnames" });
        }
        if request.hostnames.len() > MAX_PRINCIPALS {
            return Err(ValidationError::TooMany {
                field: "hostnames",
                max: MAX_PRINCIPALS,
            });
        }
        let mut hostnames: Vec<String> = Vec::with_capacity(request.hostnames.len());
        for (i, name) in request.hostnames.iter().enumerate() {
            if let Some(reason) = dns_name_problem(name, true) {
                return Err(ValidationError::Hostname {
                    field: format!("hostnames[{i}]"),
                    value: name.clone(),
                    reason,
                });
            }
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if !hostnames.contains(&name) {
                hostnames.push(name);
            }
        }
        let public_key = parse_public_key(&request.public_key_to_sign)?;
        Ok(ValidHostRequest {
            hostnames,
            public_key,
        })
    }
}

fn check_command(command: &str) -> Result<String, ValidationError> {
    let reason = if command.trim().is_empty() {
        Some("it is empty")
    } else if command.len() > MAX_COMMAND_LEN {
        Some("it is longer than 4096 bytes")
    } else if command.chars().any(|c| c.is_control() && c != '\t') {
        Some("it contains a control character")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ValidationError::Command { reason }),
        None => Ok(command.to_owned()),
    }
}

/// Parses `source-address` entries: addresses (`10.0.0.1`, `::1`) and CIDR
/// blocks (`10.0.0.0/8`, `2001:db8::/32`), normalised to their network.
pub fn parse_networks(list: &[String]) -> Result<Vec<IpNet>, ValidationError> {
    if list.is_empty() {
        return Err(ValidationError::Empty {
            field: "bastion_ips",
        });
    }
    if list.len() > MAX_PRINCIPALS {
        return Err(ValidationError::TooMany {
            field: "bastion_ips",
            max: MAX_PRINCIPALS,
        });
    }
    let mut out: Vec<IpNet> = Vec::with_capacity(list.len());
    for (i, text) in list.iter().enumerate() {
        let text = text.trim();
        let net = if text.contains('/') {
            text.parse::<IpNet>().ok().map(|n| n.trunc())
        } else {
            text.parse::<IpAddr>().ok().map(IpNet::from)
        };
        let Some(net) = net else {
            return Err(ValidationError::Address {
                field: format!("bastion_ips[{i}]"),
                value: text.to_owned(),
            });
        };
        if !out.contains(&net) {
            out.push(net);
        }
    }
    Ok(out)
}

/// Parses and checks a public key line: Ed25519, ECDSA P-256/384/521, RSA of
/// at least 2048 bits with an exponent of at least 65537, and the FIDO `sk-`
/// variants. DSA keys and certificates are refused.
pub fn parse_public_key(line: &str) -> Result<KeyData, ValidationError> {
    let line = line.trim();
    let algorithm = line.split_whitespace().next().unwrap_or_default();
    if algorithm.ends_with("-cert-v01@openssh.com") {
        return Err(ValidationError::Key {
            reason: "it is a certificate; send the plain public key (`.pub`)".into(),
        });
    }
    let key = PublicKey::from_openssh(line).map_err(|e| ValidationError::Key {
        reason: format!("it is not an OpenSSH public key line ({e})"),
    })?;
    let data = key.key_data().clone();
    check_key(&data)?;
    Ok(data)
}

/// Checks the algorithm and strength of a parsed key.
pub fn check_key(key: &KeyData) -> Result<(), ValidationError> {
    let refuse = |reason: &str| {
        Err(ValidationError::Key {
            reason: reason.to_owned(),
        })
    };
    match key {
        KeyData::Ed25519(_) | KeyData::SkEd25519(_) | KeyData::SkEcdsaSha2NistP256(_) => Ok(()),
        KeyData::Ecdsa(ec) => match ec.curve() {
            EcdsaCurve::NistP256 | EcdsaCurve::NistP384 | EcdsaCurve::NistP521 => Ok(()),
        },
        KeyData::Rsa(rsa) => {
            let n = rsa.n.as_positive_bytes().unwrap_or_default();
            let e = rsa.e.as_positive_bytes().unwrap_or_default();
            if bit_length(n) < 2048 {
                return refuse(&format!(
                    "the RSA key has {} bits; use at least 2048 (or Ed25519)",
                    bit_length(n)
                ));
            }
            if bit_length(e) < 17 {
                return refuse("the RSA public exponent is below 65537; generate a new key");
            }
            Ok(())
        }
        KeyData::Dsa(_) => refuse("DSA keys are refused by OpenSSH; use Ed25519"),
        _ => refuse("the key algorithm is not supported; use Ed25519, ECDSA or RSA"),
    }
}

/// The number of significant bits of a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    let trimmed: &[u8] = match bytes.iter().position(|&b| b != 0) {
        Some(i) => bytes.get(i..).unwrap_or_default(),
        None => return 0,
    };
    let first = trimmed.first().copied().unwrap_or_default();
    trimmed.len() * 8 - first.leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ED25519: &str = include_str!("../testdata/user-ed25519.pub");

    fn user(principals: &[&str]) -> UserRequest {
        UserRequest {
            bastion_user: "alice".into(),
            bastion_user_ip: "10.0.0.1".into(),
            remote_usernames: principals.iter().map(|s| (*s).to_owned()).collect(),
            public_key_to_sign: ED25519.into(),
            bastion_ips: None,
            command: None,
            kmsauth_token: None,
            validity_seconds: None,
        }
    }

    #[test]
    fn username_modes() {
        use UsernameMode::*;
        assert_eq!(Useradd.check("alice"), None);
        assert_eq!(Useradd.check("svc_1-a$"), None);
        assert!(Useradd.check("Alice").is_some());
        assert!(Useradd.check("1alice").is_some());
        assert!(Useradd.check(&"a".repeat(33)).is_some());
        assert_eq!(Debian.check("Alice.Smith"), None);
        assert!(Debian.check("-alice").is_some());
        assert!(Debian.check("al ice").is_some());
        assert!(Debian.check("a:b").is_some());
        assert_eq!(Email.check("alice.smith@example.com"), None);
        assert!(Email.check("alice").is_some());
        assert!(Email.check("alice@localhost").is_some());
        assert!(Email.check("al ice@example.com").is_some());
        assert_eq!(Principal.check("alice@EXAMPLE.com"), None);
        assert!(Principal.check("alice smith").is_some());
        assert_eq!(Disabled.check("Alice Smith"), None);
        assert!(Disabled.check("a,b").is_some());
        for mode in [Useradd, Debian, Email, Principal, Disabled] {
            assert!(mode.check("").is_some());
        }
    }

    #[test]
    fn user_request_fields_are_parsed() {
        let v = Validator::new(ValidationConfig::default()).unwrap();
        let mut req = user(&["alice", "deploy", "alice"]);
        req.bastion_ips = Some(vec!["10.1.2.3/8".into(), "2001:db8::1".into()]);
        req.command = Some("uptime".into());
        let ok = v.user(&req).unwrap();
        assert_eq!(ok.principals, ["alice", "deploy"]);
        assert_eq!(ok.source_addresses[0].to_string(), "10.0.0.0/8");
        assert_eq!(ok.source_addresses[1].to_string(), "2001:db8::1/128");
        assert_eq!(ok.requester_ip.to_string(), "10.0.0.1");
    }

    #[test]
    fn each_failure_names_its_field() {
        let v = Validator::new(ValidationConfig {
            principal_blocklist: Some("^root$".into()),
            ..ValidationConfig::default()
        })
        .unwrap();
        let cases: Vec<(UserRequest, &str)> = vec![
            (
                UserRequest {
                    bastion_user: "Bob!".into(),
                    ..user(&["a"])
                },
                "`bastion_user`",
            ),
            (
                UserRequest {
                    bastion_user_ip: "10.0.0".into(),
                    ..user(&["a"])
                },
                "`bastion_user_ip`",
            ),
            (user(&["ok", "root"]), "`remote_usernames[1]`"),
            (user(&[]), "`remote_usernames`"),
            (
                UserRequest {
                    bastion_ips: Some(vec!["10.0.0.0/33".into()]),
                    ..user(&["a"])
                },
                "`bastion_ips[0]`",
            ),
            (
                UserRequest {
                    command: Some("ls\nrm".into()),
                    ..user(&["a"])
                },
                "`command`",
            ),
            (
                UserRequest {
                    public_key_to_sign: "ssh-ed25519 AAAA".into(),
                    ..user(&["a"])
                },
                "`public_key_to_sign`",
            ),
        ];
        for (req, field) in cases {
            let err = v.user(&req).unwrap_err().to_string();
            assert!(err.contains(field), "{err} should name {field}");
        }
    }

    #[test]
    fn invalid_blocklist_is_a_config_error() {
        let err = Validator::new(ValidationConfig {
            principal_blocklist: Some("(".into()),
            ..ValidationConfig::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("validation.principal_blocklist"));
    }

    #[test]
    fn hostnames() {
        let v = Validator::new(ValidationConfig::default()).unwrap();
        let req = HostRequest {
            hostnames: vec!["Web1.Example.com.".into(), "*.example.com".into()],
            public_key_to_sign: ED25519.into(),
        };
        assert_eq!(
            v.host(&req).unwrap().hostnames,
            ["web1.example.com", "*.example.com"]
        );
        for bad in ["-a.example.com", "a..b", "a_b.example.com", "", "*"] {
            let req = HostRequest {
                hostnames: vec![bad.into()],
                public_key_to_sign: ED25519.into(),
            };
            let err = v.host(&req).unwrap_err().to_string();
            assert!(err.contains("`hostnames[0]`"), "{bad}: {err}");
        }
    }

    #[test]
    fn key_strength() {
        for ok in ["ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa2048"] {
            let line = std::fs::read_to_string(format!("testdata/user-{ok}.pub")).unwrap();
            assert!(parse_public_key(&line).is_ok(), "{ok}");
        }
        let err = parse_public_key(include_str!("../testdata/user-dsa.pub")).unwrap_err();
        assert!(err.to_string().contains("DSA"), "{err}");
        let err = parse_public_key(include_str!("../testdata/user-rsa1024.pub")).unwrap_err();
        assert!(err.to_string().contains("1024 bits"), "{err}");
        let cert = "ssh-ed25519-cert-v01@openssh.com AAAA x";
        let err = parse_public_key(cert).unwrap_err();
        assert!(err.to_string().contains("certificate"), "{err}");

        let KeyData::Rsa(mut rsa) =
            parse_public_key(include_str!("../testdata/user-rsa2048.pub")).unwrap()
        else {
            panic!("expected RSA")
        };
        rsa.e = ssh_key::Mpint::from_positive_bytes(&[3]).unwrap();
        let err = check_key(&KeyData::Rsa(rsa)).unwrap_err();
        assert!(err.to_string().contains("65537"), "{err}");

        let sk =
            ssh_key::public::SkEd25519::new(ssh_key::public::Ed25519PublicKey([7; 32]), "ssh:");
        assert!(check_key(&KeyData::SkEd25519(sk)).is_ok());
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1, 0, 1]), 17);
        assert_eq!(bit_length(&[0, 0x80]), 8);
    }

    proptest! {
        #[test]
        fn useradd_names_are_principal_names(name in "[a-z_][a-z0-9_-]{0,30}") {
            prop_assert_eq!(UsernameMode::Useradd.check(&name), None);
            prop_assert_eq!(UsernameMode::Principal.check(&name), None);
        }

        #[test]
        fn validation_never_panics(name in any::<String>(), ip in any::<String>(), key in any::<String>()) {
            let v = Validator::new(ValidationConfig::default()).unwrap();
            let req = UserRequest {
                bastion_user: name.clone(),
                bastion_user_ip: ip,
                remote_usernames: vec![name],
                public_key_to_sign: key,
                bastion_ips: None,
                command: None,
                kmsauth_token: None,
                validity_seconds: None,
            };
            let _ = v.user(&req);
        }

        #[test]
        fn networks_contain_their_address(a in any::<[u8; 4]>(), prefix in 0u8..=32) {
            let addr = std::net::Ipv4Addr::from(a);
            let nets = parse_networks(&[format!("{addr}/{prefix}")]).unwrap();
            prop_assert!(nets[0].contains(&IpAddr::V4(addr)));
        }
    }
}
