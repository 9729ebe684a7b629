//! The model servers of one endpoint config: one process per production variant (a variant's
//! instance count is reported, not multiplied: one local process plays all its instances).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sagemaker_requests::ProductionVariant;
use tokio_util::sync::CancellationToken;

use super::model_server::{Launch, ModelServer};
use super::records::Container;
use crate::service::Service;

/// One production variant and the server that plays it.
#[derive(Debug)]
pub struct Variant {
    pub name: String,
    pub weight: f64,
    pub image: String,
    pub server: ModelServer,
}

#[derive(Debug)]
pub struct Fleet {
    pub variants: Vec<Variant>,
    /// Invocations routed without a target variant, to spread them by weight.
    routed: AtomicU64,
}

impl Fleet {
    /// Starts every variant's server; the first that fails stops the others (by drop) and
    /// its reason is the endpoint's FailureReason.
    pub async fn start(
        service: &Service,
        endpoint: &str,
        config_name: &str,
        variants: &[(ProductionVariant, Container)],
        stop: &CancellationToken,
    ) -> Result<Fleet, String> {
        let mut started = Vec::with_capacity(variants.len());
        for (variant, container) in variants {
            let dir = service
                .settings
                .work_dir
                .join("endpoints")
                .join(endpoint.to_ascii_lowercase())
                .join(format!("{config_name}-{}", variant.variant_name));
            let health_timeout = variant
                .container_startup_health_check_timeout_in_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map_or(service.settings.health_timeout, Duration::from_secs);
            let server = ModelServer::start(Launch {
                dir,
                work_dir: &service.settings.work_dir,
                variant: &variant.variant_name,
                container,
                images: &service.settings.images,
                s3: &service.s3,
                groups: &service.groups,
                client: &service.model_client,
                health_timeout,
                stop,
            })
            .await?;
            started.push(Variant {
                name: variant.variant_name.clone(),
                weight: f64::from(variant.initial_variant_weight.unwrap_or(1.0)).max(0.0),
                image: container.image.clone(),
                server,
            });
        }
        Ok(Fleet {
            variants: started,
            routed: AtomicU64::new(0),
        })
    }

    pub fn variant(&self, name: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// The variant of the next invocation: spread by weight, evenly (the n-th invocation goes
    /// to the variant whose share of the first n is furthest behind its weight).
    pub fn pick(&self) -> Option<&Variant> {
        let n = self.routed.fetch_add(1, Ordering::Relaxed);
        pick_by_weight(&self.weights(), n).and_then(|i| self.variants.get(i))
    }

    fn weights(&self) -> Vec<f64> {
        self.variants.iter().map(|v| v.weight).collect()
    }
}

/// The index the `n`-th invocation goes to: the cumulative shares of `weights` cut the
/// sequence so that after `n` invocations each index had `floor(n * share)` or one more.
fn pick_by_weight(weights: &[f64], n: u64) -> Option<usize> {
    let total: f64 = weights.iter().sum();
    if weights.is_empty() {
        return None;
    }
    if total <= 0.0 {
        return Some(0);
    }
    // Golden-ratio low-discrepancy sequence: evenly spread, deterministic, no state beyond n.
    let position = (n as f64 * 0.618_033_988_749_895).fract() * total;
    let mut cumulative = 0.0;
    for (i, weight) in weights.iter().enumerate() {
        cumulative += weight;
        if position < cumulative {
            return Some(i);
        }
    }
    Some(weights.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_follow_the_weights() {
        let weights = [3.0, 1.0];
        let mut counts = [0usize; 2];
        for n in 0..1000 {
            counts[pick_by_weight(&weights, n).unwrap()] += 1;
        }
        assert!((740..=760).contains(&counts[0]), "{counts:?}");
        assert_eq!(pick_by_weight(&[], 0), None);
        assert_eq!(pick_by_weight(&[0.0, 0.0], 5), Some(0));
        assert!((0..50).all(|n| pick_by_weight(&[0.0, 1.0], n) == Some(1)));
    }
}
