//! Issuance profiles: the rules a request must pass, read from TOML.
//!
//! A profile decides which key types and sizes are accepted, how long a
//! certificate may live, which DNS names and IP addresses it may carry, and
//! what it may be used for. Each refusal names the profile key that refused.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;
use time::Duration;

use crate::model::{KeyFamily, KeyType, Usage};

/// A profile file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Not TOML of the expected shape.
    #[error("profiles are not valid: {0}; see profiles.example.toml")]
    Toml(#[from] toml::de::Error),
    /// A key holds a value that cannot work.
    #[error("profile `{profile}`: `{key}` {problem}")]
    Invalid {
        /// The profile.
        profile: String,
        /// The TOML key.
        key: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// No profile of that name.
    #[error(
        "no profile named `{0}`; profiles are defined under `[profiles.NAME]` in the profiles file"
    )]
    Unknown(String),
}

/// A request the profile refused, naming the rule (the profile's TOML key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile `{profile}` refused {what}: rule `{rule}` {why}")]
pub struct Refusal {
    /// The profile.
    pub profile: String,
    /// The rule (TOML key) that refused.
    pub rule: &'static str,
    /// What was refused, e.g. "`evil.com`".
    pub what: String,
    /// The rule's requirement, ending with how to comply.
    pub why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    profiles: BTreeMap<String, ProfileSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileSpec {
    #[serde(default)]
    usage: Usage,
    #[serde(default = "default_families")]
    key_types: Vec<KeyFamily>,
    default_key_type: Option<KeyType>,
    #[serde(default = "default_min_rsa")]
    min_rsa_bits: u32,
    max_validity: String,
    default_validity: Option<String>,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    allow_wildcards: bool,
    #[serde(default)]
    ip_ranges: Vec<IpNet>,
    rotate_before_days: Option<u32>,
}

fn default_families() -> Vec<KeyFamily> {
    vec![KeyFamily::P256, KeyFamily::P384, KeyFamily::Rsa]
}

fn default_min_rsa() -> u32 {
    2048
}

/// One domain rule: an exact name, or every name below a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainRule {
    /// Exactly this name.
    Exact(String),
    /// Any name below this domain (written `*.example.com`), not the domain itself.
    Below(String),
}

impl fmt::Display for DomainRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(n) => f.write_str(n),
            Self::Below(d) => write!(f, "*.{d}"),
        }
    }
}

/// A validated profile.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// What certificates under it are for.
    pub usage: Usage,
    /// Accepted key families.
    pub key_types: Vec<KeyFamily>,
    /// Key generated when the request brings none.
    pub default_key_type: KeyType,
    /// Smallest accepted RSA modulus.
    pub min_rsa_bits: u32,
    /// Longest validity.
    pub max_validity: Duration,
    /// Validity when the request names none.
    pub default_validity: Duration,
    /// Allowed DNS names.
    pub domains: Vec<DomainRule>,
    /// Whether wildcard names (`*.x.example.com`) may be issued.
    pub allow_wildcards: bool,
    /// Allowed IP address ranges for IP SANs (empty: none allowed).
    pub ip_ranges: Vec<IpNet>,
    /// Rotate this many days before expiry (none: never rotate automatically).
    pub rotate_before_days: Option<u32>,
}

/// The profiles of a profile file, by name.
#[derive(Clone, Debug, Default)]
pub struct Profiles(BTreeMap<String, Profile>);

impl Profiles {
    /// Reads and validates a profile file's text.
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        let spec: FileSpec = toml::from_str(text)?;
        let mut out = BTreeMap::new();
        for (name, p) in spec.profiles {
            let profile = Profile::from_spec(&name, p)?;
            out.insert(name, profile);
        }
        Ok(Self(out))
    }

    /// The profile of that name.
    pub fn get(&self, name: &str) -> Result<&Profile, ProfileError> {
        self.0
            .get(name)
            .ok_or_else(|| ProfileError::Unknown(name.to_owned()))
    }

    /// All profiles, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.0.values()
    }
}

