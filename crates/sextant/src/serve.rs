//! `sextant serve`: opens the store and serves OTLP ingest and the query APIs until a signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use axum::serve::ListenerExt;
use prometheus_client::registry::Registry;
use sextant_ingest::GenAiEnricher;
use sextant_ingest::metrics_ingest::MetricsIngest;
use sextant_ingest::{IngestMetrics, Ingestor};
use sextant_server::prom_api::PromState;
use sextant_server::{AppState, QueryMetrics};
use sextant_store::{SpanEnricher, Store, StoreMetrics};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;

/// How often span metrics become samples (a Prometheus scrape interval).
const SPAN_METRICS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);

async fn open_series_store(
    config: &Config,
    data_dir: &std::path::Path,
) -> Result<Arc<sextant_metrics::SeriesStore>> {
    let dir = data_dir.join("metrics");
    let mut cfg = sextant_metrics::SeriesStoreConfig::default();
    if config.storage.retention.max_age_hours > 0 {
        cfg.retention_ms = (config.storage.retention.max_age_hours * 3_600_000) as i64;
    }
    let d = dir.clone();
    let store = tokio::task::spawn_blocking(move || sextant_metrics::SeriesStore::open(&d, cfg))
        .await?
        .with_context(|| format!("cannot open the series store in {}", dir.display()))?;
    Ok(Arc::new(store))
}

/// Appends span metrics every interval and lets the series store flush and expire.
async fn metrics_housekeeping(m: Arc<MetricsIngest>) {
    let mut tick = tokio::time::interval(SPAN_METRICS_INTERVAL);
    let mut rounds = 0u64;
    loop {
        tick.tick().await;
        let m = m.clone();
        rounds += 1;
        let maintain = rounds.is_multiple_of(4);
        let _ = tokio::task::spawn_blocking(move || {
            let now = sextant_metrics::now_ms();
            m.flush_span_metrics(now);
            if maintain && let Err(e) = m.store.maintain(now) {
                tracing::warn!(error = %e, "series store maintenance failed");
            }
        })
        .await;
    }
}

pub async fn run(config: Config) -> Result<()> {
    let mut registry = Registry::default();
    let store_metrics = StoreMetrics::default();
    let ingest_metrics = IngestMetrics::default();
    let query_metrics = QueryMetrics::default();
    store_metrics.register(&mut registry);
    ingest_metrics.register(&mut registry);
    query_metrics.register(&mut registry);

    let store_config = config.store_config();
    let data_dir = store_config.data_dir.clone();
    // Built once, before the store opens, so a bad price override or redaction regex stops the
    // start with its reason.
    let catalog = Arc::new(config.price_catalog()?);
    let content = config.content_policies()?;
    let genai = Arc::new(GenAiEnricher::new(catalog.clone()));
    // `[genai] enabled = false`: spans are stored as sent, with empty GenAI columns (the
    // content policies are pass-through too, see `Config::content_policies`).
    let enricher: Arc<dyn SpanEnricher> = if config.genai.enabled {
        genai.clone()
    } else {
        tracing::warn!(
            "[genai] enabled = false: spans are stored as sent, without GenAI columns, costs, content policy or redaction"
        );
        Arc::new(sextant_store::NoEnrichment)
    };
    let e = enricher.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(store_config, store_metrics, e))
        .await?
        .with_context(|| format!("cannot open the store in {}", data_dir.display()))?;
    let store = Arc::new(store);
    let series = open_series_store(&config, &data_dir).await?;
    let span_metrics = Arc::new(sextant_metrics::SpanMetrics::new(Default::default()));
    let metrics_ingest = Arc::new(MetricsIngest::new(series.clone(), span_metrics.clone()));
    let ingestor = Arc::new(
        Ingestor::new(
            store.clone(),
            enricher,
            content,
            config.ingest_limits(),
            ingest_metrics,
        )
        .with_series(metrics_ingest.clone()),
    );
    let ready = Arc::new(AtomicBool::new(true));
    let overview = overview_state(&series, &span_metrics, query_metrics.clone());
    let state = AppState {
        store: store.clone(),
        registry: Arc::new(registry),
        metrics: query_metrics,
        ready: ready.clone(),
    };

    let pricing = sextant_server::pricing_api::PricingState {
        store: store.clone(),
        catalog,
        repricer: genai,
    };
    let source = series.clone();
    let described = metrics_ingest.clone();
    let prom = PromState::new(Arc::new(move |t: &str| {
        Arc::new(source.source(t)) as Arc<dyn sextant_promql::SeriesSource>
    }))
    .with_metadata(Arc::new(move |t: &str| metric_metadata(&described, t)));
    let api = sextant_server::tempo_api::grpc::routes(state.clone())
        .into_axum_router()
        .merge(sextant_server::router(state))
        .merge(sextant_server::pricing_api::router(pricing))
        .merge(sextant_server::native_api::overview::router(overview))
        .merge(sextant_server::prom_api::router(prom))
        .merge(sextant_ingest::http::remote_write_router(ingestor.clone()))
        // The web UI answers every path no API claims (tonic's gRPC fallback included).
        .fallback_service(sextant_ui::router::<()>());
    let housekeeping = tokio::spawn(metrics_housekeeping(metrics_ingest));
    let otlp = sextant_ingest::otlp_router(ingestor);
    let grpc_l = bind(&config.server.otlp_grpc_listen, "server.otlp_grpc_listen").await?;
    let http_l = bind(&config.server.otlp_http_listen, "server.otlp_http_listen").await?;
    let api_l = bind(&config.server.http_listen, "server.http_listen").await?;
    print_banner(&grpc_l, &http_l, &api_l, &data_dir)?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let servers = [
        tokio::spawn(serve_on(grpc_l, otlp.clone(), stop_rx.clone())),
        tokio::spawn(serve_on(http_l, otlp, stop_rx.clone())),
        tokio::spawn(serve_on(api_l, api, stop_rx)),
    ];
    shutdown_signal().await;
    tracing::info!("shutting down: draining requests, then flushing");
    housekeeping.abort();
    ready.store(false, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    for s in servers {
        if let Err(e) = s.await? {
            tracing::error!(error = %e, "server stopped with an error");
        }
    }
    tokio::task::spawn_blocking(move || store.shutdown())
        .await?
        .context("flush at shutdown failed; the WAL still holds the data")?;
    eprintln!("sextant stopped cleanly");
    Ok(())
}

