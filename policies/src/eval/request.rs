//! What is asked: who (the caller), which action on which resource, and the
//! request context of typed, possibly multi-valued keys.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::err::{CallerError, ContextError};
use super::value;
use crate::arn::Arn;
use crate::variables::Lookup;

/// One value of a context key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text. Operators of other types read it as their type (a `String`
    /// `"10.0.0.1"` works with `IpAddress`), which is how values typed on a
    /// command line are used.
    String(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A point in time.
    Date(OffsetDateTime),
    /// An IP address.
    Ip(IpAddr),
    /// Raw bytes (compared with `BinaryEquals` against base64 policy values).
    Binary(Vec<u8>),
    /// An ARN.
    Arn(String),
}

impl Value {
    /// The value as text: how `String*` operators and policy variables see it.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Value::String(s) | Value::Arn(s) => Cow::Borrowed(s),
            Value::Number(n) => Cow::Owned(n.to_string()),
            Value::Bool(true) => Cow::Borrowed("true"),
            Value::Bool(false) => Cow::Borrowed("false"),
            Value::Date(at) => Cow::Owned(
                at.format(&Rfc3339)
                    .unwrap_or_else(|_| at.unix_timestamp().to_string()),
            ),
            Value::Ip(ip) => Cow::Owned(ip.to_string()),
            Value::Binary(bytes) => {
                Cow::Owned(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::String(text.to_owned())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<IpAddr> for Value {
    fn from(ip: IpAddr) -> Self {
        Value::Ip(ip)
    }
}

impl From<OffsetDateTime> for Value {
    fn from(at: OffsetDateTime) -> Self {
        Value::Date(at)
    }
}

/// A key's values, each with its readings as the other types, worked out
/// once when the value is set rather than at every evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Entry {
    pub(super) values: Vec<Value>,
    pub(super) readings: Vec<Readings>,
}

/// What a value means to the operators of each type (`None`: not such a value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Readings {
    pub(super) number: Option<f64>,
    pub(super) date: Option<i128>,
    pub(super) boolean: Option<bool>,
    pub(super) ip: Option<IpAddr>,
}

impl Readings {
    fn of(value: &Value) -> Readings {
        let none = Readings {
            number: None,
            date: None,
            boolean: None,
            ip: None,
        };
        match value {
            Value::String(text) | Value::Arn(text) => Readings {
                number: value::number(text),
                date: value::date(text),
                boolean: value::boolean(text),
                ip: value::ip_address(text),
            },
            Value::Number(n) => Readings {
                number: Some(*n).filter(|n| n.is_finite()),
                date: value::date_from_seconds(*n),
                ..none
            },
            Value::Bool(b) => Readings {
                boolean: Some(*b),
                ..none
            },
            Value::Date(at) => Readings {
                date: Some(at.unix_timestamp_nanos()),
                ..none
            },
            Value::Ip(ip) => Readings {
                ip: Some(*ip),
                ..none
            },
            Value::Binary(_) => none,
        }
    }
}

impl Entry {
    fn new(values: Vec<Value>) -> Entry {
        let readings = values.iter().map(Readings::of).collect();
        Entry { values, readings }
    }

    fn push(&mut self, value: Value) {
        self.readings.push(Readings::of(&value));
        self.values.push(value);
    }
}

/// The request context: condition keys (case-insensitive) to one or more
/// values. A key given an empty list is a multi-valued key with no values,
/// which conditions treat like an absent key.
///
/// On a command line each entry is `KEY=VALUE` ([`Context::add_entry`]):
/// - `aws:SourceIp=10.0.0.1` — one value; everything after the first `=` is
///   the value, commas and `=` included.
/// - `aws:TagKeys=[team,env]` — several values: a value in square brackets is
///   split on commas (spaces around each value are trimmed); `aws:TagKeys=[]`
///   is the empty set.
/// - Repeating a key adds values: `aws:TagKeys=team aws:TagKeys=env` is the
///   same as `aws:TagKeys=[team,env]`.
///
/// Values are text; each operator reads them as its type (`true`, `42`,
/// `2024-01-31T12:00:00Z` or epoch seconds, `203.0.113.7`, base64).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    entries: BTreeMap<String, Entry>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets `key` to the single value `value`, replacing what it had.
    pub fn insert(&mut self, key: &str, value: impl Into<Value>) -> &mut Context {
        self.entries
            .insert(key.to_lowercase(), Entry::new(vec![value.into()]));
        self
    }

