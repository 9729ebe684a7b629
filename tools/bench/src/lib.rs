//! Benchmarks of the functions against a Python/boto3 baseline: cold start, warm latency, peak
//! RSS, package size (`make bench`, issue #9); the local SageMaker's hosting: endpoint start and
//! InvokeEndpoint's overhead over the model server ([`hosting`], issue 14); the local pipeline's
//! own overhead ([`pipeline`]).
//!
//! Every function runs as its own release binary behind a local Lambda Runtime API
//! (`lambda-host`), against local services ([`world`]; deploy's endpoint: [`deployment`]); the
//! baseline, a Python/boto3 start-training, runs behind the same host under awslambdaric. The
//! pure parts ([`stats`], [`budget`], [`report`]) are unit-tested; the measuring parts need the
//! built binaries and the services, and run from `make bench`.

pub mod budget;
pub mod codepipeline;
pub mod deployment;
pub mod hosting;
pub mod measure;
pub mod package;
pub mod pipeline;
pub mod proxy;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;
pub mod world;