/// Parses a duration written as a number and a unit: `397d`, `12h`, `30m`, `90s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(unit_at);
    let n: i64 = n.parse().ok()?;
    match unit {
        "d" => Some(Duration::days(n)),
        "h" => Some(Duration::hours(n)),
        "m" => Some(Duration::minutes(n)),
        "s" => Some(Duration::seconds(n)),
        _ => None,
    }
}

impl Profile {
    fn from_spec(name: &str, spec: ProfileSpec) -> Result<Self, ProfileError> {
        let invalid = |key: &'static str, problem: String| ProfileError::Invalid {
            profile: name.to_owned(),
            key,
            problem,
        };
        let duration = |key: &'static str, text: &str| {
            parse_duration(text)
                .filter(|d| d.is_positive())
                .ok_or_else(|| {
                    invalid(
                        key,
                        format!("is `{text}`; write a positive duration such as `397d` or `12h`"),
                    )
                })
        };
        let max_validity = duration("max_validity", &spec.max_validity)?;
        let default_validity = match &spec.default_validity {
            Some(t) => duration("default_validity", t)?,
            None => max_validity,
        };
        if default_validity > max_validity {
            return Err(invalid(
                "default_validity",
                "is longer than `max_validity`; shorten it".to_owned(),
            ));
        }
        if spec.key_types.is_empty() {
            return Err(invalid(
                "key_types",
                "is empty; list at least one of p256, p384, p521, ed25519, rsa".to_owned(),
            ));
        }
        let default_key_type = spec
            .default_key_type
            .unwrap_or(match spec.key_types.first() {
                Some(KeyFamily::P384) => KeyType::P384,
                Some(KeyFamily::P521) => KeyType::P521,
                Some(KeyFamily::Ed25519) => KeyType::Ed25519,
                Some(KeyFamily::Rsa) => KeyType::Rsa(spec.min_rsa_bits.max(2048)),
                _ => KeyType::P256,
            });
        if !generatable(default_key_type) {
            return Err(invalid(
                "default_key_type",
                format!(
                    "`{default_key_type}` cannot be generated; use p256, p384, p521, ed25519, rsa2048, rsa3072 or rsa4096"
                ),
            ));
        }
        let mut domains = Vec::new();
        for d in &spec.domains {
            let rule = match d.strip_prefix("*.") {
                Some(base) => DomainRule::Below(base.to_ascii_lowercase()),
                None => DomainRule::Exact(d.to_ascii_lowercase()),
            };
            let bare = match &rule {
                DomainRule::Exact(n) | DomainRule::Below(n) => n,
            };
            if !is_dns_name(bare) {
                return Err(invalid(
                    "domains",
                    format!(
                        "holds `{d}`, which is not a DNS name; write `host.example.com` or `*.example.com`"
                    ),
                ));
            }
            domains.push(rule);
        }
        let profile = Self {
            name: name.to_owned(),
            usage: spec.usage,
            key_types: spec.key_types,
            default_key_type,
            min_rsa_bits: spec.min_rsa_bits,
            max_validity,
            default_validity,
            domains,
            allow_wildcards: spec.allow_wildcards,
            ip_ranges: spec.ip_ranges,
            rotate_before_days: spec.rotate_before_days,
        };
        if let Err(r) = profile.check_key(default_key_type) {
            return Err(invalid(
                "default_key_type",
                format!("is refused by the profile itself: {r}"),
            ));
        }
        Ok(profile)
    }

    fn refuse(&self, rule: &'static str, what: String, why: String) -> Refusal {
        Refusal {
            profile: self.name.clone(),
            rule,
            what,
            why,
        }
    }

    /// Checks a subject key type.
    pub fn check_key(&self, key: KeyType) -> Result<(), Refusal> {
        if !self.key_types.contains(&key.family()) {
            let allowed: Vec<String> = self
                .key_types
                .iter()
                .map(|f| format!("{f:?}").to_ascii_lowercase())
                .collect();
            return Err(self.refuse(
                "key_types",
                format!("key type `{key}`"),
                format!("allows only {}; use one of those", allowed.join(", ")),
            ));
        }
        if let KeyType::Rsa(bits) = key
            && bits < self.min_rsa_bits
        {
            return Err(self.refuse(
                "min_rsa_bits",
                format!("an RSA key of {bits} bits"),
                format!(
                    "requires at least {} bits; use a larger key",
                    self.min_rsa_bits
                ),
            ));
        }
        Ok(())
    }

    /// Checks a requested validity, or gives the default one.
    pub fn check_validity(&self, asked: Option<Duration>) -> Result<Duration, Refusal> {
        match asked {
            None => Ok(self.default_validity),
            Some(d) if !d.is_positive() => Err(self.refuse(
                "max_validity",
                format!("a validity of {d}"),
                "needs a positive validity; ask for e.g. 90d".to_owned(),
            )),
            Some(d) if d > self.max_validity => Err(self.refuse(
                "max_validity",
                format!("a validity of {} hours", d.whole_hours()),
                format!(
                    "allows at most {} hours; ask for a shorter validity",
                    self.max_validity.whole_hours()
                ),
            )),
            Some(d) => Ok(d),
        }
    }

    /// Checks one DNS name and returns it normalized (lowercase, no final dot).
    pub fn check_dns(&self, name: &str) -> Result<String, Refusal> {
        let lower = name.trim_end_matches('.').to_ascii_lowercase();
        let (wildcard, base) = match lower.strip_prefix("*.") {
            Some(base) => (true, base),
            None => (false, lower.as_str()),
        };
        if !is_dns_name(base) {
            return Err(self.refuse(
                "domains",
                format!("`{name}`"),
                "accepts only DNS names (letters, digits, hyphens, dots; a wildcard only as the whole first label); correct the name".to_owned(),
            ));
        }
        if wildcard && !self.allow_wildcards {
            return Err(self.refuse(
                "allow_wildcards",
                format!("`{name}`"),
                "is false: wildcard certificates are not issued under this profile; list the names instead".to_owned(),
            ));
        }
        let covered = self.domains.iter().any(|rule| match rule {
            DomainRule::Exact(n) => !wildcard && n == base,
            DomainRule::Below(d) => {
                if wildcard {
                    base == d || is_below(base, d)
                } else {
                    is_below(base, d)
                }
            }
        });
        if !covered {
            let allowed: Vec<String> = self.domains.iter().map(ToString::to_string).collect();
            let listed = if allowed.is_empty() {
                "no DNS names".to_owned()
            } else {
                allowed.join(", ")
            };
            return Err(self.refuse(
                "domains",
                format!("`{name}`"),
                format!("allows {listed}; ask for a name within them or use another profile"),
            ));
        }
        Ok(lower)
    }

    /// Checks one IP address SAN.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        if self.ip_ranges.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        let why = if self.ip_ranges.is_empty() {
            "is empty: this profile issues no IP address SANs; ask for DNS names".to_owned()
        } else {
            let ranges: Vec<String> = self.ip_ranges.iter().map(ToString::to_string).collect();
            format!(
                "allows {}; ask for an address within them",
                ranges.join(", ")
            )
        };
        Err(self.refuse("ip_ranges", format!("IP address `{ip}`"), why))
    }
}

