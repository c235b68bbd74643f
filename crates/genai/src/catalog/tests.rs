//! Catalog lookups against the embedded feed and a small hand-made one.

use super::*;
use crate::catalog::units::idx;

const NOV_2025: u64 = 1_762_430_400 * 1_000_000_000;

fn usage(input: u64, cached: u64, output: u64) -> Usage {
    let mut u = Usage::default();
    u.set(idx::INPUT, input);
    u.set(idx::OUTPUT, output);
    if cached > 0 {
        u.set(idx::CACHE_READ, cached);
    }
    u
}

const SMALL: &str = r#"[
 {"id": "openai", "name": "OpenAI", "api_pattern": "x", "provider_match": {"contains": "openai"},
  "model_match": {"starts_with": "gpt-"},
  "models": [
   {"id": "gpt-4o-mini", "match": {"or": [{"equals": "gpt-4o-mini"}, {"equals": "gpt-4o-mini-2024-07-18"}]},
    "prices": {"input_mtok": 0.15, "cache_read_mtok": 0.075, "output_mtok": 0.6}},
   {"id": "ft:gpt-4o-mini", "match": {"starts_with": "ft:gpt-4o-mini-2024-"},
    "prices": {"input_mtok": 0.3, "output_mtok": 1.2}},
   {"id": "gpt-x", "match": {"equals": "gpt-x"},
    "prices": [{"prices": {"input_mtok": 1, "output_mtok": 2}},
               {"constraint": {"start_date": "2026-01-01"}, "prices": {"input_mtok": 10, "output_mtok": 20}}]}
  ]},
 {"id": "azure", "name": "Azure", "api_pattern": "x", "fallback_model_providers": ["openai"], "models": []}
]"#;

fn small() -> Catalog {
    Catalog::from_json(SMALL, "custom", "test").expect("valid feed")
}

#[test]
fn gpt_4o_mini_with_cache_matches_hand_computation() {
    let q = small()
        .quote(
            Some("openai"),
            "gpt-4o-mini-2024-07-18",
            &usage(103, 48, 14),
            NOV_2025,
        )
        .expect("priced");
    assert!((q.breakdown.total_usd - 2.025e-05).abs() < 1e-12);
    assert_eq!(
        q.entry,
        PriceEntry {
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            from_override: false
        }
    );
}

#[test]
fn fine_tunes_snapshots_fallbacks_and_prefixes() {
    let c = small();
    let u = usage(1_000_000, 0, 0);
    let ft = c
        .quote(Some("openai"), "ft:gpt-4o-mini:acme::abc123", &u, NOV_2025)
        .expect("fine-tune priced");
    assert_eq!(ft.entry.model, "ft:gpt-4o-mini");
    assert!((ft.breakdown.total_usd - 0.3).abs() < 1e-12);
    let dated = c
        .quote(
            Some("openai"),
            "ft:gpt-4o-mini-2024-07-18:acme::x",
            &u,
            NOV_2025,
        )
        .expect("dated fine-tune");
    assert_eq!(dated.entry.model, "ft:gpt-4o-mini");
    // Without a provider, the fine-tune's base model names the provider (OpenAI lists `gpt-`).
    let no_provider = c
        .quote(None, "ft:gpt-4o-mini:acme::abc123", &u, NOV_2025)
        .expect("fine-tune priced without a provider");
    assert_eq!(no_provider.entry.provider, "openai");
    assert_eq!(no_provider.entry.model, "ft:gpt-4o-mini");
    assert!((no_provider.breakdown.total_usd - 0.3).abs() < 1e-12);
    // A fine-tune whose base no provider lists stays unpriced, with a reason.
    let unknown = c
        .quote(None, "ft:my-llama:acme::x", &u, NOV_2025)
        .expect_err("unknown fine-tune base");
    assert!(unknown.contains("no provider"), "{unknown}");
    // An unknown dated snapshot falls back to its alias.
    assert_eq!(
        c.quote(Some("openai"), "gpt-4o-mini-2099-01-01", &u, NOV_2025)
            .expect("snapshot")
            .entry
            .model,
        "gpt-4o-mini"
    );
    // Azure serves OpenAI models; the entry records the provider that billed.
    let az = c
        .quote(Some("azure.ai.openai"), "gpt-4o-mini", &u, NOV_2025)
        .expect("azure");
    assert_eq!(az.entry.provider, "azure");
    // No provider: the model match finds it; a routed name keeps working.
    assert!(c.quote(None, "openai/gpt-4o-mini", &u, NOV_2025).is_ok());
}

