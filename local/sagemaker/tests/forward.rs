//! Operations the local SageMaker does not serve go to moto: the Model Registry calls of the
//! evaluate function, through the same SDK client and endpoint.

mod support;

use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition, Tag,
};
use support::Harness;

fn inference() -> InferenceSpecification {
    InferenceSpecification::builder()
        .containers(
            ModelPackageContainerDefinition::builder()
                .image("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3")
                .model_data_url("s3://artifacts/models/job/output/model.tar.gz")
                .build(),
        )
        .supported_content_types("text/csv")
        .supported_response_mime_types("application/json")
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_registry_calls_go_to_the_forward_endpoint() {
    let moto = test_support::MotoServer::start();
    let h =
        Harness::start_with(|settings| settings.with_forward_endpoint(moto.endpoint_url())).await;
    let client = &h.client;

    let group = client
        .create_model_package_group()
        .model_package_group_name("penguins")
        .model_package_group_description("sex from measurements")
        .tags(Tag::builder().key("team").value("tests").build())
        .send()
        .await
        .unwrap();
    let group_arn = group.model_package_group_arn().unwrap();
    assert_eq!(
        group_arn,
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/penguins"
    );
    let described = client
        .describe_model_package_group()
        .model_package_group_name("penguins")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.model_package_group_description(),
        Some("sex from measurements")
    );

    let package = client
        .create_model_package()
        .model_package_group_name("penguins")
        .model_approval_status(ModelApprovalStatus::PendingManualApproval)
        .inference_specification(inference())
        .customer_metadata_properties("commit", "9f2c1e4")
        .send()
        .await
        .unwrap();
    let package_arn = package.model_package_arn().unwrap().to_owned();
    let listed = client
        .list_model_packages()
        .model_package_group_name("penguins")
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = listed
        .model_package_summary_list()
        .iter()
        .map(|p| p.model_package_arn().unwrap())
        .collect();
    assert_eq!(arns, [package_arn.as_str()]);
    let described = client
        .describe_model_package()
        .model_package_name(&package_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.model_approval_status(),
        Some(&ModelApprovalStatus::PendingManualApproval)
    );
    assert_eq!(
        described.customer_metadata_properties().unwrap()["commit"],
        "9f2c1e4"
    );

    // Tags of resources that are not local jobs are moto's too.
    let tags = client
        .list_tags()
        .resource_arn(group_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    // Nothing of it is local: moto has it.
    let in_moto = aws_sdk_sagemaker::Client::new(&moto.sdk_config());
    let groups = in_moto.list_model_package_groups().send().await.unwrap();
    assert_eq!(groups.model_package_group_summary_list().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_forward_endpoint_other_operations_are_unknown() {
    let h = Harness::start().await;
    let err = h
        .client
        .describe_model_package_group()
        .model_package_group_name("penguins")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnknownOperationException"), "{err:?}");
    assert!(
        err.message().unwrap().contains("--forward-endpoint"),
        "{err:?}"
    );
}
