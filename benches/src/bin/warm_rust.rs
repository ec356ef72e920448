//! `warm_rust`: warm in-process latency of the Rust Lambda handler (`bbws-tenant-api`'s
//! [`ApiFunction::invoke`]) on the backend the environment names, as the Lambda reads it
//! ([`lambda_backend_config`]: `BBWS_BACKEND`, `DYNAMODB_TABLE`, `AWS_ENDPOINT_URL`, ...).
//!
//! ```text
//! warm_rust [--n 1000] [--warmup 50] [--block 25] [--base 25] [--ops get,list,create,park[,get-parts]]
//!           [--events benches/harness/events] [--out FILE] [--log FILE]
//! ```
//!
//! The mirror of `benches/harness/warm_python.py`, so the two sides are measured alike:
//!
//! - the same API Gateway REST API (payload 1.0) events, `benches/harness/events/{op}.json`
//!   (Cognito authorizer claims of a platform admin), with `__TENANT_ID__` / `__ORG_NAME__`
//!   replaced;
//! - [`ApiFunction`] built once, as the Lambda does at init; each invocation is the exact call the
//!   Lambda makes per event (the router, then the outbox drain). Only that call is timed: the
//!   event is built before, the status checked after. Logging is the Lambda's (JSON lines at
//!   `LOG_LEVEL`, default `info`, on stderr or to `--log FILE`), so the per-request log line is in
//!   the figures;
//! - `--base` ACTIVE base tenants first (created and set ACTIVE through the API, not timed); `get`
//!   cycles through them, `list` is `?status=ACTIVE&limit=20`, `create` uses a fresh name per
//!   call, `park` parks tenants created and set ACTIVE (not timed) just before their block;
//! - blocks of `--block` invocations; the first `--warmup` invocations of each operation are
//!   discarded, `--n` kept. On DynamoDB the table is swept back to its state before the block
//!   after every block of creates or parks (moto answers a Query by scanning the whole table, so
//!   its latency grows with the table), and to its state at start when the run ends;
//! - every status code is checked, and the first block's bodies, so an error is never what is
//!   timed; percentiles interpolate linearly between the closest ranks (numpy's default).
//!
//! Each invocation is timed as the Lambda runs it: the payload text read into a `Box<RawValue>`
//! (the runtime's part), then [`ApiFunction::invoke_text`].
//!
//! `get-parts` (not in the default `--ops`) times the pieces of a get alone: the adapter and
//! router (`handle_event`, no drain), the drain of an empty outbox, and the JSON work around the
//! event (see [`get_parts`]).
//!
//! Prints (and writes to `--out`) `{"backend", "create": {"p50_us", "p90_us", "p99_us",
//! "mean_us", "min_us", "max_us", "n"}, ..., "meta": {...}}`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use bbws_aws::dynamo::keys;
use bbws_aws::{Backend, BackendKind};
use bbws_lambda::apigw::{ApiFunction, drain, handle_event_text, lambda_backend_config};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const OPS: [&str; 5] = ["get", "list", "create", "park", "get-parts"];
const PAGE: usize = 20;

#[derive(Debug)]
struct Args {
    n: usize,
    warmup: usize,
    block: usize,
    ops: Vec<String>,
    base: usize,
    events: PathBuf,
    out: Option<PathBuf>,
    log: Option<PathBuf>,
}

const USAGE: &str = "warm_rust [--n 1000] [--warmup 50] [--block 25] [--base 25] \
[--ops get,list,create,park[,get-parts]] [--events DIR] [--out FILE] [--log FILE]";

