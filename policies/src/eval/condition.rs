//! Condition operators, compiled once per policy and tested per request.
//!
//! The rules are listed in the documentation of [`super`].

use std::borrow::Cow;

use ipnet::IpNet;

use super::err::EvalError;
use super::request::{Readings, Request, Value};
use super::value::{self, Expected};
use crate::arn;
use crate::glob::{self, Case};
use crate::model::{ConditionValue, Operator, OperatorKind, SetQualifier, ValueType, Version};
use crate::variables::Template;

/// One (operator, key, values) entry of a `Condition` block.
#[derive(Debug, Clone)]
pub(super) struct Test {
    operator: Operator,
    /// The key as written, for messages.
    key: String,
    /// The key in lowercase, for lookups.
    lookup: String,
    values: PolicyValues,
}

/// The policy values, parsed for the operator's type.
#[derive(Debug, Clone)]
enum PolicyValues {
    Text(Vec<Text>),
    Number(Vec<f64>),
    Date(Vec<i128>),
    Bool(Vec<bool>),
    Binary(Vec<Vec<u8>>),
    Ip(Vec<IpNet>),
    Null(Vec<bool>),
}

/// A `String*`/`Arn*` value: fixed text, or text with policy variables.
#[derive(Debug, Clone)]
enum Text {
    Fixed(String),
    Variable(Template),
}

impl Test {
    /// Parses the values for the operator's type.
    pub(super) fn compile(
        operator: Operator,
        key: &str,
        values: &[ConditionValue],
        version: Option<Version>,
    ) -> Result<Test, EvalError> {
        let parse = |expected: Expected, read: &dyn Fn(&str) -> bool| {
            values
                .iter()
                .find(|v| !read(v.as_text()))
                .map_or(Ok(()), |bad| {
                    Err(EvalError::PolicyValue {
                        operator: operator.to_string(),
                        key: key.to_owned(),
                        value: bad.as_text().to_owned(),
                        expected: expected.noun(),
                        example: expected.example(),
                    })
                })
        };
        let texts = || values.iter().map(ConditionValue::as_text);
        let compiled = match operator.kind.value_type() {
            ValueType::String | ValueType::Arn => PolicyValues::Text(
                texts()
                    .map(|text| {
                        let template = Template::new(text, version);
                        if template.has_variables() {
                            Text::Variable(template)
                        } else {
                            Text::Fixed(text.to_owned())
                        }
                    })
                    .collect(),
            ),
            ValueType::Numeric => {
                parse(Expected::Number, &|t| value::number(t).is_some())?;
                PolicyValues::Number(texts().filter_map(value::number).collect())
            }
            ValueType::Date => {
                parse(Expected::Date, &|t| value::date(t).is_some())?;
                PolicyValues::Date(texts().filter_map(value::date).collect())
            }
            ValueType::Bool => {
                parse(Expected::Bool, &|t| value::boolean(t).is_some())?;
                PolicyValues::Bool(texts().filter_map(value::boolean).collect())
            }
            ValueType::Binary => {
                parse(Expected::Binary, &|t| value::binary(t).is_some())?;
                PolicyValues::Binary(texts().filter_map(value::binary).collect())
            }
            ValueType::Ip => {
                parse(Expected::Ip, &|t| value::ip_range(t).is_some())?;
                PolicyValues::Ip(texts().filter_map(value::ip_range).collect())
            }
            ValueType::Null => {
                parse(Expected::Bool, &|t| value::boolean(t).is_some())?;
                PolicyValues::Null(texts().filter_map(value::boolean).collect())
            }
        };
        Ok(Test {
            operator,
            key: key.to_owned(),
            lookup: key.to_lowercase(),
            values: compiled,
        })
    }

