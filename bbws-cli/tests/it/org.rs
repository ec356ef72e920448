//! The organisation commands on a data directory: hierarchy, users and roles, invitations
//! through the embedded mailbox, and their exit codes.

use std::process::Output;

use serde_json::Value;

use crate::support::{bbws, stdout};

/// `bbws` on the data directory `dir`.
fn run(dir: &str, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--data-dir", dir]);
    bbws(&all)
}

/// Runs a command that must succeed with `-o json` and returns its JSON.
fn ok(dir: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let o = run(dir, &all);
    assert!(
        o.status.success(),
        "bbws {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&o)))
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("no {k} in {v}"))
        .to_owned()
}

/// An ACTIVE tenant.
fn tenant(dir: &str) -> String {
    let t = ok(
        dir,
        &[
            "tenant",
            "create",
            "--name",
            "Org Cli Corp",
            "--email",
            "ops@orgcli.test",
            "--environment",
            "dev",
        ],
    );
    let id = s(&t, "tenantId");
    ok(dir, &["tenant", "status", &id, "active"]);
    id
}

#[test]
fn hierarchy_is_created_listed_shown_and_deleted_only_with_cascade() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8 path");
    let t = tenant(d);

    let div = s(
        &ok(
            d,
            &["division", "create", "--tenant", &t, "--name", "Sales"],
        ),
        "divisionId",
    );
    let grp = s(
        &ok(
            d,
            &[
                "group",
                "create",
                "--tenant",
                &t,
                "--division",
                &div,
                "--name",
                "EMEA",
            ],
        ),
        "groupId",
    );
    let team = ok(
        d,
        &[
            "team",
            "create",
            "--tenant",
            &t,
            "--division",
            &div,
            "--group",
            &grp,
            "--name",
            "Alpha",
        ],
    );
    assert_eq!(team["kind"], "TEAM");
    let team = s(&team, "teamId");

    // A sibling with the same name in another letter case is a conflict (6).
    let dup = run(
        d,
        &["division", "create", "--tenant", &t, "--name", "SALES"],
    );
    assert_eq!(code(&dup), Some(6), "{}", stderr(&dup));

    let listed = ok(d, &["division", "list", "--tenant", &t]);
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["items"][0]["name"], "Sales");

    let renamed = ok(
        d,
        &[
            "division",
            "update",
            "--tenant",
            &t,
            &div,
            "--name",
            "Sales EU",
            "--if-match",
            "1",
        ],
    );
    assert_eq!(renamed["name"], "Sales EU");
    assert_eq!(renamed["version"], 2);
    let stale = run(
        d,
        &[
            "division",
            "update",
            "--tenant",
            &t,
            &div,
            "--name",
            "Sales",
            "--if-match",
            "1",
        ],
    );
    assert_eq!(code(&stale), Some(6), "{}", stderr(&stale));

    ok(
        d,
        &["user", "add", "--email", "mo@orgcli.test", "--sub", "mo-1"],
    );
    ok(
        d,
        &[
            "user",
            "assign",
            "--tenant",
            &t,
            "--email",
            "mo@orgcli.test",
            "--role",
            "admin",
        ],
    );
    let team_at = [
        "--tenant",
        &t,
        "--division",
        &div,
        "--group",
        &grp,
        "--team",
        &team,
    ];
    let mut add = vec!["team", "member", "add", "--user", "mo-1"];
    add.extend(team_at);
    assert_eq!(ok(d, &add)["userId"], "mo-1");
    let mut list = vec!["team", "member", "list"];
    list.extend(team_at);
    assert_eq!(ok(d, &list)["items"][0]["email"], "mo@orgcli.test");

    let tree = ok(d, &["hierarchy", "show", "--tenant", &t]);
    assert_eq!(tree["divisions"][0]["name"], "Sales EU");
    let shown = stdout(&run(d, &["hierarchy", "show", "--tenant", &t]));
    assert!(shown.contains("mo-1 <mo@orgcli.test>"), "{shown}");
    assert_eq!(tree["divisions"][0]["groups"][0]["name"], "EMEA");
    assert_eq!(
        tree["divisions"][0]["groups"][0]["teams"][0]["teamId"],
        team
    );
    let shown = run(d, &["hierarchy", "show", "--tenant", &t]);
    let text = stdout(&shown);
    assert!(
        text.contains("division Sales EU") && text.contains("team Alpha"),
        "{text}"
    );

    let refused = run(d, &["division", "delete", "--tenant", &t, &div]);
    assert_eq!(code(&refused), Some(7), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("HIERARCHY_NOT_EMPTY"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        ok(d, &["hierarchy", "show", "--tenant", &t])["divisions"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    ok(
        d,
        &["division", "delete", "--tenant", &t, &div, "--cascade"],
    );
    let tree = ok(d, &["hierarchy", "show", "--tenant", &t]);
    assert_eq!(tree["divisions"], serde_json::json!([]));
    let gone = run(
        d,
        &[
            "team",
            "get",
            "--tenant",
            &t,
            "--division",
            &div,
            "--group",
            &grp,
            &team,
        ],
    );
    assert_eq!(code(&gone), Some(5), "{}", stderr(&gone));
}

#[test]
fn users_are_added_assigned_and_the_last_admin_stays() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8 path");
    let t = tenant(d);

    let added = ok(
        d,
        &[
            "user",
            "add",
            "--email",
            "ann@orgcli.test",
            "--sub",
            "ann-1",
        ],
    );
    assert_eq!(added["items"][0]["userId"], "ann-1");
    let generated = ok(d, &["user", "add", "--email", "bea@orgcli.test"]);
    let bea = s(&generated["items"][0], "userId");
    let dir = ok(d, &["user", "directory"]);
    assert_eq!(dir["count"], 2);

    let a = ok(
        d,
        &[
            "user",
            "assign",
            "--tenant",
            &t,
            "--email",
            "ann@orgcli.test",
            "--role",
            "admin",
        ],
    );
    assert_eq!(a["userId"], "ann-1");
    assert_eq!(a["role"], "Admin");
    ok(
        d,
        &[
            "user",
            "assign",
            "--tenant",
            &t,
            "--email",
            "bea@orgcli.test",
            "--role",
            "viewer",
        ],
    );
    // Nobody in the directory has this e-mail.
    let unknown = run(
        d,
        &[
            "user",
            "assign",
            "--tenant",
            &t,
            "--email",
            "nobody@orgcli.test",
            "--role",
            "viewer",
        ],
    );
    assert_eq!(code(&unknown), Some(5), "{}", stderr(&unknown));

    let listed = ok(d, &["user", "list", "--tenant", &t]);
    assert_eq!(listed["count"], 2);

    let promoted = ok(d, &["user", "role", &bea, "operator", "--tenant", &t]);
    assert_eq!(promoted["role"], "Operator");
    assert_eq!(
        ok(d, &["user", "get", &bea, "--tenant", &t])["role"],
        "Operator"
    );

    let last = run(d, &["user", "role", "ann-1", "viewer", "--tenant", &t]);
    assert_eq!(code(&last), Some(7), "{}", stderr(&last));
    assert!(stderr(&last).contains("LAST_ADMIN"), "{}", stderr(&last));
    let last = run(d, &["user", "remove", "ann-1", "--tenant", &t]);
    assert_eq!(code(&last), Some(7), "{}", stderr(&last));

    // A viewer acting as themself may not change roles; outside the tenant it does not exist.
    let as_viewer = run(
        d,
        &[
            "user", "role", &bea, "admin", "--tenant", &t, "--as-sub", &bea,
        ],
    );
    assert_eq!(code(&as_viewer), Some(4), "{}", stderr(&as_viewer));

    ok(d, &["user", "remove", &bea, "--tenant", &t]);
    assert_eq!(ok(d, &["user", "list", "--tenant", &t])["count"], 1);
    let profile = ok(d, &["user", "get", "ann@orgcli.test"]);
    assert_eq!(profile["userId"], "ann-1");
}

#[test]
fn an_invitation_is_accepted_through_the_mailed_link() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8 path");
    let t = tenant(d);
    ok(
        d,
        &[
            "user",
            "add",
            "--email",
            "cat@orgcli.test",
            "--sub",
            "cat-1",
        ],
    );

    let inv = ok(
        d,
        &[
            "invitation",
            "create",
            "--tenant",
            &t,
            "--email",
            "cat@orgcli.test",
            "--role",
            "operator",
            "--idempotency-key",
            "invite-cat-1",
        ],
    );
    assert_eq!(inv["status"], "PENDING");
    let inv_id = s(&inv, "invitationId");
    // The same key replays the invitation.
    let again = ok(
        d,
        &[
            "invitation",
            "create",
            "--tenant",
            &t,
            "--email",
            "cat@orgcli.test",
            "--role",
            "operator",
            "--idempotency-key",
            "invite-cat-1",
        ],
    );
    assert_eq!(again["invitationId"], inv_id);

    let mails = ok(d, &["mail", "list"]);
    assert_eq!(mails["count"], 1, "{mails}");
    let mail = &mails["items"][0];
    assert_eq!(mail["to"], "cat@orgcli.test");
    assert!(s(mail, "subject").contains("Org Cli Corp"));
    let link = s(mail, "link");
    assert!(link.contains("/invitations/"), "{link}");
    let token = link.rsplit('/').next().expect("token").to_owned();

    let view = ok(d, &["invitation", "view", &token]);
    assert_eq!(view["isValid"], true);
    assert_eq!(view["organisationName"], "Org Cli Corp");

    // Someone else cannot accept it.
    let other = run(
        d,
        &[
            "invitation",
            "accept",
            &token,
            "--as-email",
            "eve@orgcli.test",
            "--as-sub",
            "eve-1",
        ],
    );
    assert_eq!(code(&other), Some(4), "{}", stderr(&other));

    let accepted = ok(
        d,
        &[
            "invitation",
            "accept",
            &token,
            "--as-email",
            "cat@orgcli.test",
        ],
    );
    assert_eq!(accepted["userId"], "cat-1");
    assert_eq!(accepted["role"], "Operator");

    let tenants = ok(d, &["user", "tenants", "cat-1"]);
    assert_eq!(tenants["count"], 1);
    assert_eq!(tenants["items"][0]["tenantId"], t);
    assert_eq!(
        ok(d, &["invitation", "get", &inv_id, "--tenant", &t])["status"],
        "ACCEPTED"
    );

    // An answered invitation cannot be answered again.
    let twice = run(d, &["invitation", "decline", &link]);
    assert_eq!(code(&twice), Some(7), "{}", stderr(&twice));
}