/// The Overview reads the span metrics: stored series plus the values not yet flushed.
fn overview_state(
    series: &Arc<sextant_metrics::SeriesStore>,
    spans: &Arc<sextant_metrics::SpanMetrics>,
    metrics: QueryMetrics,
) -> sextant_server::native_api::overview::OverviewState {
    let (series, spans) = (series.clone(), spans.clone());
    sextant_server::native_api::overview::OverviewState {
        source: Arc::new(move |t: &str| {
            Arc::new(series.source(t)) as Arc<dyn sextant_promql::SeriesSource>
        }),
        live: Arc::new(move |t: &str, now: i64| {
            (spans.snapshot(now).into_iter())
                .filter(|s| s.0 == t)
                .map(|(_, labels, _, v)| (labels, v))
                .collect()
        }),
        metrics,
    }
}

async fn bind(addr: &str, key: &str) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({key})"))
}

fn print_banner(
    grpc: &TcpListener,
    http: &TcpListener,
    api: &TcpListener,
    data: &std::path::Path,
) -> Result<()> {
    let addr = |l: &TcpListener| -> Result<SocketAddr> { Ok(l.local_addr()?) };
    let data = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_owned());
    println!("sextant {} is running", env!("CARGO_PKG_VERSION"));
    println!("  otlp grpc:  {}  (OTLP/HTTP accepted too)", addr(grpc)?);
    println!("  otlp http:  {}  (OTLP/gRPC accepted too)", addr(http)?);
    println!("  query api:  http://{}", addr(api)?);
    println!("  data:       {}", data.display());
    Ok(())
}

async fn serve_on(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The Prometheus API's view of a tenant's metric metadata.
fn metric_metadata(
    ingest: &MetricsIngest,
    tenant: &str,
) -> std::collections::BTreeMap<String, Vec<sextant_server::prom_api::MetricMetadata>> {
    ingest
        .metadata
        .get(tenant)
        .into_iter()
        .map(|(name, m)| {
            let meta = sextant_server::prom_api::MetricMetadata {
                kind: m.kind.to_owned(),
                help: m.help,
                unit: m.unit,
            };
            (name, vec![meta])
        })
        .collect()
}