    /// Whether the condition holds for the request.
    pub(super) fn holds(&self, request: &Request) -> Result<bool, EvalError> {
        let found = request
            .values(&self.lookup)
            .filter(|entry| !entry.values.is_empty());
        if let PolicyValues::Null(expect_absent) = &self.values {
            let absent = found.is_none();
            return Ok(expect_absent.contains(&absent));
        }
        let negated = self.operator.kind.is_negated();
        let Some(entry) = found else {
            return Ok(self.operator.if_exists
                || match self.operator.qualifier {
                    Some(SetQualifier::ForAllValues) => true,
                    Some(SetQualifier::ForAnyValue) => false,
                    None => negated,
                });
        };
        match self.operator.qualifier {
            None => {
                for (value, readings) in entry.values.iter().zip(&entry.readings) {
                    if self.matches_any(value, readings, request)? {
                        return Ok(!negated);
                    }
                }
                Ok(negated)
            }
            Some(SetQualifier::ForAnyValue) => {
                for (value, readings) in entry.values.iter().zip(&entry.readings) {
                    if self.matches_any(value, readings, request)? != negated {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Some(SetQualifier::ForAllValues) => {
                for (value, readings) in entry.values.iter().zip(&entry.readings) {
                    if self.matches_any(value, readings, request)? == negated {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    /// Whether one request value matches at least one policy value under the
    /// operator's positive form (`StringNotLike` tests like `StringLike`).
    fn matches_any(
        &self,
        value: &Value,
        readings: &Readings,
        request: &Request,
    ) -> Result<bool, EvalError> {
        let kind = self.operator.kind;
        Ok(match &self.values {
            PolicyValues::Text(texts) => {
                let value = value.text();
                texts
                    .iter()
                    .any(|text| text_matches(kind, text, &value, request))
            }
            PolicyValues::Number(numbers) => {
                let n = self.read(value, Expected::Number, readings.number)?;
                numbers.iter().any(|p| compare(kind, n.partial_cmp(p)))
            }
            PolicyValues::Date(dates) => {
                let at = self.read(value, Expected::Date, readings.date)?;
                dates.iter().any(|p| compare(kind, Some(at.cmp(p))))
            }
            PolicyValues::Bool(bools) => {
                let b = self.read(value, Expected::Bool, readings.boolean)?;
                bools.contains(&b)
            }
            PolicyValues::Binary(blobs) => {
                let bytes: Option<Cow<'_, [u8]>> = match value {
                    Value::Binary(bytes) => Some(Cow::Borrowed(bytes.as_slice())),
                    other => value::binary(&other.text()).map(Cow::Owned),
                };
                let bytes = self.read(value, Expected::Binary, bytes)?;
                blobs.iter().any(|p| p.as_slice() == bytes.as_ref())
            }
            PolicyValues::Ip(ranges) => {
                let ip = self.read(value, Expected::Ip, readings.ip)?;
                ranges.iter().any(|range| range.contains(&ip))
            }
            PolicyValues::Null(_) => false,
        })
    }

    /// A request value read as the operator's type, or the error naming it.
    fn read<T>(&self, value: &Value, expected: Expected, read: Option<T>) -> Result<T, EvalError> {
        read.ok_or_else(|| EvalError::RequestValue {
            operator: self.operator.to_string(),
            key: self.key.clone(),
            value: value.text().into_owned(),
            expected: expected.noun(),
            example: expected.example(),
        })
    }
}

/// Whether the request's text matches one `String*`/`Arn*` policy value.
fn text_matches(kind: OperatorKind, text: &Text, value: &str, request: &Request) -> bool {
    use OperatorKind as K;
    match kind {
        K::StringEquals | K::StringNotEquals => match text {
            Text::Fixed(p) => p == value,
            Text::Variable(t) => t.resolve(request).is_some_and(|p| p == value),
        },
        K::StringEqualsIgnoreCase | K::StringNotEqualsIgnoreCase => match text {
            Text::Fixed(p) => equal_ignoring_case(p, value),
            Text::Variable(t) => t
                .resolve(request)
                .is_some_and(|p| equal_ignoring_case(&p, value)),
        },
        K::StringLike | K::StringNotLike => match text {
            Text::Fixed(p) => glob::matches(p, value, Case::Sensitive),
            Text::Variable(t) => t
                .resolve_pattern(request)
                .is_some_and(|p| p.matches(value, Case::Sensitive)),
        },
        // ArnEquals takes wildcards too: AWS documents both alike.
        _ => match text {
            Text::Fixed(p) => arn::matches(p, value),
            Text::Variable(t) => t
                .resolve_pattern(request)
                .is_some_and(|p| p.matches_arn(value)),
        },
    }
}

fn equal_ignoring_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

/// Whether `request <op> policy` holds, given how they compare.
fn compare(kind: OperatorKind, order: Option<std::cmp::Ordering>) -> bool {
    use OperatorKind as K;
    use std::cmp::Ordering::{Equal, Greater, Less};
    matches!(
        (kind, order),
        (
            K::NumericEquals | K::NumericNotEquals | K::DateEquals | K::DateNotEquals,
            Some(Equal)
        ) | (K::NumericLessThan | K::DateLessThan, Some(Less))
            | (
                K::NumericLessThanEquals | K::DateLessThanEquals,
                Some(Less | Equal)
            )
            | (K::NumericGreaterThan | K::DateGreaterThan, Some(Greater))
            | (
                K::NumericGreaterThanEquals | K::DateGreaterThanEquals,
                Some(Greater | Equal)
            )
    )
}