/// Whether a key type can be generated here.
pub fn generatable(key: KeyType) -> bool {
    matches!(
        key,
        KeyType::P256
            | KeyType::P384
            | KeyType::P521
            | KeyType::Ed25519
            | KeyType::Rsa(2048 | 3072 | 4096)
    )
}

fn is_below(name: &str, domain: &str) -> bool {
    name.len() > domain.len() + 1
        && name.ends_with(domain)
        && name
            .as_bytes()
            .get(name.len() - domain.len() - 1)
            .is_some_and(|b| *b == b'.')
}

/// Whether `name` is a syntactically valid lowercase DNS name (LDH labels).
pub fn is_dns_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
        [profiles.server]
        usage = "server"
        key_types = ["p256", "p384", "rsa"]
        min_rsa_bits = 3072
        max_validity = "397d"
        default_validity = "90d"
        domains = ["example.com", "*.example.com"]
        ip_ranges = ["10.0.0.0/8"]
        rotate_before_days = 30

        [profiles.wild]
        max_validity = "12h"
        domains = ["*.svc.example.net"]
        allow_wildcards = true
    "#;

    fn server() -> Profile {
        Profiles::from_toml(TOML)
            .unwrap()
            .get("server")
            .unwrap()
            .clone()
    }

    #[test]
    fn reads_profiles() {
        let p = server();
        assert_eq!(p.max_validity, Duration::days(397));
        assert_eq!(p.default_validity, Duration::days(90));
        assert_eq!(p.default_key_type, KeyType::P256);
        assert_eq!(p.rotate_before_days, Some(30));
        let all = Profiles::from_toml(TOML).unwrap();
        assert_eq!(
            all.get("wild").unwrap().default_validity,
            Duration::hours(12)
        );
        assert!(matches!(all.get("nope"), Err(ProfileError::Unknown(_))));
    }

    #[test]
    fn load_errors_name_the_key() {
        let bad = "[profiles.x]\nmax_validity = \"forever\"\n";
        let err = Profiles::from_toml(bad).unwrap_err().to_string();
        assert!(err.contains("`max_validity`"), "{err}");
        let bad = "[profiles.x]\nmax_validity = \"1d\"\ndomains = [\"Bad Name\"]\n";
        let err = Profiles::from_toml(bad).unwrap_err().to_string();
        assert!(err.contains("`domains`"), "{err}");
        let bad = "[profiles.x]\nmax_validity = \"1d\"\nunknown = 1\n";
        assert!(Profiles::from_toml(bad).is_err());
    }

    #[test]
    fn domain_rules() {
        let p = server();
        assert_eq!(p.check_dns("Example.COM.").unwrap(), "example.com");
        assert!(p.check_dns("www.example.com").is_ok());
        assert!(p.check_dns("a.b.example.com").is_ok());
        let r = p.check_dns("evilexample.com").unwrap_err();
        assert_eq!(r.rule, "domains");
        let r = p.check_dns("*.example.com").unwrap_err();
        assert_eq!(r.rule, "allow_wildcards");
        assert_eq!(
            p.check_dns("bad_name.example.com").unwrap_err().rule,
            "domains"
        );

        let wild = Profiles::from_toml(TOML)
            .unwrap()
            .get("wild")
            .unwrap()
            .clone();
        assert!(wild.check_dns("*.svc.example.net").is_ok());
        assert!(wild.check_dns("*.a.svc.example.net").is_ok());
        assert!(wild.check_dns("svc.example.net").is_err());
        assert!(wild.check_dns("*.example.net").is_err());
    }

    #[test]
    fn key_validity_ip_rules() {
        let p = server();
        assert_eq!(p.check_key(KeyType::Ed25519).unwrap_err().rule, "key_types");
        assert_eq!(
            p.check_key(KeyType::Rsa(2048)).unwrap_err().rule,
            "min_rsa_bits"
        );
        assert!(p.check_key(KeyType::Rsa(4096)).is_ok());
        assert_eq!(
            p.check_validity(Some(Duration::days(398)))
                .unwrap_err()
                .rule,
            "max_validity"
        );
        assert_eq!(p.check_validity(None).unwrap(), Duration::days(90));
        assert!(p.check_ip("10.2.3.4".parse().unwrap()).is_ok());
        assert_eq!(
            p.check_ip("192.168.1.1".parse().unwrap()).unwrap_err().rule,
            "ip_ranges"
        );
        let msg = p
            .check_ip("192.168.1.1".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("profile `server` refused IP address `192.168.1.1`: rule `ip_ranges`"),
            "{msg}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("397d"), Some(Duration::days(397)));
        assert_eq!(parse_duration("12h"), Some(Duration::hours(12)));
        assert_eq!(parse_duration("12"), None);
        assert_eq!(parse_duration("d"), None);
        assert_eq!(parse_duration("3w"), None);
    }

    proptest::proptest! {
        #[test]
        fn names_outside_the_domain_are_refused(label in "[a-z0-9]{1,20}") {
            let p = server();
            let outside = format!("{label}.example.org");
            proptest::prop_assert!(p.check_dns(&outside).is_err());
            let inside = format!("{label}.example.com");
            proptest::prop_assert!(p.check_dns(&inside).is_ok());
        }
    }
}
