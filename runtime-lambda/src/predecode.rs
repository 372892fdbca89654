//! The Kinesis event read straight from the invocation's body, below `lambda_runtime`'s typed
//! handler.
//!
//! `lambda_runtime` deserialises a handler's payload type from the body itself; even the
//! cheapest payload type (a borrowed raw value) costs a full scan of the event's JSON, and a
//! Kinesis event of thousands of records is megabytes of it. So the transform's runtime has a
//! tower layer (`lambda_runtime`'s extension point, which sees the raw [`LambdaInvocation`])
//! that reads the body into a [`KinesisBatch`] once, keeps it under the invocation's request
//! id, and hands the typed handler a `null` payload; the handler takes the batch by its
//! request id ([`Batches::take`]).

use crate::kinesis::KinesisBatch;
use lambda_runtime::LambdaInvocation;
use lambda_runtime::tower::{Layer, Service};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

/// Batches read by the layer, waiting for their handler (one per invocation in flight).
#[derive(Clone, Default)]
pub struct Batches(Arc<Mutex<HashMap<String, Result<KinesisBatch, String>>>>);

impl Batches {
    /// The layer that fills this: add it to the runtime.
    pub fn layer(&self) -> Predecode {
        Predecode(self.clone())
    }

    /// The batch of the invocation `request_id`; an error when its body was not a Kinesis
    /// event (said with where the JSON went wrong).
    pub fn take(&self, request_id: &str) -> Result<KinesisBatch, String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(request_id)
            .unwrap_or_else(|| Err(format!("no event was read for invocation {request_id}")))
    }

    fn put(&self, request_id: String, batch: Result<KinesisBatch, String>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request_id, batch);
    }
}

/// The tower layer of [`Batches::layer`].
#[derive(Clone)]
pub struct Predecode(Batches);

impl<S> Layer<S> for Predecode {
    type Service = PredecodeService<S>;
    fn layer(&self, inner: S) -> PredecodeService<S> {
        PredecodeService {
            batches: self.0.clone(),
            inner,
        }
    }
}

pub struct PredecodeService<S> {
    batches: Batches,
    inner: S,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for PredecodeService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> S::Future {
        let batch = KinesisBatch::from_json(&invocation.body)
            .map_err(|e| format!("the event is not a Kinesis event: {e}"));
        self.batches
            .put(invocation.context.request_id.clone(), batch);
        invocation.body = bytes::Bytes::from_static(b"null");
        self.inner.call(invocation)
    }
}
