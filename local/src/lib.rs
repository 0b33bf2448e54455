//! The local proving ground: the AWS emulator (`emulator/`, moto plus our extension) and its
//! launcher, sample lakes and scenarios, the reference trainer's model, the real workers wired
//! into the offline executor, and the report of what a run left behind.

pub mod containers;
pub mod cost;
pub mod faults;
pub mod harness;
pub mod launcher;
pub mod pipeline;
pub mod proxy;
pub mod report;
pub mod scenario;
pub mod seed;
pub mod stepfunctions;
pub mod testbed;
