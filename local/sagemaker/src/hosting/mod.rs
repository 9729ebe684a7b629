//! Hosting: models, endpoint configs and endpoints whose variants run as local model servers
//! under SageMaker's hosting contract, InvokeEndpoint through the runtime API, blue/green
//! updates with rollback on CloudWatch alarms, and invocation metrics in CloudWatch.

pub mod cloudwatch;
pub mod fleet;
pub mod lifecycle;
pub mod model_server;
pub mod records;
pub mod runtime;
pub mod traffic;
