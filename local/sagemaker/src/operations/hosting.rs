//! CreateModel, DescribeModel, DeleteModel; CreateEndpointConfig, DescribeEndpointConfig,
//! DeleteEndpointConfig, ListEndpointConfigs; CreateEndpoint, DescribeEndpoint, UpdateEndpoint, DeleteEndpoint,
//! ListEndpoints. Requests are checked against the API model (the generated mirrors), and
//! refused with the errors SageMaker gives.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use sagemaker_requests::{
    ContainerDefinition, CreateEndpointConfigInput, CreateEndpointInput, CreateModelInput,
    ProductionVariant, UpdateEndpointInput,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{descending, page};
use crate::hosting::lifecycle::{self, Update};
use crate::hosting::records::{
    Container, Endpoint, EndpointConfig, EndpointStatus, Model, Pending,
};
use crate::hosting::traffic;
use crate::protocol::{self, ApiError, TARGET_PREFIX, Timestamp, json_response};
use crate::service::Service;
use crate::validate::checked;

/// How much of moto's DescribeModelPackage answer is read.
const MAX_PACKAGE_ANSWER: usize = 1 << 20;

/// The object form of a request, less what Describe does not echo.
fn echo<T: Serialize>(request: &T) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(request) {
        Ok(Value::Object(mut map)) => {
            map.remove("Tags");
            Ok(map)
        }
        Ok(_) => Ok(Map::new()),
        Err(e) => Err(ApiError::internal(format!("cannot encode the record: {e}"))),
    }
}

/// A List operation's answer: the page of `items` under `member`, and the next page's token.
fn one_page(
    member: &str,
    items: Vec<Value>,
    next_token: Option<&str>,
    max_results: Option<i32>,
) -> Result<Response, ApiError> {
    let (items, next_token) = page(items, next_token, max_results)?;
    let mut answer = json!({ member: items });
    if let Some(token) = next_token {
        answer["NextToken"] = json!(token);
    }
    Ok(json_response(&answer))
}

// --- models ------------------------------------------------------------------------------

pub async fn create_model(
    service: &Arc<Service>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let request: CreateModelInput = protocol::parse(body)?;
    checked(&request, CreateModelInput::check)?;
    let name = request.model_name.clone();
    let arn = service.settings.arn("model", &name);
    let exists =
        || ApiError::validation(format!("Cannot create already existing model \"{arn}\"."));
    if service.hosting().model(&name).is_some() {
        return Err(exists());
    }
    let definition = one_container(&request)?;
    let container = match &definition.model_package_name {
        Some(package) => from_package(service, headers, package, definition).await?,
        None => Container {
            image: definition.image.clone().ok_or_else(|| {
                ApiError::validation(
                    "The container of the model needs an Image, or a ModelPackageName",
                )
            })?,
            model_data_url: definition.model_data_url.clone(),
            environment: environment(definition),
            model_package: None,
        },
    };
    let mut hosting = service.hosting();
    if hosting.model(&name).is_some() {
        return Err(exists());
    }
    hosting.models.insert(
        name.to_ascii_lowercase(),
        Model {
            arn: arn.clone(),
            request,
            container,
            creation_time: Timestamp::now(),
        },
    );
    tracing::info!(model = name, "model created");
    Ok(json_response(&json!({ "ModelArn": arn })))
}

/// A local model runs one container: PrimaryContainer, or Containers with one entry.
fn one_container(request: &CreateModelInput) -> Result<&ContainerDefinition, ApiError> {
    match (&request.primary_container, request.containers.as_deref()) {
        (Some(primary), None) => Ok(primary),
        (None, Some([only])) => Ok(only),
        (Some(_), Some(_)) => Err(ApiError::validation(
            "PrimaryContainer and Containers cannot both be given",
        )),
        (None, Some(_)) => Err(ApiError::validation(
            "The local SageMaker serves models of one container (an inference pipeline of \
             several is not supported): give PrimaryContainer",
        )),
        (None, None) => Err(ApiError::validation(
            "Either PrimaryContainer or Containers must be given",
        )),
    }
}

