//! `bbws instance logs | identity | configure-identity` driving the real binary on an embedded
//! data directory, whose cloud is the plan recorder: the arguments are checked as the API checks
//! them, an instance that never ran has no logs (an empty page), an instance
//! without a pool has no identity to show (CONFLICT, exit 6), and only an ACTIVE instance
//! accepts an identity change (`INVALID_STATUS_TRANSITION`, exit 7).

use std::process::Output;

use crate::instance::{failed_instance, json};
use crate::support::bbws;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The command failed with `code` (exit status `exit`) and named every one of `words`.
fn refused(o: &Output, code: &str, exit: i32, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(exit), "{err}");
    assert!(err.contains(&format!("error[{code}]")), "{err}");
    for w in words {
        assert!(err.contains(w), "{w} in {err}");
    }
}

#[test]
fn logs_check_their_window_and_limit_and_an_instance_that_never_ran_has_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let (t, i) = failed_instance(d);
    let logs = |extra: &[&str]| {
        let mut args = vec!["instance", "logs", &t, &i, "--data-dir", d];
        args.extend_from_slice(extra);
        bbws(&args)
    };
    refused(
        &logs(&["--since", "yesterday"]),
        "VALIDATION_ERROR",
        3,
        &["startTime"],
    );
    refused(
        &logs(&["--limit", "1001"]),
        "VALIDATION_ERROR",
        3,
        &["limit"],
    );
    refused(
        &logs(&[
            "--since",
            "2026-01-05T12:00:00Z",
            "--until",
            "2026-01-05T11:00:00Z",
        ]),
        "VALIDATION_ERROR",
        3,
        &["endTime"],
    );
    refused(
        &logs(&["--next-token", "forged.token"]),
        "VALIDATION_ERROR",
        3,
        &["nextToken"],
    );
    // The instance never ran (the plan recorder refused its provisioning): no logs.
    let page = logs(&["--limit", "10", "-o", "json"]);
    assert!(page.status.success(), "{}", stderr(&page));
    assert_eq!(json(&page)["entries"], serde_json::json!([]));
}

#[test]
fn identity_needs_a_pool_and_its_change_an_active_instance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let (t, i) = failed_instance(d);
    refused(
        &bbws(&["instance", "identity", &t, &i, "--data-dir", d]),
        "CONFLICT",
        6,
        &["no Cognito user pool", "FAILED"],
    );
    let configure = |extra: &[&str]| {
        let mut args = vec!["instance", "configure-identity", &t, &i, "--data-dir", d];
        args.extend_from_slice(extra);
        bbws(&args)
    };
    refused(
        &configure(&[]),
        "VALIDATION_ERROR",
        3,
        &["mfaConfiguration"],
    );
    refused(
        &configure(&["--min-length", "7"]),
        "VALIDATION_ERROR",
        3,
        &["passwordPolicy.minimumLength"],
    );
    refused(
        &configure(&["--mfa", "ON"]),
        "VALIDATION_ERROR",
        3,
        &["mfaConfiguration"],
    );
    refused(
        &configure(&[
            "--min-length",
            "12",
            "--require-symbols",
            "--require-uppercase",
            "false",
            "--mfa",
            "REQUIRED",
        ]),
        "INVALID_STATUS_TRANSITION",
        7,
        &["ACTIVE", "FAILED"],
    );
    // Nothing was accepted: the instance's operation is still its provisioning.
    let got = json(&bbws(&[
        "instance",
        "get",
        &t,
        &i,
        "--data-dir",
        d,
        "-o",
        "json",
    ]));
    assert_eq!(got["status"], "FAILED", "{got}");
    assert!(
        got["_links"].get("configureIdentity").is_none(),
        "only an ACTIVE instance offers it: {got}"
    );
    assert!(got["_links"].get("logs").is_some(), "{got}");
}