    /// Sets `key` to the values `values` (a multi-valued key; may be empty).
    pub fn insert_all(&mut self, key: &str, values: Vec<Value>) -> &mut Context {
        self.entries.insert(key.to_lowercase(), Entry::new(values));
        self
    }

    /// [`Context::insert`] for building a context in one expression.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Context {
        self.insert(key, value);
        self
    }

    /// Adds one `KEY=VALUE` entry (see the type's documentation); the values
    /// are added to those the key already has.
    ///
    /// ```
    /// let mut context = policies::eval::Context::new();
    /// context.add_entry("aws:TagKeys=[team, env]").unwrap();
    /// context.add_entry("aws:SourceIp=10.0.0.1").unwrap();
    /// assert_eq!(context.get("AWS:TAGKEYS").unwrap().len(), 2);
    /// assert!(context.add_entry("aws:SourceIp").is_err());
    /// ```
    pub fn add_entry(&mut self, entry: &str) -> Result<(), ContextError> {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| ContextError::MissingEquals(entry.to_owned()))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(ContextError::EmptyKey(entry.to_owned()));
        }
        let values = self.entries.entry(key.to_lowercase()).or_default();
        match value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            Some(list) if list.trim().is_empty() => {}
            Some(list) => {
                for item in list.split(',') {
                    values.push(Value::from(item.trim()));
                }
            }
            None => values.push(Value::from(value)),
        }
        Ok(())
    }

    /// A context from `KEY=VALUE` entries, e.g. the `--context` arguments of
    /// `policies eval`.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<Context, ContextError> {
        let mut context = Context::new();
        for entry in entries {
            context.add_entry(entry)?;
        }
        Ok(context)
    }

    /// The values of `key` (any case), if it is set.
    pub fn get(&self, key: &str) -> Option<&[Value]> {
        self.entries
            .get(&key.to_lowercase())
            .map(|e| e.values.as_slice())
    }

    /// Every key (in lowercase) with its values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Value])> {
        self.entries
            .iter()
            .map(|(k, e)| (k.as_str(), e.values.as_slice()))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no key is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What kind of principal makes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallerKind {
    /// An account's root user (`arn:aws:iam::ID:root` or a bare account id).
    Root,
    /// An IAM user.
    User,
    /// An IAM role (given as such rather than as one of its sessions).
    Role,
    /// A role session: `arn:aws:sts::ID:assumed-role/ROLE/SESSION`.
    AssumedRole,
    /// A federated user session: `arn:aws:sts::ID:federated-user/NAME`.
    FederatedUser,
    /// Another AWS ARN.
    OtherArn,
    /// An AWS service, e.g. `lambda.amazonaws.com`.
    Service,
    /// A web or SAML identity provider, e.g. `accounts.google.com` or
    /// `arn:aws:iam::ID:saml-provider/NAME`.
    Federated,
}

/// The principal making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    id: String,
    kind: CallerKind,
    account: Option<String>,
    role_arn: Option<String>,
}

impl Caller {
    /// Reads a principal: an AWS ARN, a 12-digit account id (its root user),
    /// a SAML/OIDC provider ARN or a web identity provider name
    /// (`cognito-identity.amazonaws.com`, `accounts.google.com`,
    /// `graph.facebook.com`, `www.amazon.com`), or a service principal
    /// (`*.amazonaws.com`, `*.amazonaws.com.cn`).
    ///
    /// ```
    /// use policies::eval::{Caller, CallerKind};
    /// let c = Caller::parse("arn:aws:sts::123456789012:assumed-role/web/i-1").unwrap();
    /// assert_eq!(c.kind(), CallerKind::AssumedRole);
    /// assert_eq!(c.role_arn(), Some("arn:aws:iam::123456789012:role/web"));
    /// assert_eq!(Caller::parse("123456789012").unwrap().kind(), CallerKind::Root);
    /// assert_eq!(Caller::parse("lambda.amazonaws.com").unwrap().kind(), CallerKind::Service);
    /// ```
    pub fn parse(text: &str) -> Result<Caller, CallerError> {
        let text = text.trim();
        let fail = || CallerError(text.to_owned());
        if is_account_id(text) {
            return Ok(Caller::root(text));
        }
        if text.starts_with("arn:") {
            let arn = Arn::parse(text).map_err(|_| fail())?;
            return Ok(Caller::from_arn(text, &arn));
        }
        let is_host = !text.is_empty()
            && text.contains('.')
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !is_host {
            return Err(fail());
        }
        let service = (text.ends_with(".amazonaws.com") || text.ends_with(".amazonaws.com.cn"))
            && text != "cognito-identity.amazonaws.com";
        Ok(if service {
            Caller::service(text)
        } else {
            Caller::federated(text)
        })
    }

