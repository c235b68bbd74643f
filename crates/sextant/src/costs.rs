//! `sextant costs ...`: cost maintenance against a running server.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[derive(clap::Subcommand, Debug)]
pub enum CostsCommand {
    /// Reprice stored spans with the server's current price catalog and overrides (after a
    /// price change in the config and a restart), without re-ingesting
    Recompute(RecomputeArgs),
}

#[derive(clap::Args, Debug)]
pub struct RecomputeArgs {
    /// Reprice spans that started at or after this: an age such as 24h or 7d, or Unix seconds
    #[arg(long)]
    since: String,
    /// The server's query API
    #[arg(long, default_value = "http://127.0.0.1:3200")]
    server: String,
}

pub async fn run(cmd: CostsCommand) -> Result<()> {
    match cmd {
        CostsCommand::Recompute(a) => recompute(&a).await,
    }
}

async fn recompute(a: &RecomputeArgs) -> Result<()> {
    let base = a.server.trim_end_matches('/');
    let since: String = a
        .since
        .bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    let uri = format!("{base}/sextant/api/v1/costs/recompute?since={since}");
    let req = http::Request::post(&uri)
        .body(Full::new(Bytes::new()))
        .with_context(|| format!("invalid server address {base:?}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let resp = client.request(req).await.with_context(|| {
        format!("cannot reach the server at {base}; is `sextant serve` running?")
    })?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    let text = String::from_utf8_lossy(&body);
    if !status.is_success() {
        bail!("the server refused ({status}): {}", text.trim());
    }
    let v: serde_json::Value = serde_json::from_slice(&body).context("unexpected answer")?;
    let s = &v["stats"];
    println!(
        "repriced spans since {}: {} of {} spans changed, {} of {} blocks rewritten, in {:.2} s",
        v["since"],
        s["spansChanged"],
        s["spansScanned"],
        s["blocksRewritten"],
        s["blocksScanned"],
        v["seconds"].as_f64().unwrap_or(0.0)
    );
    Ok(())
}
