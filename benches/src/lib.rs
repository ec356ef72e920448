//! Criterion benches live in `benches/benches`; the side-by-side harness (`benches/run`) in
//! `harness/`, with its Rust half, the `warm_rust` binary, in `src/bin/`.
