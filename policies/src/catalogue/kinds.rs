use std::fmt;

/// How much an action can do, as the AWS Service Authorization Reference
/// classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessLevel {
    /// Lists resources or their contents.
    List,
    /// Reads contents or attributes.
    Read,
    /// Creates, changes or deletes.
    Write,
    /// Only adds, changes or removes tags.
    Tagging,
    /// Grants or changes permissions (policies, roles, ACLs, shares).
    PermissionsManagement,
}

impl AccessLevel {
    /// The level as AWS writes it, e.g. `Permissions management`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::List => "List",
            AccessLevel::Read => "Read",
            AccessLevel::Write => "Write",
            AccessLevel::Tagging => "Tagging",
            AccessLevel::PermissionsManagement => "Permissions management",
        }
    }

    /// The one-letter code of the data file.
    pub(super) fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "L" => AccessLevel::List,
            "R" => AccessLevel::Read,
            "W" => AccessLevel::Write,
            "T" => AccessLevel::Tagging,
            "P" => AccessLevel::PermissionsManagement,
            _ => return None,
        })
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a condition key's value, which decides the condition
/// operators that make sense with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConditionKeyType {
    /// Text (`String*` operators).
    String,
    /// An ARN (`Arn*` operators).
    Arn,
    /// `true` or `false` (`Bool`).
    Bool,
    /// A date and time (`Date*` operators).
    Date,
    /// A number (`Numeric*` operators).
    Numeric,
    /// An IPv4 or IPv6 address (`IpAddress`, `NotIpAddress`).
    IpAddress,
    /// Base64 bytes (`BinaryEquals`).
    Binary,
    /// Several strings (use `ForAnyValue:`/`ForAllValues:`).
    ArrayOfString,
    /// Several ARNs.
    ArrayOfArn,
    /// Several booleans.
    ArrayOfBool,
    /// Several dates.
    ArrayOfDate,
    /// Several numbers.
    ArrayOfNumeric,
    /// Several IP addresses.
    ArrayOfIpAddress,
    /// Several binary values.
    ArrayOfBinary,
}

impl ConditionKeyType {
    const NAMES: [(ConditionKeyType, &'static str); 14] = [
        (ConditionKeyType::String, "String"),
        (ConditionKeyType::Arn, "ARN"),
        (ConditionKeyType::Bool, "Bool"),
        (ConditionKeyType::Date, "Date"),
        (ConditionKeyType::Numeric, "Numeric"),
        (ConditionKeyType::IpAddress, "IPAddress"),
        (ConditionKeyType::Binary, "Binary"),
        (ConditionKeyType::ArrayOfString, "ArrayOfString"),
        (ConditionKeyType::ArrayOfArn, "ArrayOfARN"),
        (ConditionKeyType::ArrayOfBool, "ArrayOfBool"),
        (ConditionKeyType::ArrayOfDate, "ArrayOfDate"),
        (ConditionKeyType::ArrayOfNumeric, "ArrayOfNumeric"),
        (ConditionKeyType::ArrayOfIpAddress, "ArrayOfIPAddress"),
        (ConditionKeyType::ArrayOfBinary, "ArrayOfBinary"),
    ];

    /// The type as the AWS reference writes it, e.g. `ArrayOfString`, `IPAddress`.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(ty, _)| *ty == self)
            .map_or("String", |(_, name)| name)
    }

    /// Reads [`as_str`](Self::as_str)'s spelling back.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(ty, _)| *ty)
    }

    /// Whether the request can carry several values for the key.
    pub fn is_multivalued(self) -> bool {
        matches!(
            self,
            ConditionKeyType::ArrayOfString
                | ConditionKeyType::ArrayOfArn
                | ConditionKeyType::ArrayOfBool
                | ConditionKeyType::ArrayOfDate
                | ConditionKeyType::ArrayOfNumeric
                | ConditionKeyType::ArrayOfIpAddress
                | ConditionKeyType::ArrayOfBinary
        )
    }
}

impl fmt::Display for ConditionKeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_type_names_round_trip() {
        for (ty, name) in ConditionKeyType::NAMES {
            assert_eq!(ty.as_str(), name);
            assert_eq!(ConditionKeyType::from_name(name), Some(ty));
        }
        assert_eq!(ConditionKeyType::from_name("string"), None);
        assert!(ConditionKeyType::ArrayOfArn.is_multivalued());
        assert!(!ConditionKeyType::Arn.is_multivalued());
    }

    #[test]
    fn access_level_codes() {
        for (code, level) in [
            ("L", AccessLevel::List),
            ("R", AccessLevel::Read),
            ("W", AccessLevel::Write),
            ("T", AccessLevel::Tagging),
            ("P", AccessLevel::PermissionsManagement),
        ] {
            assert_eq!(AccessLevel::from_code(code), Some(level));
        }
        assert_eq!(AccessLevel::from_code("X"), None);
        assert_eq!(
            AccessLevel::PermissionsManagement.to_string(),
            "Permissions management"
        );
    }
}
