//! TLS: load balancer security policies and ACM certificate expiry.

use serde_json::{Value, json};
use time::Duration;
use time::macros::format_description;

use crate::audit::checks;
use crate::audit::{Findings, Run, shape};

fn report_weak(found: &mut Findings<'_, '_>, detail: String, policy: &str, evidence: Value) {
    found.report(
        &checks::ELB_WEAK_TLS,
        detail.clone(),
        format!(
            "load balancer `{}` ({detail}) uses TLS policy `{policy}`, which accepts TLS 1.0/1.1; switch to a TLS 1.2+ policy such as `ELBSecurityPolicy-TLS13-1-2-2021-06`",
            found.name()
        ),
        evidence,
    );
}

/// `AWS::ElasticLoadBalancingV2::Listener` (its `sslPolicy`), or a load
/// balancer item that lists its `listeners`.
pub(super) fn elbv2(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    let item = found.item;
    let configuration = &item.configuration;
    let listeners: Vec<&Value> = match shape::field(configuration, "listeners") {
        Some(Value::Array(list)) => list.iter().collect(),
        _ => vec![configuration],
    };
    for listener in listeners {
        let Some(policy) = shape::field(listener, "sslPolicy").and_then(shape::text) else {
            continue;
        };
        if !run.settings.is_weak_tls(policy) {
            continue;
        }
        let detail = shape::field(listener, "port")
            .and_then(shape::integer)
            .map_or_else(|| "listener".to_owned(), |p| format!("port {p}"));
        report_weak(found, detail, policy, json!({"sslPolicy": policy}));
    }
}

/// `AWS::ElasticLoadBalancing::LoadBalancer`: the policies named by each
/// listener (`listenerDescriptions[].policyNames`).
pub(super) fn classic_elb(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    let item = found.item;
    for description in shape::items(shape::field(&item.configuration, "listenerDescriptions")) {
        let port = shape::path(description, &["listener", "loadBalancerPort"])
            .and_then(shape::integer)
            .map_or_else(|| "listener".to_owned(), |p| format!("port {p}"));
        let weak: Vec<&str> = shape::items(shape::field(description, "policyNames"))
            .iter()
            .filter_map(shape::text)
            .filter(|name| run.settings.is_weak_tls(name))
            .collect();
        if let Some(first) = weak.first() {
            report_weak(found, port, first, json!({"policyNames": weak}));
        }
    }
}

/// `AWS::ACM::Certificate`: `notAfter` past, or within the window.
pub(super) fn certificate(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    let item = found.item;
    let configuration = &item.configuration;
    let status = shape::field(configuration, "status").and_then(shape::text);
    if matches!(status, Some("REVOKED" | "FAILED" | "VALIDATION_TIMED_OUT")) {
        return;
    }
    let Some(not_after) = shape::field(configuration, "notAfter").and_then(shape::timestamp) else {
        return;
    };
    let date = not_after
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    let evidence =
        json!({"notAfter": date, "domainName": shape::field(configuration, "domainName")});
    if not_after <= run.now {
        found.report(
            &checks::ACM_EXPIRED,
            String::new(),
            format!(
                "certificate `{}` expired on {date}; renew or replace it and delete the old one",
                found.name()
            ),
            evidence,
        );
    } else if not_after - run.now <= Duration::days(i64::from(run.settings.certificate_expiry_days))
    {
        found.report(
            &checks::ACM_EXPIRING,
            String::new(),
            format!(
                "certificate `{}` expires on {date}, within {} days; renew it",
                found.name(),
                run.settings.certificate_expiry_days
            ),
            evidence,
        );
    }
}
