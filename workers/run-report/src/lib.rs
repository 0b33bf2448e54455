//! The run report: one self-contained HTML page per execution that trained, written by the
//! worker that ends it (Deploy, RejectAndAlert) to `reports/<execution>.html`.
//!
//! - `model`: what the page shows; `gather`: collecting it (bounded, never failing the run);
//! - `predictions`: the trainer's optional `predictions.csv`;
//! - `charts` (plotters, SVG) and `render` (the page).

pub mod charts;
pub mod gather;
pub mod model;
pub use retrain_core::predictions;
pub mod render;

pub use gather::{publish, report_key, Ending, Published};
pub use model::{Decision, Report};
pub use render::render;

#[cfg(feature = "test-support")]
pub mod testing;

#[cfg(test)]
mod tests;