fn environment(definition: &ContainerDefinition) -> BTreeMap<String, String> {
    definition
        .environment
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PackageAnswer {
    inference_specification: Option<PackageInference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PackageInference {
    #[serde(default)]
    containers: Vec<PackageContainer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PackageContainer {
    image: String,
    model_data_url: Option<String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
}

/// The container a model package registered (the registry is the forward endpoint's), with
/// the CreateModel container's Environment over the package's.
async fn from_package(
    service: &Service,
    headers: &HeaderMap,
    package: &str,
    definition: &ContainerDefinition,
) -> Result<Container, ApiError> {
    let forwarder = service.forwarder.as_ref().ok_or_else(|| {
        ApiError::validation(
            "ModelPackageName needs the Model Registry: start the local SageMaker with \
             --forward-endpoint <moto URL>",
        )
    })?;
    let mut headers = headers.clone();
    let target = format!("{TARGET_PREFIX}DescribeModelPackage");
    if let Ok(value) = HeaderValue::from_str(&target) {
        headers.insert("x-amz-target", value);
    }
    let request = json!({ "ModelPackageName": package }).to_string();
    let response = forwarder.forward(&headers, Bytes::from(request)).await;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), MAX_PACKAGE_ANSWER)
        .await
        .map_err(|e| ApiError::internal(format!("DescribeModelPackage: {e}")))?;
    if !status.is_success() {
        return Err(ApiError::validation(format!(
            "Could not find model package \"{package}\": {}",
            String::from_utf8_lossy(&body)
        )));
    }
    let answer: PackageAnswer = serde_json::from_slice(&body)
        .map_err(|e| ApiError::internal(format!("DescribeModelPackage's answer: {e}")))?;
    let registered = answer
        .inference_specification
        .and_then(|spec| spec.containers.into_iter().next())
        .ok_or_else(|| {
            ApiError::validation(format!(
                "The model package \"{package}\" has no InferenceSpecification container to \
                 serve"
            ))
        })?;
    let mut merged = registered.environment;
    merged.extend(environment(definition));
    Ok(Container {
        image: registered.image,
        model_data_url: registered.model_data_url,
        environment: merged,
        model_package: Some(package.to_owned()),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ModelName {
    model_name: String,
}

pub fn describe_model(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ModelName = protocol::parse(body)?;
    let hosting = service.hosting();
    let model = hosting
        .model(&request.model_name)
        .ok_or_else(|| model_not_found(service, &request.model_name))?;
    let mut out = echo(&model.request)?;
    out.insert("ModelArn".into(), json!(model.arn));
    out.insert("CreationTime".into(), json!(model.creation_time));
    out.entry("EnableNetworkIsolation").or_insert(json!(false));
    Ok(json_response(&out))
}

fn model_not_found(service: &Service, name: &str) -> ApiError {
    ApiError::validation(format!(
        "Could not find model \"{}\".",
        service.settings.arn("model", name)
    ))
}

pub fn delete_model(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ModelName = protocol::parse(body)?;
    let removed = service
        .hosting()
        .models
        .remove(&request.model_name.to_ascii_lowercase());
    removed.ok_or_else(|| model_not_found(service, &request.model_name))?;
    Ok(json_response(&json!({})))
}

// --- endpoint configs --------------------------------------------------------------------

pub fn create_endpoint_config(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: CreateEndpointConfigInput = protocol::parse(body)?;
    checked(&request, CreateEndpointConfigInput::check)?;
    let name = request.endpoint_config_name.clone();
    let arn = service.settings.arn("endpoint-config", &name);
    let mut hosting = service.hosting();
    if hosting.endpoint_config(&name).is_some() {
        return Err(ApiError::validation(format!(
            "Cannot create already existing endpoint configuration \"{arn}\"."
        )));
    }
    let mut seen = Vec::new();
    for variant in &request.production_variants {
        check_variant(variant)?;
        if seen.contains(&variant.variant_name.to_ascii_lowercase()) {
            return Err(ApiError::validation(format!(
                "The VariantName {} appears more than once: variant names must be unique \
                 within an endpoint configuration.",
                variant.variant_name
            )));
        }
        seen.push(variant.variant_name.to_ascii_lowercase());
        let model = variant.model_name.as_deref().unwrap_or_default();
        if hosting.model(model).is_none() {
            return Err(model_not_found(service, model));
        }
    }
    if request.async_inference_config.is_some() {
        return Err(ApiError::validation(
            "AsyncInferenceConfig is not supported by the local SageMaker: it serves real-time \
             and serverless variants",
        ));
    }
    hosting.endpoint_configs.insert(
        name.to_ascii_lowercase(),
        EndpointConfig {
            arn: arn.clone(),
            request,
            creation_time: Timestamp::now(),
        },
    );
    Ok(json_response(&json!({ "EndpointConfigArn": arn })))
}

/// A variant is serverless (ServerlessConfig) or on instances (InstanceType and
/// InitialInstanceCount), never both, never neither.
fn check_variant(variant: &ProductionVariant) -> Result<(), ApiError> {
    let name = &variant.variant_name;
    let instances = variant.instance_type.is_some() || variant.initial_instance_count.is_some();
    match (&variant.serverless_config, instances) {
        (Some(_), true) => Err(ApiError::validation(format!(
            "Production variant {name}: ServerlessConfig cannot be combined with InstanceType \
             or InitialInstanceCount. Give one or the other."
        ))),
        (None, false) => Err(ApiError::validation(format!(
            "Production variant {name}: give InstanceType and InitialInstanceCount, or a \
             ServerlessConfig."
        ))),
        (None, true) if variant.instance_type.is_none() => Err(ApiError::validation(format!(
            "Production variant {name}: InstanceType is required with InitialInstanceCount."
        ))),
        (None, true) if variant.initial_instance_count.is_none() => {
            Err(ApiError::validation(format!(
                "Production variant {name}: InitialInstanceCount is required with InstanceType."
            )))
        }
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ConfigName {
    endpoint_config_name: String,
}

fn config_not_found(service: &Service, name: &str) -> ApiError {
    ApiError::validation(format!(
        "Could not find endpoint configuration \"{}\".",
        service.settings.arn("endpoint-config", name)
    ))
}

pub fn describe_endpoint_config(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ConfigName = protocol::parse(body)?;
    let hosting = service.hosting();
    let config = hosting
        .endpoint_config(&request.endpoint_config_name)
        .ok_or_else(|| config_not_found(service, &request.endpoint_config_name))?;
    let mut out = echo(&config.request)?;
    out.insert("EndpointConfigArn".into(), json!(config.arn));
    out.insert("CreationTime".into(), json!(config.creation_time));
    Ok(json_response(&out))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListEndpointConfigs {
    sort_by: Option<String>,
    sort_order: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
    name_contains: Option<String>,
    creation_time_before: Option<Timestamp>,
    creation_time_after: Option<Timestamp>,
}

pub fn list_endpoint_configs(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ListEndpointConfigs = protocol::parse(body)?;
    let descending = descending(request.sort_order.as_deref())?;
    let hosting = service.hosting();
    let mut configs: Vec<&EndpointConfig> = hosting
        .endpoint_configs
        .values()
        .filter(|c| {
            let name = &c.request.endpoint_config_name;
            request
                .name_contains
                .as_deref()
                .is_none_or(|part| name.to_lowercase().contains(&part.to_lowercase()))
                && request
                    .creation_time_before
                    .is_none_or(|t| c.creation_time < t)
                && request
                    .creation_time_after
                    .is_none_or(|t| c.creation_time > t)
        })
        .collect();
    match request.sort_by.as_deref().unwrap_or("CreationTime") {
        "CreationTime" => configs.sort_by_key(|c| c.creation_time),
        "Name" => configs.sort_by(|a, b| {
            a.request
                .endpoint_config_name
                .cmp(&b.request.endpoint_config_name)
        }),
        other => {
            return Err(ApiError::validation(format!(
                "SortBy `{other}` is not Name or CreationTime"
            )));
        }
    }
    if descending {
        configs.reverse();
    }
    let summaries: Vec<Value> = configs
        .iter()
        .map(|c| {
            json!({
                "EndpointConfigName": c.request.endpoint_config_name,
                "EndpointConfigArn": c.arn,
                "CreationTime": c.creation_time,
            })
        })
        .collect();
    one_page(
        "EndpointConfigs",
        summaries,
        request.next_token.as_deref(),
        request.max_results,
    )
}

pub fn delete_endpoint_config(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ConfigName = protocol::parse(body)?;
    let removed = service
        .hosting()
        .endpoint_configs
        .remove(&request.endpoint_config_name.to_ascii_lowercase());
    removed.ok_or_else(|| config_not_found(service, &request.endpoint_config_name))?;
    Ok(json_response(&json!({})))
}

// --- endpoints ---------------------------------------------------------------------------

fn endpoint_not_found(service: &Service, name: &str) -> ApiError {
    ApiError::validation(format!(
        "Could not find endpoint \"{}\".",
        service.settings.arn("endpoint", name)
    ))
}

/// The variants of a config with their models, or SageMaker's error.
fn variants_of(service: &Service, config: &str) -> Result<lifecycle::Variants, ApiError> {
    let arn = service.settings.arn("endpoint-config", config);
    lifecycle::resolve(&service.hosting(), config, &arn).map_err(ApiError::validation)
}

pub fn create_endpoint(service: &Arc<Service>, body: &[u8]) -> Result<Response, ApiError> {
    let request: CreateEndpointInput = protocol::parse(body)?;
    checked(&request, CreateEndpointInput::check)?;
    let name = request.endpoint_name.clone();
    let arn = service.settings.arn("endpoint", &name);
    let variants = variants_of(service, &request.endpoint_config_name)?;
    {
        let mut hosting = service.hosting();
        if hosting.endpoint(&name).is_some() {
            return Err(ApiError::validation(format!(
                "Cannot create already existing endpoint \"{arn}\"."
            )));
        }
        let now = Timestamp::now();
        hosting.endpoints.insert(
            name.to_ascii_lowercase(),
            Endpoint {
                name: name.clone(),
                arn: arn.clone(),
                config_name: request.endpoint_config_name.clone(),
                variants: variants.iter().map(|(v, _)| v.clone()).collect(),
                status: EndpointStatus::Creating,
                failure_reason: None,
                creation_time: now,
                last_modified_time: now,
                tags: request.tags.clone().unwrap_or_default(),
                fleet: None,
                pending: None,
                last_deployment_config: None,
                routed: 0,
                stop: service.shutdown.child_token(),
            },
        );
    }
    tracing::info!(endpoint = name, "endpoint creating");
    lifecycle::spawn_create(service, name, variants);
    Ok(json_response(&json!({ "EndpointArn": arn })))
}

pub async fn update_endpoint(service: &Arc<Service>, body: &[u8]) -> Result<Response, ApiError> {
    let request: UpdateEndpointInput = protocol::parse(body)?;
    checked(&request, UpdateEndpointInput::check)?;
    let name = request.endpoint_name.clone();
    let config = request.endpoint_config_name.clone();
    let variants = variants_of(service, &config)?;
    let instances = variants
        .iter()
        .filter_map(|(v, _)| v.initial_instance_count)
        .sum();
    let plan = traffic::plan(request.deployment_config.as_ref(), instances)
        .map_err(ApiError::validation)?;
    missing_alarms(service, &plan.alarms).await?;
    let arn = {
        let mut hosting = service.hosting();
        let endpoint = hosting
            .endpoint_mut(&name)
            .ok_or_else(|| endpoint_not_found(service, &name))?;
        if endpoint.status != EndpointStatus::InService {
            return Err(ApiError::validation(format!(
                "Cannot update in-progress endpoint \"{}\": its status is {}.",
                endpoint.arn,
                endpoint.status.as_str()
            )));
        }
        endpoint.pending = Some(Pending {
            config_name: config.clone(),
            variants: variants.iter().map(|(v, _)| v.clone()).collect(),
            fleet: None,
            share: 0.0,
            start_time: Timestamp::now(),
        });
        endpoint.failure_reason = None;
        endpoint.set_status(EndpointStatus::Updating);
        endpoint.arn.clone()
    };
    tracing::info!(endpoint = name, config, "endpoint updating");
    lifecycle::spawn_update(
        service,
        Update {
            endpoint: name,
            config,
            variants,
            plan,
            deployment: request.deployment_config,
        },
    );
    Ok(json_response(&json!({ "EndpointArn": arn })))
}

/// Rollback alarms must exist in CloudWatch, or the update could never roll back.
async fn missing_alarms(service: &Service, alarms: &[String]) -> Result<(), ApiError> {
    if alarms.is_empty() {
        return Ok(());
    }
    let cloudwatch = service.cloudwatch.as_ref().ok_or_else(|| {
        ApiError::validation(
            "AutoRollbackConfiguration needs CloudWatch: start the local SageMaker with \
             --forward-endpoint <moto URL>",
        )
    })?;
    let known = cloudwatch
        .alarms(alarms)
        .await
        .map_err(ApiError::internal)?;
    let missing: Vec<&str> = alarms
        .iter()
        .filter(|name| !known.iter().any(|a| &a.name == *name))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "AutoRollbackConfiguration names CloudWatch alarms that do not exist: {}",
            missing.join(", ")
        )))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct EndpointName {
    endpoint_name: String,
}

pub fn describe_endpoint(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: EndpointName = protocol::parse(body)?;
    let hosting = service.hosting();
    let endpoint = hosting
        .endpoint(&request.endpoint_name)
        .ok_or_else(|| endpoint_not_found(service, &request.endpoint_name))?;
    let serving = endpoint.fleet.is_some();
    let green_share = endpoint.pending.as_ref().map_or(0.0, |p| p.share);
    let mut out = json!({
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.config_name,
        "ProductionVariants": variant_summaries(&endpoint.variants, serving, 1.0 - green_share, endpoint, false),
        "EndpointStatus": endpoint.status.as_str(),
        "CreationTime": endpoint.creation_time,
        "LastModifiedTime": endpoint.last_modified_time,
    });
    if let Some(reason) = &endpoint.failure_reason {
        out["FailureReason"] = json!(reason);
    }
    if let Some(config) = &endpoint.last_deployment_config {
        out["LastDeploymentConfig"] = json!(config);
    }
    if let Some(pending) = &endpoint.pending {
        out["PendingDeploymentSummary"] = json!({
            "EndpointConfigName": pending.config_name,
            "ProductionVariants": variant_summaries(
                &pending.variants, pending.fleet.is_some(), pending.share, endpoint, true),
            "StartTime": pending.start_time,
        });
    }
    Ok(json_response(&out))
}

/// ProductionVariants of DescribeEndpoint: weights scaled by the fleet's share of traffic.
fn variant_summaries(
    variants: &[ProductionVariant],
    running: bool,
    share: f64,
    endpoint: &Endpoint,
    pending: bool,
) -> Vec<Value> {
    let total: f64 = variants
        .iter()
        .map(|v| f64::from(v.initial_variant_weight.unwrap_or(1.0)))
        .sum();
    variants
        .iter()
        .map(|variant| {
            let weight = f64::from(variant.initial_variant_weight.unwrap_or(1.0));
            let current = if total > 0.0 {
                weight / total * share
            } else {
                0.0
            };
            let fleet = if pending {
                endpoint.pending.as_ref().and_then(|p| p.fleet.as_ref())
            } else {
                endpoint.fleet.as_ref()
            };
            let image = fleet
                .and_then(|f| f.variant(&variant.variant_name))
                .map(|v| v.image.clone());
            let mut summary = json!({
                "VariantName": variant.variant_name,
                "CurrentWeight": current,
                "DesiredWeight": weight,
            });
            if let Some(image) = image {
                summary["DeployedImages"] =
                    json!([{ "SpecifiedImage": image, "ResolvedImage": image }]);
            }
            match (&variant.serverless_config, variant.initial_instance_count) {
                (Some(serverless), _) => {
                    summary["CurrentServerlessConfig"] = json!(serverless);
                    summary["DesiredServerlessConfig"] = json!(serverless);
                }
                (None, Some(count)) => {
                    summary["CurrentInstanceCount"] = json!(if running { count } else { 0 });
                    summary["DesiredInstanceCount"] = json!(count);
                }
                (None, None) => {}
            }
            if pending {
                summary["VariantStatus"] = json!([{
                    "Status": if running { "Baking" } else { "Creating" },
                    "StartTime": endpoint.last_modified_time,
                }]);
            }
            summary
        })
        .collect()
}

pub fn delete_endpoint(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: EndpointName = protocol::parse(body)?;
    let removed = service
        .hosting()
        .endpoints
        .remove(&request.endpoint_name.to_ascii_lowercase());
    let endpoint = removed.ok_or_else(|| endpoint_not_found(service, &request.endpoint_name))?;
    // Its deployment stops; its fleets' servers are killed as the record drops.
    endpoint.stop.cancel();
    tracing::info!(endpoint = endpoint.name, "endpoint deleted");
    Ok(json_response(&json!({})))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListEndpoints {
    sort_by: Option<String>,
    sort_order: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
    name_contains: Option<String>,
    creation_time_before: Option<Timestamp>,
    creation_time_after: Option<Timestamp>,
    last_modified_time_before: Option<Timestamp>,
    last_modified_time_after: Option<Timestamp>,
    status_equals: Option<String>,
}

pub fn list_endpoints(service: &Service, body: &[u8]) -> Result<Response, ApiError> {
    let request: ListEndpoints = protocol::parse(body)?;
    let descending = descending(request.sort_order.as_deref())?;
    let hosting = service.hosting();
    let mut endpoints: Vec<&Endpoint> = hosting
        .endpoints
        .values()
        .filter(|e| {
            request
                .name_contains
                .as_deref()
                .is_none_or(|part| e.name.to_lowercase().contains(&part.to_lowercase()))
                && request
                    .status_equals
                    .as_deref()
                    .is_none_or(|s| e.status.as_str() == s)
                && request
                    .creation_time_before
                    .is_none_or(|t| e.creation_time < t)
                && request
                    .creation_time_after
                    .is_none_or(|t| e.creation_time > t)
                && request
                    .last_modified_time_before
                    .is_none_or(|t| e.last_modified_time < t)
                && request
                    .last_modified_time_after
                    .is_none_or(|t| e.last_modified_time > t)
        })
        .collect();
    match request.sort_by.as_deref().unwrap_or("CreationTime") {
        "CreationTime" => endpoints.sort_by_key(|e| e.creation_time),
        "Name" => endpoints.sort_by(|a, b| a.name.cmp(&b.name)),
        "Status" => endpoints.sort_by_key(|e| e.status.as_str()),
        other => {
            return Err(ApiError::validation(format!(
                "SortBy `{other}` is not Name, CreationTime or Status"
            )));
        }
    }
    if descending {
        endpoints.reverse();
    }
    let summaries: Vec<Value> = endpoints
        .iter()
        .map(|e| {
            json!({
                "EndpointName": e.name,
                "EndpointArn": e.arn,
                "CreationTime": e.creation_time,
                "LastModifiedTime": e.last_modified_time,
                "EndpointStatus": e.status.as_str(),
            })
        })
        .collect();
    one_page(
        "Endpoints",
        summaries,
        request.next_token.as_deref(),
        request.max_results,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(value: Value) -> ProductionVariant {
        let mut base = json!({"VariantName": "AllTraffic", "ModelName": "m"});
        if let (Some(base), Some(extra)) = (base.as_object_mut(), value.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn a_variant_is_serverless_or_on_instances() {
        let serverless = json!({"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}});
        assert!(check_variant(&variant(serverless)).is_ok());
        let instances = json!({"InstanceType": "ml.m5.large", "InitialInstanceCount": 1});
        assert!(check_variant(&variant(instances)).is_ok());
        let both = json!({"InstanceType": "ml.m5.large", "InitialInstanceCount": 1,
            "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}});
        let err = check_variant(&variant(both)).unwrap_err();
        assert!(err.message.contains("cannot be combined"), "{err}");
        assert!(check_variant(&variant(json!({}))).is_err());
        assert!(check_variant(&variant(json!({"InstanceType": "ml.m5.large"}))).is_err());
    }
}
