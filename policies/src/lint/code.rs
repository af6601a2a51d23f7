//! The finding codes and severities of the linter.

use serde::Serialize;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Style or hygiene.
    Low,
    /// Likely a mistake, or broader than intended.
    Medium,
    /// A real risk.
    High,
    /// Grants everything, or lets a principal grant itself everything.
    Critical,
}

impl Severity {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity `{text}`; use low, medium, high or critical"
            )),
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $name:literal, $severity:ident, $description:literal;)*) => {
        /// A stable finding code. Its kebab-case name never changes meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(
                #[doc = $description]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable name, e.g. `unknown-action`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// The severity findings of this code have.
            pub fn severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }

            /// One sentence on what the code finds.
            pub fn description(self) -> &'static str {
                match self {
                    $(Code::$variant => $description,)*
                }
            }
        }
    };
}

codes! {
    Malformed = "malformed", High,
        "The document does not follow the IAM policy grammar; IAM would refuse it.";
    MissingVersion = "missing-version", Low,
        "No `Version`: policy variables are read as literal text under the 2008-10-17 rules.";
    UnknownService = "unknown-service", Medium,
        "An action names a service prefix AWS does not have.";
    UnknownAction = "unknown-action", Medium,
        "An action pattern matches no action of its service.";
    UnknownConditionKey = "unknown-condition-key", Medium,
        "A condition key is neither global nor defined by the statement's actions, so the condition never matches as intended.";
    ConditionTypeMismatch = "condition-type-mismatch", Medium,
        "A condition operator does not fit the key's type, or a value does not parse as the operator's type.";
    ResourceMismatch = "resource-mismatch", Medium,
        "A resource ARN matches no resource type of the statement's actions.";
    ResourceStar = "resource-star", Low,
        "`Resource: \"*\"` where the actions can be scoped to named resources.";
    AllowNotAction = "allow-not-action", Medium,
        "Allow with `NotAction` grants every other action, including ones AWS adds later.";
    AllowNotResource = "allow-not-resource", Medium,
        "Allow with `NotResource` grants every other resource, including ones created later.";
    AdminWildcard = "admin-wildcard", Critical,
        "Allow of every action on every resource without a condition.";
    PrivilegeEscalation = "privilege-escalation", High,
        "The allowed actions together let the principal raise its own privileges.";
    DuplicateSid = "duplicate-sid", Medium,
        "Two statements share a `Sid`; IAM refuses this in most policy types.";
    RedundantStatement = "redundant-statement", Low,
        "A statement grants nothing that another statement does not already grant.";
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
