//! The API's Prometheus metrics at `/metrics`: requests by route, method and status, their latency,
//! and the requests in flight. Routes are the matched patterns (`/v1/agreements/{id}`), never raw
//! paths, so the label set stays bounded whatever clients send.
//!
//! The middleware is axum-prometheus, which records through the `metrics` crate into a
//! `metrics-exporter-prometheus` recorder. Two of its settings are process-wide: the recorder is
//! the `metrics` crate's global one (a process can install it once), and so is the metric-name
//! prefix (set once, or it panics). `pactum serve` builds one router, but the API's tests build
//! many in one process, so both are set up once, on first use, and every router shares them: its
//! counts are the process's.

use std::{sync::OnceLock, thread, time::Duration};

use axum_prometheus::{
    metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle},
    EndpointLabel, PrometheusMetricLayer, PrometheusMetricLayerBuilder,
};

/// The prefix of every metric name: `pactum_api_http_requests_total` (counter; labels `endpoint`,
/// `method`, `status`), `pactum_api_http_requests_duration_seconds` (histogram; the same labels)
/// and `pactum_api_http_requests_pending` (gauge; `endpoint`, `method`).
pub const PREFIX: &str = "pactum_api";

/// The latency histogram's buckets, in seconds: the API answers reads in milliseconds.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// How often histogram samples are folded into their buckets when nobody scrapes: without it they
/// pile up in memory until the next `/metrics`.
const UPKEEP: Duration = Duration::from_secs(5);

/// The middleware and the recorder it writes to.
#[derive(Clone)]
pub struct Metrics {
    layer: PrometheusMetricLayer<'static>,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The process's metrics, set up on first use (see the module documentation for why there is
    /// one). If another `metrics` recorder was installed first, which nothing in Pactum does, the
    /// error is logged and `/metrics` stays empty rather than the API not starting.
    pub fn shared() -> Self {
        static SHARED: OnceLock<Metrics> = OnceLock::new();
        SHARED.get_or_init(Self::install).clone()
    }

    fn install() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(format!("{PREFIX}_http_requests_duration_seconds")),
                BUCKETS,
            )
            // Only an empty bucket list is refused, and BUCKETS is not empty.
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        if let Err(e) = axum_prometheus::metrics::set_global_recorder(recorder) {
            tracing::error!(error = %e, "API metrics not recorded");
        }
        let upkeep = handle.clone();
        let spawned =
            thread::Builder::new().name("api-metrics-upkeep".into()).spawn(move || loop {
                thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no metrics upkeep thread: histograms drain on scrape only");
        }
        // The recorder is installed before the layer is built, so the metrics' descriptions (the
        // builder registers them) reach it.
        let (layer, handle) = PrometheusMetricLayerBuilder::new()
            .with_prefix(PREFIX)
            // The layer is a route layer, so a matched pattern is always there; should it not be,
            // one label for all rather than the raw path.
            .with_endpoint_label_type(EndpointLabel::MatchedPathWithFallbackFn(unmatched))
            .with_metrics_from_fn(|| handle)
            .build_pair();
        Self { layer, handle }
    }

    /// The middleware that counts and times requests; a route layer, so it sees the route pattern.
    pub(crate) fn layer(&self) -> PrometheusMetricLayer<'static> {
        self.layer.clone()
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

fn unmatched(_path: &str) -> String {
    "unmatched".to_owned()
}
