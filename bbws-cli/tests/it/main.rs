//! End-to-end tests of the `bbws` binary: `serve` over real HTTP, crash safety under `kill -9`,
//! `token issue`, and the tenant commands with their exit codes.

mod cli;
mod serve;
mod support;
