//! How a run hears StopPipelineExecution: the API records the request in the store's watch
//! channel for the execution; the run checks it before each action and races every action
//! against an abandon, so that an abandon ends the action's wait (an invocation, or the delay
//! before the next continuation) at once rather than at its next poll.

use tokio::sync::watch;

use crate::store::{StopRequest, Store};

pub(crate) struct StopSignal(watch::Receiver<Option<StopRequest>>);

impl StopSignal {
    /// Listens for stop requests of `execution_id` (registered with the execution, under the
    /// same lock, so no request can be missed).
    pub(crate) fn listen(store: &mut Store, execution_id: &str) -> Self {
        StopSignal(
            store
                .stops
                .entry(execution_id.to_owned())
                .or_default()
                .subscribe(),
        )
    }

    /// Whether a stop (with or without abandon) was requested: no further action starts.
    pub(crate) fn requested(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Completes when an abandon is requested; never otherwise.
    pub(crate) async fn abandoned(&self) {
        let mut receiver = self.0.clone();
        let abandon = receiver
            .wait_for(|stop| stop.as_ref().is_some_and(|s| s.abandon))
            .await;
        if abandon.is_err() {
            // The execution has ended (its channel is gone): nothing can be abandoned now.
            std::future::pending::<()>().await;
        }
    }
}