fn parse_args() -> Result<Args> {
    let mut args = Args {
        n: 1000,
        warmup: 50,
        block: 25,
        ops: OPS[..4].iter().map(|s| (*s).to_owned()).collect(),
        base: 25,
        events: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/harness/events")),
        out: None,
        log: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--n" => args.n = value()?.parse()?,
            "--warmup" => args.warmup = value()?.parse()?,
            "--block" => args.block = value()?.parse()?,
            "--base" => args.base = value()?.parse()?,
            "--ops" => args.ops = value()?.split(',').map(str::to_owned).collect(),
            "--events" => args.events = value()?.into(),
            "--out" => args.out = Some(value()?.into()),
            "--log" => args.log = Some(value()?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\nusage: {USAGE}").into()),
        }
    }
    if args.n == 0 || args.block == 0 || args.base < PAGE {
        return Err(format!("--n and --block must be positive, --base at least {PAGE}").into());
    }
    if let Some(op) = args.ops.iter().find(|o| !OPS.contains(&o.as_str())) {
        return Err(format!("unknown operation {op}").into());
    }
    Ok(args)
}

/// The event templates of `benches/harness/events/`.
struct Events {
    create: String,
    get: String,
    list: String,
    park: String,
}

impl Events {
    fn load(dir: &std::path::Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(format!("{name}.json"));
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        Ok(Self {
            create: read("create")?,
            get: read("get")?,
            list: read("list")?,
            park: read("park")?,
        })
    }

    fn fill(template: &str, key: &str, value: &str) -> Result<Value> {
        Ok(serde_json::from_str(&template.replace(key, value))?)
    }

    fn create(&self, name: &str) -> Result<Value> {
        Self::fill(&self.create, "__ORG_NAME__", name)
    }

    fn get(&self, id: &str) -> Result<Value> {
        Self::fill(&self.get, "__TENANT_ID__", id)
    }

    fn list(&self) -> Result<Value> {
        Ok(serde_json::from_str(&self.list)?)
    }

    fn park(&self, id: &str) -> Result<Value> {
        Self::fill(&self.park, "__TENANT_ID__", id)
    }

