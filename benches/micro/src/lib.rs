//! Criterion micro-benchmarks live in `benches/`; run them with
//! `cargo bench -p coffer-microbench`. Figures go to docs/benchmarks.md.
