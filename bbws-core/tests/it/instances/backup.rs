//! Backups and restores (digest 2.7 §2.4, §6, C13/C14/C22) through the engine and the
//! Operation resource: a backup leaves the instance as it was and lists COMPLETED with both
//! artifacts; a restore stops the service, keeps a `pre-restore` backup, replays the chosen one
//! and starts the service again; the wrong states, foreign and unfinished backups are refused;
//! a failed replay leaves the instance SUSPENDED and names the backup that holds its old data.

use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::BackupId;
use bbws_core::instance::backup::{Backup, BackupDescription, BackupReason, BackupStatus};
use bbws_core::instance::{
    Instance, InstanceState, LifecycleRequest, Names, Operation, OperationStatus, StepName,
    StepStatus,
};
use bbws_core::tenant::Environment;
use bbws_core::{Error, ErrorCode};

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};
use crate::support::{platform_admin, viewer};

async fn backup(w: &World, i: &Instance) -> (Operation, Backup) {
    let accepted = w
        .service
        .request_backup(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            Some("nightly"),
            None,
        )
        .await
        .expect("accepted")
        .value;
    let op = w.run(&accepted.operation.id).await;
    let id = op.backup_id.expect("the operation names its backup");
    let b = backups(w, i)
        .await
        .into_iter()
        .find(|b| b.id == id)
        .expect("listed");
    (op, b)
}

async fn backups(w: &World, i: &Instance) -> Vec<Backup> {
    w.service
        .backups(&viewer(&[&w.tenant.id]), &w.tenant.id, &i.id)
        .await
        .expect("listed")
}

async fn restore(w: &World, i: &Instance, id: &BackupId) -> bbws_core::Result<Operation> {
    let accepted = w
        .service
        .request_restore(&platform_admin(), &w.tenant.id, &i.id, id, None)
        .await?
        .value;
    assert_eq!(accepted.instance.state, InstanceState::Suspending);
    Ok(w.run(&accepted.operation.id).await)
}

fn code(e: &Error) -> ErrorCode {
    e.code()
}

#[tokio::test(start_paused = true)]
async fn a_backup_leaves_the_instance_as_it_was_and_lists_completed_with_both_artifacts() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let (op, b) = backup(&w, &i).await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_eq!(
        op.steps.iter().map(|s| s.name).collect::<Vec<_>>(),
        StepName::BACKUP
    );
    assert_eq!(b.status, BackupStatus::Completed);
    assert_eq!(b.reason, BackupReason::Manual);
    assert_eq!(
        b.description.as_ref().map(BackupDescription::as_str),
        Some("nightly")
    );
    let prefix = format!(
        "s3://bbws-archives-dev/backups/dev/{}/{}/",
        w.tenant.id, b.id
    );
    assert_eq!(
        b.db_artifact.as_deref(),
        Some(format!("{prefix}database.sql.gz").as_str())
    );
    assert_eq!(
        b.efs_artifact.as_deref(),
        Some(format!("{prefix}files.tar.gz").as_str())
    );
    assert!(
        w.fake
            .archives()
            .contains(&format!("{prefix}database.sql.gz"))
    );
    let after = w.instance(&i).await;
    assert_eq!(after.state, InstanceState::Active);
    assert_eq!(after.current_operation, Some(op.id));

    // A second backup, a minute later, lists first (newest first).
    w.tenants.clock.advance(std::time::Duration::from_mins(1));
    let (_, second) = backup(&w, &i).await;
    let listed: Vec<BackupId> = backups(&w, &i).await.iter().map(|b| b.id).collect();
    assert_eq!(listed, vec![second.id, b.id]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_dump_fails_the_backup_and_leaves_the_instance_active() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    w.fake.inject(Fault {
        kind: Kind::Archive,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Fail,
    });
    let (op, b) = backup(&w, &i).await;
    assert_eq!(op.status, OperationStatus::Failed);
    assert_eq!(
        op.error.as_ref().map(|e| e.code),
        Some(ErrorCode::ArchiveFailed)
    );
    assert_eq!(b.status, BackupStatus::Failed);
    assert!(b.error.is_some());
    assert_eq!(w.instance(&i).await.state, InstanceState::Active);

    // A failed backup cannot be restored.
    let err = restore(&w, &i, &b.id).await.expect_err("refused");
    assert_eq!(code(&err), ErrorCode::BackupNotRestorable, "{err}");
}