    /// `PATCH /v1.0/tenants/{id}/status {"status": "ACTIVE"}`: the get event, changed.
    fn activate(&self, id: &str) -> Result<Value> {
        let mut e = self.get(id)?;
        let path = format!("/v1.0/tenants/{id}/status");
        e["httpMethod"] = json!("PATCH");
        e["requestContext"]["httpMethod"] = json!("PATCH");
        e["resource"] = json!("/v1.0/tenants/{tenantId}/status");
        e["requestContext"]["resourcePath"] = json!("/v1.0/tenants/{tenantId}/status");
        e["requestContext"]["path"] = json!(format!("/prod{path}"));
        e["path"] = json!(path);
        e["headers"]["Content-Type"] = json!("application/json");
        e["multiValueHeaders"]["Content-Type"] = json!(["application/json"]);
        e["body"] = json!(r#"{"status": "ACTIVE"}"#);
        Ok(e)
    }
}

/// The response's JSON body.
fn body(response: &Value) -> Result<Value> {
    let text = response
        .get("body")
        .and_then(Value::as_str)
        .ok_or("a response without a body")?;
    Ok(serde_json::from_str(text)?)
}

/// The body, or an error carrying the response when its status is not `want`.
fn expect(response: &Value, want: i64, what: &str) -> Result<Value> {
    let got = response.get("statusCode").and_then(Value::as_i64);
    if got == Some(want) {
        body(response)
    } else {
        Err(format!("{what}: status {got:?}, want {want}: {response}").into())
    }
}

/// Linear interpolation between the closest ranks (numpy's default), as `warm_python.py` does.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let pos = (sorted.len() - 1) as f64 * q;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    #[allow(clippy::cast_precision_loss)]
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Durations in ns: percentiles, mean and extremes in µs.
fn summary(ns: &[u128]) -> Value {
    #[allow(clippy::cast_precision_loss)]
    let mut us: Vec<f64> = ns.iter().map(|v| *v as f64 / 1000.0).collect();
    us.sort_by(f64::total_cmp);
    let r = |v: f64| (v * 10.0).round() / 10.0;
    #[allow(clippy::cast_precision_loss)]
    let mean = us.iter().sum::<f64>() / us.len() as f64;
    json!({
        "p50_us": r(percentile(&us, 0.50)),
        "p90_us": r(percentile(&us, 0.90)),
        "p99_us": r(percentile(&us, 0.99)),
        "mean_us": r(mean),
        "min_us": r(us[0]),
        "max_us": r(us[us.len() - 1]),
        "n": us.len(),
    })
}

type Item = HashMap<String, AttributeValue>;

/// The DynamoDB bookkeeping around the timed calls (never timed): sweeping the table back to a
/// remembered set of keys, and seeding ACTIVE tenants to park.
struct Sweeper {
    client: aws_sdk_dynamodb::Client,
    table: String,
    keep: HashSet<(String, String)>,
    /// An ACTIVE tenant's item as bbws wrote it, with its id and name: the mould of seeded ones.
    template: Option<(Item, String, String)>,
    /// The table was empty at the start (`benches/run` makes a new one): [`Self::reset`] deletes
    /// and creates it again instead of sweeping it, as `warm_python.py` does, because moto keeps
    /// an entry for every partition key ever written and walks or copies them all in every Query
    /// and `TransactWriteItems`, so a swept table answers slower than a new one.
    recreate: bool,
    /// The keys in the table at the start.
    initial: HashSet<(String, String)>,
}

impl Sweeper {
    /// Takes tenant `id` (ACTIVE, named `name`) as the mould of [`Self::seed_active`].
    async fn set_template(&mut self, id: &str, name: &str) -> Result<()> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(keys::tenant_pk(id)))
            .key("SK", AttributeValue::S(keys::METADATA.to_owned()))
            .consistent_read(true)
            .send()
            .await?
            .item
            .ok_or("the template tenant is not in the table")?;
        self.template = Some((item, id.to_owned(), name.to_owned()));
        Ok(())
    }

    /// `count` ACTIVE tenants written directly (`BatchWriteItem`, 25 a request): copies of the
    /// template's item with another id and name, as `warm_python.py` seeds its own; their ids.
    async fn seed_active(&self, count: usize, label: &str) -> Result<Vec<String>> {
        let (template, old_id, old_name) = self.template.as_ref().ok_or("no template tenant")?;
        let mut ids = Vec::with_capacity(count);
        let mut items = Vec::with_capacity(count);
        for i in 0..count {
            let id = format!("tenant-{}", uuid::Uuid::new_v4());
            let name = format!("{label} {i}");
            let item: Item = template
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        AttributeValue::S(text) => {
                            AttributeValue::S(text.replace(old_id, &id).replace(old_name, &name))
                        }
                        other => other.clone(),
                    };
                    (k.clone(), v)
                })
                .collect();
            ids.push(id);
            items.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                    .build(),
            );
        }
        self.batch_write(items).await?;
        Ok(ids)
    }

    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<()> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            while !pending.is_empty() {
                let res = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await?;
                pending = res
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    async fn keys(&self) -> Result<HashSet<(String, String)>> {
        let mut out = HashSet::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#pk, #sk")
                .expression_attribute_names("#pk", "PK")
                .expression_attribute_names("#sk", "SK")
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items() {
                let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
                if let (Some(pk), Some(sk)) = (s("PK"), s("SK")) {
                    out.insert((pk, sk));
                }
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }

    async fn remember(&mut self) -> Result<usize> {
        self.keep = self.keys().await?;
        Ok(self.keep.len())
    }

    /// Back to the table as [`Self::remember`] saw it: created again if it was empty at the
    /// start (`keep` is then empty too), swept otherwise.
    async fn reset(&mut self) -> Result<()> {
        if !self.recreate {
            self.sweep().await?;
            return Ok(());
        }
        self.client
            .delete_table()
            .table_name(&self.table)
            .send()
            .await?;
        // Polls the endpoint's own state (moto deletes at once; DynamoDB takes seconds).
        for attempt in 0.. {
            match self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
            {
                Err(e)
                    if e.as_service_error()
                        .is_some_and(DescribeTableError::is_resource_not_found_exception) =>
                {
                    break;
                }
                Err(e) => return Err(e.into()),
                Ok(_) if attempt >= 300 => return Err("the table was not deleted".into()),
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        bbws_aws::dynamo::create_table(&self.client, &self.table).await?;
        self.keep.clear();
        Ok(())
    }

    /// Deletes every item written since [`Self::remember`]; how many.
    async fn sweep(&self) -> Result<usize> {
        let extra: Vec<(String, String)> = self
            .keys()
            .await?
            .into_iter()
            .filter(|k| !self.keep.contains(k))
            .collect();
        let requests = extra
            .iter()
            .map(|(pk, sk)| {
                let delete = DeleteRequest::builder()
                    .key("PK", AttributeValue::S(pk.clone()))
                    .key("SK", AttributeValue::S(sk.clone()))
                    .build()?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(requests).await?;
        Ok(extra.len())
    }
}

struct Bench<'a> {
    function: &'a ApiFunction,
    events: Events,
    nonce: String,
    seeded: usize,
    base: Vec<String>,
    sweeper: Option<Sweeper>,
}

impl Bench<'_> {
    async fn call(&self, event: Value) -> Value {
        self.function.invoke(event).await
    }

    /// `count` ACTIVE tenants, through the API (create, then PATCH status ACTIVE); untimed.
    async fn active_tenants(&mut self, count: usize, label: &str) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            self.seeded += 1;
            let name = format!("{label} {}", self.seeded);
            let created = expect(
                &self.call(self.events.create(&name)?).await,
                201,
                "seed create",
            )?;
            let id = created
                .get("tenantId")
                .and_then(Value::as_str)
                .ok_or("a create response without tenantId")?
                .to_owned();
            expect(
                &self.call(self.events.activate(&id)?).await,
                200,
                "seed activate",
            )?;
            ids.push(id);
        }
        Ok(ids)
    }

    async fn events_for(&mut self, op: &str, block: usize, count: usize) -> Result<Vec<Value>> {
        match op {
            "create" => (0..count)
                .map(|i| {
                    self.events
                        .create(&format!("Bench {} rust {block} {i}", self.nonce))
                })
                .collect(),
            "get" => (0..count)
                .map(|i| {
                    self.events
                        .get(&self.base[(block * count + i) % self.base.len()])
                })
                .collect(),
            "list" => (0..count).map(|_| self.events.list()).collect(),
            "park" => {
                let label = format!("Seed park rust {} {block}", self.nonce);
                let ids = match &self.sweeper {
                    Some(sweeper) => sweeper.seed_active(count, &label).await?,
                    None => self.active_tenants(count, &label).await?,
                };
                ids.iter().map(|id| self.events.park(id)).collect()
            }
            _ => unreachable!("checked by parse_args"),
        }
    }

    /// The first block's bodies: what is timed is the operation, not a refusal.
    fn check(op: &str, event: &Value, b: &Value) -> Result<()> {
        let s = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or_default();
        let ok = match op {
            "create" => s("status") == "PENDING" && s("tenantId").starts_with("tenant-"),
            "get" => {
                event
                    .pointer("/pathParameters/tenantId")
                    .and_then(Value::as_str)
                    == Some(s("tenantId"))
            }
            "list" => b
                .get("items")
                .and_then(Value::as_array)
                .is_some_and(|items| {
                    items.len() == PAGE
                        && items
                            .iter()
                            .all(|i| i.get("status").and_then(Value::as_str) == Some("ACTIVE"))
                }),
            "park" => s("status") == "PARKED",
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{op}: unexpected body: {b}").into())
        }
    }

    async fn run_op(&mut self, op: &str, args: &Args) -> Result<Vec<u128>> {
        let want = if op == "create" { 201 } else { 200 };
        let warm_blocks = args.warmup.div_ceil(args.block);
        let kept_blocks = args.n.div_ceil(args.block);
        let mut samples = Vec::with_capacity(kept_blocks * args.block);
        for b in 0..warm_blocks + kept_blocks {
            let events = self.events_for(op, b, args.block).await?;
            let mut times = Vec::with_capacity(events.len());
            for event in events {
                // The payload as the runtime receives it; what the runtime and the function do
                // with it is timed: the text read into a `Box<RawValue>`, then `invoke_text`.
                let payload = serde_json::to_string(&event)?;
                let check_event = (b == 0).then(|| event.clone());
                let start = Instant::now();
                let raw: Box<RawValue> = serde_json::from_str(&payload)?;
                let response = self.function.invoke_text(raw.get()).await;
                let elapsed = start.elapsed();
                let got = expect(&response, want, op)?;
                if let Some(e) = check_event {
                    Self::check(op, &e, &got)?;
                }
                times.push(elapsed.as_nanos());
            }
            if b >= warm_blocks {
                samples.extend(times);
            }
            if let Some(sweeper) = &mut self.sweeper
                && matches!(op, "create" | "park")
            {
                sweeper.reset().await?;
            }
        }
        samples.truncate(args.n);
        Ok(samples)
    }
}

/// Where the time of a get goes, each part timed alone over the same event: `handle_event` (the
/// API Gateway adapter and the router, no drain; [`handle_event_text`]), `drain` (the outbox
/// relay on an empty outbox); `payload_to_raw` (what the Lambda runtime does before the handler:
/// the payload text read into a `Box<RawValue>`), and inside `handle_event`,
/// `lambda_http_from_str` (`lambda_http` reading the text into a request).
async fn get_parts(
    function: &ApiFunction,
    backend: &Backend,
    event: Value,
    warmup: usize,
    n: usize,
) -> Result<Value> {
    let relay = backend.relay();
    let text = serde_json::to_string(&event)?;
    let mut parts = Map::new();
    for part in [
        "handle_event",
        "drain",
        "payload_to_raw",
        "lambda_http_from_str",
    ] {
        let mut ns = Vec::with_capacity(n);
        for i in 0..warmup + n {
            let start = Instant::now();
            let d = match part {
                "handle_event" => {
                    let r = handle_event_text(function.router().clone(), &text).await;
                    let d = start.elapsed();
                    expect(&r, 200, "get")?;
                    d
                }
                "drain" => {
                    drain(&relay).await;
                    start.elapsed()
                }
                "payload_to_raw" => {
                    std::hint::black_box(serde_json::from_str::<Box<RawValue>>(&text)?);
                    start.elapsed()
                }
                _ => {
                    std::hint::black_box(lambda_http::request::from_str(&text)?);
                    start.elapsed()
                }
            };
            if i >= warmup {
                ns.push(d.as_nanos());
            }
        }
        parts.insert(part.to_owned(), summary(&ns));
    }
    Ok(Value::Object(parts))
}

async fn run(args: &Args) -> Result<Value> {
    let started = Instant::now();
    let config = lambda_backend_config(|name| std::env::var(name).ok())?;
    let backend = Backend::open(&config).await?;
    let function = ApiFunction::new(&backend);
    let sweeper = if config.kind == BackendKind::DynamoDb {
        let sdk = bbws_aws::sdk::load(config.endpoint_url.as_deref()).await;
        Some(Sweeper {
            client: bbws_aws::sdk::dynamodb(&sdk),
            table: config.table.clone(),
            keep: HashSet::new(),
            template: None,
            recreate: false,
            initial: HashSet::new(),
        })
    } else {
        None
    };
    let nonce = format!(
        "{:x}",
        (SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() << 16)
            ^ u128::from(std::process::id())
    );
    let mut bench = Bench {
        function: &function,
        events: Events::load(&args.events)?,
        nonce,
        seeded: 0,
        base: Vec::new(),
        sweeper,
    };
    let mut meta = Map::new();
    if let Some(s) = &mut bench.sweeper {
        let items = s.remember().await?;
        s.recreate = items == 0;
        s.initial.clone_from(&s.keep);
        meta.insert("table_items_at_start".into(), json!(items));
        meta.insert(
            "table_between_write_blocks".into(),
            json!(if s.recreate {
                "recreated after each block of writes"
            } else {
                "swept"
            }),
        );
    }
    let initial = bench.sweeper.as_ref().map(|s| s.keep.clone());
    let result = measure(&mut bench, &backend, args).await;
    // Back to the table as it was, whatever happened.
    if let (Some(s), Some(initial)) = (&mut bench.sweeper, initial) {
        s.keep = initial;
        s.reset().await?;
    }
    let mut out = result?;
    meta.insert("backend".into(), json!(config.kind.as_str()));
    if config.kind == BackendKind::DynamoDb {
        meta.insert("table".into(), json!(config.table));
        meta.insert("endpoint".into(), json!(config.endpoint_url));
    }
    meta.insert("n_kept".into(), json!(args.n));
    meta.insert("n_warmup_discarded".into(), json!(args.warmup));
    meta.insert("block".into(), json!(args.block));
    meta.insert("base_tenants".into(), json!(args.base));
    meta.insert(
        "log_level".into(),
        json!(std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into())),
    );
    meta.insert(
        "duration_s".into(),
        json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0),
    );
    meta.insert(
        "command".into(),
        json!(std::env::args().collect::<Vec<_>>().join(" ")),
    );
    out.insert("backend".into(), json!(config.kind.as_str()));
    out.insert("meta".into(), Value::Object(meta));
    Ok(Value::Object(out))
}

