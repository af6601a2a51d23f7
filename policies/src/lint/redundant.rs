//! `redundant-statement`: a statement whose grant another statement of the
//! same policy already makes.

use super::checks::{Subject, finding};
use super::{Code, Finding};
use crate::expand::Expansion;
use crate::glob::covers;
use crate::model::Statement;

pub(super) fn check(subject: &Subject<'_>, out: &mut Vec<Finding>) {
    let statements: Vec<(usize, &Statement, &Expansion)> = subject.statements().collect();
    for &(i, narrow, narrow_actions) in &statements {
        let wider = statements.iter().find(|&&(j, wide, wide_actions)| {
            j != i
                && subsumes(wide, wide_actions, narrow, narrow_actions)
                // Two equal statements: report only the later one.
                && !(j > i && subsumes(narrow, narrow_actions, wide, wide_actions))
        });
        if let Some(&(j, wide, _)) = wider {
            let name = wide.sid.as_ref().map_or_else(
                || format!("statement {j}"),
                |sid| format!("statement {j} (`{sid}`)"),
            );
            out.push(finding(
                Code::RedundantStatement,
                Some((i, narrow)),
                format!("everything this statement grants is already granted by {name}; remove it"),
            ));
        }
    }
}

/// Whether `wide` grants or denies all that `narrow` does: same effect and
/// principal, no condition or the same one, a superset of actions, and every
/// resource of `narrow` covered by one of `wide`.
fn subsumes(
    wide: &Statement,
    wide_actions: &Expansion,
    narrow: &Statement,
    narrow_actions: &Expansion,
) -> bool {
    // Cheapest tests first: the action sets are bit sets of every AWS action.
    wide.effect == narrow.effect
        && wide.principal == narrow.principal
        && (wide.condition.is_none() || wide.condition == narrow.condition)
        && narrow_actions.unmatched.is_empty()
        && resources_cover(wide, narrow)
        && !narrow_actions.actions.is_empty()
        && narrow_actions.actions.is_subset(&wide_actions.actions)
}

fn resources_cover(wide: &Statement, narrow: &Statement) -> bool {
    match (&wide.resource, &narrow.resource) {
        (None, None) => true,
        (Some(w), Some(n)) if !w.negated && !n.negated => n
            .value
            .iter()
            .all(|np| w.value.iter().any(|wp| covers(wp, np))),
        (Some(w), Some(n)) if w.negated && n.negated => w.value == n.value,
        _ => false,
    }
}
