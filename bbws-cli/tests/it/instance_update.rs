//! `bbws instance update` on an embedded data directory (whose cloud is the plan recorder):
//! bad arguments are refused with the field before anything is accepted, an instance that is not
//! ACTIVE with the state-transition exit status, and `--help` says what may be changed.

use serde_json::Value;

use crate::support::{bbws, stdout};

fn json(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// A tenant with a FAILED instance (the plan recorder refused its provisioning).
fn failed_instance(d: &str) -> (String, String) {
    let created = bbws(&[
        "tenant",
        "create",
        "--data-dir",
        d,
        "-o",
        "json",
        "--name",
        "Update Corp",
        "--email",
        "ops@update.test",
        "--environment",
        "dev",
    ]);
    assert!(created.status.success(), "{created:?}");
    let t = json(&created)["tenantId"]
        .as_str()
        .expect("tenant id")
        .to_owned();
    let out = bbws(&["instance", "provision", &t, "--data-dir", d, "-o", "json"]);
    assert_eq!(out.status.code(), Some(10));
    let i = json(&out)["instanceId"]
        .as_str()
        .expect("instance id")
        .to_owned();
    (t, i)
}

#[test]
fn update_refuses_bad_arguments_and_an_instance_that_is_not_active() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let (t, i) = failed_instance(d);
    let update = |extra: &[&str]| {
        let mut args = vec![
            "instance",
            "update",
            t.as_str(),
            i.as_str(),
            "--data-dir",
            d,
        ];
        args.extend_from_slice(extra);
        let out = bbws(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr)
    };

    // Validation (exit 3), naming the field, before anything is looked up.
    for (extra, field) in [
        (&[][..], "body"),
        (&["--image", "Not An Image"][..], "containerImage"),
        (&["--wordpress-version", "six"][..], "wordpressVersion"),
        (&["--tier", "HUGE"][..], "tier"),
    ] {
        let (code, stderr) = update(extra);
        assert_eq!(code, Some(3), "{extra:?}: {stderr}");
        assert!(stderr.contains("VALIDATION_ERROR"), "{extra:?}: {stderr}");
        assert!(stderr.contains(field), "{extra:?} names {field}: {stderr}");
    }

    // FAILED is not updated (exit 7), and a stale version is a conflict.
    let (code, stderr) = update(&["--wordpress-version", "6.4"]);
    assert_eq!(code, Some(7), "{stderr}");
    assert!(stderr.contains("INVALID_STATUS_TRANSITION"), "{stderr}");
    let (code, stderr) = update(&["--wordpress-version", "6.4", "--if-match", "1"]);
    assert!(stderr.contains("VERSION_CONFLICT"), "{code:?} {stderr}");

    // Nothing was accepted: the instance still names the refused provisioning.
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
    assert_eq!(got["containerImage"], "dev-wordpress:latest", "{got}");
    let op = got["currentOperationId"].as_str().expect("operation");
    let shown = json(&bbws(&[
        "instance",
        "operation",
        op,
        "--data-dir",
        d,
        "-o",
        "json",
    ]));
    assert_eq!(shown["type"], "PROVISION", "{shown}");
}

#[test]
fn update_help_names_what_may_change() {
    let out = bbws(&["instance", "update", "--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for flag in [
        "--image",
        "--wordpress-version",
        "--tier",
        "--if-match",
        "--idempotency-key",
    ] {
        assert!(text.contains(flag), "{flag} in {text}");
    }
}
