//! Embedding `bbws-core`: one tenant through its lifecycle on the persistent embedded store.
//!
//! ```text
//! cargo run -p bbws-examples --example tenant_lifecycle            # a temporary directory
//! cargo run -p bbws-examples --example tenant_lifecycle -- ./data  # keep the store in ./data
//! ```
//!
//! The steps, each commented, are in `bbws_examples::tenant_lifecycle` (`examples/src/lib.rs`):
//! open the store, build a `TenantService`, act as a platform admin, create a tenant, activate it,
//! park it, read its audit trail and publish its events. This program prints what happened.
//!
//! With a directory argument the store and `events.jsonl` stay there afterwards; a second run on
//! the same directory is refused with CONFLICT, since organisation names are unique.

use std::path::PathBuf;

use bbws_examples::tenant_lifecycle;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The data directory: the first argument, or a temporary one removed when `_tmp` drops.
    let (dir, _tmp) = if let Some(dir) = std::env::args_os().nth(1) {
        (PathBuf::from(dir), None)
    } else {
        let tmp = tempfile::tempdir()?;
        (tmp.path().to_owned(), Some(tmp))
    };
    println!("data directory: {}", dir.display());

    // `bbws_core::Error` implements `std::error::Error`, so `?` turns it into the boxed error.
    let report = tenant_lifecycle(&dir).await?;

    println!("tenant:  {}", report.tenant_id);
    println!("status:  {}", report.status);
    println!("version: {}", report.version);

    println!("audit trail:");
    for event in &report.audit {
        // timestamp (RFC 3339 UTC, milliseconds), eventType, actor, details as compact JSON.
        println!(
            "  {}  {:<16} {}  {}",
            event.timestamp, event.event_type, event.actor, event.details
        );
    }

    println!(
        "published {} event(s) to {}",
        report.events_published,
        report.event_log.display()
    );
    Ok(())
}