#[test]
fn bad_input_exits_3_with_a_clear_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8 path");
    let t = tenant(d);

    let bad_tenant = run(d, &["division", "list", "--tenant", "not-a-tenant"]);
    assert_eq!(code(&bad_tenant), Some(3));
    assert!(
        stderr(&bad_tenant).contains("Invalid tenant ID"),
        "{}",
        stderr(&bad_tenant)
    );

    let bad_role = run(
        d,
        &[
            "user",
            "assign",
            "--tenant",
            &t,
            "--email",
            "x@orgcli.test",
            "--role",
            "boss",
        ],
    );
    assert_eq!(code(&bad_role), Some(3), "{}", stderr(&bad_role));
    assert!(
        stderr(&bad_role).contains("VALIDATION_ERROR"),
        "{}",
        stderr(&bad_role)
    );

    let bad_email = run(d, &["user", "add", "--email", "not-an-email"]);
    assert_eq!(code(&bad_email), Some(3), "{}", stderr(&bad_email));

    let bad_id = run(d, &["division", "get", "--tenant", &t, "div-nope"]);
    assert_eq!(code(&bad_id), Some(3), "{}", stderr(&bad_id));
    assert!(
        stderr(&bad_id).contains("divisionId"),
        "{}",
        stderr(&bad_id)
    );

    let blank = run(d, &["division", "create", "--tenant", &t, "--name", "  "]);
    assert_eq!(code(&blank), Some(3), "{}", stderr(&blank));

    let no_user = run(d, &["invitation", "accept", "some-token"]);
    assert_eq!(code(&no_user), Some(3), "{}", stderr(&no_user));
    assert!(
        stderr(&no_user).contains("--as-email"),
        "{}",
        stderr(&no_user)
    );
}

#[test]
fn the_local_directory_is_a_usage_error_on_dynamodb() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8 path");
    let o = run(
        d,
        &[
            "user",
            "add",
            "--email",
            "x@orgcli.test",
            "--backend",
            "dynamodb",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
    );
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("Cognito"), "{}", stderr(&o));
    let o = run(
        d,
        &[
            "mail",
            "list",
            "--backend",
            "dynamodb",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
    );
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
}
