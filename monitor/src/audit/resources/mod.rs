//! Checks of every audited resource type but IAM, one module per family.

mod data;
mod network;
mod policy;
mod s3;
mod tls;

use super::{Findings, Run};

/// Runs the checks of `resource_type` on the item (nothing for other types).
pub(crate) fn audit(resource_type: &str, run: &mut Run<'_>, found: &mut Findings<'_, '_>) {
    match resource_type {
        "AWS::S3::Bucket" => s3::bucket(run, found),
        "AWS::EC2::SecurityGroup" => network::security_group(run, found),
        "AWS::EC2::Snapshot" => data::ebs_snapshot(run, found),
        "AWS::KMS::Key" => policy::kms_key(run, found),
        "AWS::SNS::Topic" => policy::sns_topic(run, found),
        "AWS::SQS::Queue" => policy::sqs_queue(run, found),
        "AWS::Lambda::Function" => policy::lambda_function(run, found),
        "AWS::CloudTrail::Trail" => data::trail(found),
        "AWS::RDS::DBInstance" => data::rds_instance(found),
        "AWS::RDS::DBSnapshot" | "AWS::RDS::DBClusterSnapshot" => data::rds_snapshot(run, found),
        "AWS::ElasticLoadBalancingV2::Listener" | "AWS::ElasticLoadBalancingV2::LoadBalancer" => {
            tls::elbv2(run, found);
        }
        "AWS::ElasticLoadBalancing::LoadBalancer" => tls::classic_elb(run, found),
        "AWS::ACM::Certificate" => tls::certificate(run, found),
        _ => {}
    }
}
