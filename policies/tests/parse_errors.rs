//! Every grammar error names where it is and says what would be right.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use policies::{ParseError, Policy};

/// Parses `text`, expecting a grammar error at `path` whose message contains `fragment`.
fn grammar_error(text: &str, path: &str, fragment: &str) -> String {
    match Policy::parse(text) {
        Err(ParseError::Grammar {
            path: found,
            message,
        }) => {
            assert_eq!(found, path, "for {text}: {message}");
            assert!(
                message.contains(fragment),
                "for {text}: `{message}` lacks `{fragment}`"
            );
            let shown = Policy::parse(text).unwrap_err().to_string();
            assert_eq!(shown, format!("policy is not valid at `{path}`: {message}"));
            message
        }
        other => panic!("for {text}: expected a grammar error, got {other:?}"),
    }
}

#[test]
fn wrong_effect() {
    let message = grammar_error(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "allow", "Action": "s3:*", "Resource": "*"}]}"#,
        "Statement[0].Effect",
        "found `allow`",
    );
    assert_eq!(message, "expected \"Allow\" or \"Deny\", found `allow`");
    grammar_error(
        r#"{"Statement": {"Effect": true, "Action": "s3:*"}}"#,
        "Statement.Effect",
        "expected a string, found boolean `true`",
    );
    grammar_error(
        r#"{"Statement": [{"Effect": "Allow", "Action": "s3:*"}, {"Action": "s3:*"}]}"#,
        "Statement[1]",
        "missing `Effect`; add \"Allow\" or \"Deny\"",
    );
}

#[test]
fn both_an_element_and_its_negation() {
    grammar_error(
        r#"{"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}]}"#,
        "Statement[0]",
        "has both `Action` and `NotAction`; keep one",
    );
    grammar_error(
        r#"{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "NotResource": "x"}]}"#,
        "Statement[0]",
        "has both `Resource` and `NotResource`",
    );
    grammar_error(
        r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "NotPrincipal": "*", "Action": "s3:*"}]}"#,
        "Statement[0]",
        "has both `Principal` and `NotPrincipal`",
    );
    grammar_error(
        r#"{"Statement": [{"Effect": "Allow", "Resource": "*"}]}"#,
        "Statement[0]",
        "missing `Action` or `NotAction`",
    );
}

#[test]
fn empty_list() {
    grammar_error(
        r#"{"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}"#,
        "Statement[0].Action",
        "expected at least one value, found an empty list",
    );
    grammar_error(
        r#"{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Condition": {"StringEquals": {"aws:SourceAccount": []}}}]}"#,
        "Statement[0].Condition.StringEquals.aws:SourceAccount",
        "found an empty list",
    );
}

#[test]
fn unknown_element() {
    let message = grammar_error(
        r#"{"Statement": [{"Effect": "Allow", "Actions": "s3:*", "Resource": "*"}]}"#,
        "Statement[0].Actions",
        "unknown element",
    );
    assert!(
        message.contains("`NotAction`"),
        "lists the valid elements: {message}"
    );
    grammar_error(
        r#"{"Version": "2012-10-17", "Statment": []}"#,
        "Statment",
        "a policy has only `Version`, `Id` and `Statement`",
    );
    grammar_error(
        r#"{"Version": "2012-10-17"}"#,
        "(document)",
        "missing `Statement`",
    );
}

#[test]
fn unknown_operator() {
    grammar_error(
        r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Condition": {"StringEqual": {"aws:SourceAccount": "1"}}}}"#,
        "Statement.Condition.StringEqual",
        "unknown condition operator `StringEqual`",
    );
    grammar_error(
        r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Condition": {"ForAnyValues:StringLike": {"k": "v"}}}}"#,
        "Statement.Condition.ForAnyValues:StringLike",
        "unknown condition operator",
    );
    grammar_error(
        r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Condition": {"NullIfExists": {"k": "true"}}}}"#,
        "Statement.Condition.NullIfExists",
        "`Null` takes neither `IfExists` nor a set qualifier",
    );
    grammar_error(
        r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Condition": {"StringEquals": {"k": {"nested": 1}}}}}"#,
        "Statement.Condition.StringEquals.k",
        "expected a string, number or boolean, found an object",
    );
    grammar_error(
        r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Condition": {"StringEquals": "k"}}}"#,
        "Statement.Condition.StringEquals",
        "expected an object, found string `k`",
    );
}

