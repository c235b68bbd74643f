//! Configuration: defaults < TOML file < `SEXTANT_*` environment variables, then validation.
//!
//! Every key can be set from the environment by its path in capitals joined with `_`:
//! `[storage.retention] max_age_hours` is `SEXTANT_STORAGE_RETENTION_MAX_AGE_HOURS`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Environment variables with the prefix that are not config keys.
const RESERVED_ENV: &[&str] = &["SEXTANT_CONFIG", "SEXTANT_LOG"];
const RESERVED_ENV_PREFIX: &str = "SEXTANT_TEST_";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub ingest: IngestConfig,
    pub genai: GenAiConfig,
    pub log: LogConfig,
}

/// GenAI semantics: prompt content policy, redaction, price overrides.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenAiConfig {
    /// Normalize, price and apply the content policy at ingest (default). False stores spans as
    /// sent: no canonical GenAI columns, no costs, no content dropped, no secrets redacted.
    pub enabled: bool,
    /// Keep prompt and completion content (redacted) instead of dropping it before storage.
    pub capture_content: bool,
    /// Extra redaction rules, run after the built-in ones.
    pub redact: Vec<sextant_genai::redact::UserRedactRule>,
    /// Prices that take precedence over the embedded catalog.
    pub prices: Vec<sextant_genai::PriceOverride>,
    /// Tenants whose content policy differs from the default.
    pub tenants: std::collections::BTreeMap<String, TenantGenAiConfig>,
}

