//! Which account a role's IAM calls go to: the role's own, read from its
//! ARN.
//!
//! A store may hold roles of many accounts (`update` reads each through
//! the role it assumes there), so a write names its role by ARN and is sent
//! to that ARN's account. [`Route`] says how repokid gets there: with the
//! caller's own credentials (roles of the caller's account only; any other
//! is refused, naming the fix) or by assuming one role in each account, the
//! caller's own included, as `update` does. [`Sessions`] keeps what a run
//! needs: the caller's account, asked once, or one assumed session per
//! account, made on first use and reused by every later call there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use super::accounts::{self, Accounts};
use crate::err::{AwsError, error_chain};

/// A role ARN taken apart: `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleArn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`...
    pub partition: &'a str,
    /// The 12-digit account ID.
    pub account: &'a str,
    /// The role name, without its path (what the IAM API takes).
    pub name: &'a str,
}

impl<'a> RoleArn<'a> {
    /// The parts of `arn`, or `None` when it is not an IAM role ARN.
    pub fn parse(arn: &'a str) -> Option<RoleArn<'a>> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        // `role/NAME` or `role/PATH/NAME`; a role name holds no `/`.
        let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
        let is_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        (!partition.is_empty() && is_account && !name.is_empty()).then_some(RoleArn {
            partition,
            account,
            name,
        })
    }
}

/// How repokid reaches the account of a role it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The caller's own credentials: roles of the caller's account only.
    Caller,
    /// This role (a name) assumed in each role's account, the caller's own
    /// included.
    Assume(String),
}

impl Route {
    /// The way `update` reaches `accounts`: none listed, the caller's own
    /// credentials; otherwise `accounts.role_name` assumed in each account.
    pub fn of(accounts: &Accounts) -> Route {
        if accounts.ids.is_empty() {
            Route::Caller
        } else {
            Route::Assume(accounts.role_name.clone())
        }
    }
}

/// Why a role's account could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The role is not named by an IAM role ARN.
    #[error(
        "`{0}` is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME); run `repokid update` to store the role again"
    )]
    NotRoleArn(String),
    /// A role of another account, and no role to assume there.
    #[error(
        "the role is in account `{account}` but the credentials are of account `{caller}` and no role is assumed; set `accounts.ids` (REPOKID__ACCOUNTS__IDS) so that repokid assumes `accounts.assume_role` in each role's account, or pass `--assume-role NAME`"
    )]
    OtherAccount {
        /// The role's account.
        account: String,
        /// The caller's account.
        caller: String,
    },
    /// STS did not tell the caller's account.
    #[error(
        "cannot tell the caller's account (STS `GetCallerIdentity`): {0}; check the credentials and the region"
    )]
    CallerUnknown(String),
    /// Assuming the role in the role's account failed.
    #[error(transparent)]
    Assume(AwsError),
}

/// The SDK configuration of one account, and IAM through it.
#[derive(Debug, Clone)]
pub struct Session {
    /// The caller's configuration, or the assumed role's.
    pub config: SdkConfig,
    /// An IAM client of `config`.
    pub iam: aws_sdk_iam::Client,
}

impl Session {
    fn of(config: SdkConfig) -> Session {
        Session {
            iam: aws_sdk_iam::Client::new(&config),
            config,
        }
    }
}

/// Made once, then shared (failures too: an account whose role cannot be
/// assumed is not asked again in the same run).
type Once<T> = Arc<OnceCell<Result<T, RouteError>>>;

/// The sessions of one run, by account (cheap to clone: clones share them).
#[derive(Debug, Clone)]
pub struct Sessions {
    route: Route,
    caller: Session,
    /// [`Route::Caller`]: the caller's account.
    caller_account: Once<String>,
    /// [`Route::Assume`]: per `PARTITION:ACCOUNT`, the assumed session.
    assumed: Arc<Mutex<HashMap<String, Once<Session>>>>,
}

impl Sessions {
    /// Sessions from the caller's configuration `base`, reaching accounts
    /// by `route`.
    pub fn new(base: &SdkConfig, route: Route) -> Sessions {
        Sessions {
            route,
            caller: Session::of(base.clone()),
            caller_account: Arc::default(),
            assumed: Arc::default(),
        }
    }

