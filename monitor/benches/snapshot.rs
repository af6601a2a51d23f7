//! Reads a large Config snapshot file and reports throughput and peak memory.
//!
//! `cargo bench -p monitor --bench snapshot` writes a snapshot of
//! `SNAPSHOT_BENCH_MB` megabytes (default 1024) of realistic configuration
//! items into a temporary directory, reads it back with
//! `monitor::source::snapshot::read`, and prints the time, the throughput and
//! the process's peak resident memory (`VmHWM` from `/proc/self/status`),
//! which stays in the megabytes whatever the file's size. Set
//! `SNAPSHOT_BENCH_GZIP=1` to gzip the file first.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench"
)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// One item shaped like a security group as Config records it.
fn item(n: u64) -> serde_json::Value {
    let id = format!("sg-{n:017x}");
    json!({
        "relatedEvents": [],
        "relationships": [{"resourceType": "AWS::EC2::VPC", "resourceId": "vpc-0abc", "relationshipName": "Is contained in Vpc"}],
        "configuration": {
            "description": "web tier",
            "groupName": format!("web-{n}"),
            "ipPermissions": [
                {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                 "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []},
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                 "ipv4Ranges": [{"cidrIp": "10.0.0.0/8"}], "ipv6Ranges": [], "prefixListIds": [],
                 "userIdGroupPairs": [{"groupId": "sg-0123456789abcdef0", "userId": "111122223333"}]}
            ],
            "ownerId": "111122223333",
            "groupId": id,
            "ipPermissionsEgress": [{"ipProtocol": "-1", "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}],
                "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []}],
            "tags": [{"key": "team", "value": "web"}],
            "vpcId": "vpc-0abc"
        },
        "supplementaryConfiguration": {},
        "tags": {"team": "web", "env": "prod"},
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": "2024-05-01T10:00:00.000Z",
        "configurationStateId": 1_714_557_600_000_u64 + n,
        "awsAccountId": "111122223333",
        "configurationItemStatus": "OK",
        "resourceType": "AWS::EC2::SecurityGroup",
        "resourceId": id,
        "resourceName": format!("web-{n}"),
        "ARN": format!("arn:aws:ec2:us-east-1:111122223333:security-group/{id}"),
        "awsRegion": "us-east-1",
        "availabilityZone": "Not Applicable",
        "configurationStateMd5Hash": ""
    })
}

fn write_snapshot(out: &mut dyn Write, bytes: u64) -> u64 {
    let mut written = 0_u64;
    let mut count = 0;
    let head = br#"{"fileVersion":"1.0","configSnapshotId":"bench","configurationItems":["#;
    out.write_all(head).unwrap();
    while written < bytes {
        let text = item(count).to_string();
        if count > 0 {
            out.write_all(b",").unwrap();
        }
        out.write_all(text.as_bytes()).unwrap();
        written += text.len() as u64 + 1;
        count += 1;
    }
    out.write_all(b"]}").unwrap();
    count
}

fn main() {
    let megabytes: u64 = std::env::var("SNAPSHOT_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let gzip = std::env::var("SNAPSHOT_BENCH_GZIP").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(if gzip {
        "snapshot.json.gz"
    } else {
        "snapshot.json"
    });
    let file = BufWriter::new(File::create(&path).unwrap());
    let started = Instant::now();
    let written_items = if gzip {
        let mut encoder = GzEncoder::new(file, Compression::fast());
        let count = write_snapshot(&mut encoder, megabytes << 20);
        encoder.finish().unwrap().flush().unwrap();
        count
    } else {
        let mut file = file;
        let count = write_snapshot(&mut file, megabytes << 20);
        file.flush().unwrap();
        count
    };
    let file_bytes = std::fs::metadata(&path).unwrap().len();
    println!(
        "wrote {} ({:.0} MiB on disk, {written_items} items) in {:.1} s; peak RSS so far {} MiB",
        path.display(),
        file_bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64(),
        peak_rss_kib() / 1024
    );

    let started = Instant::now();
    let mut items = 0_u64;
    let mut open_ports = 0_u64;
    let summary = monitor::source::snapshot::read(File::open(&path).unwrap(), |item| {
        items += 1;
        open_ports += item.configuration["ipPermissions"]
            .as_array()
            .map_or(0, |list| list.len() as u64);
        Ok(())
    })
    .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(summary.items, Some(written_items as usize));
    assert_eq!(items, written_items);
    assert_eq!(open_ports, 2 * written_items);
    let json_mib = (megabytes << 20) as f64 / 1_048_576.0;
    println!(
        "snapshot/read{}: {items} items, {json_mib:.0} MiB of JSON in {seconds:.2} s: {:.0} MiB/s, {:.0} items/s; peak RSS {} MiB",
        if gzip { " (gzip)" } else { "" },
        json_mib / seconds,
        items as f64 / seconds,
        peak_rss_kib() / 1024
    );
}