    /// An AWS service principal, e.g. `sns.amazonaws.com`.
    pub fn service(name: &str) -> Caller {
        Caller {
            id: name.to_owned(),
            kind: CallerKind::Service,
            account: None,
            role_arn: None,
        }
    }

    /// A federated identity provider, as named in `"Principal": {"Federated": ...}`.
    pub fn federated(provider: &str) -> Caller {
        Caller {
            id: provider.to_owned(),
            kind: CallerKind::Federated,
            account: None,
            role_arn: None,
        }
    }

    /// Sets the ARN of the role behind a role session, when it has a path
    /// (`arn:aws:iam::ID:role/path/name`): the session ARN does not show it.
    pub fn with_role_arn(mut self, role_arn: &str) -> Caller {
        self.role_arn = Some(role_arn.to_owned());
        self
    }

    fn root(account: &str) -> Caller {
        Caller {
            id: format!("arn:aws:iam::{account}:root"),
            kind: CallerKind::Root,
            account: Some(account.to_owned()),
            role_arn: None,
        }
    }

    fn from_arn(text: &str, arn: &Arn) -> Caller {
        let resource = arn.resource.as_str();
        let mut role_arn = None;
        let kind = match arn.service.as_str() {
            "iam" if resource == "root" => CallerKind::Root,
            "iam" if resource.starts_with("user/") => CallerKind::User,
            "iam" if resource.starts_with("role/") => CallerKind::Role,
            "iam"
                if resource.starts_with("saml-provider/")
                    || resource.starts_with("oidc-provider/") =>
            {
                CallerKind::Federated
            }
            "sts" if resource.starts_with("assumed-role/") => {
                let role = resource
                    .trim_start_matches("assumed-role/")
                    .split('/')
                    .next()
                    .unwrap_or_default();
                role_arn = Some(format!(
                    "arn:{}:iam::{}:role/{role}",
                    arn.partition, arn.account
                ));
                CallerKind::AssumedRole
            }
            "sts" if resource.starts_with("federated-user/") => CallerKind::FederatedUser,
            _ => CallerKind::OtherArn,
        };
        let account =
            (kind != CallerKind::Federated && !arn.account.is_empty()).then(|| arn.account.clone());
        Caller {
            id: text.to_owned(),
            kind,
            account,
            role_arn,
        }
    }

    /// The principal's ARN, service name or provider name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What kind of principal this is.
    pub fn kind(&self) -> CallerKind {
        self.kind
    }

    /// The account the principal belongs to (none for services and
    /// identity providers).
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// For a role session, the role's ARN; for a role, its own ARN.
    pub fn role_arn(&self) -> Option<&str> {
        match self.kind {
            CallerKind::Role => Some(&self.id),
            _ => self.role_arn.as_deref(),
        }
    }