async fn measure(
    bench: &mut Bench<'_>,
    backend: &Backend,
    args: &Args,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let label = format!("Seed base rust {}", bench.nonce);
    if bench.sweeper.is_some() {
        // On DynamoDB: one tenant through the API (create, then ACTIVE) as the mould, swept away
        // again; the base tenants are copies of its item, one item each, as warm_python.py seeds
        // its own, so both sides measure on tables of the same size (moto's TransactWriteItems
        // copies the whole table, so its cost grows with the table).
        let template = bench
            .active_tenants(1, &format!("{label} template"))
            .await?;
        let name = format!("{label} template {}", bench.seeded);
        if let Some(s) = &mut bench.sweeper {
            s.set_template(&template[0], &name).await?;
            s.sweep().await?;
            bench.base = s.seed_active(args.base, &label).await?;
            s.remember().await?;
        }
    } else {
        bench.base = bench.active_tenants(args.base, &label).await?;
    }
    // First use: connections, caches.
    expect(
        &bench.call(bench.events.get(&bench.base[0])?).await,
        200,
        "first get",
    )?;
    for op in &args.ops {
        let started = Instant::now();
        // As warm_python.py does: the base tenants are in the table only while reads run, so
        // creates and parks run on the table as it was at the start.
        if matches!(op.as_str(), "create" | "park")
            && let Some(s) = &mut bench.sweeper
            && !s.keep.is_empty()
        {
            s.keep.clone_from(&s.initial);
            s.reset().await?;
        }
        if op == "get-parts" {
            let event = bench.events.get(&bench.base[0])?;
            let parts = get_parts(bench.function, backend, event, args.warmup, args.n).await?;
            out.insert(op.clone(), parts);
        } else {
            let samples = bench.run_op(op, args).await?;
            out.insert(op.clone(), summary(&samples));
        }
        eprintln!(
            "warm_rust: {op}: {} kept + {} warm-up ({:.1} s)",
            args.n,
            args.warmup,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(out)
}

/// The Lambda's logging (`bbws-tenant-api`): JSON lines filtered by `LOG_LEVEL` (default
/// `info`), so the figures include the per-request log line the Lambda writes; on stderr as in
/// the Lambda, or appended to `log`.
fn init_logging(log: Option<&std::path::Path>) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false);
    let _ = match log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            builder.with_writer(std::sync::Arc::new(file)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    Ok(())
}

#[tokio::main]
async fn main() {
    let result = match parse_args() {
        Ok(args) => match init_logging(args.log.as_deref()) {
            Ok(()) => run(&args).await,
            Err(e) => Err(e),
        }
        .and_then(|v| {
            let text = serde_json::to_string_pretty(&v)?;
            if let Some(path) = &args.out {
                std::fs::write(path, format!("{text}\n"))?;
            }
            println!("{text}");
            Ok(())
        }),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        eprintln!("warm_rust: error: {e}");
        std::process::exit(1);
    }
}
