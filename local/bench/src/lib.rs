//! The benchmarks (`src/bin/`): what they share about the processes they measure and the
//! machine they ran on. The Python baselines are `handlers.py` (under awslambdaric) beside this
//! crate; the prices the cost model reads are `workers/retrain-contract/prices/us-east-1.json`.

pub mod measure;