impl Default for GenAiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            capture_content: false,
            redact: Vec::new(),
            prices: Vec::new(),
            tenants: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantGenAiConfig {
    pub capture_content: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Query APIs (Tempo, Sextant) and operational endpoints.
    pub http_listen: String,
    /// OTLP, conventionally gRPC; HTTP is accepted here too.
    pub otlp_grpc_listen: String,
    /// OTLP, conventionally HTTP; gRPC is accepted here too.
    pub otlp_http_listen: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        // Loopback only: a laptop does not expose its traces (and prompts) to the network unless
        // its owner says so, e.g. with "0.0.0.0:4318".
        Self {
            http_listen: "127.0.0.1:3200".into(),
            otlp_grpc_listen: "127.0.0.1:4317".into(),
            otlp_http_listen: "127.0.0.1:4318".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    pub head_max_spans: u64,
    pub head_max_bytes: u64,
    pub head_max_age_secs: u64,
    pub max_unflushed_bytes: u64,
    pub compaction: CompactionConfig,
    pub retention: RetentionConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompactionConfig {
    pub enabled: bool,
    pub min_blocks: u64,
    pub max_block_spans: u64,
    pub interval_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// 0 keeps data forever.
    pub max_age_hours: u64,
    /// 0 means no size limit.
    pub max_bytes_per_tenant: u64,
    pub interval_secs: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        let s = sextant_store::StoreConfig::new("./sextant-data");
        Self {
            data_dir: s.data_dir,
            head_max_spans: s.head_max_spans as u64,
            head_max_bytes: s.head_max_bytes as u64,
            head_max_age_secs: s.head_max_age.as_secs(),
            max_unflushed_bytes: s.max_unflushed_bytes as u64,
            compaction: CompactionConfig {
                enabled: s.compaction.enabled,
                min_blocks: s.compaction.min_blocks as u64,
                max_block_spans: s.compaction.max_block_spans,
                interval_secs: s.compaction.interval.as_secs(),
            },
            retention: RetentionConfig {
                max_age_hours: s.retention.max_age.map_or(0, |d| d.as_secs() / 3600),
                max_bytes_per_tenant: s.retention.max_bytes_per_tenant.unwrap_or(0),
                interval_secs: s.retention.interval.as_secs(),
            },
        }
    }
}

impl Default for CompactionConfig {
    fn default() -> Self {
        StorageConfig::default().compaction
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        StorageConfig::default().retention
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub max_request_bytes: u64,
    pub max_decompressed_bytes: u64,
    pub max_inflight_bytes: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        let l = sextant_ingest::IngestLimits::default();
        Self {
            max_request_bytes: l.max_request_bytes as u64,
            max_decompressed_bytes: l.max_decompressed_bytes as u64,
            max_inflight_bytes: l.max_inflight_bytes as u64,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `sextant_store=debug,info`, ...
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

impl Config {
    /// Loads the file (if any), applies the environment, and validates.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let file: Config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid config file {}", p.display()))?
            }
            None => Config::default(),
        };
        let mut table =
            toml::Table::try_from(&file).context("cannot represent the config as TOML")?;
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("SEXTANT_") else {
                continue;
            };
            if RESERVED_ENV.contains(&name.as_str()) || name.starts_with(RESERVED_ENV_PREFIX) {
                continue;
            }
            apply_env(&mut table, rest, &value)
                .with_context(|| format!("environment variable {name}"))?;
        }
        let config: Config = table
            .try_into()
            .context("invalid configuration after applying the environment")?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        for (key, addr) in [
            ("server.http_listen", &self.server.http_listen),
            ("server.otlp_grpc_listen", &self.server.otlp_grpc_listen),
            ("server.otlp_http_listen", &self.server.otlp_http_listen),
        ] {
            addr.parse::<SocketAddr>().with_context(|| {
                format!("{key} = {addr:?} is not an address like 127.0.0.1:4318")
            })?;
        }
        let s = &self.storage;
        let positive = [
            ("storage.head_max_spans", s.head_max_spans),
            ("storage.head_max_bytes", s.head_max_bytes),
            ("storage.head_max_age_secs", s.head_max_age_secs),
            ("storage.max_unflushed_bytes", s.max_unflushed_bytes),
            (
                "storage.compaction.max_block_spans",
                s.compaction.max_block_spans,
            ),
            (
                "storage.compaction.interval_secs",
                s.compaction.interval_secs,
            ),
            ("storage.retention.interval_secs", s.retention.interval_secs),
            ("ingest.max_request_bytes", self.ingest.max_request_bytes),
            (
                "ingest.max_decompressed_bytes",
                self.ingest.max_decompressed_bytes,
            ),
            ("ingest.max_inflight_bytes", self.ingest.max_inflight_bytes),
        ];
        for (key, v) in positive {
            if v == 0 {
                bail!("{key} must be greater than 0");
            }
        }
        if s.compaction.min_blocks < 2 {
            bail!("storage.compaction.min_blocks must be at least 2");
        }
        if self.ingest.max_decompressed_bytes < self.ingest.max_request_bytes {
            tracing::warn!(
                "ingest.max_decompressed_bytes is below ingest.max_request_bytes: large uncompressed requests will be refused"
            );
        }
        Ok(())
    }

    pub fn store_config(&self) -> sextant_store::StoreConfig {
        let s = &self.storage;
        let secs = Duration::from_secs;
        sextant_store::StoreConfig {
            data_dir: s.data_dir.clone(),
            head_max_spans: s.head_max_spans as usize,
            head_max_bytes: s.head_max_bytes as usize,
            head_max_age: secs(s.head_max_age_secs),
            max_unflushed_bytes: s.max_unflushed_bytes as usize,
            compaction: sextant_store::CompactionConfig {
                enabled: s.compaction.enabled,
                min_blocks: s.compaction.min_blocks as usize,
                max_block_spans: s.compaction.max_block_spans,
                interval: secs(s.compaction.interval_secs),
            },
            retention: sextant_store::RetentionConfig {
                max_age: (s.retention.max_age_hours > 0)
                    .then(|| secs(s.retention.max_age_hours * 3600)),
                max_bytes_per_tenant: (s.retention.max_bytes_per_tenant > 0)
                    .then_some(s.retention.max_bytes_per_tenant),
                interval: secs(s.retention.interval_secs),
            },
        }
    }

    /// The content policy of each tenant; fails on an invalid redaction regex. With
    /// `[genai] enabled = false` every tenant's policy passes spans through unchanged.
    pub fn content_policies(&self) -> Result<sextant_ingest::ContentPolicies> {
        let g = &self.genai;
        if !g.enabled {
            return Ok(sextant_ingest::ContentPolicies {
                default: sextant_genai::ContentPolicy::disabled(),
                tenants: Default::default(),
            });
        }
        let policy = |capture: bool| {
            sextant_genai::ContentPolicy::new(capture, &g.redact)
                .context("invalid [[genai.redact]] rule")
        };
        let mut tenants = std::collections::HashMap::new();
        for (name, t) in &g.tenants {
            sextant_store::tenant::validate_tenant(name)
                .with_context(|| format!("[genai.tenants.{name}]"))?;
            tenants.insert(name.clone(), policy(t.capture_content)?);
        }
        Ok(sextant_ingest::ContentPolicies {
            default: policy(g.capture_content)?,
            tenants,
        })
    }

    /// The embedded price catalog with the config's overrides.
    pub fn price_catalog(&self) -> Result<sextant_genai::Catalog> {
        sextant_genai::Catalog::embedded()
            .with_overrides(self.genai.prices.clone())
            .context("invalid [[genai.prices]] entry")
    }

    pub fn ingest_limits(&self) -> sextant_ingest::IngestLimits {
        sextant_ingest::IngestLimits {
            max_request_bytes: self.ingest.max_request_bytes as usize,
            max_decompressed_bytes: self.ingest.max_decompressed_bytes as usize,
            max_inflight_bytes: self.ingest.max_inflight_bytes as usize,
        }
    }
}

