//! `bbws serve`: the HTTP API on the embedded store (default), in memory, or on DynamoDB.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bbws_aws::{Backend, BackendKind};
use bbws_core::Error;
use bbws_lambda::api::auth::JwtAuthenticator;
use bbws_lambda::{AppState, router};

use crate::{BackendArgs, DataDirArg};

/// On DynamoDB, how often the relay also looks for events written by other processes (the CLI,
/// Lambdas, Python) that this server was never notified of.
const RELAY_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    #[command(flatten)]
    data: DataDirArg,
    #[command(flatten)]
    backend: BackendArgs,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The current span (the request's: method, path, request id, action, tenant) is on every
    // line; the list of enclosing spans would only repeat it.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_span_list(false)
        .with_writer(std::io::stderr)
        .try_init();
}

pub async fn run(args: ServeArgs) -> Result<(), Error> {
    init_logging();
    let dir = &args.data.data_dir;
    crate::data_dir::ensure(dir)?;
    let secret = crate::data_dir::secret(dir)?;
    let config = args.backend.config(dir)?;
    let backend = Backend::open(&config).await?;
    let app = router(AppState {
        tenants: backend.tenant_service(),
        org: Some(backend.org_service()),
        instances: Some(backend.instance_service()),
        // Accepted operations run here, right after they are accepted. On the local backends
        // (the plan recorder) the run is refused and the operation ends FAILED with
        // CLOUD_UNAVAILABLE: nothing pretends to provision.
        engine: Some(backend.provisioning_engine()),
        auth: Arc::new(JwtAuthenticator::new(&secret)),
    });

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| Error::Storage(format!("cannot listen on {}: {e}", args.addr)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Internal(e.to_string()))?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let relay = backend.relay();
    // Only this process's own writes notify the relay; on a shared DynamoDB table, also look
    // for everyone else's events now and then.
    let relay = if config.kind == BackendKind::DynamoDb {
        relay.with_sweep_interval(RELAY_INTERVAL)
    } else {
        relay
    };
    let mut relay_stop = stop_rx.clone();
    let relay_task = tokio::spawn(relay.run(backend.wake.clone(), async move {
        let _ = relay_stop.wait_for(|s| *s).await;
    }));

    // Handlers are installed before the ready line, so a signal sent right after it stops the
    // server gracefully instead of killing it.
    let shutdown = shutdown_signal()?;
    if config.kind == BackendKind::DynamoDb {
        tracing::info!(
            addr = %local, backend = config.kind.as_str(), table = %config.table,
            event_bus = %config.event_bus, endpoint_url = config.endpoint_url.as_deref(),
            "bbws serve started"
        );
    } else {
        tracing::info!(
            addr = %local, backend = config.kind.as_str(), data_dir = %dir.display(),
            "bbws serve started"
        );
    }
    // The one line scripts wait for: the server accepts connections from here on.
    println!("listening on http://{local}");

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::Internal(format!("server failed: {e}")))?;
    let _ = stop_tx.send(true);
    let _ = relay_task.await;
    tracing::info!("bbws serve stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM; the handlers are registered when this is called.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind: SignalKind| {
        signal(kind).map_err(|e| Error::Internal(format!("cannot install a signal handler: {e}")))
    };
    let mut interrupt = install(SignalKind::interrupt())?;
    let mut terminate = install(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
