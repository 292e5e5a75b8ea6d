//! The indexer's Prometheus metrics: head, indexed and finalized block, lag, events (total and per
//! second), RPC calls by method, RPC errors and reorgs. The binary serves [`Metrics::render`] at `/metrics`.

use prometheus::{
    Encoder, Gauge, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Shared, lock-free counters (clone the `Arc` around it to read them from another task).
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    chain_id: u64,
    /// The node's head block.
    pub head: IntGauge,
    /// The last mirrored block.
    pub indexed: IntGauge,
    /// The finalized block (head minus finality depth).
    pub finalized: IntGauge,
    /// Blocks between the head and the mirror.
    pub lag: IntGauge,
    /// Events mirrored by this process.
    pub events: IntCounter,
    /// Events per second over the last batch.
    pub events_per_second: Gauge,
    /// RPC calls made, by method (`eth_getLogs`, `eth_getBlockByNumber`, …), failed ones included.
    pub rpc_calls: IntCounterVec,
    /// RPC calls that failed or timed out (each retried).
    pub rpc_errors: IntCounter,
    /// Reorgs undone.
    pub reorgs: IntCounter,
}

impl Metrics {
    /// Metrics labelled with the chain id.
    pub fn new(chain_id: u64) -> Self {
        let registry = Registry::new_custom(
            Some("pactum_indexer".into()),
            Some([("chain_id".to_owned(), chain_id.to_string())].into_iter().collect()),
        )
        .unwrap_or_default();
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).unwrap_or_else(|_| unreachable_metric(name));
            let _ = registry.register(Box::new(g.clone()));
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).unwrap_or_else(|_| unreachable_metric(name));
            let _ = registry.register(Box::new(c.clone()));
            c
        };
        let head = gauge("head_block", "The node's head block");
        let indexed = gauge("indexed_block", "The last block mirrored into PostgreSQL");
        let finalized = gauge("finalized_block", "Head minus the finality depth");
        let lag = gauge("lag_blocks", "Blocks between the head and the mirror");
        let events = counter("events_total", "Escrow events mirrored by this process");
        let rpc_errors = counter("rpc_errors_total", "RPC calls that failed or timed out");
        let reorgs = counter("reorgs_total", "Reorgs rolled back");
        let events_per_second = Gauge::new("events_per_second", "Events per second, last batch")
            .unwrap_or_else(|_| unreachable_metric("events_per_second"));
        let _ = registry.register(Box::new(events_per_second.clone()));
        let rpc_calls = IntCounterVec::new(
            Opts::new("rpc_calls_total", "RPC calls made, by method"),
            &["method"],
        )
        .unwrap_or_else(|_| unreachable_metric("rpc_calls_total"));
        let _ = registry.register(Box::new(rpc_calls.clone()));
        Self {
            registry,
            chain_id,
            head,
            indexed,
            finalized,
            lag,
            events,
            events_per_second,
            rpc_calls,
            rpc_errors,
            reorgs,
        }
    }

    /// The chain these metrics are of.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Several chains' metrics in one exposition: each family once, with every chain's samples
    /// (told apart by their `chain_id` label). Rendering each registry in turn would repeat a
    /// family's `# HELP` and `# TYPE`, which Prometheus refuses.
    pub fn render_all(all: &[std::sync::Arc<Self>]) -> String {
        let mut families: Vec<prometheus::proto::MetricFamily> = Vec::new();
        for m in all {
            for family in m.registry.gather() {
                match families.iter_mut().find(|f| f.name() == family.name()) {
                    Some(f) => f.mut_metric().extend(family.get_metric().iter().cloned()),
                    None => families.push(family),
                }
            }
        }
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&families, &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Metric names and help texts above are constants that satisfy Prometheus' rules.
fn unreachable_metric(name: &str) -> ! {
    panic!("invalid metric definition {name}")
}
