use std::path::PathBuf;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_example_loads() {
    let text = include_str!("../../repokid.example.toml");
    let config = Config::load(text, env(&[])).unwrap();
    assert_eq!(config.accounts.ids, ["111122223333", "444455556666"]);
    assert_eq!(config.filter.min_age_days, 90);
    assert_eq!(
        config.filter.account_blocklist["111122223333"],
        ["break-glass"]
    );
    assert!(config.notify.sns_topic.is_some());
}

#[test]
fn an_empty_file_gives_the_defaults() {
    let config = Config::load("", env(&[])).unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.plan_config(), PlanConfig::default());
}

#[test]
fn environment_variables_override_keys() {
    let config = Config::load(
        "[filter]\nmin_age_days = 30\n",
        env(&[
            ("REPOKID__FILTER__MIN_AGE_DAYS", "45"),
            ("REPOKID__ACCOUNTS__IDS", r#"["123456789012"]"#),
            (
                "REPOKID__NOTIFY__SNS_TOPIC",
                "arn:aws:sns:us-east-1:123456789012:t",
            ),
            ("OTHER__FILTER__MIN_AGE_DAYS", "1"),
        ]),
    )
    .unwrap();
    assert_eq!(config.filter.min_age_days, 45);
    assert_eq!(config.plan_config().filter.min_age_days, 45);
    assert!(!config.plan_config().managed);
    assert_eq!(config.accounts.ids, ["123456789012"]);
    assert_eq!(
        config.notify.sns_topic.as_deref(),
        Some("arn:aws:sns:us-east-1:123456789012:t")
    );
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("[filter]\nunused_days = -1\n", "filter.unused_days"),
        ("[accounts]\nids = [\"12\"]\n", "accounts.ids[0]"),
        ("[accounts]\nconcurrency = 0\n", "accounts.concurrency"),
        ("[access]\ncloudtrail = \"bucket/x\"\n", "access.cloudtrail"),
        ("[notify]\nsns_topic = \"topic\"\n", "notify.sns_topic"),
        (
            "[store]\ndynamodb_table = \"t\"\nsqlite = \"r.db\"\n",
            "store",
        ),
        ("[store]\ndynamodb_table = \"\"\n", "store"),
        (
            "[access]\nadvisor_concurrency = 0\n",
            "access.advisor_concurrency",
        ),
        (
            "[filter.account_blocklist]\nabc = [\"x\"]\n",
            "filter.account_blocklist.abc",
        ),
    ];
    for (text, key) in cases {
        let err = Config::load(text, env(&[])).unwrap_err().to_string();
        assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
    }
    let err = Config::load("[filter]\nmin_age = 3\n", env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("min_age"), "{err}");
    let err = Config::load("", env(&[("REPOKID__FILTER__MIN_AGE_DAYS", "\"x\"")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("min_age_days"), "{err}");
}

#[test]
fn the_store_is_sqlite_unless_a_table_is_named() {
    let backend = |text: &str, vars: &[(&str, &str)]| {
        Config::load(text, env(vars))
            .unwrap()
            .store
            .backend(DEFAULT_SQLITE)
    };
    assert_eq!(
        backend("", &[]),
        StoreBackend::Sqlite(PathBuf::from("repokid.db"))
    );
    assert_eq!(
        backend("[store]\nsqlite = \"/var/r.db\"\n", &[]),
        StoreBackend::Sqlite(PathBuf::from("/var/r.db"))
    );
    // The table alone selects DynamoDB (the default file does not get in
    // the way), from the file or from the environment alone.
    assert_eq!(
        backend("[store]\ndynamodb_table = \"repokid\"\n", &[]),
        StoreBackend::DynamoDb("repokid".into())
    );
    assert_eq!(
        backend("", &[("REPOKID__STORE__DYNAMODB_TABLE", "repokid-prod")]),
        StoreBackend::DynamoDb("repokid-prod".into())
    );
    assert_eq!(
        backend(
            "[filter]\nmin_age_days = 3\n",
            &[("REPOKID__STORE__DYNAMODB_TABLE", "t")]
        ),
        StoreBackend::DynamoDb("t".into())
    );
    // A file naming SQLite and the environment naming a table: both set.
    let err = Config::load(
        "[store]\nsqlite = \"r.db\"\n",
        env(&[("REPOKID__STORE__DYNAMODB_TABLE", "t")]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("`store`"), "{err}");
}

#[test]
fn advisor_concurrency_reaches_the_collect_options() {
    let config = Config::load("[access]\nadvisor_concurrency = 3\n", env(&[])).unwrap();
    assert_eq!(config.collect_options().advisor.unwrap().concurrency, 3);
    let default = Config::load("", env(&[])).unwrap();
    assert_eq!(default.collect_options().advisor.unwrap().concurrency, 8);
}

#[test]
fn repo_managed_reaches_the_planner_from_the_file_or_the_environment() {
    let from_file = Config::load("[repo]\nmanaged = true\n", env(&[])).unwrap();
    assert!(from_file.plan_config().managed);
    let from_env = Config::load("", env(&[("REPOKID__REPO__MANAGED", "true")])).unwrap();
    assert!(from_env.plan_config().managed);
    let err = Config::load("[repo]\nmanaged = \"yes\"\n", env(&[])).unwrap_err();
    assert!(err.to_string().contains("managed"), "{err}");
}
