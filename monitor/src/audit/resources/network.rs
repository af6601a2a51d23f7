//! `AWS::EC2::SecurityGroup`: ingress rules open to the whole internet.

use std::collections::BTreeSet;

use serde_json::json;

use crate::audit::checks;
use crate::audit::{Findings, Run, shape};

/// `0.0.0.0/0` and `::/0`: every address.
const ANYWHERE: [&str; 2] = ["0.0.0.0/0", "::/0"];

pub(super) fn security_group(run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    let item = found.item;
    for rule in shape::items(shape::field(&item.configuration, "ipPermissions")) {
        let protocol = shape::field(rule, "ipProtocol")
            .and_then(|v| {
                shape::text(v)
                    .map(str::to_owned)
                    .or_else(|| shape::integer(v).map(|n| n.to_string()))
            })
            .unwrap_or_else(|| "-1".to_owned());
        let all_traffic = matches!(protocol.as_str(), "-1" | "all");
        let (from, to) = if all_traffic {
            (0, 65535)
        } else {
            let from = shape::field(rule, "fromPort").and_then(shape::integer);
            let to = shape::field(rule, "toPort").and_then(shape::integer);
            match (from, to) {
                (Some(from), Some(to)) if from >= 0 && to >= from => (from, to.min(65535)),
                // ICMP types, or no ports given: the whole protocol.
                _ => (-1, -1),
            }
        };
        let mut cidrs = BTreeSet::new();
        for range in shape::items(shape::field(rule, "ipv4Ranges")) {
            cidrs.extend(shape::field(range, "cidrIp").and_then(shape::text));
        }
        for range in shape::items(shape::field(rule, "ipv6Ranges")) {
            cidrs.extend(shape::field(range, "cidrIpv6").and_then(shape::text));
        }
        for range in shape::items(shape::field(rule, "ipRanges")) {
            cidrs.extend(
                shape::text(range).or_else(|| shape::field(range, "cidrIp").and_then(shape::text)),
            );
        }
        let ports = if from < 0 {
            "all".to_owned()
        } else if from == to {
            from.to_string()
        } else {
            format!("{from}-{to}")
        };
        for cidr in cidrs.into_iter().filter(|c| ANYWHERE.contains(c)) {
            let sensitive: Vec<u16> = run
                .settings
                .sensitive_ports
                .iter()
                .copied()
                .filter(|p| {
                    let p = i64::from(*p);
                    let icmp = matches!(protocol.as_str(), "icmp" | "icmpv6" | "1" | "58");
                    (from < 0 && !icmp) || (from <= p && p <= to)
                })
                .collect();
            let proto = if all_traffic {
                "all"
            } else {
                protocol.as_str()
            };
            let detail = format!("{proto}:{ports}:{cidr}");
            let evidence = json!({"rule": rule, "sensitivePorts": sensitive});
            if sensitive.is_empty() {
                found.report(
                    &checks::SG_OPEN,
                    detail,
                    format!(
                        "security group `{}` accepts {proto} traffic on ports {ports} from {cidr}; limit the source to the addresses that need it",
                        found.name()
                    ),
                    evidence,
                );
            } else {
                let listed: Vec<String> = sensitive.iter().map(u16::to_string).collect();
                found.report(
                    &checks::SG_OPEN_SENSITIVE,
                    detail,
                    format!(
                        "security group `{}` accepts {proto} traffic on ports {ports} from {cidr}, including sensitive port {}; limit the source or use a bastion or Session Manager",
                        found.name(),
                        listed.join(", ")
                    ),
                    evidence,
                );
            }
        }
    }
}