#[test]
fn bad_principal_type() {
    grammar_error(
        r#"{"Statement": {"Effect": "Allow", "Principal": {"Aws": "*"}, "Action": "s3:*"}}"#,
        "Statement.Principal.Aws",
        "unknown principal type; use `AWS`, `Service`, `Federated` or `CanonicalUser`",
    );
    grammar_error(
        r#"{"Statement": {"Effect": "Allow", "Principal": "everyone", "Action": "s3:*"}}"#,
        "Statement.Principal",
        "expected \"*\" or an object",
    );
    grammar_error(
        r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": ["111122223333", 4]}, "Action": "s3:*"}}"#,
        "Statement.Principal.AWS[1]",
        "expected a string, found number `4`",
    );
}

#[test]
fn unknown_version() {
    grammar_error(
        r#"{"Version": "2012-10-18", "Statement": []}"#,
        "Version",
        "unknown version `2012-10-18`; use `2012-10-17`",
    );
    grammar_error(
        r#"{"Version": 2012, "Statement": []}"#,
        "Version",
        "expected a string, found number `2012`",
    );
}

#[test]
fn wrong_shapes() {
    grammar_error(
        r#"["Statement"]"#,
        "(document)",
        "expected an object, found a list",
    );
    grammar_error(
        r#"{"Statement": [{"Effect": "Allow", "Action": "s3:*"}, "Deny"]}"#,
        "Statement[1]",
        "expected an object, found string `Deny`",
    );
    grammar_error(
        r#"{"Statement": {"Sid": 1, "Effect": "Allow", "Action": "s3:*"}}"#,
        "Statement.Sid",
        "expected a string",
    );
}

#[test]
fn not_json_gives_line_and_column() {
    let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}";
    let err = Policy::parse(text).unwrap_err();
    match &err {
        ParseError::Json {
            message,
            line,
            column,
        } => {
            assert_eq!((*line, *column), (4, 24), "{message}");
            assert!(
                !message.contains(" at line "),
                "position is not repeated: {message}"
            );
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
    assert!(err.to_string().ends_with("at line 4, column 24"), "{err}");

    let err = Policy::parse("").unwrap_err();
    assert!(matches!(err, ParseError::Json { line: 1, .. }), "{err:?}");
    assert!(matches!(
        Policy::parse("Statement: []"),
        Err(ParseError::Json {
            line: 1,
            column: 1,
            ..
        })
    ));
}

#[test]
fn url_encoded_input_parses() {
    let raw = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22lambda.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
    assert_eq!(Policy::parse(encoded).unwrap(), Policy::parse(raw).unwrap());
    // From a JSON value holding the encoded text, as the SDK dumps it.
    let value = serde_json::Value::String(encoded.to_owned());
    assert_eq!(
        Policy::from_value(&value).unwrap(),
        Policy::parse(raw).unwrap()
    );
    // Surrounding whitespace and a byte-order mark are tolerated.
    assert!(Policy::parse(&format!("\u{feff}  {encoded}\n")).is_ok());
    // Errors inside an encoded document still name the path.
    let bad =
        "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Maybe%22%2C%22Action%22%3A%22s3%3A*%22%7D%7D";
    assert!(matches!(
        Policy::parse(bad),
        Err(ParseError::Grammar { path, .. }) if path == "Statement.Effect"
    ));
    assert_eq!(
        Policy::parse("%7B%FF%7D").unwrap_err(),
        ParseError::Encoding
    );
}