    /// How accounts are reached.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The session for calls about `role`: with [`Route::Caller`], the
    /// caller's own if the role is of the caller's account (asked of STS
    /// once); with [`Route::Assume`], the role assumed in the role's
    /// account (`arn:PARTITION:iam::ACCOUNT:role/NAME`, the partition of
    /// `role`), once per account.
    pub async fn session(&self, role: &RoleArn<'_>) -> Result<Session, RouteError> {
        match &self.route {
            Route::Caller => {
                let caller = self
                    .caller_account
                    .get_or_init(|| caller_account(&self.caller.config))
                    .await
                    .clone()?;
                if caller != role.account {
                    return Err(RouteError::OtherAccount {
                        account: role.account.to_owned(),
                        caller,
                    });
                }
                Ok(self.caller.clone())
            }
            Route::Assume(assumed) => {
                let once = Arc::clone(
                    self.assumed
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .entry(format!("{}:{}", role.partition, role.account))
                        .or_default(),
                );
                once.get_or_init(|| async {
                    accounts::assume(&self.caller.config, role.partition, role.account, assumed)
                        .await
                        .map(Session::of)
                        .map_err(RouteError::Assume)
                })
                .await
                .clone()
            }
        }
    }
}

async fn caller_account(config: &SdkConfig) -> Result<String, RouteError> {
    let out = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| RouteError::CallerUnknown(error_chain(&e)))?;
    out.account
        .ok_or_else(|| RouteError::CallerUnknown("the answer names no account".to_owned()))
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_config::retry::RetryConfig;
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_sts::config::Credentials;

    use super::*;

    #[test]
    fn role_arns_are_taken_apart_path_and_partition_included() {
        let parse = |arn| RoleArn::parse(arn).map(|r| (r.partition, r.account, r.name));
        assert_eq!(
            parse("arn:aws:iam::111122223333:role/web"),
            Some(("aws", "111122223333", "web"))
        );
        assert_eq!(
            parse("arn:aws-cn:iam::111122223333:role/service/app/app-role"),
            Some(("aws-cn", "111122223333", "app-role"))
        );
        for bad in [
            "web",
            "arn:aws:iam::111122223333:user/web",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:role/service/",
            "arn:aws:iam::1111:role/web",
            "arn:aws:iam::11112222333x:role/web",
            "arn:aws:sts::111122223333:role/web",
            "arn::iam::111122223333:role/web",
            "arn:aws:iam:us-east-1:111122223333:role/web",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    /// An endpoint that takes connections, counts them and closes them
    /// unanswered, and a configuration pointed at it (one attempt a call).
    async fn counting_endpoint() -> (Arc<AtomicUsize>, SdkConfig) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                seen.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .load()
            .await;
        (count, config)
    }

    #[tokio::test]
    async fn a_failed_assume_names_the_role_and_is_not_tried_again_in_the_account() {
        let (count, config) = counting_endpoint().await;
        let sessions = Sessions::new(&config, Route::Assume("RepokidRole".into()));
        let role = |arn| RoleArn::parse(arn).unwrap();
        let err = sessions
            .session(&role("arn:aws-cn:iam::111122223333:role/service/app"))
            .await
            .unwrap_err();
        let RouteError::Assume(AwsError::AssumeRole {
            account, role_arn, ..
        }) = &err
        else {
            panic!("{err}");
        };
        assert_eq!(account, "111122223333");
        // The role's partition, the configured role's name.
        assert_eq!(role_arn, "arn:aws-cn:iam::111122223333:role/RepokidRole");
        assert_eq!(count.load(Ordering::SeqCst), 1);
        // Another role of that account: the same error, no second attempt.
        let again = sessions
            .session(&role("arn:aws-cn:iam::111122223333:role/web"))
            .await
            .unwrap_err();
        assert_eq!(again, err);
        assert_eq!(count.load(Ordering::SeqCst), 1);
        // Another account is tried on its own.
        let other = sessions
            .session(&role("arn:aws-cn:iam::444455556666:role/web"))
            .await
            .unwrap_err();
        assert!(other.to_string().contains("444455556666"), "{other}");
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_route_follows_the_accounts_of_update() {
        let mut accounts = Accounts {
            ids: Vec::new(),
            role_name: "RepokidRole".into(),
            limit: 4,
        };
        assert_eq!(Route::of(&accounts), Route::Caller);
        accounts.ids.push("111122223333".into());
        assert_eq!(Route::of(&accounts), Route::Assume("RepokidRole".into()));
    }
}