    /// True for principals of an AWS account (users, roles, sessions, root).
    pub fn is_account_principal(&self) -> bool {
        !matches!(self.kind, CallerKind::Service | CallerKind::Federated)
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// One request to evaluate.
///
/// Besides the context given, the request answers these keys from the caller
/// and resource when the context does not set them: `aws:PrincipalArn` (for a
/// role session, the role's ARN), `aws:PrincipalAccount`, `aws:PrincipalType`
/// (`Account`, `User`, `AssumedRole`, `FederatedUser`), `aws:username` (IAM
/// users), `aws:userid` (root: the account id), `aws:PrincipalServiceName`
/// (services) and `aws:ResourceAccount`.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    caller: Option<Caller>,
    action: String,
    resource: Option<String>,
    resource_account: Option<String>,
    context: Context,
    derived: Vec<(&'static str, Entry)>,
}

impl Request {
    /// A request for `action` (e.g. `s3:GetObject`), with no caller (an
    /// anonymous or unspecified principal), no resource (IAM's `*`), and an
    /// empty context.
    pub fn new(action: &str) -> Request {
        Request {
            caller: None,
            action: action.to_owned(),
            resource: None,
            resource_account: None,
            context: Context::new(),
            derived: Vec::new(),
        }
    }

    /// Sets who makes the request.
    pub fn with_caller(mut self, caller: Caller) -> Request {
        self.caller = Some(caller);
        self.derive();
        self
    }

    /// Sets the resource ARN.
    pub fn with_resource(mut self, arn: &str) -> Request {
        self.resource = Some(arn.to_owned());
        self.derive();
        self
    }

    /// Sets the account owning the resource, for ARNs without one (S3).
    pub fn with_resource_account(mut self, account: &str) -> Request {
        self.resource_account = Some(account.to_owned());
        self.derive();
        self
    }

    /// Sets the request context.
    pub fn with_context(mut self, context: Context) -> Request {
        self.context = context;
        self
    }

    /// The caller, if any.
    pub fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }

    /// The action.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The resource ARN, if any.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The account owning the resource: the one set, else the resource ARN's.
    pub fn resource_owner(&self) -> Option<&str> {
        self.resource_account.as_deref().or_else(|| {
            let account = self.resource.as_deref()?.split(':').nth(4)?;
            (!account.is_empty()).then_some(account)
        })
    }

    /// The context as given.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The values of a context key given in lowercase: the context's, else a
    /// key derived from the caller or the resource.
    pub(super) fn values(&self, key: &str) -> Option<&Entry> {
        self.context.entries.get(key).or_else(|| {
            self.derived
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, entry)| entry)
        })
    }

    fn derive(&mut self) {
        let mut derived: Vec<(&'static str, Value)> = Vec::new();
        if let Some(caller) = &self.caller {
            if caller.is_account_principal() {
                let principal_arn = caller.role_arn().unwrap_or(&caller.id);
                derived.push(("aws:principalarn", Value::Arn(principal_arn.to_owned())));
                if let Some(account) = &caller.account {
                    derived.push(("aws:principalaccount", Value::from(account.as_str())));
                }
            }
            let principal_type = match caller.kind {
                CallerKind::Root => Some("Account"),
                CallerKind::User => Some("User"),
                CallerKind::Role | CallerKind::AssumedRole => Some("AssumedRole"),
                CallerKind::FederatedUser => Some("FederatedUser"),
                CallerKind::OtherArn | CallerKind::Service | CallerKind::Federated => None,
            };
            if let Some(principal_type) = principal_type {
                derived.push(("aws:principaltype", Value::from(principal_type)));
            }
            match caller.kind {
                CallerKind::User => {
                    let name = caller.id.rsplit('/').next().unwrap_or_default();
                    derived.push(("aws:username", Value::from(name)));
                }
                CallerKind::Root => {
                    if let Some(account) = &caller.account {
                        derived.push(("aws:userid", Value::from(account.as_str())));
                    }
                }
                CallerKind::Service => {
                    derived.push(("aws:principalservicename", Value::from(caller.id.as_str())));
                }
                _ => {}
            }
        }
        if let Some(owner) = self.resource_owner() {
            derived.push(("aws:resourceaccount", Value::from(owner)));
        }
        self.derived = derived
            .into_iter()
            .map(|(key, value)| (key, Entry::new(vec![value])))
            .collect();
    }
}

