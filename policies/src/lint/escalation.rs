//! Privilege escalation: sets of actions that together let a principal
//! grant itself more than it has. The paths are the ones documented by
//! Rhino Security Labs' research on AWS IAM privilege escalation.

use serde::Serialize;

use super::checks::{Subject, finding};
use super::{Code, Finding};
use crate::catalogue::{ActionSet, Catalogue};
use crate::expand::statement_actions;
use crate::model::{Effect, Policy};

/// How many paths a message spells out before "and N more".
const SHOWN: usize = 4;

/// One way to escalate: all its actions must be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EscalationPath {
    /// A short name, e.g. `PassRole to Lambda`.
    pub name: &'static str,
    /// The actions that together make the path.
    pub actions: &'static [&'static str],
    /// How the actions are abused.
    pub how: &'static str,
}

macro_rules! paths {
    ($($name:literal: [$($action:literal),+] $how:literal;)*) => {
        /// Every known escalation path.
        pub const PATHS: &[EscalationPath] = &[
            $(EscalationPath { name: $name, actions: &[$($action),+], how: $how },)*
        ];
    };
}

paths! {
    "CreatePolicyVersion": ["iam:CreatePolicyVersion"]
        "write a new default version of a managed policy attached to itself";
    "SetDefaultPolicyVersion": ["iam:SetDefaultPolicyVersion"]
        "switch a managed policy to an older, broader version";
    "CreateAccessKey": ["iam:CreateAccessKey"]
        "create access keys for a more privileged user";
    "CreateLoginProfile": ["iam:CreateLoginProfile"]
        "set a console password for a more privileged user";
    "UpdateLoginProfile": ["iam:UpdateLoginProfile"]
        "change the console password of a more privileged user";
    "AttachUserPolicy": ["iam:AttachUserPolicy"]
        "attach AdministratorAccess to a user";
    "AttachGroupPolicy": ["iam:AttachGroupPolicy"]
        "attach AdministratorAccess to a group it is in";
    "AttachRolePolicy": ["iam:AttachRolePolicy"]
        "attach AdministratorAccess to a role it can use";
    "PutUserPolicy": ["iam:PutUserPolicy"]
        "write an inline admin policy on a user";
    "PutGroupPolicy": ["iam:PutGroupPolicy"]
        "write an inline admin policy on a group it is in";
    "PutRolePolicy": ["iam:PutRolePolicy"]
        "write an inline admin policy on a role it can use";
    "AddUserToGroup": ["iam:AddUserToGroup"]
        "join a more privileged group";
    "UpdateAssumeRolePolicy": ["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"]
        "rewrite a privileged role's trust policy and assume it";
    "DeletePermissionsBoundary": ["iam:DeleteRolePermissionsBoundary"]
        "remove the permissions boundary that limits a role";
    "DeleteUserPermissionsBoundary": ["iam:DeleteUserPermissionsBoundary"]
        "remove the permissions boundary that limits a user";
    "PassRole to EC2": ["iam:PassRole", "ec2:RunInstances"]
        "start an instance with a privileged role and use its credentials";
    "PassRole to Lambda": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]
        "create and run a function with a privileged role";
    "PassRole to Lambda via event source": ["iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"]
        "create a function with a privileged role and trigger it from a stream";
    "UpdateFunctionCode": ["lambda:UpdateFunctionCode"]
        "replace the code of a function that runs with a privileged role";
    "PassRole to Glue": ["iam:PassRole", "glue:CreateDevEndpoint"]
        "create a Glue development endpoint with a privileged role";
    "UpdateDevEndpoint": ["glue:UpdateDevEndpoint"]
        "add its SSH key to a Glue endpoint that has a privileged role";
    "PassRole to CloudFormation": ["iam:PassRole", "cloudformation:CreateStack"]
        "create a stack that runs with a privileged role";
    "PassRole to Data Pipeline": ["iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition", "datapipeline:ActivatePipeline"]
        "run a pipeline with a privileged role";
    "PassRole to ECS": ["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:RunTask"]
        "run a task with a privileged role";
    "PassRole to CodeBuild": ["iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuild"]
        "run a build with a privileged role";
    "PassRole to SageMaker": ["iam:PassRole", "sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"]
        "open a notebook that runs with a privileged role";
}

/// The actions a policy allows on some resource, less those an
/// unconditional `Deny` on every resource takes away. Conditions on `Allow`
/// statements are ignored: a path that works only sometimes still counts.
pub fn allowed_actions(cat: &Catalogue, policy: &Policy) -> ActionSet {
    let expansions: Vec<ActionSet> = policy
        .statements
        .iter()
        .map(|s| statement_actions(cat, s).actions)
        .collect();
    allowed_from(policy, expansions.iter())
}

/// [`allowed_actions`] from the statements' already expanded actions.
fn allowed_from<'a>(policy: &Policy, expansions: impl Iterator<Item = &'a ActionSet>) -> ActionSet {
    let mut allowed = ActionSet::new();
    let mut denied = ActionSet::new();
    for (statement, actions) in policy.statements.iter().zip(expansions) {
        match statement.effect {
            Effect::Allow => allowed.union_with(actions),
            Effect::Deny => {
                let everywhere = statement
                    .resource
                    .as_ref()
                    .is_none_or(|r| !r.negated && r.value.iter().any(|p| p == "*"));
                if everywhere && statement.condition.is_none() {
                    denied.union_with(actions);
                }
            }
        }
    }
    allowed.subtract(&denied);
    allowed
}

/// The escalation paths whose actions are all in `allowed`.
pub fn escalation_paths(cat: &Catalogue, allowed: &ActionSet) -> Vec<EscalationPath> {
    PATHS
        .iter()
        .filter(|path| {
            path.actions
                .iter()
                .all(|a| cat.action_id(a).is_some_and(|id| allowed.contains(id)))
        })
        .copied()
        .collect()
}

/// The `privilege-escalation` finding for open paths, if there are any.
/// `whose` names the holder, e.g. "the policy" or "role `web`".
pub fn escalation_finding(paths: &[EscalationPath], whose: &str) -> Option<Finding> {
    if paths.is_empty() {
        return None;
    }
    let described = match paths {
        [one] => format!(
            "{} + nothing else needed: {}",
            one.actions.join(" + "),
            one.how
        ),
        _ => {
            let shown: Vec<String> = paths
                .iter()
                .take(SHOWN)
                .map(|p| p.actions.join(" + "))
                .collect();
            let more = paths.len().saturating_sub(SHOWN);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("{} paths: {}{tail}", paths.len(), shown.join("; "))
        }
    };
    Some(finding(
        Code::PrivilegeEscalation,
        None,
        format!(
            "{whose} allows privilege escalation ({described}); remove these actions or scope them to resources that cannot raise privileges"
        ),
    ))
}

pub(super) fn check(subject: &Subject<'_>, out: &mut Vec<Finding>) {
    let allowed = allowed_from(
        subject.policy,
        subject.expansions.iter().map(|e| &e.actions),
    );
    let paths = escalation_paths(subject.cat, &allowed);
    out.extend(escalation_finding(&paths, "the policy"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_names_catalogue_actions() {
        let cat = Catalogue::builtin();
        for path in PATHS {
            for action in path.actions {
                assert!(cat.action(action).is_some(), "{action} of {}", path.name);
            }
        }
    }
}
