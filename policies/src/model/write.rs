//! Writing a policy back to JSON in the shape it was read.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::{Condition, ConditionValue, Negatable, OneOrMany, Policy, Principal, Statement};

impl Policy {
    /// The policy as a JSON value equivalent to what was parsed.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(version) = self.version {
            map.insert("Version".into(), version.as_str().into());
        }
        if let Some(id) = &self.id {
            map.insert("Id".into(), id.as_str().into());
        }
        map.insert(
            "Statement".into(),
            one_or_many(&self.statements, Statement::to_value),
        );
        Value::Object(map)
    }

    /// Compact JSON text, as IAM stores it.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }
}

impl Serialize for Policy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl Statement {
    /// The statement as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(sid) = &self.sid {
            map.insert("Sid".into(), sid.as_str().into());
        }
        map.insert("Effect".into(), self.effect.to_string().into());
        if let Some(principal) = &self.principal {
            insert(
                &mut map,
                ("Principal", "NotPrincipal"),
                principal,
                principal_value,
            );
        }
        insert(&mut map, ("Action", "NotAction"), &self.action, strings);
        if let Some(resource) = &self.resource {
            insert(&mut map, ("Resource", "NotResource"), resource, strings);
        }
        if let Some(condition) = &self.condition {
            map.insert("Condition".into(), condition_value(condition));
        }
        Value::Object(map)
    }
}

fn insert<T>(
    map: &mut Map<String, Value>,
    names: (&str, &str),
    element: &Negatable<T>,
    value: impl Fn(&T) -> Value,
) {
    let name = if element.negated { names.1 } else { names.0 };
    map.insert(name.into(), value(&element.value));
}

fn one_or_many<T>(values: &OneOrMany<T>, item: impl Fn(&T) -> Value) -> Value {
    match values {
        OneOrMany::One(v) => item(v),
        OneOrMany::Many(vs) => Value::Array(vs.iter().map(item).collect()),
    }
}

fn strings(values: &OneOrMany<String>) -> Value {
    one_or_many(values, |s| Value::String(s.clone()))
}

fn principal_value(principal: &Principal) -> Value {
    match principal {
        Principal::Any => "*".into(),
        Principal::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(kind, ids)| (kind.as_str().to_owned(), strings(ids)))
                .collect(),
        ),
    }
}

fn condition_value(condition: &Condition) -> Value {
    Value::Object(
        condition
            .operators
            .iter()
            .map(|(op, keys)| {
                let keys = keys
                    .iter()
                    .map(|(key, values)| (key.clone(), one_or_many(values, scalar)))
                    .collect();
                (op.to_string(), Value::Object(keys))
            })
            .collect(),
    )
}

fn scalar(value: &ConditionValue) -> Value {
    match value {
        ConditionValue::String(s) => Value::String(s.clone()),
        ConditionValue::Bool(b) => Value::Bool(*b),
        ConditionValue::Number(n) => n
            .parse::<serde_json::Number>()
            .map_or_else(|_| Value::String(n.clone()), Value::Number),
    }
}