#[test]
fn unknown_model_is_unpriced_with_a_reason() {
    let c = small();
    let err = c
        .quote(Some("openai"), "my-llama", &usage(10, 0, 10), NOV_2025)
        .expect_err("unpriced");
    assert!(err.contains("my-llama") && err.contains("openai"), "{err}");
    let err = c
        .quote(None, "my-llama", &usage(10, 0, 10), NOV_2025)
        .expect_err("unpriced");
    assert!(err.contains("no provider"), "{err}");
}

#[test]
fn time_conditional_prices() {
    let c = small();
    let u = usage(1_000_000, 0, 0);
    let before = c
        .quote(Some("openai"), "gpt-x", &u, NOV_2025)
        .expect("priced");
    let after = c
        .quote(
            Some("openai"),
            "gpt-x",
            &u,
            NOV_2025 + 86_400 * 100 * 1_000_000_000,
        )
        .expect("priced");
    assert!((before.breakdown.total_usd - 1.0).abs() < 1e-12);
    assert!((after.breakdown.total_usd - 10.0).abs() < 1e-12);
}

#[test]
fn overrides_win_and_are_recorded() {
    let o: Vec<PriceOverride> = serde_json::from_str(
        r#"[{"provider": "openai", "model": "gpt-4o-mini", "input_per_mtok": 1.0, "output_per_mtok": 2.0},
            {"model_prefix": "llama-", "input_per_mtok": 0.1, "output_per_mtok": 0.1}]"#,
    )
    .expect("valid overrides");
    let c = small().with_overrides(o).expect("compiles");
    let q = c
        .quote(
            Some("openai"),
            "GPT-4o-mini",
            &usage(1_000_000, 0, 0),
            NOV_2025,
        )
        .expect("priced");
    assert!(q.entry.from_override);
    assert!((q.breakdown.total_usd - 1.0).abs() < 1e-12);
    let q = c
        .quote(
            Some("vllm"),
            "llama-3-8b",
            &usage(1_000_000, 0, 1_000_000),
            NOV_2025,
        )
        .expect("priced");
    assert!((q.breakdown.total_usd - 0.2).abs() < 1e-12);
    let json = serde_json::to_value(&c).expect("serializes");
    assert_eq!(json["overrides"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["providers"][0]["id"], "openai");
}

#[test]
fn invalid_overrides_are_rejected() {
    let two_models: PriceOverride = serde_json::from_str(
        r#"{"model": "a", "model_prefix": "b", "input_per_mtok": 1, "output_per_mtok": 1}"#,
    )
    .expect("shape ok");
    assert!(small().with_overrides(vec![two_models]).is_err());
    let unknown = serde_json::from_str::<PriceOverride>(
        r#"{"model": "a", "input_per_mtok": 1, "output_per_mtok": 1, "x": 1}"#,
    );
    assert!(unknown.is_err());
}

#[test]
fn empty_catalog_says_so() {
    let c = Catalog::from_json("[]", "empty", "").expect("valid");
    assert_eq!(
        c.quote(Some("openai"), "gpt-4o", &usage(1, 0, 1), NOV_2025),
        Err(NO_CATALOG.to_string())
    );
}

#[test]
fn embedded_catalog_is_loaded_with_its_notice() {
    let c = Catalog::embedded();
    if c.source().kind == "embedded" {
        assert!(c.model_count() > 1000);
        assert!(catalog_notice().contains("MIT"));
        let q = c
            .quote(Some("openai"), "gpt-4o-mini", &usage(103, 48, 14), NOV_2025)
            .expect("priced");
        assert!((q.breakdown.total_usd - 2.025e-05).abs() < 1e-12);
        // An undated fine-tune without a provider: the feed's `ft:gpt-4o-mini` entry
        // (0.30 in / 1.20 out per Mtok), never the cheaper base model.
        let ft = c
            .quote(
                None,
                "ft:gpt-4o-mini:acme::abc123",
                &usage(1000, 0, 100),
                NOV_2025,
            )
            .expect("fine-tune priced");
        assert_eq!(
            (ft.entry.provider.as_str(), ft.entry.model.as_str()),
            ("openai", "ft:gpt-4o-mini")
        );
        assert!((ft.breakdown.total_usd - (1000.0 * 0.3 + 100.0 * 1.2) / 1e6).abs() < 1e-12);
    }
}

#[test]
fn every_feed_regex_compiles() {
    let c = Catalog::embedded();
    assert!(
        c.source().unsupported_regexes.is_empty(),
        "{:?}",
        c.source().unsupported_regexes
    );
}