#[tokio::test(start_paused = true)]
async fn backups_are_refused_while_a_change_is_under_way() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    // A restart keeps the instance ACTIVE while its operation runs: a backup waits for it.
    let restart = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Restart,
            None,
        )
        .await
        .expect("accepted")
        .value;
    let err = w
        .service
        .request_backup(&platform_admin(), &w.tenant.id, &i.id, None, None)
        .await
        .expect_err("busy");
    assert_eq!(code(&err), ErrorCode::Conflict, "{err}");
    // So does any other change: a suspend would take the instance from under the restart.
    let err = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Suspend {
                reason: bbws_core::tenant::Reason::parse(Some("maintenance window"), "r")
                    .expect("reason"),
            },
            None,
        )
        .await
        .expect_err("busy");
    assert_eq!(code(&err), ErrorCode::Conflict, "{err}");
    w.run(&restart.operation.id).await;
    w.service
        .request_backup(&platform_admin(), &w.tenant.id, &i.id, None, None)
        .await
        .expect("accepted once the restart is done");

    // A viewer may list but not back up.
    let err = w
        .service
        .request_backup(&viewer(&[&w.tenant.id]), &w.tenant.id, &i.id, None, None)
        .await
        .expect_err("forbidden");
    assert_eq!(code(&err), ErrorCode::Forbidden, "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_restore_stops_keeps_a_pre_restore_backup_replays_and_starts_again() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let names = Names::new(&i.resource_key, Environment::Dev);
    let (_, chosen) = backup(&w, &i).await;

    let op = restore(&w, &i, &chosen.id).await.expect("accepted");
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_eq!(
        op.steps.iter().map(|s| s.name).collect::<Vec<_>>(),
        StepName::RESTORE
    );
    assert!(op.steps.iter().all(|s| s.status == StepStatus::Done));
    let after = w.instance(&i).await;
    assert_eq!(after.state, InstanceState::Active);
    assert_eq!(
        w.fake.desired(&names.ecs_service),
        Some(i.desired_count.get())
    );
    let (_, _, paused) = w
        .fake
        .scaling(&format!("service/dev-cluster/{}", names.ecs_service))
        .expect("autoscaling touched");
    assert!(!paused, "autoscaling resumes after the restore");

    // The replay used the chosen backup's artifacts, after the service was stopped and the
    // pre-restore backup was taken.
    let log = w.fake.log();
    let pos = |needle: &str| {
        log.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {log:#?}"))
    };
    let db_restore = pos(&format!(
        "Create Restore {} from {}",
        names.database,
        chosen.db_artifact.as_deref().expect("db artifact")
    ));
    let files_restore = pos(&format!(
        "Create Restore {} from {}",
        names.root_directory,
        chosen.efs_artifact.as_deref().expect("files artifact")
    ));
    let safety_id = op.safety_backup_id.expect("a pre-restore backup");
    let safety_dump = pos(&format!("{safety_id}/database.sql.gz"));
    assert!(
        safety_dump < db_restore && db_restore < files_restore,
        "{log:#?}"
    );

    let safety = backups(&w, &i)
        .await
        .into_iter()
        .find(|b| b.id == safety_id)
        .expect("the pre-restore backup is listed");
    assert_eq!(safety.reason, BackupReason::PreRestore);
    assert_eq!(safety.status, BackupStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn restores_refuse_unknown_foreign_and_wrong_state_requests() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let unknown: BackupId = "backup-123e4567-e89b-12d3-a456-426614174000"
        .parse()
        .expect("id");
    let err = restore(&w, &i, &unknown).await.expect_err("unknown");
    assert_eq!(code(&err), ErrorCode::BackupNotFound, "{err}");
    assert_eq!(err.code().http_status(), 404);

    let (_, b) = backup(&w, &i).await;
    w.service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Suspend {
                reason: bbws_core::tenant::Reason::parse(Some("maintenance window"), "r")
                    .expect("reason"),
            },
            None,
        )
        .await
        .map(|a| a.value.operation.id)
        .expect("suspend accepted");
    let suspend_op = w.instance(&i).await.current_operation.expect("op");
    w.run(&suspend_op).await;
    let err = restore(&w, &i, &b.id).await.expect_err("suspended");
    match &err {
        Error::InstanceTransition {
            current, allowed, ..
        } => {
            assert_eq!(*current, InstanceState::Suspended);
            assert!(!allowed.contains(&InstanceState::Suspending));
        }
        other => panic!("expected a 422 transition refusal, got {other:?}"),
    }
    assert_eq!(err.code().http_status(), 422);
}

#[tokio::test(start_paused = true)]
async fn a_failed_replay_leaves_the_instance_suspended_and_names_the_pre_restore_backup() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let (_, chosen) = backup(&w, &i).await;
    w.fake.inject(Fault {
        kind: Kind::Restore,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Fail,
    });
    let op = restore(&w, &i, &chosen.id).await.expect("accepted");
    assert_eq!(op.status, OperationStatus::Failed, "{op:?}");
    assert_eq!(
        op.step(StepName::RestoreDatabase).map(|s| s.status),
        Some(StepStatus::Failed)
    );
    let safety = op.safety_backup_id.expect("pre-restore backup");
    let err = op.error.expect("reason");
    assert_eq!(err.code, ErrorCode::ProvDatabase);
    assert!(err.message.contains(&safety.to_string()), "{}", err.message);
    let after = w.instance(&i).await;
    assert_eq!(after.state, InstanceState::Suspended, "serving nothing");
    assert_eq!(
        w.fake
            .desired(&Names::new(&i.resource_key, Environment::Dev).ecs_service),
        Some(0)
    );
}

#[tokio::test(start_paused = true)]
async fn the_same_idempotency_key_replays_the_same_backup() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let key = IdempotencyKey::parse("backup-1").expect("key");
    let first = w
        .service
        .request_backup(&platform_admin(), &w.tenant.id, &i.id, None, Some(&key))
        .await
        .expect("accepted");
    let again = w
        .service
        .request_backup(&platform_admin(), &w.tenant.id, &i.id, None, Some(&key))
        .await
        .expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.value.operation.id, first.value.operation.id);
    assert_eq!(
        again.value.operation.backup_id,
        first.value.operation.backup_id
    );
    assert_eq!(backups(&w, &i).await.len(), 1);
    let other = w
        .service
        .request_backup(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            Some("other"),
            Some(&key),
        )
        .await
        .expect_err("same key, other body");
    assert_eq!(code(&other), ErrorCode::IdempotencyKeyReused);
}