/// Sets the key whose path, joined with `_` in capitals, is `name`.
fn apply_env(table: &mut toml::Table, name: &str, value: &str) -> Result<()> {
    if set_path(table, name, value)? {
        Ok(())
    } else {
        bail!("no configuration key matches {name:?} (see sextant.example.toml for the keys)")
    }
}

/// Ok(false) when no key matches; an error when one matches but the value does not fit it.
fn set_path(table: &mut toml::Table, name: &str, value: &str) -> Result<bool> {
    for (key, slot) in table.iter_mut() {
        let upper = key.to_ascii_uppercase();
        if let toml::Value::Table(sub) = slot {
            if let Some(rest) = name.strip_prefix(&upper).and_then(|r| r.strip_prefix('_'))
                && set_path(sub, rest, value)?
            {
                return Ok(true);
            }
        } else if upper == name {
            *slot = parse_like(slot, value)?;
            return Ok(true);
        }
    }
    Ok(false)
}

fn parse_like(current: &toml::Value, value: &str) -> Result<toml::Value> {
    Ok(match current {
        toml::Value::Integer(_) => toml::Value::Integer(
            value
                .trim()
                .parse()
                .with_context(|| format!("{value:?} is not an integer"))?,
        ),
        toml::Value::Boolean(_) => toml::Value::Boolean(
            value
                .trim()
                .parse()
                .with_context(|| format!("{value:?} is not true or false"))?,
        ),
        toml::Value::Float(_) => toml::Value::Float(
            value
                .trim()
                .parse()
                .with_context(|| format!("{value:?} is not a number"))?,
        ),
        _ => toml::Value::String(value.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sextant.example.toml")
    }

    #[test]
    fn example_file_loads_and_matches_defaults() {
        let c = Config::load(Some(&example()), []).expect("example config loads");
        let d = Config::default();
        assert_eq!(
            toml::to_string(&c).ok(),
            toml::to_string(&d).ok(),
            "example file documents the defaults"
        );
    }

    #[test]
    fn env_overrides_file_and_unknown_keys_are_named() {
        let env = [
            (
                "SEXTANT_STORAGE_RETENTION_MAX_AGE_HOURS".to_owned(),
                "2".to_owned(),
            ),
            ("SEXTANT_STORAGE_DATA_DIR".to_owned(), "/tmp/x".to_owned()),
            (
                "SEXTANT_SERVER_HTTP_LISTEN".to_owned(),
                "0.0.0.0:9999".to_owned(),
            ),
            ("SEXTANT_TEST_PYTHON".to_owned(), "ignored".to_owned()),
        ];
        let c = Config::load(Some(&example()), env).expect("loads");
        assert_eq!(c.storage.retention.max_age_hours, 2);
        assert_eq!(c.storage.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.server.http_listen, "0.0.0.0:9999");

        let err = Config::load(None, [("SEXTANT_STORAGE_NOPE".to_owned(), "1".to_owned())])
            .expect_err("unknown");
        assert!(
            format!("{err:#}").contains("SEXTANT_STORAGE_NOPE"),
            "{err:#}"
        );
        let err = Config::load(
            None,
            [(
                "SEXTANT_STORAGE_HEAD_MAX_SPANS".to_owned(),
                "many".to_owned(),
            )],
        )
        .expect_err("bad int");
        assert!(format!("{err:#}").contains("not an integer"), "{err:#}");
    }

    #[test]
    fn genai_switch_defaults_on_and_turns_the_content_policy_off() {
        let on = Config::load(None, []).expect("defaults");
        assert!(on.genai.enabled);
        assert!(on.content_policies().expect("policies").default.is_active());
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[genai.tenants.research]\ncapture_content = true\n").expect("write");
        let tenant = Config::load(Some(&p), []).expect("loads");
        let policies = tenant.content_policies().expect("policies");
        assert!(policies.for_tenant("research").capture);
        let env = [("SEXTANT_GENAI_ENABLED".to_owned(), "false".to_owned())];
        let off = Config::load(Some(&p), env).expect("loads");
        assert!(!off.genai.enabled);
        let policies = off.content_policies().expect("policies");
        assert!(!policies.default.is_active());
        assert!(!policies.for_tenant("research").is_active());
    }

    #[test]
    fn unknown_file_keys_are_errors_that_name_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[storage]\nretension_hours = 3\n").expect("write");
        let err = Config::load(Some(&p), []).expect_err("unknown key");
        assert!(format!("{err:#}").contains("retension_hours"), "{err:#}");
        std::fs::write(&p, "[server]\nhttp_listen = \"nowhere\"\n").expect("write");
        let err = Config::load(Some(&p), []).expect_err("bad addr");
        assert!(format!("{err:#}").contains("server.http_listen"), "{err:#}");
    }
}