impl Lookup for Request {
    /// A key with exactly one value, as text; multi-valued keys are not
    /// substituted, as in IAM.
    fn lookup(&self, key: &str) -> Option<Cow<'_, str>> {
        match self.values(key)?.values.as_slice() {
            [one] => Some(one.text()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_entries() {
        let context = Context::from_entries([
            "aws:SourceIp=10.0.0.1",
            "aws:TagKeys=[ team , env ]",
            "aws:TagKeys=owner",
            "s3:prefix=a=b,c",
            "aws:CalledVia=[]",
            " aws:username =alice",
        ])
        .unwrap();
        assert_eq!(
            context.get("aws:sourceip").unwrap(),
            [Value::from("10.0.0.1")]
        );
        assert_eq!(
            context.get("aws:tagkeys").unwrap(),
            [
                Value::from("team"),
                Value::from("env"),
                Value::from("owner")
            ]
        );
        assert_eq!(context.get("S3:Prefix").unwrap(), [Value::from("a=b,c")]);
        assert_eq!(context.get("aws:calledvia").unwrap(), []);
        assert_eq!(context.get("aws:username").unwrap(), [Value::from("alice")]);
        assert_eq!(context.len(), 5);
        assert_eq!(
            Context::from_entries(["novalue"]),
            Err(ContextError::MissingEquals("novalue".into()))
        );
        assert_eq!(
            Context::from_entries(["=x"]),
            Err(ContextError::EmptyKey("=x".into()))
        );
    }

    #[test]
    fn callers() {
        let user = Caller::parse("arn:aws:iam::111122223333:user/div/alice").unwrap();
        assert_eq!(user.kind(), CallerKind::User);
        assert_eq!(user.account(), Some("111122223333"));
        let session = Caller::parse("arn:aws:sts::111122223333:assumed-role/web/s")
            .unwrap()
            .with_role_arn("arn:aws:iam::111122223333:role/app/web");
        assert_eq!(
            session.role_arn(),
            Some("arn:aws:iam::111122223333:role/app/web")
        );
        let saml = Caller::parse("arn:aws:iam::111122223333:saml-provider/corp").unwrap();
        assert_eq!(saml.kind(), CallerKind::Federated);
        assert_eq!(saml.account(), None);
        assert_eq!(
            Caller::parse("accounts.google.com").unwrap().kind(),
            CallerKind::Federated
        );
        assert_eq!(
            Caller::parse("cognito-identity.amazonaws.com")
                .unwrap()
                .kind(),
            CallerKind::Federated
        );
        for bad in ["", "alice", "arn:aws", "12345", "a b.com"] {
            assert!(Caller::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn derived_keys() {
        let request = Request::new("s3:GetObject")
            .with_caller(Caller::parse("arn:aws:iam::111122223333:user/div/alice").unwrap())
            .with_resource("arn:aws:s3:::bucket/key")
            .with_resource_account("444455556666");
        let text = |key| request.lookup(key).map(|v| v.into_owned());
        assert_eq!(text("aws:username").as_deref(), Some("alice"));
        assert_eq!(text("aws:principaltype").as_deref(), Some("User"));
        assert_eq!(
            text("aws:principalaccount").as_deref(),
            Some("111122223333")
        );
        assert_eq!(text("aws:resourceaccount").as_deref(), Some("444455556666"));
        assert_eq!(
            text("aws:principalarn").as_deref(),
            Some("arn:aws:iam::111122223333:user/div/alice")
        );
        // The context wins over derived keys.
        let request = request.with_context(Context::new().with("aws:username", "bob"));
        assert_eq!(request.lookup("aws:username").as_deref(), Some("bob"));

        let session = Request::new("s3:GetObject")
            .with_caller(Caller::parse("arn:aws:sts::111122223333:assumed-role/web/i-1").unwrap())
            .with_resource("arn:aws:sqs:us-east-1:444455556666:queue");
        assert_eq!(
            session.lookup("aws:principalarn").as_deref(),
            Some("arn:aws:iam::111122223333:role/web")
        );
        assert_eq!(session.lookup("aws:username"), None);
        assert_eq!(session.resource_owner(), Some("444455556666"));
    }

    #[test]
    fn values_as_text() {
        assert_eq!(Value::Number(5.0).text(), "5");
        assert_eq!(Value::Number(2.5).text(), "2.5");
        assert_eq!(Value::Binary(b"Binary".to_vec()).text(), "QmluYXJ5");
        let at = OffsetDateTime::from_unix_timestamp(1_706_702_400).unwrap();
        assert_eq!(Value::Date(at).text(), "2024-01-31T12:00:00Z");
    }
}
