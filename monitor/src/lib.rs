//! Record AWS configuration, detect drift, audit it and alert only on what is new.
//!
//! The rooms: [`model`] holds the shared records; [`source`] turns AWS Config
//! (API, snapshot files, change notifications) and direct IAM collection into
//! [`model::ConfigItem`]s; [`audit`] finds scored [`model::Issue`]s in them
//! (pure); [`store`] keeps revisions, issues and justifications; [`drift`]
//! compares revisions and baselines; [`alert`] tells people once; [`report`]
//! writes table, JSON, SARIF and Security Hub findings.
#![forbid(unsafe_code)]

pub mod alert;
pub mod audit;
pub mod collect;
pub mod config;
pub mod drift;
pub mod durable;
pub mod fanout;
pub mod lambda;
pub mod lifecycle;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod rule;
pub mod source;
pub mod store;
pub mod suppress;
